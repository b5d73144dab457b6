// Package search is the language of Filter.Q: a query of terms such as
// `status:5xx`, `header:X-GitHub-Event=push`, `body.data.object.id:ch_1`,
// quoted phrases and bare words, combined with AND, OR, NOT (or -term) and
// parentheses. Parse turns the text into a small AST; each store compiles
// the AST into its own SQL with bound arguments, and Match evaluates it on a
// request in memory (the live feed, and the reference the conformance suite
// holds both stores to).
//
// It lives under schema because it is part of the storage contract: the
// stores import it to compile Filter.Q, and it imports only schema.
package search

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/schema"
)

// Limits on hostile input, checked before anything is built from it.
const (
	// MaxLen bounds the query text in bytes.
	MaxLen = 512
	// MaxTerms bounds the number of terms (each becomes a condition in SQL).
	MaxTerms = 32
	// MaxDepth bounds nesting (parentheses and NOT), so that neither the
	// parser nor a compiler recurses deeply.
	MaxDepth = 8
	// MaxPathSegments bounds a body.path's keys; MaxNameLen a header name
	// or a path key; MaxValueLen a field's value.
	MaxPathSegments = 8
	MaxNameLen      = 128
	MaxValueLen     = 256
)

// Field is what a term matches.
type Field int

const (
	// Text is a bare word or phrase: an ASCII case-insensitive substring
	// of the path, the raw query, any header name or value, or the body.
	Text Field = iota
	// Method is an exact method, upper-cased.
	Method
	// Status is a response status range [Lo, Hi].
	Status
	// IP is an exact remote address (canonical form).
	IP
	// Path is an ASCII case-insensitive substring of the path.
	Path
	// EventType and DeliveryID are exact.
	EventType
	DeliveryID
	// Signature is a signature verdict.
	Signature
	// Header: a header named Name (ASCII case-insensitive) exists and,
	// when HasValue, one such header's value equals Value (ASCII
	// case-insensitive).
	Header
	// Body: the JSON body holds, at the object keys Keys, a string equal to
	// Value or a number, true, false or null written as Value (ASCII
	// case-insensitive); objects and arrays never match.
	Body
)

// fields maps the prefixes before ':' to their field. A word whose prefix
// is not here is a bare word, so `https://x` still searches text.
var fields = map[string]Field{
	"method": Method, "status": Status, "ip": IP, "path": Path,
	"event_type": EventType, "delivery_id": DeliveryID, "signature": Signature,
	"header": Header,
}

// Op is a node's kind.
type Op int

const (
	OpTerm Op = iota
	OpAnd
	OpOr
	OpNot
)

// Node is one node of the AST. And and Or have two or more Kids, Not has
// one, a Term none.
type Node struct {
	Op   Op
	Kids []*Node
	Term Term
}

// Term is one condition. Value is normalised for its field: upper-case
// method, canonical IP, and for Header and Body the ASCII lower-cased
// value; Text keeps the text as written (stores fold it themselves).
type Term struct {
	Field    Field
	Value    string
	Name     string   // Header: lower-cased name
	HasValue bool     // Header: a value was given
	Keys     []string // Body: object keys, outermost first
	Lo, Hi   int      // Status
	Pos      int      // 1-based byte position in the query
}

// SyntaxError is a query that does not parse: Pos is the 1-based byte
// position of the problem. It matches schema.ErrInvalid.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("syntax error at position %d: %s", e.Pos, e.Msg)
}

// Unwrap makes a SyntaxError match schema.ErrInvalid.
func (e *SyntaxError) Unwrap() error { return schema.ErrInvalid }

// IsSyntaxError reports whether err is (or wraps) a *SyntaxError.
func IsSyntaxError(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}

// Parse parses q. An empty (or blank) query gives a nil node, which
// matches everything.
func Parse(q string) (*Node, error) {
	if len(q) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen + 1, Msg: fmt.Sprintf("query longer than %d bytes", MaxLen)}
	}
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{toks: toks, end: len(q) + 1}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind == tokRParen {
			return nil, &SyntaxError{Pos: t.pos, Msg: "unmatched ')'"}
		}
		return nil, &SyntaxError{Pos: t.pos, Msg: "unexpected " + t.describe()}
	}
	return n, nil
}

// Terms counts the terms of n.
func Terms(n *Node) int {
	if n == nil {
		return 0
	}
	if n.Op == OpTerm {
		return 1
	}
	c := 0
	for _, k := range n.Kids {
		c += Terms(k)
	}
	return c
}

// String renders n in a normal form (for tests and logs).
func (n *Node) String() string {
	if n == nil {
		return ""
	}
	switch n.Op {
	case OpNot:
		return "NOT " + n.Kids[0].String()
	case OpAnd, OpOr:
		sep := " AND "
		if n.Op == OpOr {
			sep = " OR "
		}
		parts := make([]string, len(n.Kids))
		for i, k := range n.Kids {
			parts[i] = k.String()
		}
		return "(" + strings.Join(parts, sep) + ")"
	}
	t := n.Term
	switch t.Field {
	case Text:
		return fmt.Sprintf("%q", t.Value)
	case Status:
		return fmt.Sprintf("status:%d-%d", t.Lo, t.Hi)
	case Header:
		if t.HasValue {
			return fmt.Sprintf("header:%s=%q", t.Name, t.Value)
		}
		return "header:" + t.Name
	case Body:
		return fmt.Sprintf("body.%s:%q", strings.Join(t.Keys, "."), t.Value)
	}
	for k, f := range fields {
		if f == t.Field {
			return fmt.Sprintf("%s:%q", k, t.Value)
		}
	}
	return "?"
}
