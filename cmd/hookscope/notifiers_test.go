package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/notify/notifytest"
)

// TestAlertNotifiersFromConfig: every channel type is registered, e-mail
// only with an SMTP relay; a bad e-mail setup stops the start; the SMTP
// password never prints.
func TestAlertNotifiersFromConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := parseConfig("hookscope", nil, env(map[string]string{"HOOKSCOPE_MAX_RULES_PER_BIN": "7"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := alertNotifiers(cfg.Alerts, nil)
	if err != nil || cfg.Alerts.MaxRulesPerBin != 7 {
		t.Fatalf("notifiers %v, max rules %d", err, cfg.Alerts.MaxRulesPerBin)
	}
	if got := strings.Join(ns.Types(), ","); got != "discord,pagerduty,slack,teams,webhook" {
		t.Errorf("types without SMTP: %s", got)
	}
	cfg, err = parseConfig("hookscope", nil, env(map[string]string{"HOOKSCOPE_SMTP_ADDR": "mail.example.test:587",
		"HOOKSCOPE_SMTP_FROM": "alerts@example.test", "HOOKSCOPE_SMTP_USERNAME": "u", "HOOKSCOPE_SMTP_PASSWORD": "s3cr3t-pw"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if ns, err = alertNotifiers(cfg.Alerts, nil); err != nil || ns[alerts.ChannelEmail] == nil {
		t.Errorf("with SMTP: %v, %v", ns.Types(), err)
	}
	if s := fmt.Sprintf("%v %+v", cfg, cfg.Alerts); strings.Contains(s, "s3cr3t") {
		t.Errorf("SMTP password prints: %s", s)
	}
	cfg.Alerts.SMTPFrom = "Alerts <alerts@example.test>"
	if _, err := alertNotifiers(cfg.Alerts, nil); err == nil {
		t.Errorf("a display-name sender was accepted")
	}
	for k, v := range map[string]string{"HOOKSCOPE_MAX_RULES_PER_BIN": "0", "HOOKSCOPE_SMTP_TLS": "ssl", "HOOKSCOPE_PAGERDUTY_URL": "events.pagerduty.com"} {
		if _, err := parseConfig("hookscope", nil, env(map[string]string{k: v}), io.Discard); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

// TestAlertChannelsApp: the real App, configured through its environment
// (HOOKSCOPE_PAGERDUTY_URL, HOOKSCOPE_SMTP_*), tests a rule with a Discord,
// a Teams, a PagerDuty and an e-mail channel: each local receiver gets its
// provider's payload through cmd's wiring.
func TestAlertChannelsApp(t *testing.T) {
	recv := map[string]*notifytest.Receiver{}
	for _, typ := range []string{"discord", "teams", "pagerduty"} {
		recv[typ] = notifytest.NewReceiver(t, func(notifytest.Request) (int, http.Header, string) { return 202, nil, "" })
	}
	smtp := notifytest.StartSMTPD(t, &notifytest.SMTPD{})
	a := startApp(t, t.TempDir(), map[string]string{
		"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", // the receivers listen on loopback
		"HOOKSCOPE_PAGERDUTY_URL":         recv["pagerduty"].URL + "/v2/enqueue",
		"HOOKSCOPE_SMTP_ADDR":             smtp.Addr,
		"HOOKSCOPE_SMTP_FROM":             "alerts@hookscope.test",
		"HOOKSCOPE_SMTP_TLS":              "none",
	})
	bin := a.newBin(t, nil)
	var rule map[string]any
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "all kinds", "bin_id": bin.ID, "kind": "failure_spike",
		"channels": []any{
			map[string]any{"type": "discord", "url": recv["discord"].URL + "/api/webhooks/1/DISCORDSECRET"},
			map[string]any{"type": "teams", "url": recv["teams"].URL + "/workflows/1?sig=TEAMSSECRET"},
			map[string]any{"type": "pagerduty", "routing_key": "PAGERDUTYSECRETKEY0123456789abcd"},
			map[string]any{"type": "email", "to": []string{"ops@example.test"}},
		}}, 201, &rule)
	var res struct {
		OK      bool `json:"ok"`
		Results []struct {
			Type  string `json:"type"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		} `json:"results"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules/"+rule["id"].(string)+"/test", bin.Token, nil, 200, &res)
	if !res.OK || len(res.Results) != 4 {
		t.Fatalf("test results %+v", res)
	}
	for typ, want := range map[string]string{"discord": `"embeds"`, "teams": `"AdaptiveCard"`, "pagerduty": `"event_action":"trigger"`} {
		got := recv[typ].Requests()
		if len(got) == 0 || !strings.Contains(string(got[0].Body), want) || !strings.Contains(string(got[0].Body), "all kinds") {
			t.Errorf("%s got %d requests, want one with %s", typ, len(got), want)
		}
	}
	if m := smtp.Delivered(); len(m) != 1 || !strings.Contains(m[0].Data, "Subject: Test: all kinds") {
		t.Errorf("e-mail %+v", m)
	}
}
