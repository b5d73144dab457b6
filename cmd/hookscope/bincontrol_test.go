package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// controlReq is a record with the issue 18 fields.
type controlReq struct {
	fullReq
	RefusedReason string `json:"refused_reason"`
	Redacted      *struct {
		Headers     []string `json:"headers"`
		BodyPaths   []string `json:"body_paths"`
		BodyDropped bool     `json:"body_dropped"`
	} `json:"redacted"`
}

func (a *testApp) getControl(t *testing.T, bin, id string) controlReq {
	t.Helper()
	a.get(t, bin, id) // waits for the record
	var r controlReq
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, 200, &r)
	return r
}

func githubSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// capture sends one delivery and returns its status and request id.
func (a *testApp) capture(t *testing.T, bin string, hdr map[string]string, body string) (int, string, []byte) {
	t.Helper()
	status, h, b := call(t, "POST", a.base+"/h/"+bin, hdr, body)
	return status, h.Get("X-Hookscope-Request-Id"), b
}

// TestEnforcementAnswersAndRecords: signature.enforce answers 401 to an
// invalid or missing signature and allow_cidrs 403 to another sender (the
// sender as hookscope determines it: X-Forwarded-For only from a trusted
// proxy); every refused delivery is still recorded with its reason and the
// status it got, and is never forwarded.
func TestEnforcementAnswersAndRecords(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_TRUSTED_PROXIES": "127.0.0.1/32"})
	const secret = "gh-secret"
	bin := a.newBin(t, map[string]any{"signature": map[string]any{"scheme": "github", "secret": secret, "enforce": true}})
	body := `{"action":"opened"}`

	st, okID, _ := a.capture(t, bin.ID, map[string]string{"X-Hub-Signature-256": githubSig(secret, []byte(body))}, body)
	if st != 200 {
		t.Fatalf("valid signature: %d", st)
	}
	st, badID, b := a.capture(t, bin.ID, map[string]string{"X-Hub-Signature-256": githubSig("wrong", []byte(body))}, body)
	if st != 401 || badID == "" || !strings.Contains(string(b), "signature missing or invalid") {
		t.Fatalf("invalid signature: %d %q %s", st, badID, b)
	}
	st, missID, _ := a.capture(t, bin.ID, nil, body)
	if st != 401 || missID == "" {
		t.Fatalf("missing signature: %d %q", st, missID)
	}
	if r := a.getControl(t, bin.ID, okID); r.RefusedReason != "" || r.ResponseStatus != 200 || r.Signature.Status != "valid" {
		t.Errorf("accepted delivery: %+v", r)
	}
	r := a.getControl(t, bin.ID, badID)
	if r.ResponseStatus != 401 || r.Signature.Status != "invalid" || !strings.HasPrefix(r.RefusedReason, "signature invalid: ") {
		t.Errorf("invalid delivery recorded as status %d, verdict %q, reason %q", r.ResponseStatus, r.Signature.Status, r.RefusedReason)
	}
	r = a.getControl(t, bin.ID, missID)
	if r.ResponseStatus != 401 || !strings.Contains(r.RefusedReason, "X-Hub-Signature-256") {
		t.Errorf("missing delivery recorded as %d %q", r.ResponseStatus, r.RefusedReason)
	}

	// allow_cidrs: validated, canonical, bounded.
	api := a.base + "/api/v1/bins/" + bin.ID
	for _, bad := range []any{[]string{"10.0.0.0/33"}, []string{"example.com"}, []string{}, "10.0.0.0/8", make([]string, 101)} {
		if s, _, b := call(t, "PATCH", api, bearerHdr(bin.Token), mustJSON(t, map[string]any{"allow_cidrs": bad})); s != 400 || !strings.Contains(string(b), "allow_cidrs") {
			t.Errorf("allow_cidrs %v: %d %s", bad, s, b)
		}
	}
	var view struct {
		Settings struct {
			AllowCIDRs []string `json:"allow_cidrs"`
		} `json:"settings"`
	}
	doJSONAuth(t, "PATCH", api, bin.Token, map[string]any{"allow_cidrs": []string{"10.1.2.3/8", "192.0.2.7"}}, 200, &view)
	if fmt.Sprint(view.Settings.AllowCIDRs) != "[10.0.0.0/8 192.0.2.7/32]" {
		t.Errorf("allow_cidrs stored as %v", view.Settings.AllowCIDRs)
	}
	sig := githubSig(secret, []byte(body))
	// The peer (127.0.0.1, a trusted proxy) names the sender.
	st, inID, _ := a.capture(t, bin.ID, map[string]string{"X-Hub-Signature-256": sig, "X-Forwarded-For": "10.9.8.7"}, body)
	if st != 200 {
		t.Errorf("sender in allow_cidrs: %d", st)
	}
	st, outID, b := a.capture(t, bin.ID, map[string]string{"X-Hub-Signature-256": sig, "X-Forwarded-For": "203.0.113.5"}, body)
	if st != 403 || !strings.Contains(string(b), "sender not allowed") {
		t.Errorf("sender outside allow_cidrs: %d %s", st, b)
	}
	// 403 comes before the signature check: an outsider learns nothing of it.
	st, outBadID, _ := a.capture(t, bin.ID, map[string]string{"X-Forwarded-For": "203.0.113.5"}, body)
	if st != 403 {
		t.Errorf("outsider without signature: %d", st)
	}
	if r := a.getControl(t, bin.ID, inID); r.RemoteIP != "10.9.8.7" || r.RefusedReason != "" {
		t.Errorf("allowed sender recorded as %q %q", r.RemoteIP, r.RefusedReason)
	}
	for _, id := range []string{outID, outBadID} {
		r := a.getControl(t, bin.ID, id)
		if r.ResponseStatus != 403 || r.RefusedReason != "sender 203.0.113.5 is not in allow_cidrs" || r.RemoteIP != "203.0.113.5" {
			t.Errorf("refused sender recorded as %d %q %q", r.ResponseStatus, r.RefusedReason, r.RemoteIP)
		}
	}
	// Removing the restriction and the enforcement accepts everyone again.
	doJSONAuth(t, "PATCH", api, bin.Token, map[string]any{"allow_cidrs": nil, "signature": map[string]any{"scheme": "github", "enforce": false}}, 200, nil)
	if st, _, _ := a.capture(t, bin.ID, map[string]string{"X-Forwarded-For": "203.0.113.5"}, body); st != 200 {
		t.Errorf("after removing enforcement: %d", st)
	}
	// Filtering the list finds the refusals by their status.
	if l := a.list(t, bin.ID, "status=401"); len(l.Requests) != 2 {
		t.Errorf("status=401 lists %d", len(l.Requests))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRedactionKeepsVerdictsAndSecretsOutOfTheLog: the server-wide headers
// (default Authorization, Cookie, Proxy-Authorization, X-Api-Key) and a
// bin's own headers and JSON body paths are replaced before the record
// exists; the signature was verified on the raw request, so a valid signed
// delivery whose signed body field is redacted is still valid; the record
// says what was redacted; no file in the data dir (capture log, store)
// holds a secret; store_body false keeps metadata only.
func TestRedactionKeepsVerdictsAndSecretsOutOfTheLog(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	const secret = "gh-secret"
	bin := a.newBin(t, map[string]any{
		"signature": map[string]any{"scheme": "github", "secret": secret, "enforce": true},
		"redact":    map[string]any{"headers": []string{"X-Shop-Token"}, "body_paths": []string{"card.number", "items.1.pin", "not.there"}},
	})
	body := `{"card":{"number":"4242424242424242","exp":"12/30"},"items":[{"pin":"keep"},{"pin":"SECRETPIN"}],"amount":5}`
	hdr := map[string]string{
		"X-Hub-Signature-256": githubSig(secret, []byte(body)),
		"Authorization":       "Bearer SECRETBEARER",
		"Cookie":              "session=SECRETCOOKIE",
		"X-Shop-Token":        "SECRETSHOP",
		"X-Api-Key":           "SECRETAPIKEY",
		"X-Visible":           "fine",
	}
	st, id, _ := a.capture(t, bin.ID, hdr, body)
	if st != 200 {
		t.Fatalf("signed delivery with redacted fields: %d", st)
	}
	r := a.getControl(t, bin.ID, id)
	if r.Signature.Status != "valid" {
		t.Errorf("verdict %q (%s), want valid: redaction must come after verification", r.Signature.Status, r.Signature.Reason)
	}
	got := map[string]string{}
	for _, h := range r.Headers {
		got[h[0]] = h[1]
	}
	for _, n := range []string{"Authorization", "Cookie", "X-Shop-Token", "X-Api-Key"} {
		if got[n] != "[redacted]" {
			t.Errorf("header %s stored as %q", n, got[n])
		}
	}
	if got["X-Visible"] != "fine" || got["X-Hub-Signature-256"] == "[redacted]" {
		t.Errorf("headers not asked for were changed: %v", got)
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(r.Body.Data), &stored); err != nil {
		t.Fatalf("stored body %q: %v", r.Body.Data, err)
	}
	if want := `{"card":{"number":"[redacted]","exp":"12/30"},"items":[{"pin":"keep"},{"pin":"[redacted]"}],"amount":5}`; r.Body.Data != want {
		t.Errorf("stored body\n %s\nwant\n %s", r.Body.Data, want)
	}
	if r.BodySize != int64(len(body)) {
		t.Errorf("body_size %d, want what was sent (%d)", r.BodySize, len(body))
	}
	if r.Redacted == nil || strings.Join(r.Redacted.BodyPaths, ",") != "card.number,items.1.pin" || len(r.Redacted.Headers) != 4 {
		t.Errorf("redacted %+v", r.Redacted)
	}

	// store_body false: metadata only.
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"redact": map[string]any{"store_body": false}}, 200, nil)
	st, id2, _ := a.capture(t, bin.ID, map[string]string{"X-Hub-Signature-256": githubSig(secret, []byte(body))}, body)
	if st != 200 {
		t.Fatalf("metadata-only bin: %d", st)
	}
	r = a.getControl(t, bin.ID, id2)
	if r.Body == nil || r.Body.Data != "" || r.BodySize != int64(len(body)) || r.Redacted == nil || !r.Redacted.BodyDropped || r.Signature.Status != "valid" {
		t.Errorf("metadata-only record: body %+v size %d redacted %+v verdict %q", r.Body, r.BodySize, r.Redacted, r.Signature.Status)
	}

	// Bad settings are refused, naming the field.
	for _, bad := range []map[string]any{
		{"body_paths": []string{"items.#.pin"}}, {"body_paths": []string{""}}, {"headers": []string{"bad header"}},
		{"store_body": "no"}, {"unknown": 1},
	} {
		if s, _, b := call(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), mustJSON(t, map[string]any{"redact": bad})); s != 400 || !strings.Contains(string(b), "redact") {
			t.Errorf("redact %v: %d %s", bad, s, b)
		}
	}

	// Nothing on disk holds a secret: the capture log had only the
	// redacted record. (The store writer has written both requests: the
	// log files are what is left to check.)
	a.stop(t)
	secrets := []string{"4242424242424242", "SECRETPIN", "SECRETBEARER", "SECRETCOOKIE", "SECRETSHOP", "SECRETAPIKEY"}
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk data dir: %v (%d files)", err, files)
	}
}
