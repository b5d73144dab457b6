package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts"
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
