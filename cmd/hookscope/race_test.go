//go:build race

package main

// raceEnabled scales the million-row export down under -race (about ten
// times slower); scripts/test.sh runs it at full size without -race.
const raceEnabled = true
