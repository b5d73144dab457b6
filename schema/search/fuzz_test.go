package search

import (
	"errors"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

// FuzzParse: any text either parses into an AST within the bounds (terms,
// depth) whose evaluation does not panic, or gives a SyntaxError whose
// position lies inside the query (or just after it). Never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"hello", `a OR (b -c) "d e"`, "status:5xx method:post", "header:X-A=b", `body.a.b:"x y"`,
		"((((a))))", `"unterminated`, "NOT NOT -a", "ip:::1", "a AND OR b", "\x00\xff",
	} {
		f.Add(s)
	}
	r := &schema.Request{Method: "POST", Path: "/x", Headers: []schema.Header{{Name: "A", Value: "b"}}, Body: []byte(`{"a":{"b":"x y"}}`)}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a SyntaxError", err)
			}
			if se.Pos < 1 || se.Pos > len(q)+1 && se.Pos != MaxLen+1 {
				t.Fatalf("position %d outside the query of %d bytes", se.Pos, len(q))
			}
			return
		}
		if Terms(n) > MaxTerms {
			t.Fatalf("%d terms", Terms(n))
		}
		if d := depth(n); d > 2*MaxDepth+MaxTerms {
			t.Fatalf("depth %d", d)
		}
		_ = Match(n, r)
	})
}

func depth(n *Node) int {
	if n == nil {
		return 0
	}
	d := 0
	for _, k := range n.Kids {
		d = max(d, depth(k))
	}
	return d + 1
}
