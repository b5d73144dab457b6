package query

import (
	"errors"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// TestStatsSpanExtremes tries the stats span class at its extremes (years 1
// to 9999, steps from 1ns up): every combination that would size a series
// beyond MaxBuckets is a ParamError, and the whole sweep allocates little
// (no query is ever sized by its span).
func TestStatsSpanExtremes(t *testing.T) {
	times := []string{"0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
		"2099-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "9999-12-30T00:00:00Z", "9999-12-31T23:59:59.999999999Z"}
	steps := []string{"", "1ns", "1us", "1ms", "999ms", "1s", "1.5s", "10s", "1m", "1h", "744h", "745h", "2562047h", "9223372036854775807ns"}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	for _, since := range times {
		for _, until := range times {
			for _, step := range steps {
				v := url.Values{"since": {since}, "until": {until}}
				if step != "" {
					v.Set("step", step)
				}
				q, err := ParseStats("b", v.Get, time.Now())
				n++
				if err != nil {
					var pe *ParamError
					if !errors.As(err, &pe) {
						t.Fatalf("%v: error %v is not a ParamError", v, err)
					}
					continue
				}
				if b := Buckets(q); b < 1 || b > MaxBuckets {
					t.Fatalf("%v: accepted with %d buckets", v, b)
				}
				if got := FillSeries(nil, q); int64(len(got)) != Buckets(q) {
					t.Fatalf("%v: FillSeries gave %d points, Buckets says %d", v, len(got), Buckets(q))
				}
			}
		}
	}
	runtime.ReadMemStats(&after)
	// Each accepted query fills at most MaxBuckets points (~40 bytes each);
	// the sweep allocates far less than one unbounded series would.
	d := after.TotalAlloc - before.TotalAlloc
	if d > 64<<20 {
		t.Fatalf("%d queries allocated %d MiB", n, d>>20)
	}
	t.Logf("%d stats queries at the extremes allocated %d KiB in total", n, d>>10)
}

func TestParseStatsRanges(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		query, param string
	}{
		{"since=9999-12-30T00:00:00Z&until=9999-12-31T00:00:00Z&step=10s", "since"},
		{"since=0001-01-01T00:00:00Z", "since"},
		{"until=2100-01-01T00:00:00Z", "until"},
		{"step=1ns", "step"},
		{"step=1500ms", "step"},
		{"step=745h", "step"},
		{"since=1970-01-01T00:00:00Z&until=2099-01-01T00:00:00Z&step=1s", "step"},
		{"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		{"since=" + string(make([]byte, 100)), "since"},
	}
	for _, c := range cases {
		v, _ := url.ParseQuery(c.query)
		_, err := ParseStats("b", v.Get, now)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%s: got %v, want a ParamError on %q", c.query, err, c.param)
		}
	}
	// A wide but legal range picks a step that fits.
	v, _ := url.ParseQuery("since=1970-01-01T00:00:00Z&until=2099-12-31T00:00:00Z")
	q, err := ParseStats("b", v.Get, now)
	if err != nil || Buckets(q) > MaxBuckets {
		t.Fatalf("wide range: %v, %d buckets", err, Buckets(q))
	}
}

func TestCheckParams(t *testing.T) {
	cases := []struct {
		keys    []string
		param   string // "" = accepted
		allowed [][]string
	}{
		{[]string{"limit", "q"}, "", [][]string{FilterParams}},
		{[]string{"limit", "bogus"}, "bogus", [][]string{FilterParams}},
		{[]string{"limit", "limit"}, "limit", [][]string{FilterParams}},
		{[]string{"method"}, "method", nil},
		{[]string{"token", "step"}, "", [][]string{StatsParams, {"token"}}},
	}
	for _, c := range cases {
		err := CheckParams(c.keys, c.allowed...)
		var pe *ParamError
		switch {
		case c.param == "" && err != nil:
			t.Errorf("%v: %v", c.keys, err)
		case c.param != "" && (!errors.As(err, &pe) || pe.Param != c.param):
			t.Errorf("%v: got %v, want a ParamError on %q", c.keys, err, c.param)
		}
	}
	many := make([]string, maxParams+1)
	if err := CheckParams(many, FilterParams); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("too many parameters: %v", err)
	}
}

func TestFilterTimesAndCursorsBounded(t *testing.T) {
	far := schema.Cursor{ReceivedAt: time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, qs := range []string{"since=9999-01-01T00:00:00Z", "until=0001-01-01T00:00:00Z", "before=" + far.String(), "limit=1001", "limit=0", "limit=99999999999999999999"} {
		v, _ := url.ParseQuery(qs)
		if _, err := ParseFilter("b", v.Get); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("%s: accepted (%v)", qs, err)
		}
	}
}
