package search

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hookscope/hookscope/schema"
)

type tokKind int

const (
	tokWord tokKind = iota
	tokPhrase
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
)

type token struct {
	kind tokKind
	text string // word or phrase, quotes removed and escapes decoded
	pos  int    // 1-based
}

func (t token) describe() string {
	switch t.kind {
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	case tokNot:
		return "NOT"
	}
	return fmt.Sprintf("%q", t.text)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// lex splits q into tokens. A word ends at white space or a parenthesis;
// a '"' right after a field's ':' or a header's '=' starts a quoted value
// that ends the word; elsewhere inside a word it is an ordinary byte.
func lex(q string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case isSpace(c):
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLParen, pos: i + 1})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, pos: i + 1})
			i++
		case c == '"':
			s, n, err := quoted(q, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokPhrase, text: s, pos: i + 1})
			i += n
		case c == '-':
			if i+1 >= len(q) || isSpace(q[i+1]) || q[i+1] == ')' {
				return nil, &SyntaxError{Pos: i + 1, Msg: "'-' must be followed by a term"}
			}
			toks = append(toks, token{kind: tokNot, pos: i + 1})
			i++
		default:
			start := i
			var b strings.Builder
			for i < len(q) && !isSpace(q[i]) && q[i] != '(' && q[i] != ')' {
				if q[i] == '"' && quotable(q[start:i]) {
					s, n, err := quoted(q, i)
					if err != nil {
						return nil, err
					}
					b.WriteString(s)
					i += n
					break
				}
				b.WriteByte(q[i])
				i++
			}
			w := b.String()
			t := token{kind: tokWord, text: w, pos: start + 1}
			switch q[start:i] {
			case "AND":
				t.kind = tokAnd
			case "OR":
				t.kind = tokOr
			case "NOT":
				t.kind = tokNot
			}
			toks = append(toks, t)
		}
	}
	return toks, nil
}

// quotable reports whether a word that begins with prefix takes a quoted
// value next: `field:`, `body.a.b:` or `header:Name=`. Elsewhere a '"'
// inside a word is an ordinary byte (q=hello":"world searches that text).
func quotable(prefix string) bool {
	name, rest, ok := strings.Cut(prefix, ":")
	if !ok {
		return false
	}
	lname := strings.ToLower(name)
	if rest == "" {
		_, known := fields[lname]
		return known && lname != "header" || strings.HasPrefix(lname, "body.")
	}
	return lname == "header" && strings.HasSuffix(rest, "=") && strings.Count(rest, "=") == 1
}

// quoted reads the quoted string at q[i] (a '"'), with \" and \\ as the
// only escapes; it returns the text and how many bytes it took.
func quoted(q string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if j+1 < len(q) && (q[j+1] == '"' || q[j+1] == '\\') {
				j++
			}
			b.WriteByte(q[j])
		case '"':
			return b.String(), j - i + 1, nil
		default:
			b.WriteByte(q[j])
		}
	}
	return "", 0, &SyntaxError{Pos: i + 1, Msg: "unterminated quote"}
}

type parser struct {
	toks  []token
	i     int
	terms int
	end   int // position reported for "end of query"
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) or(depth int) (*Node, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	kids := []*Node{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokOr {
			break
		}
		p.i++
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Node{Op: OpOr, Kids: kids}, nil
}

func (p *parser) and(depth int) (*Node, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	kids := []*Node{first}
	for {
		t, ok := p.peek()
		if !ok || t.kind == tokOr || t.kind == tokRParen {
			break
		}
		if t.kind == tokAnd {
			p.i++
		}
		n, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Node{Op: OpAnd, Kids: kids}, nil
}

func (p *parser) unary(depth int) (*Node, error) {
	t, ok := p.peek()
	if ok && t.kind == tokNot {
		if depth+1 > MaxDepth {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("nested deeper than %d", MaxDepth)}
		}
		p.i++
		k, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Node{Op: OpNot, Kids: []*Node{k}}, nil
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (*Node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, &SyntaxError{Pos: p.end, Msg: "expected a term at the end of the query"}
	}
	switch t.kind {
	case tokLParen:
		if depth+1 > MaxDepth {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("nested deeper than %d", MaxDepth)}
		}
		p.i++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c, ok := p.peek(); !ok || c.kind != tokRParen {
			return nil, &SyntaxError{Pos: t.pos, Msg: "'(' is never closed"}
		}
		p.i++
		return n, nil
	case tokWord, tokPhrase:
		p.i++
		p.terms++
		if p.terms > MaxTerms {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("more than %d terms", MaxTerms)}
		}
		term, err := makeTerm(t)
		if err != nil {
			return nil, err
		}
		return &Node{Op: OpTerm, Term: term}, nil
	}
	return nil, &SyntaxError{Pos: t.pos, Msg: "expected a term before " + t.describe()}
}

