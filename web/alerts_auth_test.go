package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts"
)

// raw sends body verbatim with an optional bearer token and returns the
// status and the decoded answer.
func (h *hookscope) raw(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, h.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// TestAlertRuleBodyDecodedOnceAndAuthorised is issue 12 item 4: a rule body
// with a stray '}' or ']' after the object used to slip past the alerts
// authorisation (which could not parse it) while the handler accepted it,
// so an anonymous caller could watch a private bin. The body is now decoded
// once, strictly, and the decoded bin is what is authorised.
func TestAlertRuleBodyDecodedOnceAndAuthorised(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	priv := h.call(t, "POST", "/api/v1/bins", map[string]any{"private": true}, 201)
	bin, tok := priv["id"].(string), priv["token"].(string)
	rule := fmt.Sprintf(`{"name":"spy","bin_id":%q,"kind":"failure_spike","channels":[{"type":"webhook","url":"https://attacker.test/x"}]}`, bin)

	for _, tail := range []string{"}", "]", " }", "{}", `{"bin_id":null}`, "x"} {
		if code, m := h.raw(t, "POST", "/api/v1/alerts/rules", "", rule+tail); code != 400 && code != 401 {
			t.Errorf("anonymous rule + %q on a private bin = %d %v, want 400 or 401", tail, code, m)
		}
		if code, m := h.raw(t, "POST", "/api/v1/alerts/rules", tok, rule+tail); code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "trailing data") {
			t.Errorf("owner's rule + %q = %d %v, want 400 naming the trailing data", tail, code, m)
		}
	}
	if code, _ := h.raw(t, "POST", "/api/v1/alerts/rules", "", rule); code != 401 {
		t.Errorf("anonymous rule on a private bin = %d, want 401", code)
	}
	rules, err := h.store.ListRules(t.Context())
	if err != nil || len(rules) != 0 {
		t.Fatalf("rules stored after refused requests: %d (%v)", len(rules), err)
	}

	// The owner may; a patch moving a public bin's rule onto the private
	// bin is authorised on the bin it moves to.
	code, created := h.raw(t, "POST", "/api/v1/alerts/rules", tok, rule)
	if code != 201 {
		t.Fatalf("owner's rule = %d %v", code, created)
	}
	pub := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	other := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "pub", "bin_id": pub, "kind": "failure_spike"}, 201)["id"].(string)
	if code, m := h.raw(t, "PATCH", "/api/v1/alerts/rules/"+other, "", fmt.Sprintf(`{"bin_id":%q}`, bin)); code != 401 {
		t.Errorf("anonymous patch onto the private bin = %d %v, want 401", code, m)
	}
	if code, m := h.raw(t, "PATCH", "/api/v1/alerts/rules/"+other, "", `{"enabled":false}}`); code != 400 {
		t.Errorf("patch with trailing data = %d %v, want 400", code, m)
	}
	// The private bin's rule: reading, changing, testing and deleting it
	// anonymously are refused by the handler itself.
	id := created["id"].(string)
	for _, m := range []string{"PATCH", "DELETE"} {
		if code, _ := h.raw(t, m, "/api/v1/alerts/rules/"+id, "", `{}`); code != 401 {
			t.Errorf("anonymous %s of the private bin's rule = %d, want 401", m, code)
		}
	}
	if code, _ := h.raw(t, "POST", "/api/v1/alerts/rules/"+id+"/test", "", ""); code != 401 {
		t.Errorf("anonymous test of the private bin's rule = %d, want 401", code)
	}
	r, err := h.store.GetRule(t.Context(), other)
	if err != nil || r.BinID != pub {
		t.Errorf("rule %s moved to %q (%v)", other, r.BinID, err)
	}
}

