package query

import (
	"errors"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

func TestMatchAgreesWithFilterSemantics(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := &schema.Request{BinID: "b", Method: "POST", Path: "/Stripe/Events", Query: "a=1", RemoteIP: "10.0.0.1",
		ResponseStatus: 503, ReceivedAt: at, Signature: schema.Signature{Status: schema.SigInvalid},
		Headers: []schema.Header{{Name: "X-Event", Value: "Invoice.Paid"}}, Body: []byte("\x00binary NEEDLE\xff")}
	cases := []struct {
		name string
		f    schema.Filter
		want bool
	}{
		{"empty", schema.Filter{}, true},
		{"other bin", schema.Filter{BinID: "c"}, false},
		{"method", schema.Filter{Method: "POST"}, true},
		{"method miss", schema.Filter{Method: "GET"}, false},
		{"status class", schema.Filter{StatusMin: 500, StatusMax: 599}, true},
		{"status exact miss", schema.Filter{StatusMin: 200, StatusMax: 200}, false},
		{"ip", schema.Filter{IP: "10.0.0.1"}, true},
		{"since inclusive", schema.Filter{Since: at}, true},
		{"until exclusive", schema.Filter{Until: at}, false},
		{"signature", schema.Filter{Signature: schema.SigInvalid}, true},
		{"q path folded", schema.Filter{Q: "stripe/EVENTS"}, true},
		{"q header value", schema.Filter{Q: "invoice.paid"}, true},
		{"q header name", schema.Filter{Q: "x-event"}, true},
		{"q binary body", schema.Filter{Q: "needle"}, true},
		{"q miss", schema.Filter{Q: "nothing"}, false},
	}
	for _, c := range cases {
		if got := Match(&c.f, r); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFillSeries(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	q := schema.StatsQuery{Since: since, Until: since.Add(5 * time.Minute), Step: time.Minute}
	sparse := []schema.SeriesPoint{{T: since.Truncate(time.Minute).Add(2 * time.Minute), Count: 7, P95LatencyUS: 9}}
	got := FillSeries(sparse, q)
	if len(got) != 6 || !got[0].T.Equal(since.Truncate(time.Minute)) {
		t.Fatalf("got %d points starting %v", len(got), got[0].T)
	}
	for i, p := range got {
		want := int64(0)
		if i == 2 {
			want = 7
		}
		if p.Count != want {
			t.Errorf("point %d count %d want %d", i, p.Count, want)
		}
	}
}

// TestMatchEventFields: the live filter applies event_type= and
// delivery_id= like the stores (exact values).
func TestMatchEventFields(t *testing.T) {
	r := &schema.Request{BinID: "b", EventType: "push", DeliveryID: "d1"}
	for _, c := range []struct {
		params map[string]string
		want   bool
	}{
		{map[string]string{"event_type": "push"}, true},
		{map[string]string{"event_type": "Push"}, false},
		{map[string]string{"event_type": "pus"}, false},
		{map[string]string{"delivery_id": "d1"}, true},
		{map[string]string{"delivery_id": "d2"}, false},
		{map[string]string{"event_type": "push", "delivery_id": "d1"}, true},
	} {
		f, err := ParseLiveFilter("b", func(k string) string { return c.params[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got := Match(&f, r); got != c.want {
			t.Errorf("%v: Match = %v, want %v", c.params, got, c.want)
		}
	}
}

// Matcher applies q's search language on top of the other filters, and
// refuses a q that does not parse.
func TestMatcherSearch(t *testing.T) {
	r := &schema.Request{BinID: "b", Method: "POST", Headers: []schema.Header{{Name: "X-GitHub-Event", Value: "push"}}, Body: []byte(`{"a":{"b":1}}`)}
	for _, tc := range []struct {
		f    schema.Filter
		want bool
	}{
		{schema.Filter{BinID: "b", Q: "header:x-github-event=push body.a.b:1"}, true},
		{schema.Filter{BinID: "b", Q: "header:x-github-event=pull"}, false},
		{schema.Filter{BinID: "b", Method: "GET", Q: "push"}, false},
		{schema.Filter{BinID: "c", Q: "push"}, false},
		{schema.Filter{BinID: "b", Q: "-push OR method:post"}, true},
	} {
		m, err := Matcher(&tc.f)
		if err != nil {
			t.Fatalf("Matcher(%+v): %v", tc.f, err)
		}
		if got := m(r); got != tc.want || Match(&tc.f, r) != tc.want {
			t.Errorf("Matcher(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	if _, err := Matcher(&schema.Filter{Q: "(a"}); err == nil {
		t.Error("Matcher accepted an unclosed parenthesis")
	}
}

// TestReplaysParam: replays= selects the records of replays like the
// stores do (Forward.Mode "replay"), in the live filter and in stats; a
// bad value is a 400 naming the parameter.
func TestReplaysParam(t *testing.T) {
	plain := &schema.Request{BinID: "b"}
	fwd := &schema.Request{BinID: "b", Forward: &schema.Forward{Mode: "async"}}
	replay := &schema.Request{BinID: "b", Forward: &schema.Forward{Mode: "replay"}}
	for _, c := range []struct {
		v    string
		want [3]bool // plain, forwarded, replay
	}{
		{"", [3]bool{true, true, true}},
		{"include", [3]bool{true, true, true}},
		{"exclude", [3]bool{true, true, false}},
		{"only", [3]bool{false, false, true}},
	} {
		f, err := ParseLiveFilter("b", func(k string) string {
			if k == "replays" {
				return c.v
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range []*schema.Request{plain, fwd, replay} {
			if got := Match(&f, r); got != c.want[i] {
				t.Errorf("replays=%q, request %d: Match = %v, want %v", c.v, i, got, c.want[i])
			}
		}
	}
	var pe *ParamError
	if _, err := ParseLiveFilter("b", func(k string) string { return map[string]string{"replays": "maybe"}[k] }); !errors.As(err, &pe) || pe.Param != "replays" {
		t.Errorf("replays=maybe: %v", err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q, err := ParseStats("b", func(k string) string { return map[string]string{"replays": "exclude"}[k] }, now)
	if err != nil || !q.ExcludeReplays {
		t.Errorf("stats replays=exclude: %+v, %v", q, err)
	}
	if _, err := ParseStats("b", func(k string) string { return map[string]string{"replays": "only"}[k] }, now); !errors.As(err, &pe) || pe.Param != "replays" {
		t.Errorf("stats replays=only: %v", err)
	}
}
