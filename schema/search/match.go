package search

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/hookscope/hookscope/schema"
)

// Match evaluates n on r; a nil node matches everything. It is the
// reference semantics: the stores' SQL must select exactly the requests
// Match accepts (the conformance suite checks both against it).
func Match(n *Node, r *schema.Request) bool {
	if n == nil {
		return true
	}
	switch n.Op {
	case OpAnd:
		for _, k := range n.Kids {
			if !Match(k, r) {
				return false
			}
		}
		return true
	case OpOr:
		for _, k := range n.Kids {
			if Match(k, r) {
				return true
			}
		}
		return false
	case OpNot:
		return !Match(n.Kids[0], r)
	}
	t := &n.Term
	switch t.Field {
	case Text:
		return MatchText(r, t.Value)
	case Method:
		return r.Method == t.Value
	case Status:
		return r.ResponseStatus >= t.Lo && r.ResponseStatus <= t.Hi
	case IP:
		return r.RemoteIP == t.Value
	case Path:
		return ContainsFold(r.Path, t.Value)
	case EventType:
		return r.EventType == t.Value
	case DeliveryID:
		return r.DeliveryID == t.Value
	case Signature:
		return string(r.Signature.Status) == t.Value
	case Header:
		return MatchHeader(r.Headers, t.Name, t.Value, t.HasValue)
	case Body:
		return MatchJSON(r.Body, t.Keys, t.Value)
	}
	return false
}

// MatchText is a bare word's meaning (and q='s meaning before the search
// language): an ASCII case-insensitive substring of the path, the raw
// query, a header name or value, or the body.
func MatchText(r *schema.Request, needle string) bool {
	if ContainsFold(r.Path, needle) || ContainsFold(r.Query, needle) {
		return true
	}
	for _, h := range r.Headers {
		if ContainsFold(h.Name, needle) || ContainsFold(h.Value, needle) {
			return true
		}
	}
	return ContainsFold(string(r.Body), needle)
}

// MatchHeader: a header named name exists (and, when has, one of them has
// the value value); name and value are lower-case, compared ASCII
// case-insensitively.
func MatchHeader(hs []schema.Header, name, value string, has bool) bool {
	for _, h := range hs {
		if len(h.Name) == len(name) && ContainsFold(h.Name, name) {
			if !has || len(h.Value) == len(value) && ContainsFold(h.Value, value) {
				return true
			}
		}
	}
	return false
}

// MatchJSON: body is a valid JSON document whose value at keys (object
// members, the first of a duplicated key) is a string equal to value, or a
// number, true, false or null written as value; value is lower-case,
// compared ASCII case-insensitively. The body is bounded by the capture
// limit; it is read once to validate and once to walk.
func MatchJSON(body []byte, keys []string, value string) bool {
	raw, ok := JSONAt(body, keys)
	if !ok || len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case '{', '[':
		return false
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		return len(s) == len(value) && ContainsFold(s, value)
	}
	return len(raw) == len(value) && ContainsFold(string(raw), value)
}

// JSONAt returns the raw JSON value at keys in body (without surrounding
// white space), and whether there is one.
func JSONAt(body []byte, keys []string) (json.RawMessage, bool) {
	if len(keys) == 0 || !json.Valid(body) {
		return nil, false
	}
	cur := json.RawMessage(bytes.TrimSpace(body))
	for _, k := range keys {
		v, ok := member(cur, k)
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// member returns the first member named key of the JSON object obj.
func member(obj json.RawMessage, key string) (json.RawMessage, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, false
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if k, _ := kt.(string); k == key {
			return json.RawMessage(bytes.TrimSpace(v)), true
		}
	}
	return nil, false
}

// ContainsFold is an ASCII case-insensitive substring test (both stores
// fold ASCII only, so the live feed does the same).
func ContainsFold(s, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		if asciiEqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
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

// JoinKeys is the form a Body term's keys take as one SQL argument (keys
// never contain '.').
func JoinKeys(keys []string) string { return strings.Join(keys, ".") }
