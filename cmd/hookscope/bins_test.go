package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/hookscope/hookscope/web"
)

// Issue 12.5-12.7 through the real API: the access model of bins, token
// generations, share-link expiry and live feeds that end with their access.

type binState struct {
	Name      string     `json:"name"`
	Private   bool       `json:"private"`
	ExpiresAt *time.Time `json:"expires_at"`
	Settings  struct {
		Forward  json.RawMessage `json:"forward"`
		Response json.RawMessage `json:"response"`
	} `json:"settings"`
	RequestCount int64 `json:"request_count"`
}

// stateOf reads a bin as its owner sees it.
func stateOf(t *testing.T, a *testApp, bin, token string) binState {
	t.Helper()
	var st binState
	doJSONAuth(t, "GET", a.base+"/api/v1/bins/"+bin, token, nil, 200, &st)
	return st
}

// TestPublicBinTakeoverRefused: a stranger who knows a public bin's id (every
// webhook provider it was given to does) can read it but can neither change,
// delete, clear, share, replay, revoke nor attach alert rules to it; nothing
// changes. The owner token and an admin token can.
func TestPublicBinTakeoverRefused(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	key := serverKey(t, dir)
	bin := a.newBin(t, map[string]any{"name": "mine"})
	if bin.Token == "" {
		t.Fatal("a public bin was created without an owner token")
	}
	other := a.newBin(t, nil)
	_, h, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/x", nil, `{"a":1}`)
	reqID := h.Get("X-Hookscope-Request-Id")
	a.waitCount(t, bin.ID, 1)
	var share struct{ Token string }
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, map[string]any{"expires_in": "1h"}, 201, &share)
	before := stateOf(t, a, bin.ID, bin.Token)

	// Reading stays open.
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, nil, ""); s != 200 {
		t.Fatalf("anonymous read of a public bin: %d", s)
	}
	api := a.base + "/api/v1/bins/" + bin.ID
	attempts := []struct{ method, url, body string }{
		{"PATCH", api, `{"private":true}`},
		{"PATCH", api, `{"forward":{"url":"http://127.0.0.1:1/steal"}}`},
		{"PATCH", api, `{"name":"pwned","response":{"status":500}}`},
		{"DELETE", api, ""},
		{"DELETE", api + "/requests", ""},
		{"POST", api + "/share", `{"expires_in":"7d"}`},
		{"POST", api + "/requests/" + reqID + "/replay", `{"url":"http://127.0.0.1:1/steal"}`},
		{"POST", api + "/tokens/revoke", ""},
		{"POST", a.base + "/api/v1/alerts/rules", `{"name":"x","bin_id":"` + bin.ID + `","kind":"failure_spike","channels":[{"type":"webhook","url":"http://127.0.0.1:1/steal"}]}`},
		{"POST", a.base + "/api/v1/alerts/defaults", `{"bin_id":"` + bin.ID + `","channels":[{"type":"webhook","url":"http://127.0.0.1:1/steal"}]}`},
		// Case and trailing-slash spellings of the path reach the same check.
		{"PATCH", a.base + "/API/V1/BINS/" + bin.ID + "/", `{"private":true}`},
	}
	strangers := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no token", nil, 401},
		{"garbage token", bearerHdr("not-a-jwt"), 401},
		{"another bin's owner token", bearerHdr(other.Token), 403},
		{"the bin's share (read) token", bearerHdr(share.Token), 403},
		{"a token of a future generation", bearerHdr(mintGen(t, key, web.ScopeOwner, bin.ID, 1)), 401},
	}
	for _, s := range strangers {
		for _, at := range attempts {
			status, _, body := call(t, at.method, at.url, s.hdr, at.body)
			if status != s.want {
				t.Errorf("%s: %s %s = %d %s, want %d", s.name, at.method, at.url, status, body, s.want)
			}
		}
	}
	// A rule for every bin would watch this one too: only an admin.
	everyBin := `{"name":"all","kind":"failure_spike","channels":[{"type":"webhook","url":"http://127.0.0.1:1/steal"}]}`
	for hdr, want := range map[string]int{"": 401, other.Token: 403, bin.Token: 403} {
		h := map[string]string(nil)
		if hdr != "" {
			h = bearerHdr(hdr)
		}
		if s, _, b := call(t, "POST", a.base+"/api/v1/alerts/rules", h, everyBin); s != want {
			t.Errorf("every-bin rule with token %.10q: %d %s, want %d", hdr, s, b, want)
		}
	}
	// Nothing changed: same settings, the request is still there, no rule
	// watches the bin, the old tokens still work (no revocation happened).
	after := stateOf(t, a, bin.ID, bin.Token)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("bin changed by strangers:\nbefore %+v\nafter  %+v", before, after)
	}
	if after.RequestCount != 1 {
		t.Errorf("request count %d, want 1", after.RequestCount)
	}
	var rules struct {
		Rules []struct {
			BinID *string `json:"bin_id"`
		} `json:"rules"`
	}
	doJSON(t, "GET", a.base+"/api/v1/alerts/rules?bin_id="+bin.ID, nil, 200, &rules)
	if len(rules.Rules) != 0 {
		t.Errorf("strangers attached %d alert rules", len(rules.Rules))
	}
	if s, _, _ := call(t, "GET", api+"/requests", bearerHdr(share.Token), ""); s != 200 {
		t.Errorf("share token after the attempts: %d", s)
	}

	// The owner can do all of it.
	doJSONAuth(t, "PATCH", api, bin.Token, map[string]any{"name": "renamed"}, 200, nil)
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "mine", "bin_id": bin.ID, "kind": "failure_spike"}, 201, nil)
	if s, _, b := call(t, "DELETE", api+"/requests", bearerHdr(bin.Token), ""); s != 204 {
		t.Fatalf("owner clear: %d %s", s, b)
	}
	// So can an admin, who alone manages rules for every bin.
	admin := mint(t, key, web.ScopeAdmin, "", time.Hour)
	var all struct{ ID string }
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", admin, json.RawMessage(everyBin), 201, &all)
	for _, m := range []string{"PATCH", "DELETE"} {
		if s, _, _ := call(t, m, a.base+"/api/v1/alerts/rules/"+all.ID, bearerHdr(bin.Token), `{"enabled":false}`); s != 403 {
			t.Errorf("%s of an every-bin rule with a bin's owner token: %d", m, s)
		}
	}
	// A bin's rule cannot be turned into an every-bin rule by its owner.
	var own struct{ ID string }
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "own", "bin_id": bin.ID, "kind": "failure_spike"}, 201, &own)
	if s, _, _ := call(t, "PATCH", a.base+"/api/v1/alerts/rules/"+own.ID, bearerHdr(bin.Token), `{"bin_id":null}`); s != 403 {
		t.Errorf("owner widened a rule to every bin: %d", s)
	}
	doJSONAuth(t, "PATCH", api, admin, map[string]any{"private": true}, 200, nil)
	if s, _, _ := call(t, "GET", api, nil, ""); s != 401 {
		t.Errorf("anonymous read after the owner made it private: %d", s)
	}
	if s, _, b := call(t, "DELETE", api, bearerHdr(bin.Token), ""); s != 204 {
		t.Fatalf("owner delete: %d %s", s, b)
	}
}

