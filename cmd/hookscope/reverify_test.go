package main

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// TestReverifyWithTheCurrentSecret: a GitHub delivery captured before its
// bin had a secret is recorded "unchecked"; once the owner sets the secret,
// POST .../verify answers "valid" (and "invalid" for one signed with
// another secret) next to the recorded verdict, without changing the
// record. Only the owner may ask; a bin without a scheme is a 409.
func TestReverifyWithTheCurrentSecret(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	const secret = "it-is-a-secret"
	bin := a.newBin(t, nil)
	send := func(key string) {
		body := []byte(`{"action":"opened","number":7}`)
		hs, err := signature.Sign(&schema.SignatureConfig{Scheme: "github", Secret: key}, body, "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", a.base+"/h/"+bin.ID+"/gh", bytes.NewReader(body))
		for _, h := range hs {
			req.Header.Set(h.Name, h.Value)
		}
		req.Header.Set("X-GitHub-Event", "pull_request")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(secret)
	send("another-secret")
	l := a.waitCount(t, bin.ID, 2)
	good, bad := l.Requests[1].ID, l.Requests[0].ID // newest first
	for _, r := range l.Requests {
		if r.Signature.Status != "unchecked" {
			t.Fatalf("captured without a scheme: %+v", r.Signature)
		}
	}
	verify := func(id, token string, want int) (out struct {
		ID        string `json:"id"`
		Signature struct{ Scheme, Status, Reason string }
		Recorded  struct{ Scheme, Status, Reason string }
	}) {
		t.Helper()
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id+"/verify", token, map[string]any{}, want, &out)
		return out
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+good+"/verify", bin.Token, map[string]any{}, 409, nil)

	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"signature": map[string]any{"scheme": "github", "secret": secret}}, 200, nil)
	v := verify(good, bin.Token, 200)
	if v.ID != good || v.Signature.Status != "valid" || v.Signature.Scheme != "github" || v.Recorded.Status != "unchecked" {
		t.Errorf("re-verify of the delivery signed with the secret: %+v", v)
	}
	v = verify(bad, bin.Token, 200)
	if v.Signature.Status != "invalid" || v.Signature.Reason == "" {
		t.Errorf("re-verify of the delivery signed with another secret: %+v", v)
	}
	// The record keeps its capture-time verdict.
	if l := a.list(t, bin.ID, ""); l.Requests[1].Signature.Status != "unchecked" {
		t.Errorf("the record changed: %+v", l.Requests[1].Signature)
	}
	// Owner only: a read-only share token and no token are refused.
	var share struct{ Token string }
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, nil, 201, &share)
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+good+"/verify", share.Token, map[string]any{}, 403, nil)
	if s, _, _ := call(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+good+"/verify", nil, "{}"); s != 401 && s != 403 {
		t.Errorf("without a token: %d", s)
	}
	// Unknown request, unknown fields.
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/0190f000-0000-7000-8000-000000000000/verify", bin.Token, map[string]any{}, 404, nil)
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+good+"/verify", bin.Token, map[string]any{"secret": "x"}, 400, nil)
}
