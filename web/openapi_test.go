package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts"
)

// TestOpenAPIDescribesEveryRoute: every API route the server registers is
// in openapi.yaml with its method, so the description cannot drift from the
// code.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := New(Deps{Alerts: alerts.NewService(nil, nil, alerts.ServiceOptions{})}, Options{})
	doc := string(openAPI)
	param := regexp.MustCompile(`:([a-zA-Z_]+)`)
	seen := map[string]bool{}
	for _, r := range s.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/") && r.Path != "/healthz" && r.Path != "/metrics" {
			continue
		}
		if r.Method == "HEAD" || r.Method == "CONNECT" || r.Method == "TRACE" || strings.Contains(r.Path, "*") || r.Path == "/api/v1" {
			continue
		}
		p := param.ReplaceAllString(r.Path, "{$1}")
		key := r.Method + " " + p
		if seen[key] {
			continue
		}
		seen[key] = true
		i := strings.Index(doc, "\n  "+p+":\n")
		if i < 0 {
			t.Errorf("%s: path not in openapi.yaml", key)
			continue
		}
		// The path's block runs to the next top-level path.
		block := doc[i+1:]
		if j := strings.Index(block[3:], "\n  /"); j >= 0 {
			block = block[:j+3]
		}
		if !strings.Contains(block, "\n    "+strings.ToLower(r.Method)+":") {
			t.Errorf("%s: method not described under %s", key, p)
		}
	}
	if len(seen) < 15 {
		t.Fatalf("only %d routes checked; route listing broken?", len(seen))
	}
}
