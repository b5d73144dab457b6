package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

func TestCreateRuleValidation(t *testing.T) {
	svc := NewService(newMemStore(), nil, ServiceOptions{})
	tests := []struct {
		name, body, field string
	}{
		{"not json", `{`, "body"},
		{"unknown field", `{"name":"x","kind":"failure_spike","color":"red"}`, `unknown field "color"`},
		{"no name", `{"kind":"failure_spike"}`, "name"},
		{"bad kind", `{"name":"x","kind":"nope"}`, "kind"},
		{"empty bin", `{"name":"x","bin_id":"","kind":"failure_spike"}`, "bin_id"},
		{"bad window", `{"name":"x","kind":"failure_spike","params":{"window":"soon"}}`, "duration"},
		{"tiny window", `{"name":"x","kind":"failure_spike","params":{"window":"10ms"}}`, "params.window"},
		{"negative min_count", `{"name":"x","kind":"failure_spike","params":{"min_count":-1}}`, "params.min_count"},
		{"share above 1", `{"name":"x","kind":"failure_spike","params":{"threshold":1.5}}`, "params.threshold"},
		{"failure share 0", `{"name":"x","kind":"failure_spike","params":{"threshold":0}}`, "params.threshold"},
		{"unknown param", `{"name":"x","kind":"failure_spike","params":{"treshold":0.2}}`, `params: unknown field "treshold"`},
		{"bad sensitivity", `{"name":"x","kind":"volume_anomaly","params":{"sensitivity":"extreme"}}`, "params.sensitivity"},
		{"bad cidr", `{"name":"x","kind":"suspicious_sender","params":{"allow_cidrs":["10.0.0.0/99"]}}`, "params.allow_cidrs[0]"},
		{"cidr on wrong kind", `{"name":"x","kind":"failure_spike","params":{"allow_cidrs":["10.0.0.0/8"]}}`, "params.allow_cidrs"},
		{"bad latency source", `{"name":"x","kind":"latency_spike","params":{"latency":"dns"}}`, "params.latency"},
		{"bad percentile", `{"name":"x","kind":"latency_spike","params":{"percentile":120}}`, "params.percentile"},
		{"bad channel type", `{"name":"x","kind":"failure_spike","channels":[{"type":"sms","url":"https://x.test"}]}`, "channels[0].type"},
		{"email without to", `{"name":"x","kind":"failure_spike","channels":[{"type":"email"}]}`, "channels[0].to"},
		{"email with url", `{"name":"x","kind":"failure_spike","channels":[{"type":"email","url":"https://secret-host/x"}]}`, "url does not apply"},
		{"bad recipient", `{"name":"x","kind":"failure_spike","channels":[{"type":"email","to":["Ops <ops@x.test>"]}]}`, "channels[0].to[0]"},
		{"pagerduty without key", `{"name":"x","kind":"failure_spike","channels":[{"type":"pagerduty"}]}`, "channels[0].routing_key"},
		{"trailing brace", `{"name":"x","kind":"failure_spike"}}`, "trailing data"},
		{"trailing bracket", `{"name":"x","kind":"failure_spike"}]`, "trailing data"},
		{"channel without url", `{"name":"x","kind":"failure_spike","channels":[{"type":"slack"}]}`, "channels[0].url"},
		{"channel url not http", `{"name":"x","kind":"failure_spike","channels":[{"type":"slack","url":"ftp://secret-host/secret-path"}]}`, "channels[0].url"},
		{"bad severity", `{"name":"x","kind":"failure_spike","severity":"panic"}`, "severity"},
		{"negative cooldown", `{"name":"x","kind":"failure_spike","cooldown":"-1m"}`, "cooldown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := createJSON(t.Context(), svc, []byte(tt.body))
			if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("err = %v, want ErrInvalid naming %q", err, tt.field)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error echoes the channel URL: %v", err)
			}
		})
	}
}

func TestRuleCRUD(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testRuleCRUD(t, newMemStore()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.CreateBin(t.Context(), &schema.Bin{ID: "b1", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		testRuleCRUD(t, st)
		// With a bin store, rules must name an existing bin.
		_, err = createJSON(t.Context(), NewService(st, nil, ServiceOptions{Bins: st}), []byte(`{"name":"x","kind":"failure_spike","bin_id":"nope"}`))
		if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "bin_id") {
			t.Errorf("unknown bin: %v", err)
		}
	})
}