func makeTerm(t token) (Term, error) {
	if t.kind == tokPhrase {
		if t.text == "" {
			return Term{}, &SyntaxError{Pos: t.pos, Msg: "empty phrase"}
		}
		return Term{Field: Text, Value: t.text, Pos: t.pos}, nil
	}
	name, value, ok := strings.Cut(t.text, ":")
	if !ok || name == "" {
		return Term{Field: Text, Value: t.text, Pos: t.pos}, nil
	}
	lname := strings.ToLower(name)
	f, known := fields[lname]
	isBody := strings.HasPrefix(lname, "body.")
	if !known && !isBody {
		return Term{Field: Text, Value: t.text, Pos: t.pos}, nil
	}
	vpos := t.pos + len(name) + 1
	bad := func(msg string) (Term, error) {
		return Term{}, &SyntaxError{Pos: vpos, Msg: fmt.Sprintf("%s: %s", name, msg)}
	}
	if value == "" {
		return bad("missing value")
	}
	if len(value) > MaxValueLen {
		return bad(fmt.Sprintf("value longer than %d bytes", MaxValueLen))
	}
	term := Term{Field: f, Value: value, Pos: t.pos}
	if isBody {
		term.Field = Body
		keys := strings.Split(name[len("body."):], ".")
		if len(keys) > MaxPathSegments {
			return Term{}, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("a body path has at most %d keys", MaxPathSegments)}
		}
		for _, k := range keys {
			if !validKey(k) {
				return Term{}, &SyntaxError{Pos: t.pos, Msg: "a body path is keys of letters, digits, '_' and '-' joined by '.'"}
			}
		}
		term.Keys = keys
		term.Value = asciiLower(value)
		return term, nil
	}
	switch f {
	case Method:
		if len(value) > 32 || !schema.IsHeaderToken(value) {
			return bad("must be an HTTP method token")
		}
		term.Value = strings.ToUpper(value)
	case Status:
		lo, hi, err := parseStatus(value)
		if err != nil {
			return bad(err.Error())
		}
		term.Lo, term.Hi = lo, hi
	case IP:
		a, err := netip.ParseAddr(value)
		if err != nil {
			return bad("must be an IPv4 or IPv6 address")
		}
		term.Value = a.Unmap().String()
	case Signature:
		if !schema.SignatureStatus(value).Valid() {
			return bad("must be valid, invalid, missing or unchecked")
		}
	case Header:
		hn, hv, has := strings.Cut(value, "=")
		if hn == "" || len(hn) > MaxNameLen || !schema.IsHeaderToken(hn) {
			return bad("must be Name or Name=value, with an HTTP header name")
		}
		if has && hv == "" {
			return bad("missing value after '='")
		}
		term.Name, term.HasValue, term.Value = asciiLower(hn), has, asciiLower(hv)
	}
	return term, nil
}

// parseStatus accepts an exact code (100-599) or a class 1xx..5xx (the
// same rule as the status= parameter).
func parseStatus(v string) (lo, hi int, err error) {
	if len(v) == 3 && (v[1] == 'x' || v[1] == 'X') && (v[2] == 'x' || v[2] == 'X') && v[0] >= '1' && v[0] <= '5' {
		c := int(v[0]-'0') * 100
		return c, c + 99, nil
	}
	n, convErr := strconv.Atoi(v)
	if convErr != nil || n < 100 || n > 599 {
		return 0, 0, fmt.Errorf("must be a status code (100-599) or a class like 5xx")
	}
	return n, n, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > MaxNameLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only, as both stores' lower() do.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
