package main

import (
	"math"
	"slices"
	"time"
)

// Summary is one figure measured over several runs: the median of the runs
// and their spread (min and max), plus every run's value.
type Summary struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func summarize(v []float64) Summary {
	if len(v) == 0 {
		return Summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return Summary{Median: median(s), Min: s[0], Max: s[len(s)-1], Runs: v}
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spreadPct is (max-min)/median in percent: how far apart the runs were.
func (s Summary) spreadPct() float64 {
	if s.Median == 0 || math.IsNaN(s.Median) {
		return 0
	}
	return (s.Max - s.Min) / s.Median * 100
}

// percentile by nearest rank of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	if r < 1 {
		r = 1
	}
	return sorted[r-1]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
