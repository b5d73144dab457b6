// Package diff compares two captured requests: method, path, status,
// headers, query parameters and the body — structurally for two JSON
// bodies (added, removed and changed paths with their values), by line for
// text, as a summary for anything else. The work is bounded: bodies are
// already bounded by the capture limit, the number of entries is capped,
// and the line diff has a time budget.
package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/hookscope/hookscope/schema"
)

// Limits of one comparison.
const (
	// MaxEntries caps header, query and JSON entries, and line hunks.
	MaxEntries = 500
	// MaxValueBytes caps one JSON value in an entry; a larger one is
	// replaced by a summary string.
	MaxValueBytes = 1024
	// MaxLines caps the lines of a text body taken into the line diff.
	MaxLines = 20_000
	// LineTimeout bounds the line diff's CPU time; past it the diff is
	// coarser (still correct: every line is in exactly one hunk).
	LineTimeout = 200 * time.Millisecond
)

// Op is what happened to an entry going from the other request to this one.
type Op string

const (
	Added   Op = "added"
	Removed Op = "removed"
	Changed Op = "changed"
)

// Change is one scalar field that differs.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Entry is one header, query parameter or JSON path that differs. Values
// of repeated headers/parameters are joined with ", ".
type Entry struct {
	Name string `json:"name"`
	Op   Op     `json:"op"`
	From any    `json:"from,omitempty"`
	To   any    `json:"to,omitempty"`
}

// Line is one hunk of a line diff: Op is "equal", "insert" or "delete".
type Line struct {
	Op    string   `json:"op"`
	Lines []string `json:"lines"`
}

// Side summarises one body.
type Side struct {
	Size      int64  `json:"size"`
	Stored    int    `json:"stored"`
	Truncated bool   `json:"truncated"`
	SHA256    string `json:"sha256"`
}

// Body is the body comparison. Kind is "same", "json", "text" or "binary".
type Body struct {
	Kind  string  `json:"kind"`
	From  Side    `json:"from"`
	To    Side    `json:"to"`
	JSON  []Entry `json:"json,omitempty"`
	Lines []Line  `json:"lines,omitempty"`
	// FirstDifference is the offset of the first differing byte (binary).
	FirstDifference *int `json:"first_difference,omitempty"`
	// Truncated: the entries or lines were cut at the limits.
	Truncated bool `json:"truncated"`
}

// Result is the comparison of To (the request asked about) against From
// (the one given as against).
type Result struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	Fields  map[string]Change `json:"fields"`
	Headers []Entry           `json:"headers"`
	Query   []Entry           `json:"query"`
	Body    Body              `json:"body"`
	// Truncated: headers or query entries were cut at MaxEntries.
	Truncated bool `json:"truncated"`
}

// Compare diffs to against from.
func Compare(from, to *schema.Request) *Result {
	r := &Result{From: from.ID.String(), To: to.ID.String(), Fields: map[string]Change{}}
	field := func(name string, a, b any) {
		if a != b {
			r.Fields[name] = Change{From: a, To: b}
		}
	}
	field("method", from.Method, to.Method)
	field("path", from.Path, to.Path)
	field("content_type", from.ContentType, to.ContentType)
	field("response_status", from.ResponseStatus, to.ResponseStatus)
	field("remote_ip", from.RemoteIP, to.RemoteIP)
	field("signature", string(from.Signature.Status), string(to.Signature.Status))
	field("event_type", from.EventType, to.EventType)
	field("delivery_id", from.DeliveryID, to.DeliveryID)
	field("attempt", from.Attempt, to.Attempt)

	var cut bool
	r.Headers, cut = pairs(headerPairs(from.Headers), headerPairs(to.Headers))
	r.Truncated = cut
	r.Query, cut = pairs(queryPairs(from.Query), queryPairs(to.Query))
	r.Truncated = r.Truncated || cut
	// Empty lists, not null: clients iterate them.
	if r.Headers == nil {
		r.Headers = []Entry{}
	}
	if r.Query == nil {
		r.Query = []Entry{}
	}
	r.Body = compareBody(from, to)
	return r
}

type pair struct{ name, value string }

func headerPairs(hs []schema.Header) []pair {
	ps := make([]pair, len(hs))
	for i, h := range hs {
		ps[i] = pair{h.Name, h.Value}
	}
	return ps
}

// queryPairs splits a raw query like url.ParseQuery, keeping order and
// tolerating bad escapes (the raw text is kept then).
func queryPairs(raw string) []pair {
	var ps []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		ps = append(ps, pair{k, v})
	}
	return ps
}

// pairs compares two multisets of name/value pairs, names ASCII
// case-insensitive (headers; query names rarely differ only by case), in
// the order names first appear (this request's first, then the other's).
func pairs(a, b []pair) ([]Entry, bool) {
	type group struct {
		name   string
		values []string
	}
	collect := func(ps []pair) (map[string]*group, []string) {
		m := map[string]*group{}
		var order []string
		for _, p := range ps {
			k := strings.ToLower(p.name)
			g, ok := m[k]
			if !ok {
				g = &group{name: p.name}
				m[k] = g
				order = append(order, k)
			}
			g.values = append(g.values, p.value)
		}
		return m, order
	}
	ma, oa := collect(a)
	mb, ob := collect(b)
	var out []Entry
	seen := map[string]bool{}
	for _, k := range append(ob, oa...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		ga, gb := ma[k], mb[k]
		var e Entry
		switch {
		case ga == nil:
			e = Entry{Name: gb.name, Op: Added, To: strings.Join(gb.values, ", ")}
		case gb == nil:
			e = Entry{Name: ga.name, Op: Removed, From: strings.Join(ga.values, ", ")}
		case !slices.Equal(ga.values, gb.values):
			e = Entry{Name: gb.name, Op: Changed, From: strings.Join(ga.values, ", "), To: strings.Join(gb.values, ", ")}
		default:
			continue
		}
		if len(out) == MaxEntries {
			return out, true
		}
		out = append(out, e)
	}
	return out, false
}

