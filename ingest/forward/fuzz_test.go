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