func mintGen(t *testing.T, key []byte, scope, bin string, gen uint64) string {
	t.Helper()
	tok, _, err := web.MintBinToken(key, scope, bin, gen, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRevokeTokens: revoking answers a new owner token; every older owner
// token and share link is refused from then on, also after the bin went
// private -> public -> private (the old token no longer "works again").
func TestRevokeTokens(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	key := serverKey(t, dir)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	api := a.base + "/api/v1/bins/" + bin.ID
	var share struct{ Token string }
	doJSONAuth(t, "POST", api+"/share", bin.Token, nil, 201, &share)

	var rev privateBin
	doJSONAuth(t, "POST", api+"/tokens/revoke", bin.Token, nil, 200, &rev)
	if rev.Token == "" || rev.Token == bin.Token || rev.ID != bin.ID {
		t.Fatalf("revoke answered %+v", rev)
	}
	for name, tok := range map[string]string{"old owner token": bin.Token, "old share link": share.Token} {
		for _, m := range []string{"GET", "PATCH"} {
			s, h, b := call(t, m, api, bearerHdr(tok), "{}")
			if s != 401 {
				t.Errorf("%s: %s = %d %s, want 401", name, m, s, b)
			}
			if !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: WWW-Authenticate %q", name, h.Get("WWW-Authenticate"))
			}
		}
		if s, _, _ := call(t, "GET", api+"/requests?token="+tok, nil, ""); s != 401 {
			t.Errorf("%s in ?token=: %d", name, s)
		}
	}
	// Private -> public -> private does not bring the old token back.
	doJSONAuth(t, "PATCH", api, rev.Token, map[string]any{"private": false}, 200, nil)
	doJSONAuth(t, "PATCH", api, rev.Token, map[string]any{"private": true}, 200, nil)
	if s, _, _ := call(t, "GET", api, bearerHdr(bin.Token), ""); s != 401 {
		t.Errorf("old owner token after private/public/private: %d", s)
	}
	// The new token works; a share link minted now works; an admin can
	// revoke too (the recovery path when the owner token is lost).
	doJSONAuth(t, "GET", api, rev.Token, nil, 200, nil)
	var share2 struct{ Token string }
	doJSONAuth(t, "POST", api+"/share", rev.Token, nil, 201, &share2)
	doJSONAuth(t, "GET", api+"/requests", share2.Token, nil, 200, nil)
	var rev2 privateBin
	doJSONAuth(t, "POST", api+"/tokens/revoke", mint(t, key, web.ScopeAdmin, "", time.Hour), nil, 200, &rev2)
	for _, tok := range []string{rev.Token, share2.Token} {
		if s, _, _ := call(t, "GET", api, bearerHdr(tok), ""); s != 401 {
			t.Errorf("generation-1 token after the admin's revoke: %d", s)
		}
	}
	doJSONAuth(t, "GET", api, rev2.Token, nil, 200, nil)
	// The generation survives a restart (it is stored with the bin).
	a.stop(t)
	a = startApp(t, dir, nil)
	api = a.base + "/api/v1/bins/" + bin.ID
	doJSONAuth(t, "GET", api, rev2.Token, nil, 200, nil)
	if s, _, _ := call(t, "GET", api, bearerHdr(rev.Token), ""); s != 401 {
		t.Errorf("revoked token after restart: %d", s)
	}
}

// TestShareLinkCappedAtBinExpiry: a share link never outlives its bin.
func TestShareLinkCappedAtBinExpiry(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, map[string]any{"expires_in": "2h"})
	var b struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID, nil, 200, &b)
	var share struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, map[string]any{"expires_in": "3650d"}, 201, &share)
	if share.ExpiresAt.After(b.ExpiresAt) {
		t.Errorf("share link expires %v, after its bin (%v)", share.ExpiresAt, b.ExpiresAt)
	}
	if share.ExpiresAt.Before(b.ExpiresAt.Add(-time.Minute)) {
		t.Errorf("share link expires %v, much earlier than the bin (%v): the cap, not the request, should decide", share.ExpiresAt, b.ExpiresAt)
	}
	if exp := tokenExp(t, share.Token); exp.After(b.ExpiresAt) {
		t.Errorf("the token's exp %v is after the bin's expiry %v", exp, b.ExpiresAt)
	}
	// A shorter request is kept.
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, map[string]any{"expires_in": "10m"}, 201, &share)
	if d := time.Until(share.ExpiresAt); d > 11*time.Minute || d < 9*time.Minute {
		t.Errorf("10m share link expires in %v", d)
	}
	// A bin that never expires: the request decides.
	forever := a.newBin(t, map[string]any{"expires_in": nil})
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+forever.ID+"/share", forever.Token, map[string]any{"expires_in": "30d"}, 201, &share)
	if d := time.Until(share.ExpiresAt); d < 29*24*time.Hour {
		t.Errorf("30d share link of a bin without expiry expires in %v", d)
	}
}

