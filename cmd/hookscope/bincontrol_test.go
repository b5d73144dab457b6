package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
	"github.com/hookscope/hookscope/web"
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
	assertNoSecretOnDisk(t, dir, "4242424242424242", "SECRETPIN", "SECRETBEARER", "SECRETCOOKIE", "SECRETSHOP", "SECRETAPIKEY")
}

// TestBinRetention: a bin's retention (max_requests, max_age) is applied by
// the purge loop on the embedded store, next to the server-wide settings,
// and leaves other bins alone. TestClickHouseBinRetention runs the same
// walk on ClickHouse 18.16 and 26.7.
func TestBinRetention(t *testing.T) {
	testBinRetention(t, nil)
}

func TestClickHouseBinRetention(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testBinRetention(t, map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)})
	})
}

func testBinRetention(t *testing.T, env map[string]string) {
	if env == nil {
		env = map[string]string{}
	}
	env["HOOKSCOPE_PURGE_INTERVAL"] = "50ms"
	a := startApp(t, t.TempDir(), env)
	t0 := time.Now()
	a.InjectNow(t0)
	byCount := a.newBin(t, map[string]any{"retention": map[string]any{"max_requests": 3}})
	byAge := a.newBin(t, map[string]any{"retention": map[string]any{"max_age": "72h"}})
	keepAll := a.newBin(t, nil)
	var view struct {
		Settings struct {
			Retention *struct {
				MaxAge      string `json:"max_age"`
				MaxRequests int    `json:"max_requests"`
			} `json:"retention"`
		} `json:"settings"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+byAge.ID, nil, 200, &view)
	if view.Settings.Retention == nil || view.Settings.Retention.MaxAge != "72h" {
		t.Fatalf("retention view %+v", view.Settings.Retention)
	}
	for _, bad := range []map[string]any{{"max_age": "1s"}, {"max_age": "9999d"}, {"max_age": "soon"}, {"max_requests": -1}, {"max_requests": 10_000_001}, {"keep": 1}} {
		if s, _, b := call(t, "PATCH", a.base+"/api/v1/bins/"+byAge.ID, bearerHdr(byAge.Token), mustJSON(t, map[string]any{"retention": bad})); s != 400 || !strings.Contains(string(b), "retention") {
			t.Errorf("retention %v: %d %s", bad, s, b)
		}
	}
	send := func(bin string, n int) []string {
		var ids []string
		for i := 0; i < n; i++ {
			st, id, _ := a.capture(t, bin, nil, fmt.Sprintf(`{"n":%d}`, i))
			if st != 200 {
				t.Fatalf("capture: %d", st)
			}
			ids = append(ids, id)
		}
		return ids
	}
	counted := send(byCount.ID, 6)
	old := send(byAge.ID, 2)
	send(keepAll.ID, 6)
	// max_requests: the newest 3 stay. (Three listed is not enough: the
	// first three may be listed before the store writer has the rest.)
	want := strings.Join([]string{counted[5], counted[4], counted[3]}, ",")
	var kept string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var ids []string
		for _, r := range a.list(t, byCount.ID, "limit=100").Requests {
			ids = append(ids, r.ID)
		}
		if kept = strings.Join(ids, ","); kept == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("max_requests 3 keeps %s, want the newest %s", kept, want)
		}
	}
	a.waitCount(t, byAge.ID, 2) // nothing is 72h old yet
	// 73 hours later the two old ones go; a new one stays.
	a.InjectNow(t0.Add(73 * time.Hour))
	fresh := send(byAge.ID, 1)
	l := a.waitCount(t, byAge.ID, 1)
	if l.Requests[0].ID != fresh[0] {
		t.Errorf("max_age kept %s, want the fresh %s (old: %v)", l.Requests[0].ID, fresh[0], old)
	}
	if l := a.list(t, keepAll.ID, "limit=100"); len(l.Requests) != 6 {
		t.Errorf("a bin without retention lost requests: %d left", len(l.Requests))
	}
	// null removes the setting.
	view.Settings.Retention = nil
	doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+byCount.ID, byCount.Token, map[string]any{"retention": nil, "name": "x"}, 200, &view)
	if view.Settings.Retention != nil {
		t.Errorf("retention after null: %+v", view.Settings.Retention)
	}
}

type binListResp struct {
	Bins []struct {
		ID            string     `json:"id"`
		Name          string     `json:"name"`
		RequestCount  *int64     `json:"request_count"`
		LastRequestAt *time.Time `json:"last_request_at"`
		Token         string     `json:"token"`
	} `json:"bins"`
	Next    *string `json:"next"`
	Ignored int     `json:"ignored"`
}

func (l binListResp) ids() []string {
	var out []string
	for _, b := range l.Bins {
		out = append(out, b.ID)
	}
	return out
}

func listBins(t *testing.T, a *testApp, params string, hdr map[string]string, want int) binListResp {
	t.Helper()
	st, _, b := call(t, "GET", a.base+"/api/v1/bins?"+params, hdr, "")
	if st != want {
		t.Fatalf("GET /api/v1/bins?%s = %d %s, want %d", params, st, b, want)
	}
	var l binListResp
	if st == 200 {
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// TestBinList: GET /api/v1/bins gives an admin every bin, newest first,
// paged with a cursor and searchable by name, with request counts and the
// last activity; anyone else only the bins whose valid owner tokens it
// presents (a share link, a revoked token, another server's token or
// garbage prove nothing), and nobody sees a bin by asking without a token.
func TestBinList(t *testing.T) { testBinList(t, map[string]string{}) }

// TestClickHouseBinList: the same on ClickHouse 18.16 and 26.7 (bins read
// with FINAL, counts and last activity from the requests table).
func TestClickHouseBinList(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testBinList(t, map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)})
	})
}

func testBinList(t *testing.T, env map[string]string) {
	dir := t.TempDir()
	a := startApp(t, dir, env)
	key := serverKey(t, dir)
	admin := mintGen(t, key, web.ScopeAdmin, "", 0)
	var made []binResp
	for _, n := range []string{"Alpha one", "beta", "alpha two", "gamma", "delta"} {
		made = append(made, a.newBin(t, map[string]any{"name": n}))
	}
	for i := 0; i < 3; i++ {
		a.capture(t, made[1].ID, nil, "{}")
	}
	a.waitCount(t, made[1].ID, 3)

	// Admin: everything, newest first, in pages of two.
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		l := listBins(t, a, "limit=2"+cursor, bearerHdr(admin), 200)
		all = append(all, l.ids()...)
		if l.Next == nil {
			if pages != 2 {
				t.Errorf("%d pages of 2 for 5 bins", pages+1)
			}
			break
		}
		cursor = "&cursor=" + *l.Next
	}
	want := []string{made[4].ID, made[3].ID, made[2].ID, made[1].ID, made[0].ID}
	if strings.Join(all, ",") != strings.Join(want, ",") {
		t.Errorf("admin pages %v, want %v", all, want)
	}
	l := listBins(t, a, "q=ALPHA", bearerHdr(admin), 200)
	if strings.Join(l.ids(), ",") != made[2].ID+","+made[0].ID {
		t.Errorf("q=ALPHA: %v", l.ids())
	}
	l = listBins(t, a, "q=beta", bearerHdr(admin), 200)
	if len(l.Bins) != 1 || l.Bins[0].RequestCount == nil || *l.Bins[0].RequestCount != 3 || l.Bins[0].LastRequestAt == nil ||
		time.Since(*l.Bins[0].LastRequestAt) > time.Minute || l.Bins[0].Token != "" {
		t.Errorf("beta in the list: %+v", l.Bins)
	}
	listBins(t, a, "cursor=nope", bearerHdr(admin), 400)
	listBins(t, a, "limit=0", bearerHdr(admin), 400)
	listBins(t, a, "limit=201", bearerHdr(admin), 400)
	listBins(t, a, "sort=name", bearerHdr(admin), 400)

	// Nobody without tokens sees anything.
	if l := listBins(t, a, "", nil, 200); len(l.Bins) != 0 {
		t.Errorf("anonymous list: %v", l.ids())
	}
	// Owners: exactly the bins they prove.
	var share struct {
		Token string `json:"token"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+made[3].ID+"/share", made[3].Token, nil, 201, &share)
	var rev binResp
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+made[4].ID+"/tokens/revoke", made[4].Token, nil, 200, &rev)
	foreign := mintGen(t, []byte("another server's key, 32 bytes long"), web.ScopeOwner, made[2].ID, 0)
	hdr := map[string]string{"X-Hookscope-Bin-Tokens": strings.Join([]string{
		made[0].Token, made[1].Token, made[1].Token, share.Token, made[4].Token, foreign, "garbage",
	}, ", ")}
	l = listBins(t, a, "", hdr, 200)
	if strings.Join(l.ids(), ",") != made[1].ID+","+made[0].ID || l.Ignored != 4 {
		t.Errorf("owner list %v ignored %d, want [%s %s] and 4 ignored", l.ids(), l.Ignored, made[1].ID, made[0].ID)
	}
	if l.Bins[0].RequestCount == nil || *l.Bins[0].RequestCount != 3 {
		t.Errorf("owner list count: %+v", l.Bins[0])
	}
	if l := listBins(t, a, "q=alpha", hdr, 200); strings.Join(l.ids(), ",") != made[0].ID {
		t.Errorf("owner q=alpha: %v", l.ids())
	}
	// The new owner token of a revoked bin works; as a bearer token too.
	if l := listBins(t, a, "", bearerHdr(rev.Token), 200); strings.Join(l.ids(), ",") != made[4].ID {
		t.Errorf("bearer owner token: %v", l.ids())
	}
	listBins(t, a, "cursor=x", hdr, 400)
	many := strings.TrimSuffix(strings.Repeat(made[0].Token+",", 101), ",")
	listBins(t, a, "", map[string]string{"X-Hookscope-Bin-Tokens": many}, 400)
	// A deleted bin's token proves nothing.
	doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+made[0].ID, made[0].Token, nil, 204, nil)
	if l := listBins(t, a, "", hdr, 200); strings.Join(l.ids(), ",") != made[1].ID {
		t.Errorf("after delete: %v", l.ids())
	}

	// HOOKSCOPE_AUTH=required: the list needs a token, and an owner token
	// is enough for the owner's own bins.
	a.stop(t)
	env["HOOKSCOPE_AUTH"] = "required"
	a = startApp(t, dir, env)
	listBins(t, a, "", nil, 401)
	if l := listBins(t, a, "", map[string]string{"X-Hookscope-Bin-Tokens": made[1].Token}, 200); strings.Join(l.ids(), ",") != made[1].ID {
		t.Errorf("required mode, owner: %v", l.ids())
	}
	if l := listBins(t, a, "", bearerHdr(admin), 200); len(l.Bins) != 4 {
		t.Errorf("required mode, admin: %v", l.ids())
	}
	if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", map[string]string{"X-Hookscope-Bin-Tokens": made[1].Token}, "{}"); s != 401 {
		t.Errorf("required mode: creating a bin with an owner token: %d", s)
	}
}

