package query

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// FuzzParseFilter: any query string either parses into a filter whose
// values are within their documented ranges, or gives a ParamError naming
// a parameter. Never a panic.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"limit=10&status=2xx&method=post&q=hello",
		"before=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&ip=::ffff:10.0.0.1",
		"since=2026-01-02T15:04:05Z&until=2026-01-01T00:00:00Z",
		"status=99&limit=-1&signature=maybe&q=%00%ff",
		"method=G%20ET&step=0s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter("bin", v.Get)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" || !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("error %v is not a ParamError naming a parameter", err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > MaxLimit {
			t.Fatalf("limit %d out of range", flt.Limit)
		}
		if flt.StatusMin != 0 && (flt.StatusMin < 100 || flt.StatusMax > 599 || flt.StatusMin > flt.StatusMax) {
			t.Fatalf("status range %d-%d", flt.StatusMin, flt.StatusMax)
		}
		if flt.Signature != "" && !flt.Signature.Valid() {
			t.Fatalf("signature %q", flt.Signature)
		}
		if _, err := ParseStats("bin", v.Get, time.Now()); err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("stats error %v is not a ParamError", err)
			}
		}
	})
}

// FuzzParseCursor: decoding never panics and re-encodes to the same string.
func FuzzParseCursor(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := schema.ParseCursor(s)
		if err != nil {
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("cursor error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if c2, err := schema.ParseCursor(c.String()); err != nil || !c2.ReceivedAt.Equal(c.ReceivedAt) || c2.ID != c.ID {
			t.Fatalf("round trip of %q failed", s)
		}
	})
}

// FuzzParseStats: since, until and step either give a query whose series
// has 1..MaxBuckets points (which FillSeries then produces exactly), or a
// ParamError. Seeds cover the extremes: years 1 to 9999, steps from 1ns.
func FuzzParseStats(f *testing.F) {
	for _, s := range []string{
		"since=9999-12-30T00:00:00Z&until=9999-12-31T00:00:00Z&step=10s",
		"since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z&step=1ns",
		"since=1970-01-01T00:00:00Z&until=2099-12-31T23:59:59.999999999Z",
		"step=9223372036854775807ns",
		"since=2026-01-01T00:00:00.5Z&until=2026-01-01T00:00:10.25Z&step=3s",
		"step=-1s",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseStats("bin", v.Get, now)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" {
				t.Fatalf("error %v is not a ParamError naming a parameter", err)
			}
			return
		}
		n := Buckets(q)
		if n < 1 || n > MaxBuckets || q.Step < MinStep || q.Step > MaxStep {
			t.Fatalf("accepted %+v with %d buckets", q, n)
		}
		if got := FillSeries(nil, q); int64(len(got)) != n {
			t.Fatalf("FillSeries gave %d points, Buckets %d", len(got), n)
		}
	})
}

// FuzzParseLiveFilter: the live feed's filters parse or name a parameter.
func FuzzParseLiveFilter(f *testing.F) {
	f.Add("method=POST&status=5xx&ip=10.0.0.1&since=2026-01-01T00:00:00Z")
	f.Add("q=%ff%00&signature=valid&until=9999-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseLiveFilter("bin", v.Get)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" {
				t.Fatalf("error %v is not a ParamError naming a parameter", err)
			}
			return
		}
		if !flt.Since.IsZero() && !inTimeRange(flt.Since) || !flt.Until.IsZero() && !inTimeRange(flt.Until) {
			t.Fatalf("time out of range: %v %v", flt.Since, flt.Until)
		}
		if len(flt.Q) > maxQLen {
			t.Fatalf("q of %d bytes", len(flt.Q))
		}
	})
}

// FuzzCheckParams: a set of keys is accepted only when each is allowed and
// unique; a refusal names a short parameter.
func FuzzCheckParams(f *testing.F) {
	f.Add("limit=1&q=x")
	f.Add("limit=1&limit=2")
	f.Add("bogus=1&token=x")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var keys []string
		for k, vs := range v {
			for range vs {
				keys = append(keys, k)
			}
		}
		err = CheckParams(keys, FilterParams, []string{"token"})
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || len(pe.Param) > 70 {
				t.Fatalf("error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Fatalf("duplicate %q accepted", k)
			}
			seen[k] = true
		}
	})
}
