package schematest

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// writerTests are the cases of schema.Writer.
var writerTests = []testCase{
	{"RequestRoundTrip", testRequestRoundTrip},
	{"WriteIdempotent", testWriteIdempotent},
	{"WriteValidation", testWriteValidation},
}

// ---- requests --------------------------------------------------------------

func roundTripRequests(t *testing.T, binID string) []*schema.Request {
	base := baseTime().Add(123456 * time.Microsecond)
	big := make([]byte, 300<<10)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	var out []*schema.Request

	// Binary body: invalid UTF-8 and NUL bytes; duplicate headers in order.
	r := req(t, binID, base)
	r.Body = []byte{0xff, 0xfe, 0x00, 'a', 0x00, 0xc3, 0x28, 0x80, 0x00}
	r.BodySize = int64(len(r.Body))
	r.ContentType = "application/octet-stream"
	r.Headers = []schema.Header{
		{Name: "X-Dup", Value: "1"}, {Name: "Content-Type", Value: "application/octet-stream"},
		{Name: "X-Dup", Value: "2"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "X-Dup", Value: "1"},
		{Name: "X-Empty", Value: ""}, {Name: "Set-Cookie", Value: "b=2; Path=/"},
	}
	r.Signature = schema.Signature{Scheme: "stripe", Status: schema.SigInvalid, Reason: "no v1 signature matched"}
	r.DeliveryLagMS = ptr(int64(1530))
	out = append(out, r)

	// Unicode everywhere, forward set, zero lag (distinct from nil).
	r = req(t, binID, base.Add(1*time.Microsecond))
	r.Method = "PATCH"
	r.Path = "/ünïcödé/日本/✓"
	r.Query = "q=%E2%9C%93&x=1&x=2&name=Zoë"
	r.Headers = []schema.Header{{Name: "X-Unicode", Value: "héllo ✓ 日本語 😀"}, {Name: "Accept", Value: "*/*"}}
	r.Body = []byte(`{"text":"héllo 😀 日本"}`)
	r.BodySize = int64(len(r.Body))
	r.RemoteIP = "2001:db8::42"
	r.ResponseStatus = 202
	r.LatencyUS = 987654
	r.Signature = schema.Signature{Scheme: "standard-webhooks", Status: schema.SigValid}
	r.DeliveryLagMS = ptr(int64(0))
	r.Forward = &schema.Forward{URL: "https://example.com/hook?a=b", Mode: "proxy", Status: 502, LatencyUS: 120034, Error: "upstream: connection reset"}
	out = append(out, r)

	// Empty body, no headers, no content type, an unknown method, negative lag.
	r = req(t, binID, base.Add(2*time.Second+999999*time.Microsecond))
	r.Method = "PROPFIND"
	r.Headers = nil
	r.ContentType = ""
	r.Body = nil
	r.BodySize = 0
	r.ResponseStatus = 404
	r.Signature = schema.Signature{Scheme: "github", Status: schema.SigMissing, Reason: "no X-Hub-Signature-256 header"}
	r.DeliveryLagMS = ptr(int64(-250))
	r.Forward = &schema.Forward{URL: "http://target.example/", Mode: "async", Status: 200, LatencyUS: 1}
	// Refused by enforcement, with what was redacted (issue 18).
	r.RefusedReason = "sender 203.0.113.9 is not in allow_cidrs"
	r.Redacted = &schema.Redaction{Headers: []string{"Authorization", "X-Api-Key"}, BodyPaths: []string{"card.number"}, BodyDropped: true}
	out = append(out, r)

	// Truncated large body: BodySize is what the sender sent.
	r = req(t, binID, base.Add(3*time.Second))
	r.Body = big
	r.BodySize = int64(len(big)) + 12345
	r.BodyTruncated = true
	r.ResponseStatus = 413
	r.Path = "/upload"
	out = append(out, r)

	// Same instant as the first one: ordering falls back to the id.
	r = req(t, binID, base)
	r.Method = "GET"
	r.Body = []byte{}
	r.BodySize = 0
	out = append(out, r)
	return out
}

func testRequestRoundTrip(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := newBin(t, s)
	reqs := roundTripRequests(t, bin.ID)
	// Each request alone first (a batch whose only request has no headers
	// or no body must store it), then all of them again as one retried batch.
	for _, r := range reqs {
		write(t, s, r)
	}
	write(t, s, reqs...)

	for _, want := range reqs {
		got, err := s.GetRequest(ctx, bin.ID, want.ID)
		if err != nil {
			t.Fatalf("GetRequest(%s): %v", want.ID, err)
		}
		checkRequest(t, got, want, want.Body)
	}

	p := list(t, s, schema.Filter{BinID: bin.ID})
	want := newestFirst(reqs)
	equalIDs(t, "list order", ids(p.Requests), ids(want))
	if p.Next != nil {
		t.Errorf("Next = %v for a complete first page, want nil", p.Next)
	}
	for i, got := range p.Requests {
		if i < len(want) {
			checkRequest(t, got, want[i], preview(want[i].Body))
		}
	}
}

func testWriteIdempotent(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := newBin(t, s)
	base := baseTime()
	a, b, c := req(t, bin.ID, base), req(t, bin.ID, base.Add(time.Second)), req(t, bin.ID, base.Add(2*time.Second))
	write(t, s, a, b, c)
	// A retry of the whole batch plus a new request, and the same id twice in one batch.
	d := req(t, bin.ID, base.Add(3*time.Second))
	write(t, s, a, b, c, d, d)
	write(t, s, b)
	if err := s.WriteRequests(ctx, nil); err != nil {
		t.Fatalf("WriteRequests(nil): %v", err)
	}
	n, err := s.CountRequests(ctx, bin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("CountRequests = %d, want 4", n)
	}
	p := list(t, s, schema.Filter{BinID: bin.ID})
	equalIDs(t, "list", ids(p.Requests), ids([]*schema.Request{d, c, b, a}))
}

func testWriteValidation(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	noID := req(t, bin.ID, baseTime())
	noID.ID = uuid.Nil
	noBin := req(t, "", baseTime())
	for name, r := range map[string]*schema.Request{"nil id": noID, "empty bin": noBin} {
		if err := s.WriteRequests(t.Context(), []*schema.Request{r}); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("WriteRequests(%s) = %v, want ErrInvalid", name, err)
		}
	}
}