// tokenExp reads a JWT's exp without checking it (the test only inspects).
func tokenExp(t *testing.T, tok string) time.Time {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := decodeSegment(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return time.Unix(c.Exp, 0)
}

// liveClose waits for the server to close the feed and returns the close
// frame's code and reason. Messages before it are skipped.
func liveClose(t *testing.T, c *websocket.Conn, within time.Duration) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		t.Fatalf("feed not closed with a close frame: %v", err)
	}
}

func dialLiveHdr(t *testing.T, a *testApp, bin, params string, hdr http.Header) *websocket.Conn {
	t.Helper()
	u := "ws://" + a.Addr() + "/api/v1/bins/" + bin + "/live?" + params
	c, resp, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", u, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLiveFeedEndsWithItsAccess: the websocket feed is closed (1008) when
// its token expires, when the bin becomes private under an anonymous feed,
// when the bin's tokens are revoked and when the bin is deleted; feeds
// whose access still holds go on.
func TestLiveFeedEndsWithItsAccess(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	key := serverKey(t, dir)

	t.Run("token expires", func(t *testing.T) {
		var bin privateBin
		doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
		short, _, err := web.MintToken(key, web.ScopeRead, bin.ID, 2*time.Second, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := dialLive(t, a, bin.ID, "token="+short)
		start := time.Now()
		code, reason := liveClose(t, c, 15*time.Second)
		if code != websocket.ClosePolicyViolation || reason != "token expired" {
			t.Errorf("closed with %d %q, want 1008 \"token expired\"", code, reason)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("closed %v after opening a 2 s token", time.Since(start))
		}
	})

	t.Run("bin made private", func(t *testing.T) {
		bin := a.newBin(t, nil)
		anon := dialLive(t, a, bin.ID, "")
		owner := dialLive(t, a, bin.ID, "token="+bin.Token)
		doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"private": true}, 200, nil)
		if code, reason := liveClose(t, anon, 10*time.Second); code != websocket.ClosePolicyViolation || reason != "bin is private" {
			t.Errorf("anonymous feed closed with %d %q", code, reason)
		}
		// The owner's feed still delivers.
		postN(t, a, bin.ID, "/still", 1, 0)
		if m := readLive(t, owner, 1); m[0].Request.Path != "/still" {
			t.Errorf("owner's feed got %+v", m[0])
		}
	})

	t.Run("tokens revoked", func(t *testing.T) {
		var bin privateBin
		doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
		var share struct{ Token string }
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, nil, 201, &share)
		viaShare := dialLive(t, a, bin.ID, "token="+share.Token)
		viaOwner := dialLiveHdr(t, a, bin.ID, "", http.Header{"Authorization": {"Bearer " + bin.Token}})
		admin := dialLive(t, a, bin.ID, "token="+mint(t, key, web.ScopeAdmin, "", time.Hour))
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/tokens/revoke", bin.Token, nil, 200, nil)
		for name, c := range map[string]*websocket.Conn{"share link": viaShare, "old owner token": viaOwner} {
			if code, reason := liveClose(t, c, 10*time.Second); code != websocket.ClosePolicyViolation || reason != "access revoked" {
				t.Errorf("%s feed closed with %d %q", name, code, reason)
			}
		}
		postN(t, a, bin.ID, "/admin-sees", 1, 0)
		if m := readLive(t, admin, 1); m[0].Request.Path != "/admin-sees" {
			t.Errorf("admin feed got %+v", m[0])
		}
	})

	t.Run("bin deleted", func(t *testing.T) {
		bin := a.newBin(t, nil)
		c := dialLive(t, a, bin.ID, "")
		doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID, bin.Token, nil, 204, nil)
		if code, reason := liveClose(t, c, 10*time.Second); code != websocket.ClosePolicyViolation || reason != "bin deleted or expired" {
			t.Errorf("closed with %d %q", code, reason)
		}
	})
}

