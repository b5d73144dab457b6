// Package event reads what a webhook delivery says about itself: its event
// type, the provider's delivery (or event) id, and the attempt number where
// the provider states it. It is a pure function of the request, bounded and
// total: bodies are hostile, so parsing is linear, capped (MaxBody,
// MaxValue) and never fails; what cannot be read is left empty.
//
// Each provider hookscope verifies has its rules in providers.go; a bin's
// signature scheme picks its provider first, otherwise the request's
// headers do, and the generic rules (a top-level "type" or "event" field,
// an Idempotency-Key header) come last.
package event

import (
	"bytes"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hookscope/hookscope/ingest/jsontop"
	"github.com/hookscope/hookscope/schema"
)

// Info is what a delivery says about itself. Empty fields were not found.
type Info struct {
	Type       string // event type: "push", "pull_request.opened", "invoice.paid", "orders/create", ...
	DeliveryID string // the provider's id of this delivery or event, the same on its retries
	Attempt    int    // 1 for a first delivery, n for the (n-1)th retry; 0 when the provider does not say
	Source     string // whose rules found it: a provider name ("github", ...) or "generic"
}

// Request is what Extract reads. Headers are in arrival order; lookups are
// case-insensitive.
type Request struct {
	Method  string
	Headers []schema.Header
	Query   string // the raw query string (Twilio sends GET webhooks' parameters there)
	Body    []byte
	Scheme  string // the bin's signature scheme ("" when none): its provider's rules go first
}

const (
	// MaxBody is the largest body parsed; a larger one is read for headers only.
	MaxBody = 1 << 20
	// MaxValue caps every extracted string, in bytes (cut at a rune boundary).
	MaxValue = 256
	// maxRaw bounds a raw JSON string token decoded for a value: escapes
	// take at most six bytes per character.
	maxRaw = 6*MaxValue + 2
)

// Extract returns what r says about itself.
func Extract(r Request) Info {
	q := &req{Request: r}
	if p := providerFor(r.Scheme); p != nil {
		if info := p.extract(q); !info.empty() {
			info.Source = p.name
			return info
		}
	}
	for i := range providers {
		p := &providers[i]
		if p.detect(q) {
			if info := p.extract(q); !info.empty() {
				info.Source = p.name
				return info
			}
		}
	}
	if info := generic(q); !info.empty() {
		info.Source = "generic"
		return info
	}
	return Info{}
}

func (i Info) empty() bool { return i.Type == "" && i.DeliveryID == "" && i.Attempt == 0 }

// topKeys are the top-level members any rule reads. The body's top level
// is walked once and the last value of each is kept, so that a rule asking
// for several fields costs one pass over a large body, not one per field.
var topKeys = [...]string{"type", "action", "id", "event", "event_type", "eventType", "event_id", "eventId", "topic", "object_kind", "token"}

// req is a request with its body parsed at most once, on demand.
type req struct {
	Request
	jsonDone, isJSON bool
	formDone, isForm bool
	top              [len(topKeys)][]byte // raw values of topKeys, after json()
}

// header returns the first value of header name, clipped; "" when absent.
func (q *req) header(name string) string {
	for _, h := range q.Headers {
		if strings.EqualFold(h.Name, name) {
			return clip(strings.TrimSpace(h.Value))
		}
	}
	return ""
}

func (q *req) has(names ...string) bool {
	for _, h := range q.Headers {
		for _, n := range names {
			if strings.EqualFold(h.Name, n) {
				return true
			}
		}
	}
	return false
}

// json returns the body when it is a valid JSON document of at most MaxBody bytes.
func (q *req) json() ([]byte, bool) {
	if !q.jsonDone {
		q.jsonDone = true
		q.isJSON = len(q.Body) <= MaxBody && jsontop.Valid(q.Body)
		if q.isJSON {
			jsontop.Members(q.Body, func(k, v []byte) bool {
				if i := topIndex(k); i >= 0 {
					q.top[i] = v
				}
				return true
			})
		}
	}
	return q.Body, q.isJSON
}

// topIndex is the index in topKeys of the member named by the raw key
// token k, or -1. A key without escapes is compared as it is (what KeyIs
// does first); only a key with a backslash is decoded, once per name, by
// KeyIs. Asking KeyIs for every name scanned each key for a backslash
// eleven times, the largest cost of extraction in a profile.
func topIndex(k []byte) int {
	if !bytes.Contains(k, []byte{'\\'}) {
		name := k[1 : len(k)-1] // a valid document's key is a quoted string
		for i, t := range topKeys {
			if string(name) == t {
				return i
			}
		}
		return -1
	}
	for i, t := range topKeys {
		if jsontop.KeyIs(k, t) {
			return i
		}
	}
	return -1
}

// field returns the raw value of the body's top-level member name (the last
// one when repeated, as JSON.parse keeps it), or nil. A name outside
// topKeys costs a walk of its own.
func (q *req) field(name string) []byte {
	body, ok := q.json()
	if !ok {
		return nil
	}
	for i, k := range topKeys {
		if k == name {
			return q.top[i]
		}
	}
	return member(body, name)
}

func member(obj []byte, name string) []byte {
	var val []byte
	jsontop.Members(obj, func(k, v []byte) bool {
		if jsontop.KeyIs(k, name) {
			val = v
		}
		return true
	})
	return val
}

// str returns the top-level string field name, clipped.
func (q *req) str(name string) string { return rawString(q.field(name)) }

// nested returns the string field name of the top-level object field obj.
func (q *req) nested(obj, name string) string {
	o := q.field(obj)
	if len(o) == 0 || o[0] != '{' {
		return ""
	}
	return rawString(member(o, name))
}

func rawString(raw []byte) string {
	s, ok := jsontop.String(raw, maxRaw)
	if !ok {
		return ""
	}
	return clip(s)
}

// form returns the first value of an urlencoded parameter, clipped.
func (q *req) form(name string) string { return clip(q.formRaw(name)) }

// formRaw returns the first value of an urlencoded parameter, whole: from
// the body of a form POST (at most MaxBody), else from the query string.
func (q *req) formRaw(name string) string {
	if !q.formDone {
		q.formDone = true
		ct := q.header("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		q.isForm = err == nil && mt == "application/x-www-form-urlencoded" && len(q.Body) <= MaxBody
	}
	if q.isForm {
		if v, ok := formValue(string(q.Body), name); ok {
			return v
		}
	}
	if v, ok := formValue(q.Query, name); ok {
		return v
	}
	return ""
}

// formValue scans s ("a=1&b=2") for the first parameter name without
// decoding the others; values longer than the cap are not decoded.
func formValue(s, name string) (string, bool) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") || len(k) > 3*len(name) {
				continue
			}
			if dk, err := url.QueryUnescape(k); err != nil || dk != name {
				continue
			}
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", false
		}
		return dv, true
	}
	return "", false
}

// clip replaces invalid UTF-8 and cuts s to MaxValue bytes at a rune
// boundary.
func clip(s string) string {
	if len(s) > 4*MaxValue {
		s = s[:4*MaxValue] // bound the replacement's work; cut again below
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxValue {
		cut := MaxValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
