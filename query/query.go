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
	"github.com/hookscope/hookscope/schema/search"
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
		if err != nil || !inTimeRange(c.ReceivedAt) {
			return f, &ParamError{"before", "not a cursor returned as next"}
		}
		f.Before = c
	}
	if err := parseMatchParams(&f, get); err != nil {
		return f, err
	}
	var err error
	f.Forward, err = ParseForwardState(get)
	return f, err
}

// ParseForwardState validates forward= (the list and its count only: the
// live feed and delete-by-filter do not take it).
func ParseForwardState(get Get) (schema.ForwardState, error) {
	v := schema.ForwardState(get("forward"))
	if v != "" && !v.Valid() {
		return "", &ParamError{"forward", "must be delivered, failed, retrying or skipped"}
	}
	return v, nil
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
		// Parsed here for its 400 (naming the position); the stores parse
		// it again to compile it, the live feed to evaluate it.
		if _, err := search.Parse(v); err != nil {
			return &ParamError{"q", err.Error()}
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
	if v := get("event_type"); v != "" {
		if len(v) > maxIDLen {
			return &ParamError{"event_type", fmt.Sprintf("at most %d bytes", maxIDLen)}
		}
		f.EventType = v
	}
	if v := get("delivery_id"); v != "" {
		if len(v) > maxIDLen {
			return &ParamError{"delivery_id", fmt.Sprintf("at most %d bytes", maxIDLen)}
		}
		f.DeliveryID = v
	}
	switch v := get("replays"); v {
	case "", "include":
	case "exclude":
		f.Replays = schema.ReplaysExclude
	case "only":
		f.Replays = schema.ReplaysOnly
	default:
		return &ParamError{"replays", "must be include, exclude or only"}
	}
	return nil
}

// maxIDLen bounds event_type= and delivery_id=: capture keeps at most 256
// bytes of either (ingest/event.MaxValue).
const maxIDLen = 256

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

// MinTime and MaxTime bound every time parameter (MaxTime exclusive). Both
// stores and time.Duration arithmetic are exact inside them (ClickHouse
// 18.16's DateTime ends in 2106, a Duration at ~292 years), so a span of two
// valid times never saturates.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func inTimeRange(t time.Time) bool { return !t.Before(MinTime) && t.Before(MaxTime) }

// maxTimeLen bounds a time parameter before it is parsed.
const maxTimeLen = 64

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) > maxTimeLen {
		return time.Time{}, &ParamError{name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &ParamError{name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
	}
	if !inTimeRange(t) {
		return time.Time{}, &ParamError{name, "must be from 1970-01-01T00:00:00Z to before 2100-01-01T00:00:00Z"}
	}
	return t.UTC(), nil
}

// Stats limits: a step is whole seconds from MinStep to MaxStep, and a
// series has at most MaxBuckets points.
const (
	MinStep    = time.Second
	MaxStep    = 31 * 24 * time.Hour
	MaxBuckets = 10_000
	maxStepLen = 32
)

// ParseStats validates since, until and step of the stats endpoint. Without
// since, the window is the last 24 hours; step defaults to a value that gives
// at most ~300 buckets. The bucket count is computed in whole seconds from
// Unix times (never from a time.Duration span, which saturates at ~292
// years), before anything is sized by it.
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
		if !inTimeRange(q.Until) {
			return q, &ParamError{"until", "the server clock is outside the supported range; give until"}
		}
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
		if q.Since.Before(MinTime) {
			q.Since = MinTime
		}
	}
	if !q.Since.Before(q.Until) {
		return q, &ParamError{"until", "must be after since"}
	}
	// Both times are inside [MinTime, MaxTime): the span fits a Duration.
	span := q.Until.Sub(q.Since)
	if v := get("step"); v != "" {
		d, err := parseStep(v)
		if err != nil {
			return q, err
		}
		q.Step = d
	} else {
		q.Step = autoStep(span)
	}
	if Buckets(q) > MaxBuckets {
		return q, &ParamError{"step", fmt.Sprintf("too small for the time range (more than %d buckets)", MaxBuckets)}
	}
	switch get("replays") {
	case "", "include":
	case "exclude":
		q.ExcludeReplays = true
	default:
		return q, &ParamError{"replays", "must be include or exclude"}
	}
	return q, nil
}