// TestAlertRulesPerBinCap: a bin has at most HOOKSCOPE_MAX_RULES_PER_BIN
// rules (default 20); over it the API answers 400 naming bin_id and the
// setting; other bins are unaffected.
func TestAlertRulesPerBinCap(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	bin := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	for i := range alerts.DefaultMaxRulesPerBin {
		h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": fmt.Sprint("r", i), "bin_id": bin, "kind": "failure_spike"}, 201)
	}
	e := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "one more", "bin_id": bin, "kind": "failure_spike"}, 400)
	if msg := fmt.Sprint(e["error"]); !strings.Contains(msg, "bin_id") || !strings.Contains(msg, "HOOKSCOPE_MAX_RULES_PER_BIN") {
		t.Errorf("cap error %q", msg)
	}
	h.call(t, "POST", "/api/v1/alerts/defaults", map[string]any{"bin_id": bin}, 400)
	other := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	id := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "x", "bin_id": other, "kind": "failure_spike"}, 201)["id"].(string)
	h.call(t, "PATCH", "/api/v1/alerts/rules/"+id, map[string]any{"bin_id": bin}, 400)
	rules, _ := h.store.ListRules(t.Context())
	n := 0
	for _, r := range rules {
		if r.BinID == bin {
			n++
		}
	}
	if n != alerts.DefaultMaxRulesPerBin {
		t.Errorf("bin has %d rules, want the cap %d", n, alerts.DefaultMaxRulesPerBin)
	}
}

// TestAlertChannelKindsAPI: the channel kinds through the API. A
// PagerDuty routing key is write-only like a URL; e-mail, not configured on
// this server, is a 400 naming the field; a key that does not belong to the
// type and an unknown key are 400s; nothing secret comes back.
func TestAlertChannelKindsAPI(t *testing.T) {
	h := startHookscope(t, t.TempDir(), io.Discard)
	bin := h.call(t, "POST", "/api/v1/bins", nil, 201)["id"].(string)
	const key = "R0UTINGsecretKEY0123456789abwxyz"
	r := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "page", "bin_id": bin, "kind": "failure_spike",
		"channels": []map[string]any{{"type": "pagerduty", "routing_key": key}, {"type": "discord", "url": "https://discord.com/api/webhooks/1/SECRETtok"}}}, 201)
	raw, _ := json.Marshal(r)
	if strings.Contains(string(raw), "R0UTING") || strings.Contains(string(raw), "SECRETtok") || !strings.Contains(string(raw), `"url_hint":"…wxyz"`) {
		t.Errorf("rule view leaks or lacks the hint: %s", raw)
	}
	stored, err := h.store.GetRule(t.Context(), r["id"].(string))
	if err != nil || !strings.Contains(string(stored.Doc), key) {
		t.Errorf("stored rule lacks the routing key: %v", err)
	}
	// A patch naming the channel without its key keeps the key.
	h.call(t, "PATCH", "/api/v1/alerts/rules/"+r["id"].(string), map[string]any{"channels": []map[string]any{{"type": "pagerduty"}}}, 200)
	if stored, _ = h.store.GetRule(t.Context(), r["id"].(string)); !strings.Contains(string(stored.Doc), key) {
		t.Errorf("patch lost the routing key: %s", stored.Doc)
	}
	for _, tt := range []struct {
		channel map[string]any
		want    string
	}{
		{map[string]any{"type": "email", "to": []string{"ops@example.test"}}, "channels[0].type: email is not configured"},
		{map[string]any{"type": "pagerduty", "url": "https://SECRET.test/x"}, "url does not apply"},
		{map[string]any{"type": "slack", "url": "https://hooks.slack.com/x", "colour": "red"}, `unknown field "colour"`},
		{map[string]any{"type": "pagerduty", "routing_key": "has space SECRET"}, "channels[0].routing_key"},
	} {
		e := h.call(t, "POST", "/api/v1/alerts/rules", map[string]any{"name": "x", "bin_id": bin, "kind": "failure_spike", "channels": []any{tt.channel}}, 400)
		if msg := fmt.Sprint(e["error"]); !strings.Contains(msg, tt.want) || strings.Contains(msg, "SECRET") {
			t.Errorf("%v: error %q, want %q without the secret", tt.channel, msg, tt.want)
		}
	}
}
