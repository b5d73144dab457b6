package web_test

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// waitRequests polls the list until the bin holds n requests (the store
// writer consumes the capture log asynchronously) and returns their ids,
// oldest first.
func waitRequests(t *testing.T, h *hookscope, bin, token string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, m := h.raw(t, "GET", "/api/v1/bins/"+bin+"/requests?limit=100", token, "")
		if code != 200 {
			t.Fatalf("list = %d %v", code, m)
		}
		rs, _ := m["requests"].([]any)
		if len(rs) == n {
			ids := make([]string, n)
			for i, r := range rs {
				ids[n-1-i] = r.(map[string]any)["id"].(string)
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("bin has %d requests, want %d", len(rs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSearchSyntaxAPI: q's search language through the real server (capture
// → log → store → list), on the list and count routes, and its 400s.
func TestSearchSyntaxAPI(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	bin := h.call(t, "POST", "/api/v1/bins", map[string]any{}, 201)["id"].(string)
	gh := func(event string) []schema.Header {
		return []schema.Header{{Name: "X-GitHub-Event", Value: event}}
	}
	h.capture(t, bin, "10.0.0.1", []byte(`{"action":"opened","number":1}`), gh("pull_request"))
	h.capture(t, bin, "10.0.0.2", []byte(`{"ref":"refs/heads/main","pusher":{"name":"octo cat"}}`), gh("push"))
	h.capture(t, bin, "10.0.0.1", []byte(`{"action":"closed","number":2}`), gh("pull_request"))
	h.capture(t, bin, "10.0.0.3", []byte(`plain text ping`), nil)
	ids := waitRequests(t, h, bin, h.admin, 4)

	for _, tc := range []struct {
		q    string
		want []int // indexes into ids, newest first
	}{
		{"header:X-GitHub-Event=push", []int{1}},
		{"header:x-github-event=pull_request body.action:opened", []int{0}},
		{`body.pusher.name:"octo cat"`, []int{1}},
		{"ip:10.0.0.1 -body.action:closed", []int{0}},
		{"(body.number:2 OR ping) method:post", []int{3, 2}},
		{"NOT header:X-GitHub-Event", []int{3}},
		{"ping", []int{3}}, // a bare word: substring, as before
		{"status:2xx", []int{3, 2, 1, 0}},
		{"status:5xx", nil},
	} {
		m := h.call(t, "GET", "/api/v1/bins/"+bin+"/requests?q="+url.QueryEscape(tc.q), nil, 200)
		rs, _ := m["requests"].([]any)
		var got []string
		for _, r := range rs {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		var want []string
		for _, i := range tc.want {
			want = append(want, ids[i])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("q=%s: got %v, want %v", tc.q, got, want)
		}
		c := h.call(t, "GET", "/api/v1/bins/"+bin+"/requests/count?q="+url.QueryEscape(tc.q), nil, 200)
		if c["count"] != float64(len(want)) {
			t.Errorf("count q=%s = %v, want %d", tc.q, c["count"], len(want))
		}
	}
	for _, tc := range []struct{ q, msg string }{
		{"(push", `parameter "q": syntax error at position 1: '(' is never closed`},
		{"push OR", `parameter "q": syntax error at position 8: expected a term at the end of the query`},
		{"status:600", `parameter "q": syntax error at position 8: status: must be a status code`},
		{`header:A="x`, `parameter "q": syntax error at position 10: unterminated quote`},
	} {
		for _, route := range []string{"/requests?q=", "/requests/count?q="} {
			code, m := h.raw(t, "GET", "/api/v1/bins/"+bin+route+url.QueryEscape(tc.q), h.admin, "")
			if msg, _ := m["error"].(string); code != 400 || !strings.HasPrefix(msg, tc.msg) {
				t.Errorf("%s%s = %d %v, want 400 %q", route, tc.q, code, m, tc.msg)
			}
		}
	}
	// The live feed refuses a bad query before the upgrade.
	if code, m := h.raw(t, "GET", "/api/v1/bins/"+bin+"/live?q="+url.QueryEscape("a AND"), h.admin, ""); code != 400 {
		t.Errorf("live with a bad q = %d %v, want 400", code, m)
	}
}

// TestDiffAPI: JSON, text and binary diffs through the real server, and
// the diff route's authorisation (private bin, other bin, bad parameters).
func TestDiffAPI(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	priv := h.call(t, "POST", "/api/v1/bins", map[string]any{"private": true}, 201)
	bin, tok := priv["id"].(string), priv["token"].(string)
	other := h.call(t, "POST", "/api/v1/bins", map[string]any{}, 201)["id"].(string)

	h.capture(t, bin, "10.0.0.1", []byte(`{"type":"charge.succeeded","data":{"amount":2000,"tags":["a"]}}`), []schema.Header{{Name: "X-Attempt", Value: "1"}})
	h.capture(t, bin, "10.0.0.1", []byte(`{"type":"charge.refunded","data":{"amount":2000,"tags":["a","b"]},"extra":true}`), []schema.Header{{Name: "X-Attempt", Value: "2"}})
	h.capture(t, bin, "10.0.0.1", []byte("line one\nline two\n"), []schema.Header{{Name: "Content-Type", Value: "text/plain"}})
	h.capture(t, bin, "10.0.0.1", []byte("line one\nline 2\n"), []schema.Header{{Name: "Content-Type", Value: "text/plain"}})
	h.capture(t, bin, "10.0.0.1", []byte{0, 1, 2, 3}, []schema.Header{{Name: "Content-Type", Value: "application/octet-stream"}})
	h.capture(t, other, "10.0.0.1", []byte(`{}`), nil)
	ids := waitRequests(t, h, bin, tok, 5)
	otherID := waitRequests(t, h, other, "", 1)[0]

	diffOf := func(id, against string) map[string]any {
		t.Helper()
		code, m := h.raw(t, "GET", "/api/v1/bins/"+bin+"/requests/"+id+"/diff?against="+against, tok, "")
		if code != 200 {
			t.Fatalf("diff = %d %v", code, m)
		}
		return m
	}
	m := diffOf(ids[1], ids[0])
	if m["from"] != ids[0] || m["to"] != ids[1] {
		t.Errorf("from/to = %v/%v", m["from"], m["to"])
	}
	body := m["body"].(map[string]any)
	if body["kind"] != "json" {
		t.Fatalf("kind = %v", body["kind"])
	}
	var paths []string
	for _, e := range body["json"].([]any) {
		e := e.(map[string]any)
		paths = append(paths, e["op"].(string)+" "+e["name"].(string))
	}
	if got, want := strings.Join(paths, "; "), "added $.data.tags[1]; added $.extra; changed $.type"; got != want {
		t.Errorf("json entries = %s, want %s", got, want)
	}
	var attempt map[string]any
	for _, e := range m["headers"].([]any) {
		if e := e.(map[string]any); e["name"] == "X-Attempt" {
			attempt = e
		}
	}
	if attempt["op"] != "changed" || attempt["from"] != "1" || attempt["to"] != "2" {
		t.Errorf("headers = %v, want X-Attempt changed from 1 to 2", m["headers"])
	}

	m = diffOf(ids[3], ids[2])
	body = m["body"].(map[string]any)
	if body["kind"] != "text" {
		t.Fatalf("text kind = %v", body["kind"])
	}
	var ops []string
	for _, l := range body["lines"].([]any) {
		l := l.(map[string]any)
		ops = append(ops, l["op"].(string)+":"+strings.Join(toStrings(l["lines"].([]any)), "|"))
	}
	if got, want := strings.Join(ops, " "), "equal:line one delete:line two insert:line 2"; got != want {
		t.Errorf("lines = %s, want %s", got, want)
	}

	m = diffOf(ids[4], ids[0])
	body = m["body"].(map[string]any)
	if body["kind"] != "binary" || body["first_difference"] != float64(0) || body["to"].(map[string]any)["size"] != float64(4) {
		t.Errorf("binary body = %v", body)
	}
	if f := m["fields"].(map[string]any)["content_type"].(map[string]any); f["to"] != "application/octet-stream" {
		t.Errorf("content_type change = %v", f)
	}

	path := "/api/v1/bins/" + bin + "/requests/" + ids[1] + "/diff?against="
	for _, tc := range []struct {
		path, token string
		code        int
	}{
		{path + ids[0], "", 401},           // private bin without a token
		{path + otherID, tok, 404},         // a request of another bin
		{path, tok, 400},                   // against missing
		{path + "nope", tok, 400},          // not an id
		{path + ids[0] + "&x=1", tok, 400}, // unknown parameter
		{"/api/v1/bins/" + other + "/requests/" + otherID + "/diff?against=" + ids[0], "", 404}, // other bin's view of ours
	} {
		if code, m := h.raw(t, "GET", tc.path, tc.token, ""); code != tc.code {
			t.Errorf("GET %s = %d %v, want %d", tc.path, code, m, tc.code)
		}
	}
}

func toStrings(a []any) []string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i], _ = v.(string)
	}
	return s
}
