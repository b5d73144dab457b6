package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestConditionalResponses: response rules match on a header value, a
// query parameter and a JSON body field (alone and together with method
// and path prefix; the first matching rule wins); bodies render request
// fields escaped for the response's content type; rules set response
// headers while the capture CSP sandbox stays; a CORS bin answers
// preflights and adds its headers. Everything through the real server.
func TestConditionalResponses(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	s := func(v string) *string { return &v }
	bin := a.newBin(t, map[string]any{"response": map[string]any{
		"cors":    true,
		"headers": [][2]string{{"Content-Type", "text/plain"}},
		"body":    "plain {{header.X-Name}} {{request.method}}",
		"rules": []map[string]any{
			{"header": map[string]any{"name": "x-github-event", "value": s("ping")}, "status": 202, "body": "pong"},
			{"header": map[string]any{"name": "X-Present"}, "status": 203, "body": "present"},
			{"query": map[string]any{"name": "mode", "value": s("test")}, "status": 409,
				"headers": [][2]string{{"Content-Type", "application/json"}, {"X-Rule", "query"}, {"Content-Security-Policy", "default-src *"}},
				"body":    `{"id":"{{request.id}}","name":"{{body.user.name}}","q":"{{query.mode}}"}`},
			{"body_field": map[string]any{"path": "type", "value": s("invoice.paid")}, "method": "post", "path_prefix": "/stripe",
				"headers": [][2]string{{"Content-Type", "text/html; charset=utf-8"}}, "body": "<p>{{body.data.note}}</p>"},
			{"body_field": map[string]any{"path": "amount", "value": s("42")}, "status": 201, "body": "forty-two"},
			{"body_field": map[string]any{"path": "flags.0"}, "status": 206, "body": "has flags"},
		},
	}})
	h := "/h/" + bin.ID
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		status             int
		want               string // "{id}" is replaced by the request id
		ct                 string
	}{
		{name: "header value", method: "POST", path: h, hdr: map[string]string{"X-GitHub-Event": "ping"}, status: 202, want: "pong"},
		{name: "header value differs", method: "POST", path: h, hdr: map[string]string{"X-GitHub-Event": "push", "X-Name": "<b>&"}, status: 200, want: "plain <b>& POST", ct: "text/plain"},
		{name: "header present", method: "POST", path: h, hdr: map[string]string{"X-Present": ""}, status: 203, want: "present"},
		{name: "query value, JSON escaping", method: "POST", path: h + "?mode=test", body: `{"user":{"name":"Zoë \"<x>\"\n"}}`, status: 409,
			want: `{"id":"{id}","name":"Zoë \"\u003cx\u003e\"\n","q":"test"}`, ct: "application/json"},
		{name: "query value differs", method: "POST", path: h + "?mode=live", status: 200, want: "plain  POST"},
		{name: "body field with method and prefix, HTML escaping", method: "POST", path: h + "/stripe/hook", body: `{"type":"invoice.paid","data":{"note":"<script>alert(1)</script>"}}`,
			status: 200, want: "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", ct: "text/html; charset=utf-8"},
		{name: "body field but another prefix", method: "POST", path: h + "/other", body: `{"type":"invoice.paid"}`, status: 200, want: "plain  POST"},
		{name: "body field number", method: "PUT", path: h, body: `{"amount":42}`, status: 201, want: "forty-two"},
		{name: "body field present", method: "POST", path: h, body: `{"flags":[false]}`, status: 206, want: "has flags"},
		{name: "body not JSON", method: "POST", path: h, body: `amount=42`, status: 200, want: "plain  POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, hd, b := call(t, tt.method, a.base+tt.path, tt.hdr, tt.body)
			id := hd.Get("X-Hookscope-Request-Id")
			if st != tt.status || string(b) != strings.ReplaceAll(tt.want, "{id}", id) {
				t.Fatalf("%d %q, want %d %q", st, b, tt.status, strings.ReplaceAll(tt.want, "{id}", id))
			}
			if tt.ct != "" && hd.Get("Content-Type") != tt.ct {
				t.Errorf("Content-Type %q, want %q", hd.Get("Content-Type"), tt.ct)
			}
			if hd.Get("Content-Security-Policy") != "sandbox; default-src 'none'; frame-ancestors 'none'" {
				t.Errorf("CSP %q: the sandbox must stay on capture answers", hd.Get("Content-Security-Policy"))
			}
			if hd.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS header on a CORS bin's answer")
			}
			if r := a.get(t, bin.ID, id); r.ResponseStatus != tt.status {
				t.Errorf("recorded %d", r.ResponseStatus)
			}
		})
	}
	_, hd, _ := call(t, "POST", a.base+h+"?mode=test", nil, "")
	if hd.Get("X-Rule") != "query" {
		t.Errorf("rule header X-Rule = %q", hd.Get("X-Rule"))
	}

	// A preflight: 204 with the CORS answer, recorded like any request.
	req, _ := http.NewRequest("OPTIONS", a.base+h+"/x", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type, x-signature")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type, x-signature" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	a.get(t, bin.ID, resp.Header.Get("X-Hookscope-Request-Id"))

	// Without cors: no CORS headers, OPTIONS is an ordinary capture.
	plain := a.newBin(t, nil)
	req, _ = http.NewRequest("OPTIONS", a.base+"/h/"+plain.ID, nil)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("non-CORS bin: %d %v", resp.StatusCode, resp.Header)
	}

	// With signature.enforce: a preflight cannot carry a signature, so it
	// is answered; the unsigned POST that follows is refused, with the CORS
	// headers so the page can read the 401.
	enforced := a.newBin(t, map[string]any{"response": map[string]any{"cors": true},
		"signature": map[string]any{"scheme": "github", "secret": "s", "enforce": true}})
	req, _ = http.NewRequest("OPTIONS", a.base+"/h/"+enforced.ID, nil)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("preflight on an enforcing bin: %d", resp.StatusCode)
	}
	if st, hd, _ := call(t, "POST", a.base+"/h/"+enforced.ID, nil, "{}"); st != 401 || hd.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("unsigned POST on an enforcing CORS bin: %d %v", st, hd)
	}

	// Validation names the field.
	for _, bad := range []map[string]any{
		{"rules": []map[string]any{{"status": 201}}},
		{"rules": []map[string]any{{"header": map[string]any{"name": "bad name"}}}},
		{"rules": []map[string]any{{"query": map[string]any{"name": ""}}}},
		{"rules": []map[string]any{{"body_field": map[string]any{"path": "a.#.b"}}}},
		{"rules": []map[string]any{{"body_field": map[string]any{"name": "a"}}}},
		{"rules": []map[string]any{{"header": map[string]any{"name": "a", "value": "x\ny"}}}},
		{"body": "{{request.secret}}"},
		{"body": "{{header.bad name}}"},
		{"body": strings.Repeat("{{request.id}}", 101)},
		{"cors": "yes"},
	} {
		if st, _, b := call(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), mustJSON(t, map[string]any{"response": bad})); st != 400 || !strings.Contains(string(b), "response") {
			t.Errorf("response %v: %d %s", bad, st, b)
		}
	}
}
