package signature

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// scheme fixtures for generated vectors: a signing config, a verifying
// config (differs only for the public-key schemes), the wrong secret, the
// header(s) that carry the signature, and a body the scheme can sign.
type fixture struct {
	sign, verify *schema.SignatureConfig
	wrongSecret  string
	sigHeaders   []string
	body         func(now time.Time) string
	url          string
}

const rtURL = "https://hooks.example.com/h/abc123/sms/in?x=1"

// roundTripEdKey is a fixed Ed25519 key (seed 0x00..0x1f) for Discord tests.
func roundTripEdKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func roundTripEdPriv() string { return hex.EncodeToString(roundTripEdKey()) }

func fixtures() map[string]fixture {
	edPriv := roundTripEdKey()
	edPub := hex.EncodeToString(edPriv.Public().(ed25519.PublicKey))
	json := func(time.Time) string { return `{"type":"event.created","data":{"id":42,"note":"ünïcode"}}` }
	same := func(scheme, secret, wrong string, headers ...string) fixture {
		c := cfg(scheme, secret)
		return fixture{sign: c, verify: c, wrongSecret: wrong, sigHeaders: headers, body: json}
	}
	fx := map[string]fixture{
		"standard-webhooks": same("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", "webhook-signature"),
		"svix":              same("svix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "c2VjcmV0c2VjcmV0c2VjcmV0", "svix-signature"),
		"stripe":            same("stripe", "whsec_roundtrip", "whsec_other", "Stripe-Signature"),
		"github":            same("github", "gh-secret", "gh-other", "X-Hub-Signature-256", "X-Hub-Signature"),
		"slack":             same("slack", "slack-secret", "slack-other", "X-Slack-Signature"),
		"shopify":           same("shopify", "shpss_x", "shpss_y", "X-Shopify-Hmac-Sha256"),
		"paddle":            same("paddle", "pdl_ntfset_x", "pdl_ntfset_y", "Paddle-Signature"),
		"zoom":              same("zoom", "zoom-secret", "zoom-other", "x-zm-signature"),
		"linear":            same("linear", "lin_wh_x", "lin_wh_y", "Linear-Signature"),
		"gitlab":            same("gitlab", "gl-token", "gl-other", "X-Gitlab-Token"),
		"hmac": {
			sign:        &schema.SignatureConfig{Scheme: "hmac", Secret: "k", Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
			verify:      &schema.SignatureConfig{Scheme: "hmac", Secret: "k", Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
			wrongSecret: "k2", sigHeaders: []string{"X-Signature"}, body: json,
		},
		"twilio": {
			sign: cfg("twilio", "auth-token"), verify: cfg("twilio", "auth-token"), wrongSecret: "auth-other",
			sigHeaders: []string{"X-Twilio-Signature"}, url: rtURL,
			body: func(time.Time) string { return "Body=hello+world&From=%2B15551234567&To=%2B15557654321&MessageSid=SM1" },
		},
		"discord": {
			sign: cfg("discord", hex.EncodeToString(edPriv)), verify: cfg("discord", edPub),
			wrongSecret: strings.Repeat("ab", 32), sigHeaders: []string{"X-Signature-Ed25519"}, body: json,
		},
		"sendgrid": {
			sign: cfg("sendgrid", sgPriv), verify: cfg("sendgrid", sgPub),
			wrongSecret: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAlrbtqTpVricnke3puYMG1VnzTKcjBavkuKva+4ePGXwEb5sPsNPMir1+agf8enxVxazLS6q7u3o7amLGV6USA==", // another P-256 key (openssl ecparam -genkey)
			sigHeaders:  []string{"X-Twilio-Email-Event-Webhook-Signature"}, body: json,
		},
	}
	lin := fx["linear"]
	lin.body = func(now time.Time) string {
		return `{"action":"create","type":"Issue","webhookTimestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`
	}
	fx["linear"] = lin
	return fx
}

func TestFixturesCoverEveryScheme(t *testing.T) {
	fx := fixtures()
	for _, s := range Schemes() {
		if _, ok := fx[s]; !ok {
			t.Errorf("no round-trip fixture for scheme %s", s)
		}
	}
}

func withCT(h []schema.Header) []schema.Header {
	return append(h, schema.Header{Name: "Content-Type", Value: "application/json"})
}

// TestSignVerifyRoundTrip signs with Sign and checks Verify's verdict on the
// signed request and on generated variations of it.
func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 250_000_000, time.UTC)
	for scheme, f := range fixtures() {
		t.Run(scheme, func(t *testing.T) {
			body := f.body(now)
			headers, err := Sign(f.sign, []byte(body), f.url, now)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if scheme != "twilio" {
				headers = withCT(headers)
			}
			p := schemes[scheme].policy
			check := func(name string, c *schema.SignatureConfig, h []schema.Header, b string, at time.Time, want schema.SignatureStatus, reasonPrefix string) {
				t.Helper()
				got := verifyOnce(c, Input{Headers: h, Body: []byte(b), URL: f.url, Now: at})
				if got.Signature.Status != want || !strings.HasPrefix(got.Signature.Reason, reasonPrefix) {
					t.Errorf("%s: got %s %q, want %s %q…", name, got.Signature.Status, got.Signature.Reason, want, reasonPrefix)
				}
				if got.Signature.Scheme != scheme {
					t.Errorf("%s: scheme %q", name, got.Signature.Scheme)
				}
			}

			check("signed", f.verify, headers, body, now, schema.SigValid, "")
			check("signed, verified with the signing config", f.sign, headers, body, now, schema.SigValid, "")
			res := verifyOnce(f.verify, Input{Headers: headers, Body: []byte(body), URL: f.url, Now: now})
			if p.timed {
				want := now.Truncate(time.Second)
				if scheme == "linear" {
					want = now.Truncate(time.Millisecond)
				}
				if !res.SignedAt.Equal(want) {
					t.Errorf("SignedAt = %v, want %v", res.SignedAt, want)
				}
			} else if !res.SignedAt.IsZero() {
				t.Errorf("SignedAt = %v for a scheme without timestamp", res.SignedAt)
			}

			wrong := *f.verify
			wrong.Secret = f.wrongSecret
			check("wrong secret", &wrong, headers, body, now, schema.SigInvalid, "")

			if scheme != "gitlab" { // a GitLab token does not cover the body
				altered := strings.Replace(body, "e", "E", 1)
				if altered == body {
					t.Fatal("body not altered")
				}
				check("altered body", f.verify, headers, altered, now, schema.SigInvalid, "")
			}

			var stripped, dup, garbage []schema.Header
			for _, h := range headers {
				isSig := false
				for _, n := range f.sigHeaders {
					isSig = isSig || strings.EqualFold(h.Name, n)
				}
				if !isSig {
					stripped = append(stripped, h)
					garbage = append(garbage, h)
					dup = append(dup, h)
					continue
				}
				garbage = append(garbage, schema.Header{Name: h.Name, Value: "garbage"})
				// a bogus copy before the real one: rotation / duplicate headers
				dup = append(dup, schema.Header{Name: strings.ToLower(h.Name), Value: "garbage"}, h)
			}
			check("signature header removed", f.verify, stripped, body, now, schema.SigMissing, "no ")
			check("bogus duplicate header first", f.verify, dup, body, now, schema.SigValid, "")
			check("garbage signature", f.verify, garbage, body, now, schema.SigInvalid, "")

			if p.timed && p.def > 0 {
				check("stale", f.verify, headers, body, res.SignedAt.Add(2*time.Hour), schema.SigInvalid, "timestamp 7200s older than tolerance ")
				if p.future {
					check("future", f.verify, headers, body, res.SignedAt.Add(-2*time.Hour), schema.SigInvalid, "timestamp 7200s in the future beyond tolerance ")
				}
				loose := *f.verify
				loose.Tolerance = "3h"
				check("stale within an overridden tolerance", &loose, headers, body, now.Add(2*time.Hour), schema.SigValid, "")
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, c := range []struct {
		name string
		cfg  *schema.SignatureConfig
		url  string
		body string
		err  string
	}{
		{"no scheme", nil, "", "{}", "no scheme"},
		{"bad config", cfg("nope", "x"), "", "{}", "unknown scheme"},
		{"discord public key only", cfg("discord", dcPub), "", "{}", "private key"},
		{"sendgrid public key only", cfg("sendgrid", sgPub), "", "{}", "private key"},
		{"twilio without url", cfg("twilio", "t"), "", "a=1", "url is required"},
		{"twilio bodySHA256 mismatch", cfg("twilio", "t"), twURL + "&bodySHA256=00", "{}", "does not match"},
		{"twilio body not a form", cfg("twilio", "t"), twURL, "a=%zz", "not a urlencoded form"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Sign(c.cfg, []byte(c.body), c.url, now)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err = %v, want %q", err, c.err)
			}
		})
	}
}

// TestSignMatchesPublishedVectors checks Sign against the published values
// for the schemes whose signature is deterministic.
func TestSignMatchesPublishedVectors(t *testing.T) {
	find := func(h []schema.Header, name string) string {
		for _, x := range h {
			if x.Name == name {
				return x.Value
			}
		}
		return ""
	}
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	cases := []struct {
		cfg    *schema.SignatureConfig
		body   string
		url    string
		now    time.Time
		header string
		want   string
	}{
		{cfg("slack", slackSecret), slackBody, "", at(1531420618), "X-Slack-Signature", slackSig},
		{cfg("github", ghSecret), ghBody, "", at(1), "X-Hub-Signature-256", ghSig256},
		{cfg("github", ghSecret), ghBody, "", at(1), "X-Hub-Signature", ghSig1},
		{cfg("paddle", paddleSecret), paddleBody, "", at(1710929255), "Paddle-Signature", paddleSig},
		{cfg("stripe", stripeSecret), stripeBody, "", at(1700000000), "Stripe-Signature", "t=1700000000,v1=" + stripeV1},
		{cfg("twilio", twToken), twForm, twURL, at(1), "X-Twilio-Signature", twSig},
		{cfg("twilio", twToken), twJSON, twURL + "&bodySHA256=" + twBodyHex, at(1), "X-Twilio-Signature", twJSONSig},
		{cfg("shopify", shopSecret), shopBody, "", at(1), "X-Shopify-Hmac-Sha256", shopSig},
		{cfg("zoom", zoomSecret), zoomBody, "", at(1700000000), "x-zm-signature", zoomSig},
		{cfg("linear", linSecret), linBody, "", at(1), "Linear-Signature", linSig},
	}
	for _, c := range cases {
		h, err := Sign(c.cfg, []byte(c.body), c.url, c.now)
		if err != nil {
			t.Fatalf("%s: %v", c.cfg.Scheme, err)
		}
		if got := find(h, c.header); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.cfg.Scheme, c.header, got, c.want)
		}
	}
	// Standard Webhooks: the id is generated, so check the MAC for the
	// reference id through the verifier's own signing path.
	v, err := New(cfg("standard-webhooks", swKey))
	if err != nil {
		t.Fatal(err)
	}
	var buf [64]byte
	mac := v.sum(buf[:], []byte(swID), dot, []byte(swTS), dot, []byte(swBody))
	if got := "v1," + base64.StdEncoding.EncodeToString(mac); got != swSig {
		t.Errorf("standard-webhooks MAC = %s, want %s", got, swSig)
	}
}
