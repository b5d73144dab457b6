package event

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookscope/hookscope/ingest/event/eventtest"
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

func hs(pairs ...string) []schema.Header {
	out := make([]schema.Header, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, schema.Header{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

const jsonCT = "application/json"

// The providers' documented examples live in eventtest, shared with the
// API tests.
var examples = func() (out []struct {
	name, source string
	req          Request
	want         Info
}) {
	for _, e := range eventtest.Examples {
		out = append(out, struct {
			name, source string
			req          Request
			want         Info
		}{e.Name, e.Source, Request(e.Req), Info(e.Want)})
	}
	return out
}()

func TestDocumentedExamples(t *testing.T) {
	for _, c := range examples {
		t.Run(c.name, func(t *testing.T) {
			if got := Extract(c.req); got != c.want {
				t.Fatalf("Extract = %+v, want %+v (example: %s)", got, c.want, c.source)
			}
			// In a bin whose signature scheme is the provider's, the
			// scheme picks the same rules.
			if providerFor(c.want.Source) != nil {
				r := c.req
				r.Scheme = c.want.Source
				if got := Extract(r); got != c.want {
					t.Fatalf("with scheme %s: Extract = %+v, want %+v", r.Scheme, got, c.want)
				}
			}
		})
	}
}

// TestEveryScheme checks that every signature scheme hookscope verifies
// has extraction rules and that the bin's scheme picks them.
func TestEveryScheme(t *testing.T) {
	for _, s := range signature.Schemes() {
		if s == signature.SchemeHMAC {
			continue // user-described: the generic rules apply
		}
		if providerFor(s) == nil {
			t.Errorf("no extraction rules for scheme %s", s)
		}
	}
	// A GitHub bin receiving a body that also looks generic: the scheme's rules win.
	got := Extract(Request{Scheme: "github", Headers: hs("X-GitHub-Event", "push", "X-GitHub-Delivery", "d1", "Idempotency-Key", "other"), Body: []byte(`{"type":"x","ref":"refs/heads/main"}`)})
	if want := (Info{Type: "push", DeliveryID: "d1", Source: "github"}); got != want {
		t.Errorf("github bin: %+v, want %+v", got, want)
	}
	// The scheme's rules run even when the headers are not the usual ones
	// (a Stripe bin receiving an event without its signature header).
	got = Extract(Request{Scheme: "stripe", Headers: hs("Content-Type", jsonCT), Body: []byte(`{"id":"evt_1","type":"charge.succeeded"}`)})
	if want := (Info{Type: "charge.succeeded", DeliveryID: "evt_1", Source: "stripe"}); got != want {
		t.Errorf("stripe bin: %+v, want %+v", got, want)
	}
	// A scheme whose rules find nothing falls back to detection and the generic rules.
	got = Extract(Request{Scheme: "zoom", Headers: hs("Idempotency-Key", "k1"), Body: []byte(`{"kind":"x"}`)})
	if want := (Info{DeliveryID: "k1", Source: "generic"}); got != want {
		t.Errorf("zoom bin, generic body: %+v, want %+v", got, want)
	}
}

func TestHostileBodies(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	for _, c := range []struct {
		name string
		req  Request
		want Info
	}{
		{"empty", Request{}, Info{}},
		{"not JSON", Request{Headers: hs("X-GitHub-Event", "push"), Body: []byte(`{"action":"opened"`)}, Info{Type: "push", Source: "github"}},
		{"body over MaxBody is not parsed", Request{Headers: hs("X-GitHub-Event", "issues"), Body: append([]byte(`{"action":"opened","pad":"`), append([]byte(strings.Repeat("x", MaxBody)), `"}`...)...)}, Info{Type: "issues", Source: "github"}},
		{"deep nesting", Request{Body: []byte(strings.Repeat("[", 5000) + strings.Repeat("]", 5000))}, Info{}},
		{"duplicate key: the last wins", Request{Body: []byte(`{"type":"first","type":"last"}`)}, Info{Type: "last", Source: "generic"}},
		{"nested type does not count", Request{Body: []byte(`{"data":{"type":"inner"}}`)}, Info{}},
		{"non-string type ignored", Request{Body: []byte(`{"type":42,"event":"e"}`)}, Info{Type: "e", Source: "generic"}},
		{"long value clipped at a rune boundary", Request{Body: []byte(`{"type":"` + long + `"}`)}, Info{Type: strings.Repeat("é", MaxValue/2), Source: "generic"}},
		{"long header clipped", Request{Headers: hs("X-GitHub-Event", strings.Repeat("a", 1000))}, Info{Type: strings.Repeat("a", MaxValue), Source: "github"}},
		{"invalid UTF-8 header replaced", Request{Headers: hs("X-GitHub-Event", "pu\xffsh")}, Info{Type: "pu\uFFFDsh", Source: "github"}},
		{"escaped key and value", Request{Body: []byte(`{"typ\u0065":"a\u002fb"}`)}, Info{Type: "a/b", Source: "generic"}},
		{"slack retry number out of range", Request{Headers: hs("X-Slack-Retry-Num", "99999999999999999999"), Body: []byte(`{"type":"event_callback","event":{"type":"message"}}`)}, Info{Type: "message", Attempt: 1, Source: "slack"}},
		{"slack negative retry number", Request{Headers: hs("X-Slack-Retry-Num", "-3"), Body: []byte(`{"type":"url_verification"}`)}, Info{Type: "url_verification", Attempt: 1, Source: "slack"}},
		{"form with a bad escape", Request{Headers: hs("X-Twilio-Signature", "x", "Content-Type", "application/x-www-form-urlencoded"), Body: []byte("MessageStatus=%zz&CallStatus=busy")}, Info{Type: "call.busy", Source: "twilio"}},
		{"slack payload not JSON", Request{Headers: hs("X-Slack-Signature", "v0=0", "Content-Type", "application/x-www-form-urlencoded"), Body: []byte("payload=%7Bnot")}, Info{Attempt: 1, Source: "slack"}},
		{"sendgrid array of scalars", Request{Headers: hs("X-Twilio-Email-Event-Webhook-Signature", "x"), Body: []byte(`[1,"a",null]`)}, Info{}},
		{"discord unknown interaction type", Request{Headers: hs("X-Signature-Ed25519", "x"), Body: []byte(`{"type":99,"token":"t","id":"i"}`)}, Info{DeliveryID: "i", Source: "discord"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Extract(c.req); got != c.want {
				t.Fatalf("Extract = %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzExtract: any request gives bounded, valid UTF-8 fields and never panics.
func FuzzExtract(f *testing.F) {
	for _, c := range examples {
		var names, values []string
		for _, h := range c.req.Headers {
			names, values = append(names, h.Name), append(values, h.Value)
		}
		f.Add(strings.Join(names, "\n"), strings.Join(values, "\n"), c.req.Query, c.req.Body, c.req.Scheme)
	}
	f.Add("X-Slack-Retry-Num\nContent-Type", "7\napplication/x-www-form-urlencoded", "", []byte("payload=%7B%22type%22%3A1%7D&command=%2F"), "slack")
	f.Fuzz(func(t *testing.T, names, values, query string, body []byte, scheme string) {
		n, v := strings.Split(names, "\n"), strings.Split(values, "\n")
		var h []schema.Header
		for i := range n {
			if i < len(v) {
				h = append(h, schema.Header{Name: n[i], Value: v[i]})
			}
		}
		got := Extract(Request{Method: "POST", Headers: h, Query: query, Body: body, Scheme: scheme})
		for _, s := range []string{got.Type, got.DeliveryID} {
			if len(s) > MaxValue || !utf8.ValidString(s) {
				t.Fatalf("field %q: %d bytes, valid UTF-8 %v", s, len(s), utf8.ValidString(s))
			}
		}
		if got.Attempt < 0 || got.Attempt > 1000 {
			t.Fatalf("attempt %d", got.Attempt)
		}
		if (got.Source == "") != (got == Info{}) {
			t.Fatalf("source %q for %+v", got.Source, got)
		}
	})
}

// BenchmarkExtractLarge: a 1 MiB generic body costs one validation and one
// walk of its top level, whatever the number of rules that read it.
func BenchmarkExtractLarge(b *testing.B) {
	body := []byte(`{"data":[` + strings.Repeat(`{"type":"nested","v":"xxxxxxxxxxxxxxxx"},`, (MaxBody-64)/41) + `1],"type":"big.event"}`)
	req := Request{Method: "POST", Headers: hs("Content-Type", jsonCT), Body: body}
	if got := Extract(req); got.Type != "big.event" {
		b.Fatalf("%+v", got)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Extract(req)
	}
}

func BenchmarkExtract(b *testing.B) {
	for _, name := range []string{"github issues opened", "stripe event", "slack event_callback", "sendgrid event batch"} {
		var req Request
		for _, c := range examples {
			if c.name == name {
				req = c.req
			}
		}
		b.Run(strings.Fields(name)[0], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Body)))
			for b.Loop() {
				Extract(req)
			}
		})
	}
}
