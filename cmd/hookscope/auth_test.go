package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/hookscope/hookscope/web"
)

type privateBin struct {
	binResp
	Private bool   `json:"private"`
	Token   string `json:"token"`
}

// serverKey reads the key the app generated in its data dir.
func serverKey(t *testing.T, dir string) []byte {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "jwt.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("jwt.key mode %v, want 0600", fi.Mode().Perm())
	}
	key, err := jwtKey(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func mint(t *testing.T, key []byte, scope, bin string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := web.MintToken(key, scope, bin, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// algNone is an unsigned token with the given claims.
func algNone(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	c, _ := json.Marshal(claims)
	return h + "." + enc.EncodeToString(c) + "."
}

func bearerHdr(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestPrivateBins(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true, "name": "secret"}, 201, &bin)
	if !bin.Private || bin.Token == "" {
		t.Fatalf("private bin %+v", bin)
	}
	other := a.newBin(t, nil)
	key := serverKey(t, dir)
	// Capture stays open.
	status, h, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/p", nil, "hello")
	if status != 200 {
		t.Fatalf("capture into private bin: %d", status)
	}
	id := h.Get("X-Hookscope-Request-Id")

	exp := time.Now().Add(time.Hour).Unix()
	reads := []string{"", "/requests", "/requests/" + id, "/requests/" + id + "/body", "/stats"}
	tokens := []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 401},
		{"forged (wrong key)", mint(t, []byte("another-key-another-key-another-key!!"), web.ScopeOwner, bin.ID, time.Hour), 401},
		{"expired", mint(t, key, web.ScopeOwner, bin.ID, -time.Minute), 401},
		{"alg none", algNone(map[string]any{"scope": "admin", "iss": "hookscope", "exp": exp}), 401},
		{"alg none for the bin", algNone(map[string]any{"scope": "owner", "sub": bin.ID, "iss": "hookscope", "exp": exp}), 401},
		{"garbage", "not.a.token", 401},
		{"another bin's token", mint(t, key, web.ScopeOwner, other.ID, time.Hour), 403},
		{"owner token", bin.Token, 200},
		{"read token", mint(t, key, web.ScopeRead, bin.ID, time.Hour), 200},
		{"admin token", mint(t, key, web.ScopeAdmin, "", time.Hour), 200},
	}
	for _, tk := range tokens {
		t.Run(tk.name, func(t *testing.T) {
			for _, p := range reads {
				var hdr map[string]string
				if tk.token != "" {
					hdr = bearerHdr(tk.token)
				}
				deadline := time.Now().Add(5 * time.Second)
				for {
					status, h, b := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+p, hdr, "")
					if status == 404 && tk.status == 200 && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond) // the capture's batch is not written yet
						continue
					}
					if status != tk.status {
						t.Fatalf("GET %s: %d %s, want %d", p, status, b, tk.status)
					}
					if status >= 400 && !strings.HasPrefix(string(b), `{"error":`) {
						t.Fatalf("GET %s: non-JSON error %s", p, b)
					}
					if status == 401 && h.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
					break
				}
			}
		})
	}
	// No spelling of the path skips the check (Fiber routes ignore case and
	// a trailing slash).
	for _, p := range []string{"/API/V1/BINS/" + bin.ID + "/requests", "/api/v1/Bins/" + bin.ID, "/api/v1/bins/" + bin.ID + "/requests/",
		"/api/v1/bins/" + bin.ID + "/STATS", "/Api/v1/bins/" + bin.ID + "/requests/" + id + "/body"} {
		if s, _, b := call(t, "GET", a.base+p, nil, ""); s == 200 {
			t.Errorf("GET %s without token: 200 %s", p, b)
		}
	}
	// The token is only accepted as ?token= on reads.
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests?token="+url.QueryEscape(bin.Token), nil, ""); s != 200 {
		t.Errorf("?token= on a read: %d", s)
	}
	// (refused as an unsupported parameter, 400, before authentication)
	if s, _, _ := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests?token="+url.QueryEscape(bin.Token), nil, ""); s != 401 && s != 400 {
		t.Errorf("?token= on a write: %d, want 400 or 401", s)
	}
	// Writes need the owner (or admin) token.
	if s, _, _ := call(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, nil, `{"name":"x"}`); s != 401 {
		t.Errorf("PATCH without token: %d", s)
	}
	if s, _, b := call(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), `{"name":"x"}`); s != 200 {
		t.Errorf("PATCH with owner token: %d %s", s, b)
	}
	// Public bins stay open.
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+other.ID+"/requests", nil, ""); s != 200 {
		t.Errorf("public bin read: %d", s)
	}

	// The live feed: refused without a token, open with ?token=.
	wsURL := "ws" + strings.TrimPrefix(a.base, "http") + "/api/v1/bins/" + bin.ID + "/live"
	_, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("live without token: %v %v", err, resp)
	}
	// after= makes the feed replay what it missed, so the capture cannot
	// race the subscription.
	call(t, "POST", a.base+"/h/"+bin.ID+"/live", nil, "x")
	conn, _, err := websocket.DefaultDialer.Dial(wsURL+"?token="+url.QueryEscape(bin.Token)+"&after="+id, nil)
	if err != nil {
		t.Fatalf("live with token: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"path":"/live"`) {
		t.Fatalf("live message %s %v", msg, err)
	}

	// The key survives a restart: the owner token still works.
	a.stop(t)
	a = startApp(t, dir, nil)
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), ""); s != 200 {
		t.Errorf("owner token after restart: %d", s)
	}
	// HOOKSCOPE_JWT_SECRET replaces the key file: old tokens stop working.
	a.stop(t)
	a = startApp(t, dir, map[string]string{"HOOKSCOPE_JWT_SECRET": strings.Repeat("s", 32)})
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), ""); s != 401 {
		t.Errorf("token signed with the file key under an env secret: %d", s)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(mint(t, []byte(strings.Repeat("s", 32)), web.ScopeOwner, bin.ID, time.Hour)), ""); s != 200 {
		t.Errorf("token signed with the env secret: %d", s)
	}
}

