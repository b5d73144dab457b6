package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/discord"
	"github.com/hookscope/hookscope/alerts/email"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/alerts/pagerduty"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/teams"
	"github.com/hookscope/hookscope/alerts/webhook"
)

// AlertsConfig configures the alert rules service and its notifiers.
type AlertsConfig struct {
	MaxRulesPerBin int
	PagerDutyURL   string
	SMTPAddr       string // empty: no e-mail channel
	SMTPFrom       string
	SMTPUsername   string
	SMTPPassword   notify.URL // prints redacted
	SMTPTLS        string
}

func alertSettings() []setting {
	return []setting{
		{"max-rules-per-bin", "HOOKSCOPE_MAX_RULES_PER_BIN", strconv.Itoa(alerts.DefaultMaxRulesPerBin), "most alert rules one bin (and, separately, every bin together) may have", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10_000 {
				return errors.New("must be from 1 to 10000")
			}
			c.Alerts.MaxRulesPerBin = n
			return nil
		}},
		{"pagerduty-url", "HOOKSCOPE_PAGERDUTY_URL", pagerduty.DefaultEndpoint, "PagerDuty Events API v2 enqueue URL (EU accounts: https://events.eu.pagerduty.com/v2/enqueue)", func(c *Config, v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("must be an absolute http(s) URL")
			}
			c.Alerts.PagerDutyURL = v
			return nil
		}},
		{"smtp-addr", "HOOKSCOPE_SMTP_ADDR", "", "SMTP relay (host:port) for e-mail alert channels; empty: no e-mail channel", func(c *Config, v string) error { c.Alerts.SMTPAddr = v; return nil }},
		{"smtp-from", "HOOKSCOPE_SMTP_FROM", "", "sender address of alert e-mail (required with smtp-addr)", func(c *Config, v string) error { c.Alerts.SMTPFrom = v; return nil }},
		{"smtp-username", "HOOKSCOPE_SMTP_USERNAME", "", "SMTP AUTH PLAIN user; empty: no authentication", func(c *Config, v string) error { c.Alerts.SMTPUsername = v; return nil }},
		{"smtp-password", "HOOKSCOPE_SMTP_PASSWORD", "", "SMTP AUTH PLAIN password (prefer the environment variable to the flag)", func(c *Config, v string) error { c.Alerts.SMTPPassword = notify.NewURL(v); return nil }},
		{"smtp-tls", "HOOKSCOPE_SMTP_TLS", email.TLSStartTLS, "starttls (required), tls (implicit, port 465) or none (a local relay only)", func(c *Config, v string) error {
			switch v {
			case email.TLSStartTLS, email.TLSImplicit, email.TLSNone:
				c.Alerts.SMTPTLS = v
				return nil
			}
			return errors.New("must be starttls, tls or none")
		}},
	}
}

// alertNotifiers builds the alert engine's notifiers: every HTTP one on
// client (the SSRF-guarded outbound client), e-mail when an SMTP relay is
// configured (the relay is the operator's, so it is dialled directly).
func alertNotifiers(cfg AlertsConfig, client *http.Client) (alerts.Notifiers, error) {
	ns := alerts.Notifiers{
		alerts.ChannelSlack:     slack.New(slack.Options{Client: client}),
		alerts.ChannelWebhook:   webhook.New(webhook.Options{Client: client}),
		alerts.ChannelDiscord:   discord.New(discord.Options{Client: client}),
		alerts.ChannelTeams:     teams.New(teams.Options{Client: client}),
		alerts.ChannelPagerDuty: pagerduty.New(pagerduty.Options{Client: client, Endpoint: cfg.PagerDutyURL}),
	}
	if cfg.SMTPAddr != "" {
		e, err := email.New(email.Options{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS})
		if err != nil {
			return nil, fmt.Errorf("configure e-mail alerts: %w", err)
		}
		ns[alerts.ChannelEmail] = e
	}
	return ns, nil
}
