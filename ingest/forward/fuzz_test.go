package forward

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

// FuzzTargetURL: whatever path and query a sender uses, the relayed URL
// stays on the configured scheme and host.
func FuzzTargetURL(f *testing.F) {
	for _, s := range [][3]string{
		{"http://x/hooks", "/a/b", "q=1"},
		{"https://x:8443/", "/%2e%2e/admin", ""},
		{"http://x/?k=v", "//evil.example/", "a=b#frag"},
		{"http://x", "/@evil.example", ""},
		{"http://x", "/a?b", "c"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, base, path, query string) {
		got, err := TargetURL(base, &schema.Request{Path: path, Query: query})
		if err != nil {
			return
		}
		b, _ := url.Parse(base)
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("TargetURL(%q, %q, %q) = %q does not parse: %v", base, path, query, got, err)
		}
		if u.Scheme != b.Scheme || u.Host != b.Host {
			t.Fatalf("TargetURL(%q, %q, %q) = %q leaves %s://%s", base, path, query, got, b.Scheme, b.Host)
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Fatalf("control characters in %q", got)
		}
	})
}

// FuzzParseFilter: a forward filter from a bin's settings (attacker input)
// either fails with an error or matches without panicking.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"method=POST", "header=X-Env:prod&q=a", "path_prefix=/x&event_type=push", "since=2026-01-01T00:00:00Z", "%zz", "header=:"} {
		f.Add(s)
	}
	r := &schema.Request{Method: "POST", Path: "/x", Headers: []schema.Header{{Name: "X-Env", Value: "prod"}}, Body: []byte("a")}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		if ok, reason := flt.Match(r); !ok && reason == "" {
			t.Fatalf("%q: no reason for a skip", s)
		}
	})
}