// TestCustomResponseValidation: what a custom response may say, through
// PATCH by the owner; a refused setting is a 400 naming the field and
// changes nothing.
func TestCustomResponseValidation(t *testing.T) {
	// An API body limit above the largest custom response, so that the
	// response's own bound is what answers.
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_API_BODY_BYTES": "4194304"})
	bin := a.newBin(t, nil)
	api := a.base + "/api/v1/bins/" + bin.ID
	hdr := func(name, value string) map[string]any {
		return map[string]any{"status": 200, "headers": [][2]string{{name, value}}}
	}
	many := func(n int) map[string]any {
		h := make([][2]string, n)
		for i := range h {
			h[i] = [2]string{fmt.Sprintf("X-H%d", i), "v"}
		}
		return map[string]any{"headers": h}
	}
	rules := func(n int) map[string]any {
		r := make([]map[string]any, n)
		for i := range r {
			r[i] = map[string]any{"method": "POST", "status": 201}
		}
		return map[string]any{"rules": r}
	}
	tests := []struct {
		name     string
		response map[string]any
		ok       bool
	}{
		{"status 200", map[string]any{"status": 200}, true},
		{"status 599", map[string]any{"status": 599}, true},
		{"status 204 with body", map[string]any{"status": 204, "body": "x"}, true},
		{"status 100 (interim)", map[string]any{"status": 100}, false},
		{"status 101 (switching protocols)", map[string]any{"status": 101}, false},
		{"status 199", map[string]any{"status": 199}, false},
		{"status 600", map[string]any{"status": 600}, false},
		{"status -1", map[string]any{"status": -1}, false},
		{"value with tab", hdr("X-Ok", "a\tb"), true},
		{"value with obs-text", hdr("X-Ok", "caf\u00e9"), true},
		{"value with VT", hdr("X-Bad", "a\vb"), false},
		{"value with BS", hdr("X-Bad", "a\bb"), false},
		{"value with DEL", hdr("X-Bad", "a\x7fb"), false},
		{"value with CR", hdr("X-Bad", "a\rb"), false},
		{"value with LF", hdr("X-Bad", "a\nInjected: 1"), false},
		{"value with NUL", hdr("X-Bad", "a\x00b"), false},
		{"value with ESC", hdr("X-Bad", "a\x1bb"), false},
		{"value over 8 KiB", hdr("X-Big", strings.Repeat("v", 8<<10+1)), false},
		{"name with space", hdr("X Bad", "v"), false},
		{"name with colon", hdr("X:Bad", "v"), false},
		{"empty name", hdr("", "v"), false},
		{"framing header", hdr("Transfer-Encoding", "chunked"), false},
		{"50 headers", many(50), true},
		{"51 headers", many(51), false},
		{"body of 1 MiB", map[string]any{"body": strings.Repeat("b", 1<<20)}, true},
		{"body over 1 MiB", map[string]any{"body": strings.Repeat("b", 1<<20+1)}, false},
		{"delay 30001 ms", map[string]any{"delay_ms": 30001}, false},
		{"50 rules", rules(50), true},
		{"51 rules", rules(51), false},
		{"rule with status 102", map[string]any{"rules": []any{map[string]any{"method": "POST", "status": 102}}}, false},
		{"rule header with VT", map[string]any{"rules": []any{map[string]any{"path_prefix": "/x", "headers": [][2]string{{"X-A", "a\vb"}}}}}, false},
		{"rule method not a token", map[string]any{"rules": []any{map[string]any{"method": "PO ST"}}}, false},
		{"rule path_prefix with LF", map[string]any{"rules": []any{map[string]any{"path_prefix": "/a\nb"}}}, false},
		{"rule without method or path", map[string]any{"rules": []any{map[string]any{"status": 500}}}, false},
	}
	last := stateOf(t, a, bin.ID, bin.Token)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"response": tt.response})
			status, _, rb := call(t, "PATCH", api, bearerHdr(bin.Token), string(body))
			switch {
			case tt.ok && status != 200:
				t.Fatalf("refused: %d %s", status, rb)
			case !tt.ok && status != 400:
				t.Fatalf("answered %d %s, want 400", status, rb)
			case !tt.ok:
				var e struct{ Error string }
				_ = json.Unmarshal(rb, &e)
				if !strings.HasPrefix(e.Error, "response: ") {
					t.Errorf("error %q does not name the field", e.Error)
				}
				if now := stateOf(t, a, bin.ID, bin.Token); fmt.Sprint(now) != fmt.Sprint(last) {
					t.Errorf("a refused PATCH changed the bin")
				}
			default:
				last = stateOf(t, a, bin.ID, bin.Token)
			}
		})
	}
}

