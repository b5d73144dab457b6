package signature

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Fuzz targets, one per header parser. Seeds are real signatures made with
// secret A (plus malformed variants), but the fuzzed request is verified
// with secret B: a "valid" verdict would therefore be a forgery. Every
// verdict must be invalid or missing, with a reason, and "missing" only when
// the signature header really is absent.

var fuzzNow = time.Unix(1700000000, 0)

type fuzzTarget struct {
	sign, verify *schema.SignatureConfig
	sigHeader    string
	url          string
	// headers builds the request headers from the two fuzzed strings.
	headers func(a, b string) []schema.Header
	// seed extracts (a, b) from headers made by Sign.
	seed  func(h []schema.Header) (string, string)
	extra [][2]string // hand-written (a, b) seeds
}

func get(h []schema.Header, name string) string {
	v, _, _ := first(h, name)
	return v
}

func runFuzz(f *testing.F, ft fuzzTarget) {
	bodies := []string{`{"id":"evt_1","type":"x"}`, "", "a=1&b=%2B2", `{"webhookTimestamp":1700000000000}`}
	for _, body := range bodies {
		if h, err := Sign(ft.sign, []byte(body), ft.url, fuzzNow); err == nil {
			a, b := ft.seed(h)
			f.Add(a, b, []byte(body))
		}
	}
	for _, e := range ft.extra {
		f.Add(e[0], e[1], []byte(bodies[0]))
	}
	v, err := New(ft.verify)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string, body []byte) {
		h := ft.headers(a, b)
		in := Input{Headers: h, Body: body, URL: ft.url, Now: fuzzNow}
		r := v.Verify(in)
		switch r.Signature.Status {
		case schema.SigInvalid:
		case schema.SigMissing:
			if nextHeader(h, ft.sigHeader, 0) >= 0 {
				t.Fatalf("missing although %s is present: %q", ft.sigHeader, r.Signature.Reason)
			}
		default:
			t.Fatalf("status %s (%q) for a request not signed with this secret: a=%q b=%q body=%q", r.Signature.Status, r.Signature.Reason, a, b, body)
		}
		if r.Signature.Reason == "" || r.Signature.Scheme != ft.verify.Scheme {
			t.Fatalf("bad result %+v", r.Signature)
		}
		// The one-shot path must agree.
		if r2 := verifyOnce(ft.verify, in); r2 != r {
			t.Fatalf("verifyOnce(cfg) = %+v, Verifier.Verify = %+v", r2, r)
		}
	})
}

func pair(a, b string) func([]schema.Header) (string, string) {
	return func(h []schema.Header) (string, string) { return get(h, a), get(h, b) }
}

func FuzzParseStandardWebhooks(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), verify: cfg("standard-webhooks", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"),
		sigHeader: "webhook-signature",
		headers: func(a, b string) []schema.Header {
			return hs("webhook-id", "msg_1", "webhook-timestamp", b, "webhook-signature", a)
		},
		seed:  pair("webhook-signature", "webhook-timestamp"),
		extra: [][2]string{{"v1,", "1700000000"}, {"v1,a v1,b v2,c", "+1700000000"}, {",,, ", "-1"}, {swSig, swTS}},
	})
}

func FuzzParseStripe(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("stripe", "whsec_a"), verify: cfg("stripe", "whsec_b"), sigHeader: "Stripe-Signature",
		headers: func(a, b string) []schema.Header { return hs("Stripe-Signature", a, "Stripe-Signature", b) },
		seed:    func(h []schema.Header) (string, string) { return get(h, "Stripe-Signature"), "" },
		extra:   [][2]string{{"t=1700000000,v1=" + stripeV1 + ",v0=x", "t=,v1="}, {"t=1,t=2,v1=zz", "=,=="}, {"v1=" + stripeV1, "t=1700000000"}},
	})
}

func FuzzParseGitHub(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("github", "a"), verify: cfg("github", "b"), sigHeader: "X-Hub-Signature",
		headers: func(a, b string) []schema.Header {
			var h []schema.Header
			if a != "" {
				h = append(h, schema.Header{Name: "X-Hub-Signature-256", Value: a})
			}
			return append(h, schema.Header{Name: "X-Hub-Signature", Value: b})
		},
		seed:  pair("X-Hub-Signature-256", "X-Hub-Signature"),
		extra: [][2]string{{ghSig256, ghSig1}, {"SHA256=00", "sha1="}},
	})
}

