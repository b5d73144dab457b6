package web

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts"
)

// TestParamTableCoversEveryRoute: every API route the server registers has
// an entry in paramTable, so no route silently ignores parameters.
func TestParamTableCoversEveryRoute(t *testing.T) {
	s := New(Deps{Alerts: alerts.NewService(nil, nil, alerts.ServiceOptions{})}, Options{})
	n := 0
	for _, r := range s.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/") && r.Path != "/healthz" && r.Path != "/metrics" {
			continue
		}
		if r.Method == "HEAD" || r.Method == "CONNECT" || r.Method == "TRACE" || r.Method == "OPTIONS" || strings.Contains(r.Path, "*") || r.Path == "/api/v1" {
			continue
		}
		if r.Method == "GET" && len(r.Handlers) == 0 {
			continue
		}
		n++
		if lookupRoute(r.Method, r.Path) == nil {
			t.Errorf("%s %s: not in paramTable (web/params.go)", r.Method, r.Path)
		}
	}
	if n < 15 {
		t.Fatalf("only %d routes checked", n)
	}
}

// TestUnknownParamsRefused: a parameter a route does not read, or one given
// twice, is a 400 naming it, before the route runs (no store is wired here:
// reaching a handler would panic).
func TestUnknownParamsRefused(t *testing.T) {
	s := New(Deps{Alerts: alerts.NewService(nil, nil, alerts.ServiceOptions{})}, Options{})
	cases := []struct{ method, target, param string }{
		// Filters delete what they match (issue 17); paging does not apply.
		{"DELETE", "/api/v1/bins/b1/requests?method=GET&limit=5", "limit"},
		{"DELETE", "/api/v1/bins/b1/requests?before=x", "before"},
		{"DELETE", "/api/v1/bins/b1/requests/x?method=GET", "method"},
		{"GET", "/api/v1/bins/b1/requests/x/attempts?limit=1", "limit"},
		{"DELETE", "/api/v1/bins/b1/requests?bogus=1", "bogus"},
		{"GET", "/api/v1/bins/b1/requests?limit=1&limit=2", "limit"},
		{"GET", "/api/v1/bins/b1/requests?lmit=1", "lmit"},
		{"GET", "/API/V1/BINS/b1/STATS/?step=1m&stepp=1", "stepp"},
		{"GET", "/api/v1/bins/b1/stats?limit=5", "limit"},
		{"POST", "/api/v1/bins?token=x", "token"},
		{"PATCH", "/api/v1/bins/b1?private=true", "private"},
		{"GET", "/healthz?x=1", "x"},
		{"GET", "/api/v1/alerts/events?rule=1", "rule"},
		{"GET", "/api/v1/bins/b1/live?before=x", "before"},
	}
	for _, c := range cases {
		resp, err := s.App().Test(httptest.NewRequest(c.method, c.target, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `\"`+c.param+`\"`) {
			t.Errorf("%s %s = %d %s, want 400 naming %q", c.method, c.target, resp.StatusCode, b, c.param)
		}
	}
}
