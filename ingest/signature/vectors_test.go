package signature

import (
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

func hs(pairs ...string) []schema.Header {
	out := make([]schema.Header, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, schema.Header{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func cfg(scheme, secret string) *schema.SignatureConfig {
	return &schema.SignatureConfig{Scheme: scheme, Secret: secret}
}

func unix(s int64) time.Time { return time.Unix(s, 0) }

// verifyOnce builds a Verifier for cfg and verifies one request; an unusable
// cfg is "unchecked" with the reason, as ingest records it.
func verifyOnce(cfg *schema.SignatureConfig, in Input) Result {
	v, err := New(cfg)
	if err != nil {
		scheme := ""
		if cfg != nil {
			scheme = cfg.Scheme
		}
		return Result{Signature: schema.Signature{Scheme: scheme, Status: schema.SigUnchecked, Reason: "configuration error: " + strings.TrimPrefix(err.Error(), "signature: ")}}
	}
	return v.Verify(in)
}

// Published example vectors. Each case names its source. Where a provider
// publishes no example, the expected value was computed independently of
// this package with `openssl dgst -hmac` (HMAC) or `openssl pkeyutl -sign`
// (Ed25519) and is marked so.
const (
	// github.com/standard-webhooks/standard-webhooks libraries/go/webhook_test.go TestWebhookSign.
	swKey  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swTS   = "1614265330"
	swBody = `{"test": 2432232314}`
	swSig  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// The same file's "invalid signature is invalid" value.
	swBad = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

	// api.slack.com/authentication/verifying-requests-from-slack (worked example).
	slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTS     = "1531420618"
	slackBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

	// docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries ("Testing the webhook payload validation").
	ghSecret = "It's a Secret to Everybody"
	ghBody   = "Hello, World!"
	ghSig256 = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	// openssl dgst -sha1 -hmac over the same body (GitHub publishes no sha1 example).
	ghSig1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"

	// github.com/PaddleHQ/paddle-go-sdk example_webhook_verifier_test.go.
	paddleSecret = "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_hKkRiCGyyRhbFwIUuqiTBgI7gnWoV0Gr"
	paddleSig    = "ts=1710929255;h1=6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8"
	paddleBody   = `{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active","quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting","product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000","currency_code":"USD"},"custom_data":null,"description":"testing","import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month","frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3","event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z","notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}`

	// github.com/twilio/twilio-go client/request_validator_test.go.
	twToken   = "12345"
	twURL     = "https://mycompany.com/myapp.php?foo=1&bar=2"
	twSig     = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	twSig443  = "kvajT1Ptam85bY51eRf/AJRuM3w=" // same URL signed with an explicit :443
	twHTTPSig = "0ZXoZLH/DfblKGATFgpif+LLRf4=" // http:// variant, no port
	twForm    = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	twBodyHex = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	twJSON    = `{"property": "value", "boolean": true}`
	twJSONSig = "a9nBmqA0ju/hNViExpshrM61xv4="
	// twilio-node 6.3.1 getExpectedTwilioSignature("12345", twURL, querystring.parse(twForm), "HMAC_SHA256").
	twSig256 = "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="

	// github.com/sendgrid/sendgrid-go helpers/eventwebhook/eventwebhook_test.go
	// (payload = json.Marshal of its map, keys sorted).
	sgPub  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sgPriv = "MHcCAQEEIEQmZgBEh9DcU9zMl34czK3xov4AYvm9P3r7rNB2dNXtoAoGCCqGSM49AwEHoUQDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sgTS   = "1588788367"
	sgBody = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
	sgSig  = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="

	// Computed with openssl (no published example): see the constants' use.
	stripeSecret = "whsec_test_secret"
	stripeBody   = `{"id":"evt_1","object":"event"}`
	stripeV1     = "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd" // HMAC-SHA256("1700000000."+body)
	shopSecret   = "shpss_test_secret"
	shopBody     = `{"id":1,"topic":"orders/create"}`
	shopSig      = "k72tceQzwLrcNoh8q2ZaNlbbj/oVrcHNV4qHTP1iWNs="
	zoomSecret   = "zoom_secret_token"
	zoomBody     = `{"event":"meeting.started"}`
	zoomSig      = "v0=3e26cabfef3d31e659f8b672f08a7e4872438adf9c171b0122eefa5e8c0c6803" // "v0:1700000000:"+body
	linSecret    = "lin_wh_secret"
	linBody      = `{"action":"create","type":"Issue","webhookTimestamp":1700000000123}`
	linSig       = "4ff58c16bddf3142f867243ebe039e306fcc4206e60072da0c5497bdde40248b"
	// openssl genpkey -algorithm ed25519; openssl pkeyutl -sign -rawin over "1700000000"+body.
	dcPub  = "b525f14d804aefb75b735f2ffae83498874c360f478011c3e717b036e0d6d6ca"
	dcBody = `{"type":1}`
	dcSig  = "bc0b723d1e622fd519dcd09a9c4b80e3b70fc7e011a3f81a2f9d273633642d9531966190e4806f2d6ff0ab1451e8fce59b0f0e5bdc0748b8376cbf3a51bafe0d"
)

type vcase struct {
	name    string
	cfg     *schema.SignatureConfig
	headers []schema.Header
	body    string
	url     string
	now     time.Time
	status  schema.SignatureStatus
	reason  string // exact, or a prefix when it ends with "*"
	signed  int64  // expected SignedAt (Unix ms), 0 = zero time
}

func runCases(t *testing.T, cases []vcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := verifyOnce(c.cfg, Input{Headers: c.headers, Body: []byte(c.body), URL: c.url, Now: c.now})
			if got.Signature.Status != c.status {
				t.Fatalf("status = %s (%q), want %s", got.Signature.Status, got.Signature.Reason, c.status)
			}
			if c.cfg != nil && got.Signature.Scheme != c.cfg.Scheme {
				t.Errorf("scheme = %q, want %q", got.Signature.Scheme, c.cfg.Scheme)
			}
			if p, ok := strings.CutSuffix(c.reason, "*"); ok {
				if !strings.HasPrefix(got.Signature.Reason, p) {
					t.Errorf("reason = %q, want prefix %q", got.Signature.Reason, p)
				}
			} else if got.Signature.Reason != c.reason {
				t.Errorf("reason = %q, want %q", got.Signature.Reason, c.reason)
			}
			var want time.Time
			if c.signed != 0 {
				want = time.UnixMilli(c.signed)
			}
			if !got.SignedAt.Equal(want) {
				t.Errorf("SignedAt = %v, want %v", got.SignedAt, want)
			}
		})
	}
}

func TestStandardWebhooksVectors(t *testing.T) {
	at := unix(1614265330)
	good := hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", swSig)
	const ms = 1614265330000
	runCases(t, []vcase{
		{"reference vector whsec_ prefix", cfg("standard-webhooks", swKey), good, swBody, "", at, schema.SigValid, "", ms},
		{"reference vector without prefix", cfg("standard-webhooks", strings.TrimPrefix(swKey, "whsec_")), good, swBody, "", at, schema.SigValid, "", ms},
		{"header names any case", cfg("standard-webhooks", swKey), hs("Webhook-Id", swID, "WEBHOOK-TIMESTAMP", swTS, "Webhook-Signature", swSig), swBody, "", at, schema.SigValid, "", ms},
		{"rotated: several entries one valid", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", swBad+" v2,"+swSig[3:]+" "+swSig+" "+swBad), swBody, "", at, schema.SigValid, "", ms},
		{"duplicate signature headers", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", swBad, "webhook-signature", swSig), swBody, "", at, schema.SigValid, "", ms},
		{"reference invalid signature", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", swBad), swBody, "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"only v2 entry", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-signature", "v2,"+swSig[3:]), swBody, "", at, schema.SigInvalid, `malformed header: webhook-signature has no "v1,<base64>" entry`, ms},
		{"altered body", cfg("standard-webhooks", swKey), good, swBody + " ", "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"wrong secret", cfg("standard-webhooks", "whsec_"+"c2VjcmV0c2VjcmV0c2VjcmV0"), good, swBody, "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"altered id", cfg("standard-webhooks", swKey), hs("webhook-id", swID+"x", "webhook-timestamp", swTS, "webhook-signature", swSig), swBody, "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"stale", cfg("standard-webhooks", swKey), good, swBody, "", at.Add(612 * time.Second), schema.SigInvalid, "timestamp 612s older than tolerance 300s", ms},
		{"at the tolerance edge", cfg("standard-webhooks", swKey), good, swBody, "", at.Add(300 * time.Second), schema.SigValid, "", ms},
		{"future", cfg("standard-webhooks", swKey), good, swBody, "", at.Add(-340 * time.Second), schema.SigInvalid, "timestamp 340s in the future beyond tolerance 300s", ms},
		{"tolerance override", &schema.SignatureConfig{Scheme: "standard-webhooks", Secret: swKey, Tolerance: "1h"}, good, swBody, "", at.Add(3000 * time.Second), schema.SigValid, "", ms},
		{"tolerance 0 disables the window", &schema.SignatureConfig{Scheme: "standard-webhooks", Secret: swKey, Tolerance: "0s"}, good, swBody, "", at.Add(1000 * time.Hour), schema.SigValid, "", ms},
		{"missing signature", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS), swBody, "", at, schema.SigMissing, "no webhook-signature header", 0},
		{"no headers at all", cfg("standard-webhooks", swKey), nil, swBody, "", at, schema.SigMissing, "no webhook-signature header", 0},
		{"missing id", cfg("standard-webhooks", swKey), hs("webhook-timestamp", swTS, "webhook-signature", swSig), swBody, "", at, schema.SigInvalid, "malformed header: no webhook-id header", 0},
		{"missing timestamp", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-signature", swSig), swBody, "", at, schema.SigInvalid, "malformed header: no webhook-timestamp header", 0},
		{"non-numeric timestamp", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", "2021-02-25", "webhook-signature", swSig), swBody, "", at, schema.SigInvalid, `malformed header: webhook-timestamp "2021-02-25" is not a Unix timestamp`, 0},
		{"conflicting duplicate timestamps", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-timestamp", "1614265331", "webhook-signature", swSig), swBody, "", at, schema.SigInvalid, "malformed header: several webhook-timestamp headers with different values", 0},
		{"identical duplicate timestamps", cfg("standard-webhooks", swKey), hs("webhook-id", swID, "webhook-timestamp", swTS, "webhook-timestamp", swTS, "webhook-signature", swSig), swBody, "", at, schema.SigValid, "", ms},
		{"svix headers", cfg("svix", swKey), hs("svix-id", swID, "svix-timestamp", swTS, "svix-signature", swSig), swBody, "", at, schema.SigValid, "", ms},
		{"svix falls back to webhook-* like the Svix SDK", cfg("svix", swKey), good, swBody, "", at, schema.SigValid, "", ms},
		{"svix missing", cfg("svix", swKey), nil, swBody, "", at, schema.SigMissing, "no svix-signature header", 0},
		{"svix stale", cfg("svix", swKey), hs("svix-id", swID, "svix-timestamp", swTS, "svix-signature", swSig), swBody, "", at.Add(301 * time.Second), schema.SigInvalid, "timestamp 301s older than tolerance 300s", ms},
	})
}

func TestStripeVectors(t *testing.T) {
	at := unix(1700000000)
	c := cfg("stripe", stripeSecret)
	good := hs("Stripe-Signature", "t=1700000000,v1="+stripeV1)
	const ms = 1700000000000
	wrong := strings.Repeat("ab", 32)
	runCases(t, []vcase{
		{"openssl vector", c, good, stripeBody, "", at, schema.SigValid, "", ms},
		{"rolled secret: second v1 matches", c, hs("Stripe-Signature", "t=1700000000,v1="+wrong+",v1="+stripeV1+",v0="+wrong), stripeBody, "", at, schema.SigValid, "", ms},
		{"lower-case header name", c, hs("stripe-signature", "t=1700000000,v1="+stripeV1), stripeBody, "", at, schema.SigValid, "", ms},
		{"duplicate headers, second valid", c, hs("Stripe-Signature", "t=1700000000,v1="+wrong, "Stripe-Signature", "t=1700000000,v1="+stripeV1), stripeBody, "", at, schema.SigValid, "", ms},
		{"missing", c, hs("Content-Type", "application/json"), stripeBody, "", at, schema.SigMissing, "no Stripe-Signature header", 0},
		{"wrong secret", cfg("stripe", "whsec_other"), good, stripeBody, "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"altered body", c, good, stripeBody + "\n", "", at, schema.SigInvalid, "no v1 signature matched", ms},
		{"stale", c, good, stripeBody, "", at.Add(612 * time.Second), schema.SigInvalid, "timestamp 612s older than tolerance 300s", ms},
		{"stale by a fraction", c, good, stripeBody, "", at.Add(300*time.Second + time.Millisecond), schema.SigInvalid, "timestamp 300.001s older than tolerance 300s", ms},
		// stripe-go only rejects time.Since(t) > tolerance; a future t is accepted.
		{"future accepted like stripe-go", c, good, stripeBody, "", at.Add(-time.Hour), schema.SigValid, "", ms},
		{"tolerance override", &schema.SignatureConfig{Scheme: "stripe", Secret: stripeSecret, Tolerance: "15m"}, good, stripeBody, "", at.Add(612 * time.Second), schema.SigValid, "", ms},
		{"only v0", c, hs("Stripe-Signature", "t=1700000000,v0="+stripeV1), stripeBody, "", at, schema.SigInvalid, "no v1 signature in Stripe-Signature header", ms},
		{"no timestamp", c, hs("Stripe-Signature", "v1="+stripeV1), stripeBody, "", at, schema.SigInvalid, "malformed header: Stripe-Signature has no t= timestamp", 0},
		{"bad timestamp", c, hs("Stripe-Signature", "t=abc,v1="+stripeV1), stripeBody, "", at, schema.SigInvalid, `malformed header: Stripe-Signature t="abc" is not a Unix timestamp`, 0},
		{"element without =", c, hs("Stripe-Signature", "t=1700000000,garbage"), stripeBody, "", at, schema.SigInvalid, `malformed header: Stripe-Signature element "garbage" is not key=value`, 0},
		{"empty header", c, hs("Stripe-Signature", ""), stripeBody, "", at, schema.SigInvalid, `malformed header: Stripe-Signature element "" is not key=value`, 0},
		{"undecodable v1 ignored", c, hs("Stripe-Signature", "t=1700000000,v1=zz"), stripeBody, "", at, schema.SigInvalid, "no v1 signature matched", ms},
	})
}

func TestGitHubVectors(t *testing.T) {
	c := cfg("github", ghSecret)
	now := unix(1700000000)
	runCases(t, []vcase{
		{"docs sha256 vector", c, hs("X-Hub-Signature-256", ghSig256), ghBody, "", now, schema.SigValid, "", 0},
		{"legacy sha1 only", c, hs("X-Hub-Signature", ghSig1), ghBody, "", now, schema.SigValid, "", 0},
		{"both headers", c, hs("X-Hub-Signature", ghSig1, "X-Hub-Signature-256", ghSig256), ghBody, "", now, schema.SigValid, "", 0},
		{"sha256 wins over a good sha1", c, hs("X-Hub-Signature", ghSig1, "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64)), ghBody, "", now, schema.SigInvalid, "sha256 signature does not match", 0},
		{"missing", c, nil, ghBody, "", now, schema.SigMissing, "no X-Hub-Signature-256 or X-Hub-Signature header", 0},
		{"altered body", c, hs("X-Hub-Signature-256", ghSig256), ghBody + "!", "", now, schema.SigInvalid, "sha256 signature does not match", 0},
		{"wrong secret sha1", cfg("github", "nope"), hs("X-Hub-Signature", ghSig1), ghBody, "", now, schema.SigInvalid, "sha1 signature does not match", 0},
		{"no prefix", c, hs("X-Hub-Signature-256", ghSig256[7:]), ghBody, "", now, schema.SigInvalid, "malformed header: X-Hub-Signature-256 is not sha256=<64 hex digits>", 0},
		{"duplicate, second valid", c, hs("X-Hub-Signature-256", "sha256=xyz", "x-hub-signature-256", ghSig256), ghBody, "", now, schema.SigValid, "", 0},
	})
}

func TestSlackZoomVectors(t *testing.T) {
	at := unix(1531420618)
	c := cfg("slack", slackSecret)
	good := hs("X-Slack-Request-Timestamp", slackTS, "X-Slack-Signature", slackSig)
	const ms = 1531420618000
	zat := unix(1700000000)
	z := cfg("zoom", zoomSecret)
	zgood := hs("x-zm-request-timestamp", "1700000000", "x-zm-signature", zoomSig)
	runCases(t, []vcase{
		{"slack docs vector", c, good, slackBody, "", at, schema.SigValid, "", ms},
		{"slack stale", c, good, slackBody, "", at.Add(10 * time.Minute), schema.SigInvalid, "timestamp 600s older than tolerance 300s", ms},
		// @slack/bolt rejects only stale timestamps (issue 19): a future one is accepted.
		{"slack future accepted like @slack/bolt", c, good, slackBody, "", at.Add(-6 * time.Minute), schema.SigValid, "", ms},
		{"slack future even with a tolerance", &schema.SignatureConfig{Scheme: "slack", Secret: slackSecret, Tolerance: "1m"}, good, slackBody, "", at.Add(-6 * time.Minute), schema.SigValid, "", ms},
		{"slack missing", c, hs("X-Slack-Request-Timestamp", slackTS), slackBody, "", at, schema.SigMissing, "no X-Slack-Signature header", 0},
		{"slack no timestamp", c, hs("X-Slack-Signature", slackSig), slackBody, "", at, schema.SigInvalid, "malformed header: no X-Slack-Request-Timestamp header", 0},
		{"slack wrong secret", cfg("slack", "x"), good, slackBody, "", at, schema.SigInvalid, "v0 signature does not match", ms},
		{"slack altered body", c, good, slackBody + "&x=1", "", at, schema.SigInvalid, "v0 signature does not match", ms},
		{"slack v1 prefix", c, hs("X-Slack-Request-Timestamp", slackTS, "X-Slack-Signature", "v1="+slackSig[3:]), slackBody, "", at, schema.SigInvalid, "malformed header: X-Slack-Signature is not v0=<64 hex digits>", ms},
		{"zoom openssl vector", z, zgood, zoomBody, "", zat, schema.SigValid, "", 1700000000000},
		// @zoom/rivet checks no window (issue 19): none by default, the bin's tolerance when set.
		{"zoom no window by default like @zoom/rivet", z, zgood, zoomBody, "", zat.Add(24 * time.Hour), schema.SigValid, "", 1700000000000},
		{"zoom stale with a tolerance", &schema.SignatureConfig{Scheme: "zoom", Secret: zoomSecret, Tolerance: "5m"}, zgood, zoomBody, "", zat.Add(301 * time.Second), schema.SigInvalid, "timestamp 301s older than tolerance 300s", 1700000000000},
		{"zoom future with a tolerance", &schema.SignatureConfig{Scheme: "zoom", Secret: zoomSecret, Tolerance: "5m"}, zgood, zoomBody, "", zat.Add(-301 * time.Second), schema.SigInvalid, "timestamp 301s in the future beyond tolerance 300s", 1700000000000},
		{"zoom upper-case hex rejected like @zoom/rivet", z, hs("x-zm-request-timestamp", "1700000000", "x-zm-signature", strings.ToUpper(zoomSig[:3])[:2]+"="+strings.ToUpper(zoomSig[3:])), zoomBody, "", zat, schema.SigInvalid, "malformed header: x-zm-signature is not v0=<64 hex digits>", 1700000000000},
		{"zoom missing", z, nil, zoomBody, "", zat, schema.SigMissing, "no x-zm-signature header", 0},
		{"zoom altered body", z, zgood, `{"event":"meeting.ended"}`, "", zat, schema.SigInvalid, "v0 signature does not match", 1700000000000},
	})
}

func TestShopifyLinearGitLabHMACVectors(t *testing.T) {
	now := time.UnixMilli(1700000000123)
	sh := cfg("shopify", shopSecret)
	lin := cfg("linear", linSecret)
	gl := cfg("gitlab", "glpat-secret-token")
	h512 := &schema.SignatureConfig{Scheme: "hmac", Secret: "generic-key", Header: "X-Signature", Algorithm: "sha512", Encoding: "base64"}
	h1 := &schema.SignatureConfig{Scheme: "hmac", Secret: "generic-key", Header: "X-Sig", Algorithm: "sha1", Prefix: "sha1="}
	const h512sig = "5x9+uaqdkYGkh32qFsAiNcRCXOxgERBEQzfa4TUiUfmr4jKzGOwviujZQ3Uib9tt/iVDppBEK2DX8CZQUTRYTA=="
	const h1sig = "d39dabc0c4092bec6171786df18400d2e3c1437c"
	runCases(t, []vcase{
		{"shopify openssl vector", sh, hs("X-Shopify-Hmac-Sha256", shopSig), shopBody, "", now, schema.SigValid, "", 0},
		{"shopify missing", sh, nil, shopBody, "", now, schema.SigMissing, "no Shopify-Hmac-Sha256 or X-Shopify-Hmac-Sha256 header", 0},
		// Events deliveries (issue 19): shopify-* header names, checked first.
		{"shopify events header", sh, hs("Shopify-Hmac-Sha256", shopSig, "Shopify-Topic", "orders/create"), shopBody, "", now, schema.SigValid, "", 0},
		{"shopify events header lower case", sh, hs("shopify-hmac-sha256", shopSig), shopBody, "", now, schema.SigValid, "", 0},
		{"shopify events header wins over a good webhooks header", sh, hs("Shopify-Hmac-Sha256", strings.Repeat("A", 43)+"=", "X-Shopify-Hmac-Sha256", shopSig), shopBody, "", now, schema.SigInvalid, "signature does not match", 0},
		{"shopify empty events header falls back", sh, hs("Shopify-Hmac-Sha256", "", "X-Shopify-Hmac-Sha256", shopSig), shopBody, "", now, schema.SigValid, "", 0},
		{"shopify empty body", sh, hs("X-Shopify-Hmac-Sha256", "rFsyTlDRanCAFDfmlT3gAbmWCFCbjj6YRC3wWhKNYGo="), "", "", now, schema.SigInvalid, "empty body: Shopify signs the delivery's body and its library rejects an empty one", 0},
		{"shopify altered", sh, hs("X-Shopify-Hmac-Sha256", shopSig), shopBody + " ", "", now, schema.SigInvalid, "signature does not match", 0},
		{"shopify hex instead of base64", sh, hs("X-Shopify-Hmac-Sha256", stripeV1), shopBody, "", now, schema.SigInvalid, "malformed header: X-Shopify-Hmac-Sha256 is not a base64 SHA-256 HMAC", 0},
		{"linear openssl vector", lin, hs("Linear-Signature", linSig), linBody, "", now, schema.SigValid, "", 1700000000123},
		{"linear stale webhookTimestamp", lin, hs("Linear-Signature", linSig), linBody, "", now.Add(61 * time.Second), schema.SigInvalid, "timestamp 61s older than tolerance 60s", 1700000000123},
		{"linear future webhookTimestamp", lin, hs("Linear-Signature", linSig), linBody, "", now.Add(-2 * time.Minute), schema.SigInvalid, "timestamp 120s in the future beyond tolerance 60s", 1700000000123},
		{"linear wrong secret", cfg("linear", "other"), hs("Linear-Signature", linSig), linBody, "", now, schema.SigInvalid, "signature does not match", 1700000000123},
		{"linear missing", lin, nil, linBody, "", now, schema.SigMissing, "no Linear-Signature header", 0},
		{"linear malformed", lin, hs("Linear-Signature", "sha256="+linSig), linBody, "", now, schema.SigInvalid, "malformed header: Linear-Signature is not 64 hex digits", 1700000000123},
		{"linear upper-case hex rejected like @linear/sdk", lin, hs("Linear-Signature", strings.ToUpper(linSig)), linBody, "", now, schema.SigInvalid, "signature does not match", 1700000000123},
	})
	// webhookTimestamp rules of @linear/sdk (issue 19): required, a number,
	// read from the top-level object of the signed body only, last key wins.
	linCase := func(name, body string, at time.Time, status schema.SignatureStatus, reason string, signed int64) vcase {
		v, _ := New(lin)
		h, _ := v.signLinear([]byte(body), "", at)
		return vcase{name, lin, h, body, "", at, status, reason, signed}
	}
	runCases(t, []vcase{
		linCase("webhookTimestamp missing", `{"action":"create","type":"Issue"}`, now, schema.SigInvalid, "webhookTimestamp missing from the signed body", 0),
		linCase("webhookTimestamp only nested", `{"data":{"webhookTimestamp":1700000000123},"type":"Issue"}`, now, schema.SigInvalid, "webhookTimestamp missing from the signed body", 0),
		linCase("nested stale key does not matter", `{"data":{"webhookTimestamp":1},"webhookTimestamp":1700000000123}`, now, schema.SigValid, "", 1700000000123),
		linCase("nested key after the top-level one does not matter", `{"webhookTimestamp":1700000000123,"data":{"webhookTimestamp":1}}`, now, schema.SigValid, "", 1700000000123),
		linCase("duplicate key: the last wins (stale)", `{"webhookTimestamp":1700000000123,"webhookTimestamp":1600000000000}`, now, schema.SigInvalid, "timestamp 100000000s older than tolerance 60s", 1600000000000),
		linCase("duplicate key: the last wins (fresh)", `{"webhookTimestamp":1600000000000,"webhookTimestamp":1700000000123}`, now, schema.SigValid, "", 1700000000123),
		linCase("key inside a string value does not count", `{"note":"\"webhookTimestamp\":1700000000123"}`, now, schema.SigInvalid, "webhookTimestamp missing from the signed body", 0),
		linCase("escaped key is the same key", `{"webhook\u0054imestamp":1700000000123}`, now, schema.SigValid, "", 1700000000123),
		linCase("string timestamp", `{"webhookTimestamp":"1700000000123"}`, now, schema.SigInvalid, "webhookTimestamp in the signed body is not a number", 0),
		linCase("null timestamp", `{"webhookTimestamp":null}`, now, schema.SigInvalid, "webhookTimestamp is null in the signed body", 0),
		linCase("fractional timestamp", `{"webhookTimestamp":1700000000123.0}`, now, schema.SigValid, "", 1700000000123),
		linCase("huge timestamp", `{"webhookTimestamp":1e300}`, now, schema.SigInvalid, `webhookTimestamp "1e300" is outside the tolerance 60s`, 0),
		linCase("not JSON", `webhookTimestamp=1700000000123`, now, schema.SigInvalid, "signed body is not JSON: webhookTimestamp cannot be read", 0),
		linCase("body over the SDK's 5 MiB", `{"webhookTimestamp":1700000000123,"pad":"`+strings.Repeat("x", 5<<20)+`"}`, now, schema.SigInvalid, "body larger than 5 MiB, the most @linear/sdk accepts", 0),
		linCase("array body", `[{"webhookTimestamp":1700000000123}]`, now, schema.SigInvalid, "webhookTimestamp missing from the signed body", 0),
		linCase("within 60s ahead", `{"webhookTimestamp":1700000060123}`, now, schema.SigValid, "", 1700000060123),
		func() vcase {
			c := linCase("required even without a window", `{"type":"Issue"}`, now, schema.SigInvalid, "webhookTimestamp missing from the signed body", 0)
			c.cfg = &schema.SignatureConfig{Scheme: "linear", Secret: linSecret, Tolerance: "0s"}
			return c
		}(),
		func() vcase {
			c := linCase("any age without a window", linBody, now.Add(1000*time.Hour), schema.SigValid, "", 1700000000123)
			c.cfg = &schema.SignatureConfig{Scheme: "linear", Secret: linSecret, Tolerance: "0s"}
			return c
		}(),
		{"gitlab token", gl, hs("X-Gitlab-Token", "glpat-secret-token"), "{}", "", now, schema.SigValid, "", 0},
		{"gitlab wrong token", gl, hs("X-Gitlab-Token", "glpat-secret-tokeN"), "{}", "", now, schema.SigInvalid, "X-Gitlab-Token does not match the secret", 0},
		{"gitlab missing", gl, nil, "{}", "", now, schema.SigMissing, "no X-Gitlab-Token header", 0},
		{"hmac sha512 base64 openssl vector", h512, hs("X-Signature", h512sig), `{"a":1}`, "", now, schema.SigValid, "", 0},
		{"hmac sha512 base64url accepted", h512, hs("X-Signature", strings.NewReplacer("+", "-", "/", "_").Replace(h512sig)), `{"a":1}`, "", now, schema.SigValid, "", 0},
		{"hmac sha1 hex prefix openssl vector", h1, hs("x-sig", "sha1="+h1sig), `{"a":1}`, "", now, schema.SigValid, "", 0},
		{"hmac rotated values", h1, hs("X-Sig", "sha1="+strings.Repeat("0", 40)+", sha1="+h1sig), `{"a":1}`, "", now, schema.SigValid, "", 0},
		{"hmac prefix missing", h1, hs("X-Sig", h1sig), `{"a":1}`, "", now, schema.SigInvalid, "malformed header: X-Sig is not sha1=hex sha1", 0},
		{"hmac altered", h1, hs("X-Sig", "sha1="+h1sig), `{"a":2}`, "", now, schema.SigInvalid, "signature does not match", 0},
		{"hmac missing", h1, nil, `{"a":1}`, "", now, schema.SigMissing, "no X-Sig header", 0},
	})
}

func TestPaddleVectors(t *testing.T) {
	at := unix(1710929255)
	c := cfg("paddle", paddleSecret)
	const ms = 1710929255000
	wrong := "h1=" + strings.Repeat("ab", 32)
	runCases(t, []vcase{
		{"paddle-go-sdk example", c, hs("Paddle-Signature", paddleSig), paddleBody, "", at.Add(2 * time.Second), schema.SigValid, "", ms},
		{"rotated: two h1", c, hs("Paddle-Signature", "ts=1710929255;"+wrong+";"+paddleSig[len("ts=1710929255;"):]), paddleBody, "", at, schema.SigValid, "", ms},
		{"stale beyond the SDK's 5s", c, hs("Paddle-Signature", paddleSig), paddleBody, "", at.Add(6 * time.Second), schema.SigInvalid, "timestamp 6s older than tolerance 5s", ms},
		{"future accepted like paddle-node-sdk", c, hs("Paddle-Signature", paddleSig), paddleBody, "", at.Add(-time.Minute), schema.SigValid, "", ms},
		{"missing", c, nil, paddleBody, "", at, schema.SigMissing, "no Paddle-Signature header", 0},
		{"wrong secret", cfg("paddle", "pdl_ntfset_x"), hs("Paddle-Signature", paddleSig), paddleBody, "", at, schema.SigInvalid, "no h1 signature matched", ms},
		{"no ts", c, hs("Paddle-Signature", "h1=abc"), paddleBody, "", at, schema.SigInvalid, "malformed header: Paddle-Signature has no ts= timestamp", 0},
		{"no h1", c, hs("Paddle-Signature", "ts=1710929255"), paddleBody, "", at, schema.SigInvalid, "malformed header: Paddle-Signature has no h1= signature", ms},
		{"comma separated", c, hs("Paddle-Signature", strings.Replace(paddleSig, ";", ",", 1)), paddleBody, "", at, schema.SigInvalid, `malformed header: Paddle-Signature ts="1710929255,h1=6c05ef8fa83c44d751be6d259e"… is not a Unix timestamp`, 0},
	})
}

func TestTwilioVectors(t *testing.T) {
	now := unix(1700000000)
	c := cfg("twilio", twToken)
	form := func(sig string) []schema.Header {
		return hs("Content-Type", "application/x-www-form-urlencoded; charset=utf-8", "X-Twilio-Signature", sig)
	}
	jsonURL := twURL + "&bodySHA256=" + twBodyHex
	runCases(t, []vcase{
		{"twilio-go vector: URL + sorted POST params", c, form(twSig), twForm, twURL, now, schema.SigValid, "", 0},
		{"params in any order", c, form(twSig), "To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE", twURL, now, schema.SigValid, "", 0},
		{"signed with :443, delivered without", c, form(twSig443), twForm, twURL, now, schema.SigValid, "", 0},
		{"signed without port, URL has :443", c, form(twSig), twForm, strings.Replace(twURL, ".com", ".com:443", 1), now, schema.SigValid, "", 0},
		{"http URL", c, form(twHTTPSig), twForm, strings.Replace(twURL, "https", "http", 1), now, schema.SigValid, "", 0},
		{"twilio-go vector: JSON body with bodySHA256", c, hs("Content-Type", "application/json", "X-Twilio-Signature", twJSONSig), twJSON, jsonURL, now, schema.SigValid, "", 0},
		{"JSON body altered", c, hs("Content-Type", "application/json", "X-Twilio-Signature", twJSONSig), twJSON + " ", jsonURL, now, schema.SigInvalid, "body does not match the bodySHA256 query parameter", 0},
		{"altered param", c, form(twSig), strings.Replace(twForm, "1234&", "1235&", 1), twURL, now, schema.SigInvalid, "signature does not match the URL and form parameters", 0},
		{"other URL", c, form(twSig), twForm, twURL + "&x=1", now, schema.SigInvalid, "signature does not match the URL and form parameters", 0},
		{"wrong token", cfg("twilio", "54321"), form(twSig), twForm, twURL, now, schema.SigInvalid, "signature does not match the URL and form parameters", 0},
		{"missing", c, hs("Content-Type", "application/x-www-form-urlencoded"), twForm, twURL, now, schema.SigMissing, "no X-Twilio-Signature header", 0},
		{"no public URL", c, form(twSig), twForm, "", now, schema.SigInvalid, "public URL unknown: cannot check a Twilio signature (set HOOKSCOPE_PUBLIC_URL)", 0},
		{"bad form", c, form(twSig), "a=%zz", twURL, now, schema.SigInvalid, "malformed form body: *", 0},
		{"malformed header", c, form("not base64!"), twForm, twURL, now, schema.SigInvalid, "malformed header: X-Twilio-Signature is not a base64 SHA-1 HMAC", 0},
		// SharedKey webhooks (twilio-node 6 webhooks.ts): the settings header names HMAC_SHA256.
		{"twilio-node vector: HMAC_SHA256", c, append(form(twSig256), hs(twilioSettings, "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256")...), twForm, twURL, now, schema.SigValid, "", 0},
		{"HMAC_SHA256 signature without the settings header", c, form(twSig256), twForm, twURL, now, schema.SigInvalid, "malformed header: X-Twilio-Signature is not a base64 SHA-1 HMAC", 0},
		{"HMAC_SHA256 altered param", c, append(form(twSig256), hs(twilioSettings, "algorithm=HMAC_SHA256")...), strings.Replace(twForm, "1234&", "1235&", 1), twURL, now, schema.SigInvalid, "HMAC-SHA256 signature (X-Twilio-Webhooks-Signature-Settings) does not match the URL and form parameters", 0},
		{"unsupported algorithm", c, append(form(twSig), hs(twilioSettings, "algorithm=HMAC_SHA512")...), twForm, twURL, now, schema.SigInvalid, `malformed header: X-Twilio-Webhooks-Signature-Settings names algorithm "HMAC_SHA512", not HMAC_SHA1 or HMAC_SHA256`, 0},
	})
}

func TestAsymmetricVectors(t *testing.T) {
	dat := unix(1700000000)
	dc := cfg("discord", dcPub)
	dgood := hs("X-Signature-Ed25519", dcSig, "X-Signature-Timestamp", "1700000000")
	sat := unix(1588788367)
	sg := cfg("sendgrid", sgPub)
	sgood := hs("X-Twilio-Email-Event-Webhook-Signature", sgSig, "X-Twilio-Email-Event-Webhook-Timestamp", sgTS)
	runCases(t, []vcase{
		{"discord openssl ed25519 vector", dc, dgood, dcBody, "", dat, schema.SigValid, "", 1700000000000},
		{"discord no window by default", dc, dgood, dcBody, "", dat.Add(24 * time.Hour), schema.SigValid, "", 1700000000000},
		{"discord window when configured", &schema.SignatureConfig{Scheme: "discord", Secret: dcPub, Tolerance: "5m"}, dgood, dcBody, "", dat.Add(301 * time.Second), schema.SigInvalid, "timestamp 301s older than tolerance 300s", 1700000000000},
		{"discord altered body", dc, dgood, `{"type":2}`, "", dat, schema.SigInvalid, "Ed25519 signature does not verify with the public key", 1700000000000},
		{"discord altered timestamp", dc, hs("X-Signature-Ed25519", dcSig, "X-Signature-Timestamp", "1700000001"), dcBody, "", dat, schema.SigInvalid, "Ed25519 signature does not verify with the public key", 1700000001000},
		{"discord missing", dc, nil, dcBody, "", dat, schema.SigMissing, "no X-Signature-Ed25519 header", 0},
		{"discord malformed", dc, hs("X-Signature-Ed25519", "00", "X-Signature-Timestamp", "1700000000"), dcBody, "", dat, schema.SigInvalid, "malformed header: X-Signature-Ed25519 is not 128 hex digits", 1700000000000},
		{"sendgrid-go vector", sg, sgood, sgBody, "", sat, schema.SigValid, "", 1588788367000},
		{"sendgrid private key also verifies", cfg("sendgrid", sgPriv), sgood, sgBody, "", sat, schema.SigValid, "", 1588788367000},
		{"sendgrid altered body", sg, sgood, "this is not valid payload for the given signature", "", sat, schema.SigInvalid, "ECDSA signature does not verify with the verification key", 1588788367000},
		{"sendgrid missing", sg, nil, sgBody, "", sat, schema.SigMissing, "no X-Twilio-Email-Event-Webhook-Signature header", 0},
		{"sendgrid bad timestamp", sg, hs("X-Twilio-Email-Event-Webhook-Signature", sgSig, "X-Twilio-Email-Event-Webhook-Timestamp", "invalid timestamp"), sgBody, "", sat, schema.SigInvalid, `malformed header: X-Twilio-Email-Event-Webhook-Timestamp "invalid timestamp" is not a Unix timestamp`, 0},
		{"sendgrid corrupt signature", sg, hs("X-Twilio-Email-Event-Webhook-Signature", sgSig+"causing failure", "X-Twilio-Email-Event-Webhook-Timestamp", sgTS), sgBody, "", sat, schema.SigInvalid, "malformed header: X-Twilio-Email-Event-Webhook-Signature is not base64", 1588788367000},
	})
}

func TestUncheckedAndConfig(t *testing.T) {
	now := unix(1700000000)
	runCases(t, []vcase{
		{"nil config", nil, hs("Stripe-Signature", "t=1"), "", "", now, schema.SigUnchecked, "no signature scheme configured", 0},
		{"empty scheme", &schema.SignatureConfig{}, nil, "", "", now, schema.SigUnchecked, "no signature scheme configured", 0},
		{"unknown scheme", cfg("paypal", "x"), nil, "", "", now, schema.SigUnchecked, `configuration error: unknown scheme "paypal" (known: *`, 0},
		{"no secret", cfg("stripe", ""), nil, "", "", now, schema.SigUnchecked, "configuration error: scheme stripe needs a secret", 0},
	})
}

func TestValidateConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  *schema.SignatureConfig
		err  string // "" = ok; else substring
	}{
		{"nil", nil, ""},
		{"empty", &schema.SignatureConfig{}, ""},
		{"secret without scheme", &schema.SignatureConfig{Secret: "x"}, "scheme is required"},
		{"every scheme", cfg("stripe", "whsec_x"), ""},
		{"unknown", cfg("nope", "x"), `unknown scheme "nope"`},
		{"no secret", cfg("github", ""), "needs a secret"},
		{"tolerance ok", &schema.SignatureConfig{Scheme: "stripe", Secret: "s", Tolerance: "10m"}, ""},
		{"tolerance bad", &schema.SignatureConfig{Scheme: "stripe", Secret: "s", Tolerance: "5 minutes"}, `tolerance "5 minutes" is not a duration`},
		{"tolerance negative", &schema.SignatureConfig{Scheme: "stripe", Secret: "s", Tolerance: "-1s"}, "must not be negative"},
		{"tolerance ignored for github", &schema.SignatureConfig{Scheme: "github", Secret: "s", Tolerance: "5m"}, ""},
		{"whsec ok", cfg("standard-webhooks", swKey), ""},
		{"whsec undecodable", cfg("svix", "whsec_not base64!"), "svix secret must be base64, optionally prefixed whsec_"},
		{"whsec empty key", cfg("standard-webhooks", "whsec_"), "empty key"},
		{"hmac ok", &schema.SignatureConfig{Scheme: "hmac", Secret: "s", Header: "X-Sig"}, ""},
		{"hmac no header", &schema.SignatureConfig{Scheme: "hmac", Secret: "s"}, "scheme hmac needs header"},
		{"hmac bad header", &schema.SignatureConfig{Scheme: "hmac", Secret: "s", Header: "X Sig"}, "not a valid HTTP header name"},
		{"hmac bad algorithm", &schema.SignatureConfig{Scheme: "hmac", Secret: "s", Header: "X-Sig", Algorithm: "md5"}, `algorithm "md5" is not one of sha1, sha256, sha512`},
		{"hmac bad encoding", &schema.SignatureConfig{Scheme: "hmac", Secret: "s", Header: "X-Sig", Encoding: "base32"}, `encoding "base32" is not one of hex, base64`},
		{"hmac options on stripe", &schema.SignatureConfig{Scheme: "stripe", Secret: "s", Header: "X-Sig"}, "apply only to scheme hmac"},
		{"discord public key", cfg("discord", dcPub), ""},
		{"discord bad key", cfg("discord", "abcd"), "discord secret must be"},
		{"sendgrid public key", cfg("sendgrid", sgPub), ""},
		{"sendgrid private key", cfg("sendgrid", sgPriv), ""},
		{"sendgrid bad key", cfg("sendgrid", "bm90IGEga2V5"), "sendgrid secret is neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateConfig(c.cfg)
			want := c.err
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.err != "" && err == nil:
				t.Fatalf("want error containing %q", want)
			case c.err != "" && !strings.Contains(err.Error(), want):
				t.Fatalf("error %q, want it to contain %q", err, want)
			}
			if err != nil && c.cfg != nil && c.cfg.Secret != "" && len(c.cfg.Secret) > 6 && strings.Contains(err.Error(), c.cfg.Secret) {
				t.Fatalf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestSchemes(t *testing.T) {
	got := strings.Join(Schemes(), ",")
	want := "discord,github,gitlab,hmac,linear,paddle,sendgrid,shopify,slack,standard-webhooks,stripe,svix,twilio,zoom"
	if got != want {
		t.Fatalf("Schemes() = %s, want %s", got, want)
	}
}

func TestSecretHint(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"abc", "…"},
		{"abcdefgh", "…gh"},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "…LaSw"},
		{"sk_live_ééééééééa1b2", "…a1b2"},
	} {
		if got := SecretHint(c.in); got != c.want {
			t.Errorf("SecretHint(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