func v0Target(scheme, sigH, tsH string) fuzzTarget {
	return fuzzTarget{
		sign: cfg(scheme, "a"), verify: cfg(scheme, "b"), sigHeader: sigH,
		headers: func(a, b string) []schema.Header { return hs(tsH, b, sigH, a) },
		seed:    pair(sigH, tsH),
		extra:   [][2]string{{slackSig, slackTS}, {"v0=", "0"}, {"v0=" + slackSig, "99999999999999999999"}},
	}
}

func FuzzParseSlack(f *testing.F) {
	runFuzz(f, v0Target("slack", "X-Slack-Signature", "X-Slack-Request-Timestamp"))
}

func FuzzParseZoom(f *testing.F) {
	runFuzz(f, v0Target("zoom", "x-zm-signature", "x-zm-request-timestamp"))
}

func FuzzParseShopify(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("shopify", "a"), verify: cfg("shopify", "b"), sigHeader: "X-Shopify-Hmac-Sha256",
		// a: the Events header (checked first when not empty), b: the webhooks header.
		headers: func(a, b string) []schema.Header {
			return hs("Shopify-Hmac-Sha256", a, "X-Shopify-Hmac-Sha256", b)
		},
		seed:  func(h []schema.Header) (string, string) { return get(h, "X-Shopify-Hmac-Sha256"), "" },
		extra: [][2]string{{shopSig, "===="}, {"k72tceQzwLrcNoh8q2ZaNlbbj/oVrcHNV4qHTP1iWNs", "%%%"}, {"", shopSig}, {" ", ""}},
	})
}

func FuzzParseTwilio(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("twilio", "a"), verify: cfg("twilio", "b"), sigHeader: "X-Twilio-Signature", url: rtURL,
		headers: func(a, b string) []schema.Header {
			return hs("X-Twilio-Signature", a, "Content-Type", b)
		},
		seed:  pair("X-Twilio-Signature", "Content-Type"),
		extra: [][2]string{{twSig, "application/x-www-form-urlencoded"}, {twJSONSig, "application/json"}, {"", "multipart/form-data; boundary=x"}},
	})
}

// FuzzParseTwilioSettings fuzzes the signature and the
// X-Twilio-Webhooks-Signature-Settings header that picks its algorithm.
func FuzzParseTwilioSettings(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("twilio", "a"), verify: cfg("twilio", "b"), sigHeader: "X-Twilio-Signature", url: rtURL,
		headers: func(a, b string) []schema.Header {
			return hs("Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", a, twilioSettings, b)
		},
		seed: pair("X-Twilio-Signature", twilioSettings),
		extra: [][2]string{{twSig, "key=k,algorithm=HMAC_SHA256"}, {"k72tceQzwLrcNoh8q2ZaNlbbj/oVrcHNV4qHTP1iWNs=", "algorithm=hmac_sha256"},
			{"", "algorithm="}, {"x", ",,=,algorithm = HMAC_SHA1 ,"}, {twSig, "algorithm=HMAC_SHA512"}},
	})
}

func FuzzParsePaddle(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("paddle", "a"), verify: cfg("paddle", "b"), sigHeader: "Paddle-Signature",
		headers: func(a, b string) []schema.Header { return hs("Paddle-Signature", a, "Paddle-Signature", b) },
		seed:    func(h []schema.Header) (string, string) { return get(h, "Paddle-Signature"), "" },
		extra:   [][2]string{{paddleSig, ";;;"}, {"ts=1;h1=;h1=00", "ts"}, {"h1=" + stripeV1 + ";ts=1700000000", ""}},
	})
}

func FuzzParseLinear(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("linear", "a"), verify: cfg("linear", "b"), sigHeader: "Linear-Signature",
		headers: func(a, b string) []schema.Header { return hs("Linear-Signature", a, "Linear-Signature", b) },
		seed:    func(h []schema.Header) (string, string) { return get(h, "Linear-Signature"), "" },
		extra:   [][2]string{{linSig, ""}, {"", "zz"}},
	})
}

func FuzzParseGitLab(f *testing.F) {
	runFuzz(f, fuzzTarget{
		// The verifying token must not be guessable from the seeds: a first
		// version used "token-b" with seed "token-a" and the fuzzer found it.
		sign: cfg("gitlab", "token-a"), verify: cfg("gitlab", "glpat-9f8e7d6c5b4a39281706f5e4d3c2b1a0"), sigHeader: "X-Gitlab-Token",
		headers: func(a, b string) []schema.Header { return hs("X-Gitlab-Token", a, "X-Gitlab-Token", b) },
		seed:    func(h []schema.Header) (string, string) { return get(h, "X-Gitlab-Token"), "token-" },
	})
}

