//go:build race

package alerts

// raceEnabled shortens the long false-positive series under -race, where
// everything runs ~10x slower; the full two days run without -race.
const raceEnabled = true