func TestShareLinkIsReadOnly(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_PUBLIC_URL": "https://hooks.example.com"})
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	_, h, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, "x")
	id := h.Get("X-Hookscope-Request-Id")

	if s, _, _ := call(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", nil, `{"expires_in":"1h"}`); s != 401 {
		t.Fatalf("share without token: %d", s)
	}
	var share struct {
		URL       string    `json:"url"`
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, map[string]any{"expires_in": "1h"}, 201, &share)
	if share.URL != "https://hooks.example.com/bins/"+bin.ID+"?token="+share.Token {
		t.Errorf("share url %q", share.URL)
	}
	if d := time.Until(share.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires_at %v", share.ExpiresAt)
	}
	// The share token reads, through the header or ?token=.
	waitStatus(t, a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id+"?token="+share.Token, nil, 200)
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests", bearerHdr(share.Token), ""); s != 200 {
		t.Errorf("share token read: %d", s)
	}
	// ... and nothing else.
	for _, w := range []struct{ method, path, body string }{
		{"PATCH", "", `{"name":"pwned"}`},
		{"DELETE", "", ""},
		{"DELETE", "/requests", ""},
		{"POST", "/requests/" + id + "/replay", `{"url":"https://example.com"}`},
		{"POST", "/share", `{}`},
	} {
		s, _, b := call(t, w.method, a.base+"/api/v1/bins/"+bin.ID+w.path, bearerHdr(share.Token), w.body)
		if s != 403 {
			t.Errorf("%s %s with a share token: %d %s, want 403", w.method, w.path, s, b)
		}
	}
	doJSON(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", map[string]any{"expires_in": "never"}, 401, nil)
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, map[string]any{"expires_in": "never"}, 400, nil)
}