func parseStep(v string) (time.Duration, error) {
	bad := &ParamError{"step", "must be a whole number of seconds from 1s to 744h, like 1m"}
	if len(v) > maxStepLen {
		return 0, bad
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < MinStep || d > MaxStep || d%time.Second != 0 {
		return 0, bad
	}
	return d, nil
}

// Buckets is how many points FillSeries returns for q, computed in seconds
// so that it is exact for any times and steps; 0 for an invalid query.
func Buckets(q schema.StatsQuery) int64 {
	stepS := int64(q.Step / time.Second)
	if stepS <= 0 || !q.Since.Before(q.Until) {
		return 0
	}
	// Floor division towards minus infinity, as Truncate does for
	// times after 1970 (and as the stores bucket).
	first := floorDiv(q.Since.Unix(), stepS)
	last := floorDiv(q.Until.Unix()-1, stepS)
	if q.Until.Nanosecond() != 0 {
		last = floorDiv(q.Until.Unix(), stepS)
	}
	return last - first + 1
}

func floorDiv(a, b int64) int64 {
	d := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		d--
	}
	return d
}

func autoStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, MaxStep} {
		if span/s <= 300 {
			return s
		}
	}
	return MaxStep
}

// FillSeries returns one point per step in [since, until), taking counts from
// the sparse series a store returned. A query ParseStats did not accept
// (more than MaxBuckets points) gets the sparse series back unchanged rather
// than an allocation sized by it.
func FillSeries(sparse []schema.SeriesPoint, q schema.StatsQuery) []schema.SeriesPoint {
	n := Buckets(q)
	if n <= 0 || n > MaxBuckets {
		return sparse
	}
	step := q.Step
	start := time.Unix(floorDiv(q.Since.Unix(), int64(step/time.Second))*int64(step/time.Second), 0).UTC()
	byT := make(map[int64]schema.SeriesPoint, len(sparse))
	for _, p := range sparse {
		byT[p.T.UnixNano()] = p
	}
	out := make([]schema.SeriesPoint, 0, n)
	for t := start; t.Before(q.Until) && int64(len(out)) < n; t = t.Add(step) {
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
// same semantics stores apply. It parses f.Q on every call: the live feed
// uses Matcher, which parses it once.
func Match(f *schema.Filter, r *schema.Request) bool {
	m, err := Matcher(f)
	return err == nil && m(r)
}

// Matcher compiles f's match fields (not paging) into a predicate with the
// stores' semantics; an f.Q that does not parse is an error.
func Matcher(f *schema.Filter) (func(*schema.Request) bool, error) {
	n, err := search.Parse(f.Q)
	if err != nil {
		return nil, &ParamError{"q", err.Error()}
	}
	flt := *f
	return func(r *schema.Request) bool { return match(&flt, n, r) }, nil
}

func match(f *schema.Filter, q *search.Node, r *schema.Request) bool {
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
	if f.EventType != "" && r.EventType != f.EventType {
		return false
	}
	if f.DeliveryID != "" && r.DeliveryID != f.DeliveryID {
		return false
	}
	if f.Replays == schema.ReplaysExclude && schema.IsReplay(r) || f.Replays == schema.ReplaysOnly && !schema.IsReplay(r) {
		return false
	}
	return search.Match(q, r)
}

// The parameters each query parser reads. A route accepts exactly these
// (plus what the web layer adds, such as token); anything else is a 400,
// never silently ignored.
var (
	FilterParams = []string{"limit", "before", "method", "status", "ip", "q", "since", "until", "signature", "event_type", "delivery_id", "forward", "replays"}
	// MatchParams are the list's filters without paging (delete by filter).
	MatchParams = []string{"method", "status", "ip", "q", "since", "until", "signature", "event_type", "delivery_id", "replays"}
	LiveParams  = []string{"method", "status", "ip", "q", "since", "until", "signature", "event_type", "delivery_id", "replays", "after"}
	StatsParams = []string{"since", "until", "step", "replays"}
)

// maxParams bounds how many query parameters a request may carry.
const maxParams = 32

// CheckParams refuses a parameter that is not in one of the allowed lists,
// and one given more than once (only one value would be used).
func CheckParams(keys []string, allowed ...[]string) error {
	if len(keys) > maxParams {
		return &ParamError{"query", fmt.Sprintf("at most %d parameters", maxParams)}
	}
	for i, k := range keys {
		known := false
		for _, list := range allowed {
			for _, a := range list {
				if k == a {
					known = true
				}
			}
		}
		if !known {
			return &ParamError{truncName(k), "unknown parameter for this route"}
		}
		for _, prev := range keys[:i] {
			if prev == k {
				return &ParamError{k, "given more than once"}
			}
		}
	}
	return nil
}

// truncName keeps an attacker's parameter name short and printable in the
// error message.
func truncName(k string) string {
	k = strings.ToValidUTF8(k, "?")
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	return k
}