func FuzzParseHMAC(f *testing.F) {
	c := func(secret string) *schema.SignatureConfig {
		return &schema.SignatureConfig{Scheme: "hmac", Secret: secret, Header: "X-Sig", Algorithm: "sha256", Encoding: "base64", Prefix: "sha256="}
	}
	runFuzz(f, fuzzTarget{
		sign: c("a"), verify: c("b"), sigHeader: "X-Sig",
		headers: func(a, b string) []schema.Header { return hs("X-Sig", a, "x-sig", b) },
		seed:    func(h []schema.Header) (string, string) { return get(h, "X-Sig"), "sha256=" },
		extra:   [][2]string{{"sha256=,sha256= ,", "SHA256=AAAA"}},
	})
}

func FuzzParseDiscord(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("discord", roundTripEdPriv()), verify: cfg("discord", dcPub), sigHeader: "X-Signature-Ed25519",
		headers: func(a, b string) []schema.Header {
			return hs("X-Signature-Ed25519", a, "X-Signature-Timestamp", b)
		},
		seed:  pair("X-Signature-Ed25519", "X-Signature-Timestamp"),
		extra: [][2]string{{"00", "1700000000"}, {dcSig[:127] + "g", "-1"}},
	})
}

func FuzzParseSendGrid(f *testing.F) {
	runFuzz(f, fuzzTarget{
		sign: cfg("sendgrid", sgPriv), verify: cfg("sendgrid", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAlrbtqTpVricnke3puYMG1VnzTKcjBavkuKva+4ePGXwEb5sPsNPMir1+agf8enxVxazLS6q7u3o7amLGV6USA=="),
		sigHeader: "X-Twilio-Email-Event-Webhook-Signature",
		headers: func(a, b string) []schema.Header {
			return hs("X-Twilio-Email-Event-Webhook-Signature", a, "X-Twilio-Email-Event-Webhook-Timestamp", b)
		},
		seed:  pair("X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"),
		extra: [][2]string{{sgSig, sgTS}, {"MAA=", "1"}},
	})
}

// FuzzLinearTimestamp checks the allocation-free top-level walk that reads
// Linear's webhookTimestamp against encoding/json decoding the body into a
// map (top-level keys only; of duplicate keys the last wins, as JSON.parse
// keeps it).
func FuzzLinearTimestamp(f *testing.F) {
	for _, s := range []string{
		`{"webhookTimestamp":1700000000123}`, `{"webhookTimestamp" : "1"}`, `"webhookTimestamp"`,
		`{"webhookTimestamp":99999999999999999999999}`, `{"data":{"webhookTimestamp":1},"webhookTimestamp":2}`,
		`{"webhookTimestamp":1,"webhookTimestamp":null}`, `{"webhook\u0054imestamp":1.5e12}`, `[{"webhookTimestamp":1}]`,
		`{"a":[1,{"b":"}"}],"webhookTimestamp":-0.5}`, `{"webhookTimestamp":1e400}`, `{`, ``, ` {"webhookTimestamp":true} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := linearTimestamp(body)
		want := referenceLinearTimestamp(body)
		if got.kind != want.kind || !got.at.Equal(want.at) {
			t.Fatalf("%q: got %+v, encoding/json says %+v", body, got, want)
		}
	})
}

func referenceLinearTimestamp(body []byte) bodyTimestamp {
	if !json.Valid(body) {
		return bodyTimestamp{kind: tsNotJSON}
	}
	var top map[string]json.RawMessage
	if bytes.TrimLeft(body, " \t\r\n")[0] != '{' || json.Unmarshal(body, &top) != nil {
		return bodyTimestamp{kind: tsAbsent}
	}
	raw, ok := top["webhookTimestamp"]
	if !ok {
		return bodyTimestamp{kind: tsAbsent}
	}
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		// a number beyond float64 (1e400): JSON.parse gives Infinity
		return bodyTimestamp{kind: tsOutOfRange}
	}
	switch n := x.(type) {
	case nil:
		return bodyTimestamp{kind: tsNull}
	case float64:
		if math.Abs(n) > maxLinearMS {
			return bodyTimestamp{kind: tsOutOfRange}
		}
		return bodyTimestamp{kind: tsNumber, at: msTime(n)}
	}
	return bodyTimestamp{kind: tsNotNumber}
}

// FuzzFormUnescape checks the allocation-free form decoder used for Twilio
// parameters against net/url.QueryUnescape.
func FuzzFormUnescape(f *testing.F) {
	for _, s := range []string{"a+b%2Bc", "%zz", "%", "%4", "%41%42", "é%C3%A9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := url.QueryUnescape(s)
		got, gerr := unescapeAppend(nil, []byte(s))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: error %v, url.QueryUnescape error %v", s, gerr, werr)
		}
		if werr == nil && string(got) != want {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}