// TestRedactionForwardsTheRequestAsSent: the forward target (the user's
// own service) gets the request as it arrived, Authorization and all, in
// proxy and async mode, while the record (and the capture log, the forward
// journal) holds it redacted; a refused delivery is never forwarded.
func TestRedactionForwardsTheRequestAsSent(t *testing.T) {
	type got struct{ auth, body string }
	seen := make(chan got, 10)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.Header.Get("Authorization"), string(b)}
		w.WriteHeader(200)
	}))
	defer target.Close()
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	body := `{"card":{"number":"4242"}}`
	for _, mode := range []string{"proxy", "async"} {
		t.Run(mode, func(t *testing.T) {
			bin := a.newBin(t, map[string]any{
				"forward":     map[string]any{"url": target.URL, "mode": mode},
				"redact":      map[string]any{"body_paths": []string{"card.number"}},
				"allow_cidrs": []string{"127.0.0.1"},
			})
			st, id, _ := a.capture(t, bin.ID, map[string]string{"Authorization": "Bearer RAW"}, body)
			if st != 200 {
				t.Fatalf("capture: %d", st)
			}
			select {
			case g := <-seen:
				if g.auth != "Bearer RAW" || g.body != body {
					t.Errorf("target got %+v, want the request as sent", g)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("nothing forwarded")
			}
			r := a.getControl(t, bin.ID, id)
			if r.Forward == nil || r.Forward.Status != 200 || r.Body.Data != `{"card":{"number":"[redacted]"}}` || r.Redacted == nil {
				t.Errorf("record: forward %+v body %q redacted %+v", r.Forward, r.Body.Data, r.Redacted)
			}
			for _, h := range r.Headers {
				if h[0] == "Authorization" && h[1] != "[redacted]" {
					t.Errorf("recorded Authorization %q", h[1])
				}
			}
			// A refused sender is recorded and not forwarded.
			doJSONAuth(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bin.Token, map[string]any{"allow_cidrs": []string{"10.0.0.0/8"}}, 200, nil)
			st, rid, _ := a.capture(t, bin.ID, nil, body)
			if st != 403 {
				t.Fatalf("refused: %d", st)
			}
			if r := a.getControl(t, bin.ID, rid); r.Forward != nil || r.RefusedReason == "" {
				t.Errorf("refused record: forward %+v reason %q", r.Forward, r.RefusedReason)
			}
			select {
			case g := <-seen:
				t.Errorf("a refused delivery was forwarded: %+v", g)
			default:
			}
		})
	}
}
