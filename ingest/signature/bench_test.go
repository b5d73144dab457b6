package signature

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// benchBody is a ~1 KB JSON event, the size the capture benchmarks use.
var benchBody = []byte(`{"id":"evt_1OaBcDeFgHiJkLmN","object":"event","api_version":"2024-06-20","created":1700000000,"type":"payment_intent.succeeded","livemode":false,"pending_webhooks":1,"request":{"id":"req_AbCdEfGhIjKl","idempotency_key":"8d3c4e1a-1b2c-4d5e-9f00-112233445566"},"data":{"object":{"id":"pi_3OaBcDeFgHiJkLmN0","object":"payment_intent","amount":2000,"amount_capturable":0,"amount_received":2000,"currency":"usd","customer":"cus_PqRsTuVwXyZ","description":"Order #1234","metadata":{"order_id":"1234","tenant":"acme"},"payment_method":"pm_1OaBcDeFgHiJkLmN","payment_method_types":["card"],"receipt_email":"jenny.rosen@example.com","status":"succeeded","shipping":{"name":"Jenny Rosen","address":{"line1":"510 Townsend St","city":"San Francisco","state":"CA","postal_code":"94103","country":"US"}},"latest_charge":"ch_3OaBcDeFgHiJkLmN0","capture_method":"automatic","confirmation_method":"automatic","created":1700000000,"statement_descriptor":null,"statement_descriptor_suffix":null,"transfer_data":null,"transfer_group":null,"setup_future_usage":null,"review":null,"on_behalf_of":null,"next_action":null,"last_payment_error":null,"invoice":null,"application":null,"application_fee_amount":null,"canceled_at":null,"cancellation_reason":null,"client_secret":"pi_3OaBcDeFgHiJkLmN0_secret_xyz","source":null}}}`)

// benchHeaders are the headers a real delivery carries besides the signature.
var benchHeaders = hs(
	"Host", "hooks.example.com", "User-Agent", "Provider/1.0 (+https://example.com/webhooks)",
	"Content-Length", "1024", "Accept", "*/*; q=0.5, application/xml", "Cache-Control", "no-cache",
	"Content-Type", "application/json; charset=utf-8", "X-Forwarded-For", "203.0.113.7",
)

// BenchmarkVerify measures one verification of a valid 1 KB delivery per
// scheme through a Verifier built once per bin (the capture hot path) and
// through the one-shot verifyOnce(cfg, in).
func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1700000000, 0)
	fx := fixtures()
	names := make([]string, 0, len(fx))
	for s := range fx {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, scheme := range names {
		f := fx[scheme]
		body := benchBody
		if scheme == "twilio" {
			body = []byte(strings.Repeat("Body=hello+world&From=%2B15551234567&", 27) + "To=%2B1")
		}
		if scheme == "linear" {
			body = []byte(strings.Replace(string(benchBody), `"livemode":false`, `"webhookTimestamp":1700000000000`, 1))
		}
		sig, err := Sign(f.sign, body, f.url, now)
		if err != nil {
			b.Fatal(err)
		}
		headers := slices.Clone(benchHeaders)
		if scheme == "twilio" { // Twilio posts a form; Sign supplies its Content-Type
			headers = slices.DeleteFunc(headers, func(h schema.Header) bool { return h.Name == "Content-Type" })
		}
		headers = append(headers, sig...)
		in := Input{Headers: headers, Body: body, URL: f.url, Now: now}
		v, err := New(f.verify)
		if err != nil {
			b.Fatal(err)
		}
		if r := v.Verify(in); r.Signature.Status != schema.SigValid {
			b.Fatalf("%s: %+v", scheme, r.Signature)
		}
		b.Run(scheme, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				v.Verify(in)
			}
		})
	}
}
