package ingest

import (
	"reflect"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

func TestRedactor(t *testing.T) {
	no := false
	hs := func() []schema.Header {
		return []schema.Header{{Name: "authorization", Value: "Bearer s"}, {Name: "X-Keep", Value: "k"}, {Name: "X-Shop", Value: "t"}}
	}
	tests := []struct {
		name      string
		cfg       *schema.RedactConfig
		body      string
		truncated bool
		wantBody  string
		wantHdrs  []string // redacted header names
		wantRed   *schema.Redaction
	}{
		{name: "global header only", body: `{"a":1}`, wantBody: `{"a":1}`, wantHdrs: []string{"authorization"},
			wantRed: &schema.Redaction{Headers: []string{"authorization"}}},
		{name: "bin header and paths, key order kept", cfg: &schema.RedactConfig{Headers: []string{"x-shop"}, BodyPaths: []string{"z.y", "a", "missing.path"}},
			body: `{"z":{"y":"secret","x":2},  "a":[1,2],"b":"keep"}`, wantBody: `{"z":{"y":"[redacted]","x":2},  "a":"[redacted]","b":"keep"}`,
			wantHdrs: []string{"authorization", "X-Shop"}, wantRed: &schema.Redaction{Headers: []string{"authorization", "X-Shop"}, BodyPaths: []string{"z.y", "a"}}},
		{name: "body not JSON is kept", cfg: &schema.RedactConfig{BodyPaths: []string{"card"}}, body: `card=4242`, wantBody: `card=4242`,
			wantHdrs: []string{"authorization"}, wantRed: &schema.Redaction{Headers: []string{"authorization"}}},
		{name: "truncated body with paths is dropped", cfg: &schema.RedactConfig{BodyPaths: []string{"card"}}, body: `{"card":"4242`, truncated: true,
			wantBody: "", wantHdrs: []string{"authorization"}, wantRed: &schema.Redaction{Headers: []string{"authorization"}, BodyDropped: true}},
		{name: "metadata only", cfg: &schema.RedactConfig{StoreBody: &no}, body: `{"a":1}`, wantBody: "", wantHdrs: []string{"authorization"},
			wantRed: &schema.Redaction{Headers: []string{"authorization"}, BodyDropped: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := newRedactor([]string{"Authorization"}, tt.cfg)
			orig := hs()
			body := []byte(tt.body)
			r := &schema.Request{Headers: orig, Body: body, BodyTruncated: tt.truncated}
			sent := rd.apply(r)
			if string(r.Body) != tt.wantBody {
				t.Errorf("stored body %q, want %q", r.Body, tt.wantBody)
			}
			var red []string
			for _, h := range r.Headers {
				if h.Value == schema.RedactedValue {
					red = append(red, h.Name)
				}
			}
			if !reflect.DeepEqual(red, tt.wantHdrs) || !reflect.DeepEqual(r.Redacted, tt.wantRed) {
				t.Errorf("redacted headers %v, record %+v; want %v, %+v", red, r.Redacted, tt.wantHdrs, tt.wantRed)
			}
			// The request as sent is untouched: the original slice and body
			// (the signature and the forward read them).
			if !reflect.DeepEqual(orig, hs()) || string(body) != tt.body {
				t.Errorf("apply wrote into the request as sent: %v %q", orig, body)
			}
			if sent == r || !reflect.DeepEqual(sent.Headers, hs()) || string(sent.Body) != tt.body || sent.Redacted != nil {
				t.Errorf("sent copy: %+v", sent)
			}
		})
	}
	if newRedactor(nil, nil) != nil || newRedactor(nil, &schema.RedactConfig{}) != nil {
		t.Error("a redactor with nothing to do should be nil (no work on the capture path)")
	}
}

// TestRedactorNoMatchAllocatesNothing: with the default list and a request
// carrying none of those headers, the capture path pays a name comparison
// per header and nothing else.
func TestRedactorNoMatchAllocatesNothing(t *testing.T) {
	rd := newRedactor(DefaultRedactHeaders, nil)
	r := &schema.Request{Headers: []schema.Header{{Name: "Content-Type", Value: "a"}, {Name: "Stripe-Signature", Value: "t=1"}, {Name: "User-Agent", Value: "x"}}, Body: []byte(`{}`)}
	if n := testing.AllocsPerRun(100, func() {
		if rd.apply(r) != r {
			t.Fatal("changed")
		}
	}); n != 0 {
		t.Errorf("%v allocations per request without a match", n)
	}
}

func BenchmarkRedactNoMatch(b *testing.B) {
	rd := newRedactor(DefaultRedactHeaders, nil)
	r := &schema.Request{Headers: make([]schema.Header, 12), Body: []byte(`{}`)}
	for i := range r.Headers {
		r.Headers[i] = schema.Header{Name: "X-Header-Name", Value: "v"}
	}
	b.ReportAllocs()
	for b.Loop() {
		rd.apply(r)
	}
}
