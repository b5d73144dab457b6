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
