package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

func TestParse(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{"hello", `"hello"`},
		{"  ", ""},
		{"a b", `("a" AND "b")`},
		{"a AND b OR c", `(("a" AND "b") OR "c")`},
		{"a OR b c", `("a" OR ("b" AND "c"))`},
		{"a (b OR c)", `("a" AND ("b" OR "c"))`},
		{"-a NOT b", `(NOT "a" AND NOT "b")`},
		{`"hello world" x`, `("hello world" AND "x")`},
		{`"say \"hi\""`, `"say \"hi\""`},
		{"status:5xx", "status:500-599"},
		{"status:404", "status:404-404"},
		{"method:post", `method:"POST"`},
		{"ip:::ffff:10.0.0.1", `ip:"10.0.0.1"`},
		{"path:/hooks", `path:"/hooks"`},
		{"event_type:push", `event_type:"push"`},
		{"delivery_id:abc", `delivery_id:"abc"`},
		{"signature:invalid", `signature:"invalid"`},
		{"header:X-GitHub-Event=Push", `header:x-github-event="push"`},
		{"header:X-Signature", "header:x-signature"},
		{`header:User-Agent="Go http"`, `header:user-agent="go http"`},
		{"body.data.object.id:CH_1", `body.data.object.id:"ch_1"`},
		{`body.a:"two words"`, `body.a:"two words"`},
		// Unknown prefixes and lower-case keywords are bare words.
		{"https://example.com/x", `"https://example.com/x"`},
		{"x-github-event:", `"x-github-event:"`},
		{"a and b", `("a" AND "and" AND "b")`},
		{`a"b`, `"a\"b"`},
		{`hello":"world`, `"hello\":\"world"`},
		{`foo:"bar"`, `"foo:\"bar\""`},
	} {
		n, err := Parse(c.q)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.q, err)
			continue
		}
		if got := n.String(); got != c.want {
			t.Errorf("Parse(%q) = %s, want %s", c.q, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		q   string
		pos int
		msg string
	}{
		{"(a", 1, "never closed"},
		{"a)", 2, "unmatched ')'"},
		{`"abc`, 1, "unterminated quote"},
		{"a OR", 5, "expected a term at the end"},
		{"OR a", 1, "expected a term before OR"},
		{"a AND AND b", 7, "expected a term before AND"},
		{"- a", 1, "'-' must be followed"},
		{"()", 2, "expected a term before ')'"},
		{"status:200x", 8, "status code"},
		{"status:", 8, "missing value"},
		{"method:GE(T", 10, "never closed"},
		{"ip:nope", 4, "IPv4 or IPv6"},
		{"signature:maybe", 11, "valid, invalid"},
		{"header:=x", 8, "header name"},
		{"header:X=", 8, "missing value after '='"},
		{"body..a:1", 1, "body path"},
		{"body.a$:1", 1, "body path"},
		{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, "nested deeper"},
		{strings.Repeat("NOT ", MaxDepth+1) + "a", 4*MaxDepth + 1, "nested deeper"},
		{strings.Repeat("a ", MaxTerms+1), 2*MaxTerms + 1, "more than"},
		{strings.Repeat("a", MaxLen+1), MaxLen + 1, "longer than"},
	} {
		_, err := Parse(c.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", c.q, err)
			continue
		}
		if se.Pos != c.pos || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("Parse(%q) = %v, want position %d and %q", c.q, err, c.pos, c.msg)
		}
		if !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("Parse(%q): %v does not match ErrInvalid", c.q, err)
		}
	}
}

func TestMatch(t *testing.T) {
	r := &schema.Request{
		Method: "POST", Path: "/hooks/GitHub", Query: "a=1", RemoteIP: "10.0.0.1",
		ResponseStatus: 503, EventType: "push", DeliveryID: "d-1",
		Signature: schema.Signature{Status: schema.SigInvalid},
		Headers:   []schema.Header{{Name: "X-GitHub-Event", Value: "Push"}, {Name: "Accept", Value: "*/*"}},
		Body:      []byte(`{"action":"opened","n":12,"ok":true,"nil":null,"o":{"id":"CH_1","a":[1]},"action":"dup"}`),
	}
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"github", true}, {"nothing", false}, {"A=1", true}, {"OPENED", true},
		{"method:post", true}, {"method:get", false},
		{"status:5xx", true}, {"status:503", true}, {"status:4xx", false},
		{"ip:10.0.0.1", true}, {"ip:10.0.0.2", false},
		{"path:/HOOKS", true}, {"path:a=1", false},
		{"event_type:push", true}, {"event_type:Push", false},
		{"delivery_id:d-1", true}, {"signature:invalid", true}, {"signature:valid", false},
		{"header:x-github-event=push", true}, {"header:x-github-event=pus", false},
		{"header:accept", true}, {"header:push", false},
		{"body.action:opened", true}, {"body.action:dup", false}, {"body.n:12", true}, {"body.n:1", false},
		{"body.ok:true", true}, {"body.nil:null", true}, {"body.o.id:ch_1", true}, {"body.o.a:1", false},
		{"body.o:x", false}, {"body.missing:x", false},
		{"github AND nothing", false}, {"github OR nothing", true}, {"-nothing", true}, {"NOT github", false},
		{"(nothing OR status:5xx) method:post", true}, {`"hooks/github"`, true},
	} {
		n, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := Match(n, r); got != c.want {
			t.Errorf("Match(%q) = %v, want %v", c.q, got, c.want)
		}
	}
	if MatchJSON([]byte(`{"a":1`), []string{"a"}, "1") {
		t.Error("invalid JSON matched")
	}
}
