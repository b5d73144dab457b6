package signature

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// TestOfficialLibraries compares hookscope's verdicts with the providers'
// own libraries (testdata/official: stripe, @octokit/webhooks-methods,
// @slack/bolt, @shopify/shopify-api, twilio, @paddle/paddle-node-sdk,
// @zoom/rivet, @linear/sdk, discord-interactions, @sendgrid/eventwebhook,
// standardwebhooks, svix, pinned in package-lock.json). For every scheme it
// generates a valid delivery and its variations (tampered body, wrong
// secret, expired and future timestamps, missing and renamed headers, and
// the scheme's own rules), runs each through Verifier.Verify and through
// verify.mjs, and requires: hookscope says "valid" exactly when the library
// accepts; "missing" exactly when the signature header is absent. Where
// hookscope deliberately differs, the case names why and the test checks
// that it still differs (so a change on either side is noticed).
//
// scripts/test.sh runs `npm ci` in testdata/official. Without node or its
// node_modules the test is skipped, loudly, except under CI=true where it
// fails.
func TestOfficialLibraries(t *testing.T) {
	dir := filepath.Join("testdata", "official")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "stripe", "package.json"))
	}
	if err != nil {
		msg := fmt.Sprintf("official libraries unavailable (%v): run `npm ci` in ingest/signature/testdata/official (scripts/test.sh does)", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}

	cases := officialCases(t)
	type libCase struct {
		ID      string      `json:"id"`
		Scheme  string      `json:"scheme"`
		Secret  string      `json:"secret"`
		Headers [][2]string `json:"headers"`
		Body    string      `json:"body"`
		URL     string      `json:"url"`
		Now     int64       `json:"now"`
	}
	in := make([]libCase, len(cases))
	for i, c := range cases {
		hs := make([][2]string, len(c.headers))
		for j, h := range c.headers {
			hs[j] = [2]string{h.Name, h.Value}
		}
		in[i] = libCase{strconv.Itoa(i), c.scheme, c.libSecret, hs, base64.StdEncoding.EncodeToString(c.body), c.url, c.now.UnixMilli()}
	}
	payload, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	var verdicts []struct {
		ID    string `json:"id"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(cases) {
		t.Fatalf("verify.mjs answered %d verdicts for %d cases (%v): %.300s", len(verdicts), len(cases), err, out)
	}

	perScheme := map[string]int{}
	for i, c := range cases {
		lib := verdicts[i]
		t.Run(c.scheme+"/"+c.name, func(t *testing.T) {
			v, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := v.Verify(Input{Headers: c.headers, Body: c.body, URL: c.url, Now: c.now})
			ours := got.Signature.Status == schema.SigValid
			if c.deviation != "" {
				if ours == lib.OK {
					t.Fatalf("documented deviation (%s) no longer holds: both say ok=%v (hookscope %s %q, library %q)", c.deviation, ours, got.Signature.Status, got.Signature.Reason, lib.Error)
				}
				t.Logf("deliberate deviation: %s (hookscope %s, library ok=%v %q)", c.deviation, got.Signature.Status, lib.OK, lib.Error)
				return
			}
			if ours != lib.OK {
				t.Fatalf("hookscope says %s (%q), the official library says ok=%v (%q)", got.Signature.Status, got.Signature.Reason, lib.OK, lib.Error)
			}
			if wantMissing := c.sigAbsent; wantMissing != (got.Signature.Status == schema.SigMissing) {
				t.Fatalf("status %s (%q) but the signature header is absent=%v", got.Signature.Status, got.Signature.Reason, wantMissing)
			}
			t.Logf("hookscope %s %q; library ok=%v %q", got.Signature.Status, got.Signature.Reason, lib.OK, lib.Error)
			if !ours && got.Signature.Reason == "" {
				t.Fatal("a rejection without a reason")
			}
		})
		perScheme[c.scheme]++
	}
	for _, s := range Schemes() {
		if s == SchemeGitLab || s == SchemeHMAC {
			continue // no provider library: GitLab sends a token, hmac is user-described
		}
		if perScheme[s] < 7 {
			t.Errorf("scheme %s: only %d cases against its official library", s, perScheme[s])
		}
	}
}

type officialCase struct {
	scheme, name string
	cfg          *schema.SignatureConfig // hookscope's verifying configuration
	libSecret    string                  // what the library is given (a public key for discord/sendgrid)
	headers      []schema.Header
	body         []byte
	url          string
	now          time.Time
	sigAbsent    bool   // no signature header at all: hookscope must say "missing"
	deviation    string // hookscope differs on purpose, and why
}

// officialScheme describes how to build deliveries for one scheme.
type officialScheme struct {
	scheme      string
	sign        *schema.SignatureConfig // signs (a private key for discord/sendgrid)
	verify      *schema.SignatureConfig
	libSecret   string
	wrongCfg    *schema.SignatureConfig
	wrongLib    string
	body        func(now time.Time) []byte
	extra       []schema.Header // headers the library requires besides the signature
	url         string
	sigHeaders  []string // header(s) carrying the signature
	tsHeader    string   // the signed timestamp's header, if any
	window      time.Duration
	future      bool // the window also rejects the future
	hasTime     bool
	secondsOnly bool // timestamps in whole seconds: cases run at whole seconds
}

func officialSchemes() []officialScheme {
	edPriv := roundTripEdKey()
	edPub := hex.EncodeToString(edPriv.Public().(ed25519.PublicKey))
	sgOther := "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAlrbtqTpVricnke3puYMG1VnzTKcjBavkuKva+4ePGXwEb5sPsNPMir1+agf8enxVxazLS6q7u3o7amLGV6USA=="
	jsonBody := func(time.Time) []byte {
		return []byte(`{"id":"evt_1","type":"invoice.paid","event":"meeting.started","data":{"note":"ünïcode"}}`)
	}
	c := cfg
	return []officialScheme{
		{scheme: "stripe", sign: c("stripe", "whsec_official"), verify: c("stripe", "whsec_official"), libSecret: "whsec_official",
			wrongCfg: c("stripe", "whsec_other"), wrongLib: "whsec_other", body: jsonBody,
			sigHeaders: []string{"Stripe-Signature"}, window: 300 * time.Second, hasTime: true, secondsOnly: true},
		{scheme: "github", sign: c("github", "gh-secret"), verify: c("github", "gh-secret"), libSecret: "gh-secret",
			wrongCfg: c("github", "gh-other"), wrongLib: "gh-other", body: jsonBody,
			sigHeaders: []string{"X-Hub-Signature-256", "X-Hub-Signature"}},
		{scheme: "slack", sign: c("slack", "slack-secret"), verify: c("slack", "slack-secret"), libSecret: "slack-secret",
			wrongCfg: c("slack", "slack-other"), wrongLib: "slack-other", body: jsonBody,
			sigHeaders: []string{"X-Slack-Signature"}, tsHeader: "X-Slack-Request-Timestamp", window: 5 * time.Minute, hasTime: true, secondsOnly: true},
		{scheme: "shopify", sign: c("shopify", "shpss_official"), verify: c("shopify", "shpss_official"), libSecret: "shpss_official",
			wrongCfg: c("shopify", "shpss_other"), wrongLib: "shpss_other", body: jsonBody,
			extra:      hs("X-Shopify-Topic", "orders/create", "X-Shopify-Shop-Domain", "shop.myshopify.com", "X-Shopify-API-Version", "2025-10", "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
			sigHeaders: []string{"X-Shopify-Hmac-Sha256"}},
		{scheme: "twilio", sign: c("twilio", "auth-token"), verify: c("twilio", "auth-token"), libSecret: "auth-token",
			wrongCfg: c("twilio", "auth-other"), wrongLib: "auth-other", url: rtURL,
			body: func(time.Time) []byte {
				return []byte("Body=hello+world&From=%2B15551234567&To=%2B15557654321&MessageSid=SM1")
			},
			sigHeaders: []string{"X-Twilio-Signature"}},
		{scheme: "paddle", sign: c("paddle", "pdl_ntfset_official"), verify: c("paddle", "pdl_ntfset_official"), libSecret: "pdl_ntfset_official",
			wrongCfg: c("paddle", "pdl_ntfset_other"), wrongLib: "pdl_ntfset_other", body: jsonBody,
			sigHeaders: []string{"Paddle-Signature"}, window: 5 * time.Second, hasTime: true, secondsOnly: true},
		{scheme: "zoom", sign: c("zoom", "zoom-secret"), verify: c("zoom", "zoom-secret"), libSecret: "zoom-secret",
			wrongCfg: c("zoom", "zoom-other"), wrongLib: "zoom-other", body: jsonBody,
			sigHeaders: []string{"x-zm-signature"}, tsHeader: "x-zm-request-timestamp", hasTime: true, secondsOnly: true},
		{scheme: "linear", sign: c("linear", "lin_wh_official"), verify: c("linear", "lin_wh_official"), libSecret: "lin_wh_official",
			wrongCfg: c("linear", "lin_wh_other"), wrongLib: "lin_wh_other",
			body: func(now time.Time) []byte {
				return []byte(`{"action":"create","type":"Issue","data":{"id":"1"},"webhookTimestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`)
			},
			sigHeaders: []string{"Linear-Signature"}, window: time.Minute, future: true, hasTime: true},
		{scheme: "discord", sign: c("discord", hex.EncodeToString(edPriv)), verify: c("discord", edPub), libSecret: edPub,
			wrongCfg: c("discord", dcPub), wrongLib: dcPub, body: jsonBody,
			sigHeaders: []string{"X-Signature-Ed25519"}, tsHeader: "X-Signature-Timestamp", hasTime: true, secondsOnly: true},
		{scheme: "sendgrid", sign: c("sendgrid", sgPriv), verify: c("sendgrid", sgPub), libSecret: sgPub,
			wrongCfg: c("sendgrid", sgOther), wrongLib: sgOther, body: jsonBody,
			sigHeaders: []string{"X-Twilio-Email-Event-Webhook-Signature"}, tsHeader: "X-Twilio-Email-Event-Webhook-Timestamp", hasTime: true, secondsOnly: true},
		{scheme: "standard-webhooks", sign: c("standard-webhooks", swKey), verify: c("standard-webhooks", swKey), libSecret: swKey,
			wrongCfg: c("standard-webhooks", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"), wrongLib: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", body: jsonBody,
			sigHeaders: []string{"webhook-signature"}, tsHeader: "webhook-timestamp", window: 5 * time.Minute, future: true, hasTime: true, secondsOnly: true},
		{scheme: "svix", sign: c("svix", swKey), verify: c("svix", swKey), libSecret: swKey,
			wrongCfg: c("svix", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"), wrongLib: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", body: jsonBody,
			sigHeaders: []string{"svix-signature"}, tsHeader: "svix-timestamp", window: 5 * time.Minute, future: true, hasTime: true, secondsOnly: true},
	}
}

func officialCases(t *testing.T) []officialCase {
	t.Helper()
	base := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var out []officialCase
	for _, s := range officialSchemes() {
		now := base
		if !s.secondsOnly {
			now = base.Add(250 * time.Millisecond)
		}
		body := s.body(now)
		signed, err := Sign(s.sign, body, s.url, now)
		if err != nil {
			t.Fatalf("%s: Sign: %v", s.scheme, err)
		}
		headers := append(append([]schema.Header{{Name: "Content-Type", Value: "application/json"}}, s.extra...), signed...)
		if s.scheme == "twilio" {
			headers = append(s.extra[:len(s.extra):len(s.extra)], signed...) // Sign supplies the form Content-Type
		}
		isSig := func(name string) bool {
			for _, n := range s.sigHeaders {
				if strings.EqualFold(n, name) {
					return true
				}
			}
			return false
		}
		mapHeaders := func(f func(h schema.Header) (schema.Header, bool)) []schema.Header {
			var hs []schema.Header
			for _, h := range headers {
				if h2, keep := f(h); keep {
					hs = append(hs, h2)
				}
			}
			return hs
		}
		add := func(name string, c officialCase) {
			c.scheme, c.name = s.scheme, name
			if c.cfg == nil {
				c.cfg = s.verify
			}
			if c.libSecret == "" {
				c.libSecret = s.libSecret
			}
			if c.headers == nil {
				c.headers = headers
			}
			if c.body == nil {
				c.body = body
			}
			if c.now.IsZero() {
				c.now = now
			}
			c.url = s.url
			out = append(out, c)
		}

		add("valid", officialCase{})
		tampered := bytes.Replace(body, []byte("1"), []byte("2"), 1)
		if s.scheme == "twilio" {
			tampered = bytes.Replace(body, []byte("hello"), []byte("HELLO"), 1)
		}
		add("tampered body", officialCase{body: tampered})
		add("wrong secret", officialCase{cfg: s.wrongCfg, libSecret: s.wrongLib})
		add("signature header removed", officialCase{sigAbsent: true, headers: mapHeaders(func(h schema.Header) (schema.Header, bool) { return h, !isSig(h.Name) })})
		add("signature header renamed", officialCase{sigAbsent: true, headers: mapHeaders(func(h schema.Header) (schema.Header, bool) {
			if isSig(h.Name) {
				h.Name = "X-Old-" + h.Name
			}
			return h, true
		})})
		add("signature header name in upper case", officialCase{headers: mapHeaders(func(h schema.Header) (schema.Header, bool) {
			if isSig(h.Name) {
				h.Name = strings.ToUpper(h.Name)
			}
			return h, true
		})})
		add("signature value in upper case", officialCase{headers: mapHeaders(func(h schema.Header) (schema.Header, bool) {
			if isSig(h.Name) {
				h.Value = strings.ToUpper(h.Value)
			}
			return h, true
		})})
		if s.tsHeader != "" {
			add("timestamp header removed", officialCase{headers: mapHeaders(func(h schema.Header) (schema.Header, bool) { return h, !strings.EqualFold(h.Name, s.tsHeader) })})
		}
		if s.hasTime {
			// signedAt is now (Sign's timestamp); move the receive time.
			signedAt := now.Truncate(time.Second)
			if !s.secondsOnly {
				signedAt = now.Truncate(time.Millisecond)
			}
			step := time.Second
			if !s.secondsOnly {
				step = time.Millisecond
			}
			add("expired by two hours", officialCase{now: signedAt.Add(2 * time.Hour)})
			add("two hours in the future", officialCase{now: signedAt.Add(-2 * time.Hour)})
			add("a day old", officialCase{now: signedAt.Add(24 * time.Hour)})
			if s.window > 0 {
				add("at the window's edge", officialCase{now: signedAt.Add(s.window)})
				add("just past the window", officialCase{now: signedAt.Add(s.window + step)})
				add("just ahead of the window", officialCase{now: signedAt.Add(-s.window - step)})
				add("at the window's edge ahead", officialCase{now: signedAt.Add(-s.window)})
			}
		}
	}
	out = append(out, officialSpecialCases(t, base)...)
	return out
}

// officialSpecialCases are each scheme's own rules: Shopify's Events
// headers, Linear's webhookTimestamp, Twilio's HMAC-SHA256 SharedKey
// signatures, GitHub's legacy header, rotation.
func officialSpecialCases(t *testing.T, now time.Time) []officialCase {
	t.Helper()
	var out []officialCase
	sign := func(c *schema.SignatureConfig, body []byte, url string, at time.Time) []schema.Header {
		h, err := Sign(c, body, url, at)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Shopify Events: shopify-* headers, checked first by the SDK.
	shop := cfg("shopify", "shpss_official")
	shopBody := []byte(`{"id":1,"topic":"orders/create"}`)
	shopSig := sign(shop, shopBody, "", now)[0].Value
	events := func(sig string, extra ...string) []schema.Header {
		return append(hs("Content-Type", "application/json", "Shopify-Topic", "orders/create", "Shopify-Shop-Domain", "shop.myshopify.com",
			"Shopify-API-Version", "unstable", "Shopify-Webhook-Id", "wh_1", "Shopify-Event-Id", "ev_1", "Shopify-Hmac-Sha256", sig), hs(extra...)...)
	}
	webhooksHeaders := hs("X-Shopify-Topic", "orders/create", "X-Shopify-Shop-Domain", "shop.myshopify.com", "X-Shopify-API-Version", "2025-10", "X-Shopify-Webhook-Id", "wh_1")
	wrongSig := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, c := range []struct {
		name    string
		headers []schema.Header
		body    []byte
	}{
		{"events: valid", events(shopSig), shopBody},
		{"events: tampered body", events(shopSig), []byte(`{"id":2,"topic":"orders/create"}`)},
		{"events: wrong signature", events(wrongSig), shopBody},
		{"events: lower-case header names", lowerNames(events(shopSig)), shopBody},
		{"events header wins over a good webhooks header", append(events(wrongSig, "X-Shopify-Hmac-Sha256", shopSig), webhooksHeaders...), shopBody},
		{"good events header beside a wrong webhooks header", append(events(shopSig, "X-Shopify-Hmac-Sha256", wrongSig), webhooksHeaders...), shopBody},
		{"empty events header falls back to the webhooks header", append(events("", "X-Shopify-Hmac-Sha256", shopSig), webhooksHeaders...), shopBody},
		{"empty body", append(hs("X-Shopify-Hmac-Sha256", sign(shop, nil, "", now)[0].Value), webhooksHeaders...), []byte{}},
	} {
		out = append(out, officialCase{scheme: "shopify", name: c.name, cfg: shop, libSecret: "shpss_official", headers: c.headers, body: c.body, now: now})
	}

	// Linear: webhookTimestamp is read from the signed body's top level.
	lin := cfg("linear", "lin_wh_official")
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	old := strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10)
	for _, c := range []struct{ name, body string }{
		{"webhookTimestamp missing", `{"type":"Issue","action":"create"}`},
		{"webhookTimestamp only nested", `{"type":"Issue","data":{"webhookTimestamp":` + ms + `}}`},
		{"stale nested key beside a fresh top-level one", `{"data":{"webhookTimestamp":` + old + `},"webhookTimestamp":` + ms + `}`},
		{"fresh nested key beside a stale top-level one", `{"data":{"webhookTimestamp":` + ms + `},"webhookTimestamp":` + old + `}`},
		{"duplicate key, stale last", `{"webhookTimestamp":` + ms + `,"webhookTimestamp":` + old + `}`},
		{"duplicate key, fresh last", `{"webhookTimestamp":` + old + `,"webhookTimestamp":` + ms + `}`},
		{"webhookTimestamp as a string", `{"webhookTimestamp":"` + ms + `"}`},
		{"webhookTimestamp null", `{"webhookTimestamp":null}`},
		{"webhookTimestamp fractional", `{"webhookTimestamp":` + ms + `.75}`},
		{"webhookTimestamp in exponent form", `{"webhookTimestamp":` + strconv.FormatFloat(float64(now.UnixMilli())/1e12, 'f', -1, 64) + `e12}`},
		{"webhookTimestamp 1e400", `{"webhookTimestamp":1e400}`},
		{"escaped key", `{"webhook\u0054imestamp":` + ms + `}`},
		{"key text inside a string", `{"note":"\"webhookTimestamp\":` + ms + `"}`},
		{"body not JSON", `webhookTimestamp=` + ms},
		{"array body", `[{"webhookTimestamp":` + ms + `}]`},
	} {
		b := []byte(c.body)
		out = append(out, officialCase{scheme: "linear", name: c.name, cfg: lin, libSecret: "lin_wh_official", headers: sign(lin, b, "", now), body: b, now: now})
	}

	// Twilio SharedKey webhooks: X-Twilio-Webhooks-Signature-Settings names HMAC_SHA256.
	tw := cfg("twilio", "shared-key-secret")
	form := []byte("Body=hi&From=%2B15551234567&To=%2B15557654321")
	v, err := New(tw)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := twilioParams(form)
	if err != nil {
		t.Fatal(err)
	}
	var buf [32]byte
	sig256 := base64.StdEncoding.EncodeToString(twilioSign(&v.tw256, buf[:], rtURL, ps))
	sig1 := sign(tw, form, rtURL, now)[0].Value
	formCT := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name    string
		headers []schema.Header
		body    []byte
		url     string
	}{
		{"sha256 settings: valid", hs("Content-Type", formCT, "X-Twilio-Signature", sig256, twilioSettings, "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"), form, rtURL},
		{"sha256 settings: lower-case algorithm", hs("Content-Type", formCT, "X-Twilio-Signature", sig256, twilioSettings, "key=k, algorithm=hmac_sha256"), form, rtURL},
		{"sha256 settings: tampered", hs("Content-Type", formCT, "X-Twilio-Signature", sig256, twilioSettings, "key=k,algorithm=HMAC_SHA256"), []byte("Body=ho&From=%2B15551234567&To=%2B15557654321"), rtURL},
		{"sha256 signature without settings", hs("Content-Type", formCT, "X-Twilio-Signature", sig256), form, rtURL},
		{"sha1 signature with sha256 settings", hs("Content-Type", formCT, "X-Twilio-Signature", sig1, twilioSettings, "algorithm=HMAC_SHA256"), form, rtURL},
		{"settings without algorithm", hs("Content-Type", formCT, "X-Twilio-Signature", sig1, twilioSettings, "key=k"), form, rtURL},
		{"unsupported algorithm", hs("Content-Type", formCT, "X-Twilio-Signature", sig1, twilioSettings, "algorithm=HMAC_SHA512"), form, rtURL},
		{"explicit :443 in the URL", hs("Content-Type", formCT, "X-Twilio-Signature", sig1), form, strings.Replace(rtURL, ".com/", ".com:443/", 1)},
	} {
		out = append(out, officialCase{scheme: "twilio", name: c.name, cfg: tw, libSecret: "shared-key-secret", headers: c.headers, body: c.body, url: c.url, now: now})
	}
	jsonURL := rtURL + "&bodySHA256=" + hex.EncodeToString(sha256Sum([]byte(`{"a":1}`)))
	jh := sign(tw, []byte(`{"a":1}`), jsonURL, now)
	out = append(out,
		officialCase{scheme: "twilio", name: "JSON body with bodySHA256", cfg: tw, libSecret: "shared-key-secret", headers: append(hs("Content-Type", "application/json"), jh...), body: []byte(`{"a":1}`), url: jsonURL, now: now},
		officialCase{scheme: "twilio", name: "JSON body not matching bodySHA256", cfg: tw, libSecret: "shared-key-secret", headers: append(hs("Content-Type", "application/json"), jh...), body: []byte(`{"a":2}`), url: jsonURL, now: now},
	)

	// GitHub: the legacy SHA-1 header alone. hookscope accepts it (GitHub
	// still sends it, google/go-github checks it); @octokit/webhooks-methods
	// only knows X-Hub-Signature-256.
	gh := cfg("github", "gh-secret")
	ghBody := []byte(`{"zen":"Keep it logically awesome."}`)
	var sha1Only []schema.Header
	for _, h := range sign(gh, ghBody, "", now) {
		if h.Name == "X-Hub-Signature" {
			sha1Only = append(sha1Only, h)
		}
	}
	out = append(out, officialCase{scheme: "github", name: "legacy X-Hub-Signature only", cfg: gh, libSecret: "gh-secret", headers: sha1Only, body: ghBody, now: now,
		deviation: "hookscope accepts GitHub's legacy sha1 header when X-Hub-Signature-256 is absent; octokit does not read it"})

	// Rotation: two signatures, the second one valid.
	st := cfg("stripe", "whsec_official")
	stBody := []byte(`{"id":"evt_2"}`)
	stSig := sign(st, stBody, "", now)[0].Value
	ts, v1, _ := strings.Cut(stSig, ",")
	out = append(out, officialCase{scheme: "stripe", name: "rolled secret: second v1 matches", cfg: st, libSecret: "whsec_official",
		headers: hs("Stripe-Signature", ts+",v1="+strings.Repeat("0", 64)+","+v1), body: stBody, now: now})
	out = append(out, officialCase{scheme: "stripe", name: "element that is not key=value", cfg: st, libSecret: "whsec_official",
		headers: hs("Stripe-Signature", stSig+",garbage"), body: stBody, now: now,
		deviation: "hookscope follows stripe-go (every element must be key=value); stripe-node skips the element"})
	pd := cfg("paddle", "pdl_ntfset_official")
	pdSig := sign(pd, stBody, "", now)[0].Value
	out = append(out,
		officialCase{scheme: "paddle", name: "rotated: second h1 matches", cfg: pd, libSecret: "pdl_ntfset_official",
			headers: hs("Paddle-Signature", pdSig[:strings.IndexByte(pdSig, ';')]+";h1="+strings.Repeat("0", 64)+pdSig[strings.IndexByte(pdSig, ';'):]), body: stBody, now: now},
		officialCase{scheme: "paddle", name: "rotated: first h1 matches", cfg: pd, libSecret: "pdl_ntfset_official",
			headers: hs("Paddle-Signature", pdSig+";h1="+strings.Repeat("0", 64)), body: stBody, now: now,
			deviation: "hookscope accepts any h1 during a secret rotation (paddle-go-sdk); paddle-node-sdk keeps only the last h1"})
	sw := cfg("standard-webhooks", swKey)
	swh := sign(sw, stBody, "", now)
	for i := range swh {
		if swh[i].Name == "webhook-signature" {
			swh[i].Value = "v1,AAAA " + swh[i].Value
		}
	}
	out = append(out, officialCase{scheme: "standard-webhooks", name: "rotated: second v1 matches", cfg: sw, libSecret: swKey, headers: swh, body: stBody, now: now})
	return out
}

func lowerNames(h []schema.Header) []schema.Header {
	out := make([]schema.Header, len(h))
	for i, x := range h {
		out[i] = schema.Header{Name: strings.ToLower(x.Name), Value: x.Value}
	}
	return out
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
