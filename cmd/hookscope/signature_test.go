package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestSignedDeliveriesEndToEnd: a bin with a scheme records valid, invalid
// and missing verdicts with reasons; `hookscope send` produces valid
// requests; the secret is write-only; filters and stats see the verdicts.
func TestSignedDeliveriesEndToEnd(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	const secret = "whsec_test_0123456789abcdef"
	bin := a.newBin(t, map[string]any{"signature": map[string]any{"scheme": "stripe", "secret": secret}})
	if s := bin.Settings.Signature; s == nil || s.Scheme != "stripe" || s.Secret != "" || s.SecretHint == "" || strings.Contains(s.SecretHint, "0123456789") {
		t.Fatalf("signature view leaks or is missing: %+v", s)
	}
	var out bytes.Buffer
	ctx := context.Background()
	// valid, via the CLI
	if err := run(ctx, []string{"send", "-server", a.base, "-bin", bin.ID, "-scheme", "stripe", "-secret", secret, "-data", `{"type":"invoice.paid"}`}, nil, &out, &out); err != nil {
		t.Fatalf("send: %v\n%s", err, out.String())
	}
	// invalid: signed with another secret
	if err := run(ctx, []string{"send", "-server", a.base, "-bin", bin.ID, "-scheme", "stripe", "-secret", "whsec_wrong", "-data", `{}`}, nil, &out, &out); err != nil {
		t.Fatalf("send: %v", err)
	}
	// missing: no header at all
	resp, err := http.Post(a.base+"/h/"+bin.ID, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	l := a.waitCount(t, bin.ID, 3)
	got := map[string]string{}
	for _, r := range l.Requests {
		got[r.Signature.Status] = r.Signature.Reason
		if r.Signature.Scheme != "stripe" {
			t.Errorf("scheme %q", r.Signature.Scheme)
		}
		if r.Signature.Status != "missing" && (r.DeliveryLagMS == nil || *r.DeliveryLagMS < 0 || *r.DeliveryLagMS > 60_000) {
			t.Errorf("%s: delivery_lag_ms %v", r.Signature.Status, r.DeliveryLagMS)
		}
	}
	if _, ok := got["valid"]; !ok {
		t.Errorf("no valid verdict: %v", got)
	}
	if !strings.Contains(got["invalid"], "no v1 signature matched") {
		t.Errorf("invalid reason %q", got["invalid"])
	}
	if !strings.Contains(got["missing"], "Stripe-Signature") {
		t.Errorf("missing reason %q", got["missing"])
	}
	if l := a.list(t, bin.ID, "signature=invalid"); len(l.Requests) != 1 || l.Requests[0].Signature.Status != "invalid" {
		t.Errorf("signature filter: %+v", l.Requests)
	}
	var st struct {
		BySignature map[string]int64 `json:"by_signature"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/stats", nil, 200, &st)
	if st.BySignature["valid"] != 1 || st.BySignature["invalid"] != 1 || st.BySignature["missing"] != 1 {
		t.Errorf("by_signature %v", st.BySignature)
	}

	// Changing the secret applies to new requests only; a PATCH without a
	// secret keeps the stored one; unknown schemes are refused.
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"signature": map[string]any{"scheme": "stripe", "tolerance": "10m"}}, 200, nil)
	if err := run(ctx, []string{"send", "-server", a.base, "-bin", bin.ID, "-scheme", "stripe", "-secret", secret, "-data", `{"n":2}`}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"signature": map[string]any{"scheme": "stripe", "secret": "whsec_new"}}, 200, nil)
	if err := run(ctx, []string{"send", "-server", a.base, "-bin", bin.ID, "-scheme", "stripe", "-secret", "whsec_new", "-data", `{"n":3}`}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	l = a.waitCount(t, bin.ID, 5)
	if l.Requests[0].Signature.Status != "valid" || l.Requests[1].Signature.Status != "valid" {
		t.Errorf("after secret change: %q, %q", l.Requests[0].Signature.Status, l.Requests[1].Signature.Status)
	}
	if l.Requests[4].Signature.Status == "valid" && l.Requests[3].Signature.Status == "valid" {
		t.Errorf("old verdicts were rewritten")
	}
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"signature": map[string]any{"scheme": "nope", "secret": "x"}}, 400, nil)
}

// TestTwilioSignsThePublicURL: Twilio signs the full URL the sender used,
// which capture builds only for schemes that need it; a request signed for
// another URL is invalid.
func TestTwilioSignsThePublicURL(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	const secret = "twilio-auth-token-0123456789"
	bin := a.newBin(t, map[string]any{"signature": map[string]any{"scheme": "twilio", "secret": secret}})
	var out bytes.Buffer
	form := "CallSid=CA123&From=%2B15550100&To=%2B15550199"
	for _, path := range []string{"/voice", "/sms/status"} {
		if err := run(context.Background(), []string{"send", "-server", a.base, "-bin", bin.ID, "-path", path,
			"-scheme", "twilio", "-secret", secret, "-content-type", "application/x-www-form-urlencoded", "-data", form}, nil, &out, &out); err != nil {
			t.Fatalf("send: %v\n%s", err, out.String())
		}
	}
	l := a.waitCount(t, bin.ID, 2)
	for _, r := range l.Requests {
		if r.Signature.Status != "valid" {
			t.Fatalf("%s: %s (%s)", r.Path, r.Signature.Status, r.Signature.Reason)
		}
	}
	var sig string
	for _, h := range l.Requests[0].Headers { // signature of /sms/status (newest)
		if strings.EqualFold(h[0], "X-Twilio-Signature") {
			sig = h[1]
		}
	}
	// The signature made for /sms/status, replayed onto /voice: the URL is
	// part of the MAC, so it must not verify.
	req, _ := http.NewRequest("POST", a.base+"/h/"+bin.ID+"/voice", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	l = a.waitCount(t, bin.ID, 3)
	if got := l.Requests[0].Signature.Status; got != "invalid" {
		t.Fatalf("signature replayed onto another URL: %s, want invalid", got)
	}
}
