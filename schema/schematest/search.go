package schematest

import (
	"errors"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/search"
)

// searchTests are the cases of Filter.Q's search language (schema/search).
var searchTests = []testCase{
	{"Search", testSearch},
}

// testSearch runs one table of queries, every operator and field, against
// the store, and checks each answer three ways: against the table, against
// search.Match (what the live feed evaluates), and against CountMatching.
func testSearch(t *testing.T, s schema.Store) {
	bin, other := newBin(t, s), newBin(t, s)
	base := baseTime()
	mk := func(i int, method, path string, status int, ip string, sig schema.SignatureStatus, body string, hs ...schema.Header) *schema.Request {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		r.Method, r.Path, r.ResponseStatus, r.RemoteIP, r.Signature.Status = method, path, status, ip, sig
		r.Body, r.BodySize = []byte(body), int64(len(body))
		r.Headers = append(r.Headers, hs...)
		return r
	}
	h := func(n, v string) schema.Header { return schema.Header{Name: n, Value: v} }
	s1 := mk(1, "POST", "/hooks/github", 200, "10.0.0.1", schema.SigValid,
		`{"action":"opened","pull_request":{"number":42,"title":"Fix the bug"},"ok":true}`, h("X-GitHub-Event", "push"))
	s1.EventType, s1.DeliveryID = "push", "d-1"
	s2 := mk(2, "POST", "/hooks/github", 500, "10.0.0.2", schema.SigInvalid,
		"{\n  \"action\": \"closed\",\n  \"pull_request\": {\n    \"number\": 7\n  }\n}", h("X-GitHub-Event", "pull_request"))
	s2.EventType, s2.DeliveryID = "pull_request", "d-2"
	s3 := mk(3, "GET", "/health", 404, "2001:db8::1", schema.SigMissing, "hello world from a text body")
	s3.Query = "probe=1"
	s4 := mk(4, "PUT", "/stripe", 503, "10.0.0.1", schema.SigUnchecked,
		`{"type":"charge.succeeded","data":{"object":{"id":"ch_1","amount":2000,"paid":false,"meta":null}}}`,
		h("Stripe-Signature", "t=1,v1=abc"))
	s4.EventType = "charge.succeeded"
	s5 := mk(5, "POST", "/stripe", 201, "10.0.0.3", schema.SigValid, "\x00\xffbinary\x00", h("X-Custom", "Hello World"))
	// A header value followed by a header whose name is the next search
	// word: header:a=x must not match across the two.
	s6 := mk(6, "DELETE", "/hooks/other", 302, "10.0.0.2", schema.SigUnchecked, `{"action":"OPENED"}`,
		h("X-GitHub-Event", "Push"), h("A", "x"), h("B", "y"))
	all := []*schema.Request{s1, s2, s3, s4, s5, s6}
	write(t, s, all...)
	twin := *s1 // matches much; in another bin, never returned
	twin.ID, twin.BinID = newV7(t), other.ID
	write(t, s, &twin)

	R := func(rs ...*schema.Request) []*schema.Request { return rs }
	cases := []struct {
		q    string
		want []*schema.Request // newest first
	}{
		// Bare words and phrases: today's substring meaning.
		{"github", R(s6, s2, s1)},
		{"opened", R(s6, s1)},
		{"probe=1", R(s3)},
		{`"text body"`, R(s3)},
		{`"world from"`, R(s3)},
		{"hello world", R(s5, s3)},
		{"x-github-event:", nil}, // an unknown prefix is a bare word
		{"nothing-like-this", nil},
		// Fields.
		{"method:post", R(s5, s2, s1)},
		{"method:GET", R(s3)},
		{"status:5xx", R(s4, s2)},
		{"status:404", R(s3)},
		{"status:2xx", R(s5, s1)},
		{"ip:10.0.0.1", R(s4, s1)},
		{"ip:2001:db8::1", R(s3)},
		{"ip:::ffff:10.0.0.2", R(s6, s2)},
		{"path:/hooks", R(s6, s2, s1)},
		{"path:STRIPE", R(s5, s4)},
		{"event_type:push", R(s1)},
		{"event_type:charge.succeeded", R(s4)},
		{"delivery_id:d-2", R(s2)},
		{"signature:invalid", R(s2)},
		{"signature:valid", R(s5, s1)},
		{"header:x-github-event=push", R(s6, s1)},
		{"header:X-GitHub-Event", R(s6, s2, s1)},
		{`header:x-custom="hello world"`, R(s5)},
		{"header:stripe-signature=t=1,v1=abc", R(s4)},
		{"header:x-github-event=pu", nil},
		{"header:a=x", R(s6)},
		{"header:x=b", nil},
		{"header:a=y", nil},
		{"body.action:opened", R(s6, s1)},
		{"body.action:closed", R(s2)},
		{"body.pull_request.number:42", R(s1)},
		{"body.pull_request.number:7", R(s2)},
		{`body.pull_request.title:"fix the bug"`, R(s1)},
		{"body.data.object.id:CH_1", R(s4)},
		{"body.data.object.amount:2000", R(s4)},
		{"body.data.object.paid:false", R(s4)},
		{"body.data.object.meta:null", R(s4)},
		{"body.data.object:x", nil},
		{"body.type:charge.succeeded", R(s4)},
		{"body.action:binary", nil},
		// Operators.
		{"method:post AND status:5xx", R(s2)},
		{"method:post status:5xx", R(s2)},
		{"status:404 OR event_type:push", R(s3, s1)},
		{"NOT path:/hooks", R(s5, s4, s3)},
		{"-github", R(s5, s4, s3)},
		{"path:/hooks -method:delete", R(s2, s1)},
		{"(status:5xx OR status:404) ip:10.0.0.1", R(s4)},
		{"method:post (github OR stripe)", R(s5, s2, s1)},
		{"NOT (github OR stripe)", R(s3)},
		{"github OR stripe NOT status:5xx", R(s6, s5, s2, s1)},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			n, err := search.Parse(tc.q)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var live []*schema.Request
			for i := len(all) - 1; i >= 0; i-- {
				if search.Match(n, all[i]) {
					live = append(live, all[i])
				}
			}
			equalIDs(t, "search.Match (live)", ids(live), ids(tc.want))
			f := schema.Filter{BinID: bin.ID, Q: tc.q}
			p := list(t, s, f)
			equalIDs(t, "ListRequests", ids(p.Requests), ids(tc.want))
			if p.Next != nil {
				t.Errorf("Next = %v, want nil", p.Next)
			}
			if c, err := s.CountMatching(t.Context(), f, 100); err != nil || c != int64(len(tc.want)) {
				t.Errorf("CountMatching = %d, %v; want %d", c, err, len(tc.want))
			}
		})
	}
	// Paging through a search keeps its meaning.
	f := schema.Filter{BinID: bin.ID, Q: "method:post OR status:5xx", Limit: 2}
	p := list(t, s, f)
	equalIDs(t, "search page 1", ids(p.Requests), ids(R(s5, s4)))
	if p.Next == nil {
		t.Fatal("search page 1: Next = nil")
	}
	f.Before = p.Next
	p = list(t, s, f)
	equalIDs(t, "search page 2", ids(p.Requests), ids(R(s2, s1)))

	// Delete by filter takes the same language (the list's filters).
	n, err := s.DeleteMatching(t.Context(), schema.Filter{BinID: bin.ID, Q: "header:x-github-event=push OR body.action:closed"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteMatching = %d, %v; want 3", n, err)
	}
	equalIDs(t, "after delete", ids(list(t, s, schema.Filter{BinID: bin.ID}).Requests), ids(R(s5, s4, s3)))
	equalIDs(t, "other bin after delete", ids(list(t, s, schema.Filter{BinID: other.ID}).Requests), ids(R(&twin)))

	for _, q := range []string{"(github", "github)", `"open`, "status:999", "header:=x", "a OR", "- x", "body.a..b:1"} {
		f := schema.Filter{BinID: bin.ID, Q: q}
		if _, err := s.ListRequests(t.Context(), f); !errors.Is(err, schema.ErrInvalid) || !search.IsSyntaxError(err) {
			t.Errorf("ListRequests(q=%q) = %v, want a syntax error (ErrInvalid)", q, err)
		}
		if _, err := s.CountMatching(t.Context(), f, 10); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("CountMatching(q=%q) = %v, want ErrInvalid", q, err)
		}
		if _, err := s.DeleteMatching(t.Context(), f); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("DeleteMatching(q=%q) = %v, want ErrInvalid", q, err)
		}
	}
}
