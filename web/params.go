package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/query"
)

// routeParams is the query parameters one API route accepts. Every route
// refuses what it does not read (400 naming the parameter) rather than
// ignoring it: DELETE .../requests?method=GET once cleared the whole bin.
type routeParams struct {
	method  string
	pattern []string // path segments; "*" matches one segment
	allowed [][]string
	// refuse is the message for a known-but-unsupported parameter (nil:
	// the generic "unknown parameter").
	refuse []string
	msg    string
}

var (
	tokenParam    = []string{"token"}
	downloadParam = []string{"download"}
	alertRuleList = []string{"bin_id"}
	alertEvents   = []string{"rule_id", "bin_id", "limit", "before"}
	binListParams = []string{"q", "limit", "cursor"}
	liveOnly      = []string{"only"}
)

// paramTable lists every route of the JSON API and the plain endpoints. A
// route missing here (a new one) is not checked: the table test in
// params_test.go fails until it is added.
var paramTable = []routeParams{
	{method: "GET", pattern: split("/healthz")},
	{method: "GET", pattern: split("/metrics")},
	{method: "GET", pattern: split("/api/v1/openapi.yaml")},
	{method: "POST", pattern: split("/api/v1/bins")},
	{method: "GET", pattern: split("/api/v1/bins"), allowed: [][]string{binListParams}},
	{method: "GET", pattern: split("/api/v1/bins/*"), allowed: [][]string{tokenParam}},
	{method: "PATCH", pattern: split("/api/v1/bins/*")},
	{method: "DELETE", pattern: split("/api/v1/bins/*")},
	{method: "GET", pattern: split("/api/v1/bins/*/requests"), allowed: [][]string{query.FilterParams, tokenParam}},
	// With filters, DELETE removes what they match; without, the whole bin.
	{method: "DELETE", pattern: split("/api/v1/bins/*/requests"), allowed: [][]string{query.MatchParams},
		refuse: []string{"limit", "before"}, msg: "paging is not supported when deleting: DELETE removes every match"},
	{method: "GET", pattern: split("/api/v1/bins/*/requests/count"), allowed: [][]string{countParams, tokenParam}}, // before requests/*
	{method: "DELETE", pattern: split("/api/v1/bins/*/requests/*")},
	{method: "GET", pattern: split("/api/v1/bins/*/requests/*/attempts"), allowed: [][]string{tokenParam}},
	{method: "GET", pattern: split("/api/v1/bins/*/requests/*/diff"), allowed: [][]string{diffParams, tokenParam}},
	{method: "GET", pattern: split("/api/v1/bins/*/requests/*"), allowed: [][]string{tokenParam}},
	{method: "GET", pattern: split("/api/v1/bins/*/requests/*/body"), allowed: [][]string{downloadParam, tokenParam}},
	{method: "POST", pattern: split("/api/v1/bins/*/requests/*/replay")},
	{method: "POST", pattern: split("/api/v1/bins/*/requests/*/verify")},
	{method: "GET", pattern: split("/api/v1/bins/*/export"), allowed: [][]string{exportParams, tokenParam}},
	{method: "POST", pattern: split("/api/v1/bins/*/requests/*/redeliver")},
	{method: "GET", pattern: split("/api/v1/bins/*/stats"), allowed: [][]string{query.StatsParams, tokenParam}},
	{method: "POST", pattern: split("/api/v1/bins/*/share")},
	{method: "POST", pattern: split("/api/v1/bins/*/tokens/revoke")},
	{method: "GET", pattern: split("/api/v1/bins/*/live"), allowed: [][]string{query.LiveParams, liveOnly, tokenParam}},
	{method: "POST", pattern: split("/api/v1/bins/*/replays"), allowed: [][]string{replayParams}},
	{method: "GET", pattern: split("/api/v1/bins/*/replays"), allowed: [][]string{tokenParam}},
	{method: "GET", pattern: split("/api/v1/replays/*"), allowed: [][]string{tokenParam}},
	{method: "POST", pattern: split("/api/v1/replays/*/cancel")},
	{method: "GET", pattern: split("/api/v1/alerts/rules"), allowed: [][]string{alertRuleList, tokenParam}},
	{method: "POST", pattern: split("/api/v1/alerts/rules")},
	{method: "POST", pattern: split("/api/v1/alerts/defaults")},
	{method: "GET", pattern: split("/api/v1/alerts/rules/*"), allowed: [][]string{tokenParam}},
	{method: "PATCH", pattern: split("/api/v1/alerts/rules/*")},
	{method: "DELETE", pattern: split("/api/v1/alerts/rules/*")},
	{method: "POST", pattern: split("/api/v1/alerts/rules/*/test")},
	{method: "GET", pattern: split("/api/v1/alerts/events"), allowed: [][]string{alertEvents, tokenParam}},
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// checkParams is the middleware that applies paramTable. It runs before
// routing and authentication, so an unknown parameter costs nothing.
func (s *Server) checkParams(c *fiber.Ctx) error {
	args := c.Context().QueryArgs()
	if args.Len() == 0 {
		return c.Next()
	}
	rp := lookupRoute(c.Method(), c.Path())
	if rp == nil {
		return c.Next()
	}
	keys := make([]string, 0, args.Len())
	args.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	for _, k := range keys {
		for _, r := range rp.refuse {
			if k == r {
				return &query.ParamError{Param: k, Msg: rp.msg}
			}
		}
	}
	if err := query.CheckParams(keys, rp.allowed...); err != nil {
		return err
	}
	return c.Next()
}

// lookupRoute matches like Fiber does: case-insensitively, with or without
// a trailing slash; HEAD is GET.
func lookupRoute(method, path string) *routeParams {
	if method == fiber.MethodHead {
		method = fiber.MethodGet
	}
	segs := split(strings.ToLower(path))
	for i := range paramTable {
		rp := &paramTable[i]
		if rp.method != method || len(rp.pattern) != len(segs) {
			continue
		}
		ok := true
		for j, p := range rp.pattern {
			if p != "*" && p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rp
		}
	}
	return nil
}