// TestTokenCommandGivesOwnerTokenForOldBins: bins created before every bin
// had an owner token (generation 0, no token anywhere) are not claimable by
// strangers; the operator mints their owner token with `hookscope token
// -bin`, and an admin token can revoke to hand out a fresh one.
func TestTokenCommandGivesOwnerTokenForOldBins(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	bin := a.newBin(t, nil) // stands for a pre-existing bin: its creator lost (never had) the token
	api := a.base + "/api/v1/bins/" + bin.ID
	if s, _, _ := call(t, "PATCH", api, nil, `{"private":true}`); s != 401 {
		t.Fatalf("stranger's PATCH: %d", s)
	}
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"token", "-data-dir", dir, "-bin", bin.ID}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("hookscope token: %v %s", err, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	doJSONAuth(t, "PATCH", api, tok, map[string]any{"name": "claimed by the operator"}, 200, nil)
	// After a revoke the generation-0 token is refused; -gen mints for the
	// current one.
	var rev privateBin
	doJSONAuth(t, "POST", api+"/tokens/revoke", tok, nil, 200, &rev)
	if s, _, _ := call(t, "PATCH", api, bearerHdr(tok), `{}`); s != 401 {
		t.Errorf("generation-0 token after revoke: %d", s)
	}
	out.Reset()
	if err := run(context.Background(), []string{"token", "-data-dir", dir, "-bin", bin.ID, "-gen", "1"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	doJSONAuth(t, "PATCH", api, strings.TrimSpace(out.String()), map[string]any{"name": "again"}, 200, nil)
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
