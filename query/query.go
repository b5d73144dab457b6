// Package query is the read side: it validates API parameters into
// schema.Filter and schema.StatsQuery, matches live requests against a filter
// the same way stores do, and shapes results. It knows nothing of HTTP
// frameworks: parameters arrive through a lookup function.
package query

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// ParamError names the parameter that was wrong; the web layer answers 400.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %q: %s", e.Param, e.Msg) }

// Unwrap makes a ParamError match schema.ErrInvalid.
func (e *ParamError) Unwrap() error { return schema.ErrInvalid }

// Get returns one query parameter's value ("" when absent).
type Get func(key string) string

const (
	DefaultLimit = 50
	MaxLimit     = 1000
	maxQLen      = 512
)

// ParseFilter validates the requests-list parameters: limit, before, method,
// status, ip, q, since, until, signature.
func ParseFilter(binID string, get Get) (schema.Filter, error) {
	f := schema.Filter{BinID: binID, Limit: DefaultLimit}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, &ParamError{"limit", fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)}
		}
		f.Limit = n
	}
	if v := get("before"); v != "" {
		c, err := schema.ParseCursor(v)
		if err != nil {
			return f, &ParamError{"before", "not a cursor returned as next"}
		}
		f.Before = c
	}
	if err := parseMatchParams(&f, get); err != nil {
		return f, err
	}
	return f, nil
}

// ParseLiveFilter validates the live feed's filters (no paging parameters).
func ParseLiveFilter(binID string, get Get) (schema.Filter, error) {
	f := schema.Filter{BinID: binID}
	return f, parseMatchParams(&f, get)
}

func parseMatchParams(f *schema.Filter, get Get) error {
	if v := get("method"); v != "" {
		if len(v) > 32 || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return &ParamError{"method", "must be an HTTP method token"}
		}
		f.Method = strings.ToUpper(v)
	}
	if v := get("status"); v != "" {
		lo, hi, err := ParseStatus(v)
		if err != nil {
			return &ParamError{"status", err.Error()}
		}
		f.StatusMin, f.StatusMax = lo, hi
	}
	if v := get("ip"); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return &ParamError{"ip", "must be an IPv4 or IPv6 address"}
		}
		f.IP = a.Unmap().String()
	}
	if v := get("q"); v != "" {
		if len(v) > maxQLen {
			return &ParamError{"q", fmt.Sprintf("at most %d bytes", maxQLen)}
		}
		f.Q = v
	}
	var err error
	if f.Since, err = parseTime("since", get("since")); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", get("until")); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return &ParamError{"until", "must be after since"}
	}
	if v := get("signature"); v != "" {
		s := schema.SignatureStatus(v)
		if !s.Valid() {
			return &ParamError{"signature", "must be valid, invalid, missing or unchecked"}
		}
		f.Signature = s
	}
	return nil
}

// ParseStatus accepts an exact code (100-599) or a class 1xx..5xx.
func ParseStatus(v string) (lo, hi int, err error) {
	if len(v) == 3 && v[1] == 'x' && v[2] == 'x' && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return c, c + 99, nil
	}
	n, convErr := strconv.Atoi(v)
	if convErr != nil || n < 100 || n > 599 {
		return 0, 0, errors.New("must be a status code (100-599) or a class like 2xx")
	}
	return n, n, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &ParamError{name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	return t.UTC(), nil
}

// ParseStats validates since, until and step of the stats endpoint. Without
// since, the window is the last 24 hours; step defaults to a value that gives
// at most ~300 buckets.
func ParseStats(binID string, get Get, now time.Time) (schema.StatsQuery, error) {
	q := schema.StatsQuery{BinID: binID}
	var err error
	if q.Since, err = parseTime("since", get("since")); err != nil {
		return q, err
	}
	if q.Until, err = parseTime("until", get("until")); err != nil {
		return q, err
	}
	if q.Until.IsZero() {
		q.Until = now.UTC().Truncate(time.Second).Add(time.Second)
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	if !q.Since.Before(q.Until) {
		return q, &ParamError{"until", "must be after since"}
	}
	if v := get("step"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 31*24*time.Hour {
			return q, &ParamError{"step", "must be a duration from 1s to 744h, like 1m"}
		}
		q.Step = d
	} else {
		q.Step = autoStep(q.Until.Sub(q.Since))
	}
	if q.Until.Sub(q.Since)/q.Step > 10_000 {
		return q, &ParamError{"step", "too small for the time range (more than 10000 buckets)"}
	}
	return q, nil
}

func autoStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour} {
		if span/s <= 300 {
			return s
		}
	}
	return 24 * time.Hour
}

// FillSeries returns one point per step in [since, until), taking counts from
// the sparse series a store returned.
func FillSeries(sparse []schema.SeriesPoint, q schema.StatsQuery) []schema.SeriesPoint {
	step := q.Step
	start := time.Unix(0, 0).UTC().Add(q.Since.Sub(time.Unix(0, 0)).Truncate(step))
	byT := make(map[int64]schema.SeriesPoint, len(sparse))
	for _, p := range sparse {
		byT[p.T.UnixNano()] = p
	}
	out := make([]schema.SeriesPoint, 0, int(q.Until.Sub(start)/step)+1)
	for t := start; t.Before(q.Until); t = t.Add(step) {
		p, ok := byT[t.UnixNano()]
		if !ok {
			p = schema.SeriesPoint{T: t}
		}
		p.T = t
		out = append(out, p)
	}
	return out
}

// Match reports whether r satisfies f's match fields (not paging), with the
// same semantics stores apply. The live feed uses it.
func Match(f *schema.Filter, r *schema.Request) bool {
	if f.BinID != "" && r.BinID != f.BinID {
		return false
	}
	if f.Method != "" && r.Method != f.Method {
		return false
	}
	if f.StatusMin != 0 && r.ResponseStatus < f.StatusMin {
		return false
	}
	if f.StatusMax != 0 && r.ResponseStatus > f.StatusMax {
		return false
	}
	if f.IP != "" && r.RemoteIP != f.IP {
		return false
	}
	if !f.Since.IsZero() && r.ReceivedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !r.ReceivedAt.Before(f.Until) {
		return false
	}
	if f.Signature != "" && r.Signature.Status != f.Signature {
		return false
	}
	if f.Q != "" && !matchQ(f.Q, r) {
		return false
	}
	return true
}

func matchQ(q string, r *schema.Request) bool {
	if containsFold(r.Path, q) || containsFold(r.Query, q) {
		return true
	}
	for _, h := range r.Headers {
		if containsFold(h.Name, q) || containsFold(h.Value, q) {
			return true
		}
	}
	return containsFoldBytes(r.Body, q)
}

// containsFold is an ASCII case-insensitive substring test (stores fold
// ASCII only, so the live feed does the same).
func containsFold(s, sub string) bool {
	return indexFold(s, sub) >= 0
}

func containsFoldBytes(b []byte, sub string) bool {
	return indexFold(string(b), sub) >= 0
}

func indexFold(s, sub string) int {
	n := len(sub)
	if n == 0 {
		return 0
	}
	for i := 0; i+n <= len(s); i++ {
		if asciiEqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