func testRuleCRUD(t *testing.T, st schema.Alerts) {
	ctx := t.Context()
	svc := NewService(st, nil, ServiceOptions{})
	r, err := createJSON(ctx, svc, []byte(`{"name":"bad signatures", "bin_id":"b1","kind":"signature_failures",
		"params":{"window":"10s","min_count":5,"threshold":0.5},
		"channels":[{"type":"slack","url":"https://hooks.slack.com/services/T/B/tok-1234"},{"type":"webhook","url":"https://example.test/hook/abcd"}],
		"cooldown":"10m","enabled":true}`))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	if m["id"] == "" || m["bin_id"] != "b1" || m["cooldown"] != "10m" || m["enabled"] != true || m["severity"] != "warning" {
		t.Errorf("rule JSON %s", out)
	}
	p := m["params"].(map[string]any)
	if p["window"] != "10s" || p["min_count"] != 5.0 || p["threshold"] != 0.5 {
		t.Errorf("params JSON %v", p)
	}
	if strings.Contains(string(out), "tok-1234") || strings.Contains(string(out), `"url"`) ||
		!strings.Contains(string(out), `"url_hint":"https://hooks.slack.com/…1234"`) {
		t.Errorf("channel URL must be write-only: %s", out)
	}
	// The store holds the real URL.
	stored, _ := st.GetRule(ctx, r.ID)
	if !strings.Contains(string(stored.Doc), "tok-1234") || stored.BinID != "b1" {
		t.Errorf("stored doc %s", stored.Doc)
	}

	// PATCH: params merge, channels without url keep theirs, bin_id null.
	u, err := updateJSON(ctx, svc, r.ID, []byte(`{"params":{"min_count":9},"bin_id":null,"enabled":false,
		"channels":[{"type":"slack"},{"type":"webhook","url":"https://example.test/new/wxyz"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if u.Params.MinCount != 9 || u.Params.Window.D().String() != "10s" || u.BinID != nil || u.Enabled ||
		u.Channels[0].URL.Reveal() != "https://hooks.slack.com/services/T/B/tok-1234" ||
		u.Channels[1].URL.Reveal() != "https://example.test/new/wxyz" || !u.UpdatedAt.After(r.UpdatedAt) {
		t.Errorf("patched rule %+v", u)
	}
	got, err := svc.GetRule(ctx, r.ID)
	if err != nil || got.Params.MinCount != 9 || got.Bin() != "" {
		t.Errorf("GetRule after patch = %+v, %v", got, err)
	}
	if _, err := updateJSON(ctx, svc, r.ID, []byte(`{"params":{"threshold":3}}`)); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("invalid patch: %v", err)
	}
	if _, err := updateJSON(ctx, svc, r.ID, []byte(`{"id":"x"}`)); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("patching id: %v", err)
	}
	if _, err := updateJSON(ctx, svc, "missing", []byte(`{}`)); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("patch missing: %v", err)
	}
	// Kind change resets kind-specific params to the new kind's defaults.
	k, err := updateJSON(ctx, svc, r.ID, []byte(`{"kind":"volume_anomaly"}`))
	if err != nil || k.Params.Sensitivity != "medium" || k.Params.MinCount != 9 {
		t.Errorf("kind change: %+v, %v", k, err)
	}

	list, err := svc.ListRules(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListRules = %v, %v", list, err)
	}
	if err := svc.DeleteRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetRule(ctx, r.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := svc.DeleteRule(ctx, r.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestDefaultRulesAreValid(t *testing.T) {
	svc := NewService(newMemStore(), nil, ServiceOptions{})
	rules, err := svc.EnableDefaults(t.Context(), "b1", []Channel{{Type: ChannelSlack, URL: notifyURL("https://hooks.slack.com/services/x")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != len(Kinds) {
		t.Fatalf("%d default rules, want %d", len(rules), len(Kinds))
	}
	for i, r := range rules {
		if r.Kind != Kinds[i] || !r.Enabled || r.Bin() != "b1" || r.ID == "" || len(r.Channels) != 1 {
			t.Errorf("default rule %+v", r)
		}
	}
	if _, err := svc.EnableDefaults(t.Context(), "", nil); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("no bin: %v", err)
	}
}

// TestThresholdZeroMeansCountOnly: an explicit threshold 0 on
// signature_failures survives defaults, storage and patches; null resets it.
func TestThresholdZeroMeansCountOnly(t *testing.T) {
	ctx := t.Context()
	svc := NewService(newMemStore(), nil, ServiceOptions{})
	r, err := createJSON(ctx, svc, []byte(`{"name":"x","kind":"signature_failures","params":{"threshold":0,"min_count":3}}`))
	if err != nil || r.Params.Threshold != 0 {
		t.Fatalf("create: %+v %v", r, err)
	}
	got, _ := svc.GetRule(ctx, r.ID)
	if got.Params.Threshold != 0 {
		t.Errorf("stored threshold %v, want 0", got.Params.Threshold)
	}
	u, err := updateJSON(ctx, svc, r.ID, []byte(`{"params":{"min_count":4}}`))
	if err != nil || u.Params.Threshold != 0 || u.Params.MinCount != 4 {
		t.Errorf("patch kept threshold %v (%v)", u.Params.Threshold, err)
	}
	u, err = updateJSON(ctx, svc, r.ID, []byte(`{"params":{"threshold":null}}`))
	if err != nil || u.Params.Threshold != 0.5 {
		t.Errorf("threshold null = %v (%v), want the default 0.5", u.Params.Threshold, err)
	}
	d, _ := newDetector(got)
	obs := series(100, 0.1, func(i int) Obs {
		s := schema.SigValid
		if i%25 == 0 {
			s = schema.SigInvalid
		}
		return ob(float64(i)*0.1, false, s, "a")
	})
	if f := d.eval(obs, t0.Add(10*time.Second)); !f.Active || f.Observed != 0.04 {
		t.Errorf("count-only mode: 4 bad of 100 → %+v, want active", f)
	}
}

// TestRulesPerBinCap: creates and patches that would give a bin more than
// MaxRulesPerBin rules are ErrInvalid naming bin_id; every-bin rules have
// their own count; replacing a rule in place does not count it twice.
func TestRulesPerBinCap(t *testing.T) {
	ctx := t.Context()
	svc := NewService(newMemStore(), nil, ServiceOptions{MaxRulesPerBin: 2})
	mk := func(bin string) (*Rule, error) {
		b := fmt.Sprintf("%q", bin)
		if bin == "" {
			b = "null"
		}
		return createJSON(ctx, svc, []byte(`{"name":"r","kind":"failure_spike","bin_id":`+b+`}`))
	}
	for range 2 {
		if _, err := mk("b1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mk("b1"); !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "bin_id") {
		t.Errorf("third rule on b1: %v, want ErrInvalid naming bin_id", err)
	}
	if _, err := svc.EnableDefaults(ctx, "b1", nil); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("defaults on a full bin: %v", err)
	}
	r, err := mk("b2")
	if err != nil {
		t.Fatalf("another bin: %v", err)
	}
	if _, err := updateJSON(ctx, svc, r.ID, []byte(`{"name":"renamed"}`)); err != nil {
		t.Errorf("patch in place on b2: %v", err)
	}
	if _, err := updateJSON(ctx, svc, r.ID, []byte(`{"bin_id":"b1"}`)); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("moving a rule onto the full b1: %v", err)
	}
	for range 2 {
		if _, err := mk(""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mk(""); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("third every-bin rule: %v", err)
	}
}

// TestChannelTypesConfigured: with an engine, only the channel types it
// has notifiers for are accepted.
func TestChannelTypesConfigured(t *testing.T) {
	st := newMemStore()
	e := New(st, st, Options{Notifiers: Notifiers{ChannelWebhook: nil}})
	svc := NewService(st, e, ServiceOptions{})
	_, err := createJSON(t.Context(), svc, []byte(`{"name":"r","kind":"failure_spike","channels":[{"type":"pagerduty","routing_key":"R0UTINGKEY0123456789abcdef012345"}]}`))
	if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "not configured") || strings.Contains(err.Error(), "R0UTING") {
		t.Errorf("unconfigured type: %v", err)
	}
	if _, err := createJSON(t.Context(), svc, []byte(`{"name":"r","kind":"failure_spike","channels":[{"type":"webhook","url":"https://x.test/h"}]}`)); err != nil {
		t.Errorf("configured type: %v", err)
	}
}