func side(r *schema.Request) Side {
	sum := sha256.Sum256(r.Body)
	return Side{Size: r.BodySize, Stored: len(r.Body), Truncated: r.BodyTruncated, SHA256: hex.EncodeToString(sum[:])}
}

func compareBody(from, to *schema.Request) Body {
	b := Body{From: side(from), To: side(to)}
	a, c := from.Body, to.Body
	switch {
	case bytes.Equal(a, c):
		b.Kind = "same"
	case isJSON(a) && isJSON(c):
		b.Kind = "json"
		b.JSON, b.Truncated = compareJSON(a, c)
	case isText(a) && isText(c):
		b.Kind = "text"
		b.Lines, b.Truncated = compareLines(string(a), string(c))
	default:
		b.Kind = "binary"
		n := min(len(a), len(c))
		i := 0
		for i < n && a[i] == c[i] {
			i++
		}
		b.FirstDifference = &i
	}
	return b
}

func isJSON(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// isText: valid UTF-8 without NUL or other control bytes than tab and
// line ends (an empty body is text).
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func decodeJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	_ = d.Decode(&v) // validated by isJSON
	return v
}

type jsonDiff struct {
	out []Entry
	cut bool
}

func compareJSON(a, b []byte) ([]Entry, bool) {
	d := &jsonDiff{}
	d.walk("$", decodeJSON(a), decodeJSON(b))
	return d.out, d.cut
}

func (d *jsonDiff) add(e Entry) {
	if len(d.out) == MaxEntries {
		d.cut = true
		return
	}
	d.out = append(d.out, e)
}

func (d *jsonDiff) walk(path string, a, b any) {
	if d.cut {
		return
	}
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(x)+len(y))
			for k := range x {
				keys = append(keys, k)
			}
			for k := range y {
				if _, ok := x[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				p := path + keyPath(k)
				va, ina := x[k]
				vb, inb := y[k]
				switch {
				case !ina:
					d.add(Entry{Name: p, Op: Added, To: bounded(vb)})
				case !inb:
					d.add(Entry{Name: p, Op: Removed, From: bounded(va)})
				default:
					d.walk(p, va, vb)
				}
			}
			return
		}
	case []any:
		if y, ok := b.([]any); ok {
			for i := range max(len(x), len(y)) {
				p := path + "[" + strconv.Itoa(i) + "]"
				switch {
				case i >= len(x):
					d.add(Entry{Name: p, Op: Added, To: bounded(y[i])})
				case i >= len(y):
					d.add(Entry{Name: p, Op: Removed, From: bounded(x[i])})
				default:
					d.walk(p, x[i], y[i])
				}
			}
			return
		}
	default:
		if equalScalar(a, b) {
			return
		}
	}
	d.add(Entry{Name: path, Op: Changed, From: bounded(a), To: bounded(b)})
}

func equalScalar(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

// keyPath renders a key as .key, or ["key"] when it is not a plain name.
func keyPath(k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return "." + k
	}
	q, _ := json.Marshal(k)
	return "[" + string(q) + "]"
}

// bounded returns v, or a summary string when its JSON is larger than
// MaxValueBytes.
func bounded(v any) any {
	b, err := json.Marshal(v)
	if err != nil || len(b) <= MaxValueBytes {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		return fmt.Sprintf("{…} (%d keys, %d bytes)", len(x), len(b))
	case []any:
		return fmt.Sprintf("[…] (%d items, %d bytes)", len(x), len(b))
	case string:
		if len(x) > MaxValueBytes {
			return strings.ToValidUTF8(x[:MaxValueBytes], "") + "…"
		}
		return x
	}
	return fmt.Sprintf("(%d bytes)", len(b))
}

// compareLines is a line diff (diff-match-patch's line mode) of at most
// MaxLines lines a side, under LineTimeout.
func compareLines(a, b string) ([]Line, bool) {
	a, ca := firstLines(a, MaxLines)
	b, cb := firstLines(b, MaxLines)
	cut := ca || cb
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = LineTimeout
	ra, rb, lines := dmp.DiffLinesToRunes(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(ra, rb, false), lines)
	var out []Line
	for _, d := range diffs {
		op := "equal"
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = "insert"
		case diffmatchpatch.DiffDelete:
			op = "delete"
		}
		if len(out) == MaxEntries {
			return out, true
		}
		out = append(out, Line{Op: op, Lines: splitLines(d.Text)})
	}
	return out, cut
}

func firstLines(s string, n int) (string, bool) {
	i := 0
	for range n {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			return s, false
		}
		i += j + 1
	}
	return s[:i], i < len(s)
}

// splitLines splits a hunk into its lines, without their line ends.
func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}