func doJSONAuth(t *testing.T, method, u, token string, body any, want int, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	s, _, rb := call(t, method, u, bearerHdr(token), string(b))
	if s != want {
		t.Fatalf("%s %s = %d %s, want %d", method, u, s, rb, want)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuthRequiredMode(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, map[string]string{"HOOKSCOPE_AUTH": "required"})
	if s, _, b := call(t, "POST", a.base+"/api/v1/bins", nil, ""); s != 401 || !strings.Contains(string(b), "error") {
		t.Fatalf("create without token: %d %s", s, b)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/alerts/rules", nil, ""); s != 401 {
		t.Fatalf("alert rules without token: %d", s)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/API/V1/BINS"}, {"POST", "/api/v1/bins/"}, {"GET", "/Api/V1/Alerts/rules"}, {"GET", "/api/v1/alerts/events/"}} {
		if s, _, b := call(t, c.method, a.base+c.path, nil, ""); s != 401 {
			t.Errorf("%s %s without token: %d %s, want 401", c.method, c.path, s, b)
		}
	}
	// `hookscope token` prints an admin token signed with the server key.
	var out strings.Builder
	env := func(k string) string {
		if k == "HOOKSCOPE_DATA_DIR" {
			return dir
		}
		return ""
	}
	if err := run(t.Context(), []string{"token", "-ttl", "1h"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(out.String())
	key := serverKey(t, dir)
	if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", bearerHdr(mint(t, key, web.ScopeOwner, "someone", time.Hour)), ""); s != 403 {
		t.Fatalf("create with a bin token: %d, want 403", s)
	}
	var bin binResp
	doJSONAuth(t, "POST", a.base+"/api/v1/bins", admin, map[string]any{"name": "ok"}, 201, &bin)
	// A public bin in required mode: capture and reads stay open.
	if s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, "x"); s != 200 {
		t.Fatalf("capture: %d", s)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, nil, ""); s != 200 {
		t.Fatalf("read public bin: %d", s)
	}
	// `hookscope token -bin ID -read-only` mints a bin's share token.
	out.Reset()
	if err := run(t.Context(), []string{"token", "-bin", bin.ID, "-read-only"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(strings.TrimSpace(out.String())), ""); s != 200 {
		t.Fatalf("read with minted read token: %d", s)
	}
}

// waitStatus polls a GET while it answers 404 (batched writes) and checks
// the final status.
func waitStatus(t *testing.T, u string, hdr map[string]string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _, b := call(t, "GET", u, hdr, "")
		if s == 404 && want != 404 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if s != want {
			t.Fatalf("GET %s = %d %s, want %d", u, s, b, want)
		}
		return
	}
}

// TestAlertsOfPrivateBins: in open mode, alert rules and events that
// concern a private bin need a token for that bin.
func TestAlertsOfPrivateBins(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	key := serverKey(t, dir)
	readTok := mint(t, key, web.ScopeRead, bin.ID, time.Hour)
	rule := map[string]any{"name": "fails", "bin_id": bin.ID, "kind": "failure_spike",
		"params":   map[string]any{"window": "10s", "min_count": 5, "threshold": 0.5},
		"channels": []map[string]any{{"type": "webhook", "url": "https://example.com/hook"}}, "cooldown": "10m", "enabled": true}
	b, _ := json.Marshal(rule)
	if s, _, body := call(t, "POST", a.base+"/api/v1/alerts/rules", map[string]string{"Content-Type": "application/json"}, string(b)); s != 401 {
		t.Fatalf("create rule on a private bin without token: %d %s", s, body)
	}
	if s, _, _ := call(t, "POST", a.base+"/api/v1/alerts/rules", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + readTok}, string(b)); s != 403 {
		t.Fatalf("create rule with a read token: %d", s)
	}
	var created struct {
		ID string `json:"id"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, rule, 201, &created)
	ruleURL := a.base + "/api/v1/alerts/rules/" + created.ID
	for _, c := range []struct {
		method, url, token string
		want               int
	}{
		{"GET", ruleURL, "", 401},
		{"GET", ruleURL, readTok, 200},
		{"PATCH", ruleURL, readTok, 403},
		{"DELETE", ruleURL, "", 401},
		{"GET", a.base + "/api/v1/alerts/events?bin_id=" + bin.ID, "", 401},
		{"GET", a.base + "/api/v1/alerts/events?bin_id=" + bin.ID, readTok, 200},
		{"PATCH", ruleURL, bin.Token, 200},
	} {
		var hdr map[string]string
		if c.token != "" {
			hdr = bearerHdr(c.token)
		}
		body := ""
		if c.method == "PATCH" {
			body = `{"enabled":false}`
			if hdr == nil {
				hdr = map[string]string{}
			}
			hdr["Content-Type"] = "application/json"
		}
		if s, _, rb := call(t, c.method, c.url, hdr, body); s != c.want {
			t.Errorf("%s %s (token %v): %d %s, want %d", c.method, c.url, c.token != "", s, rb, c.want)
		}
	}
}
