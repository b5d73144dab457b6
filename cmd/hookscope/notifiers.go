package main

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/webhook"
)

// AlertsConfig configures the alert rules service and its notifiers.
type AlertsConfig struct {
	MaxRulesPerBin int
}

func alertSettings() []setting {
	return []setting{
		{"max-rules-per-bin", "HOOKSCOPE_MAX_RULES_PER_BIN", strconv.Itoa(alerts.DefaultMaxRulesPerBin), "most alert rules one bin (or every bin together) may have", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10_000 {
				return errors.New("must be from 1 to 10000")
			}
			c.Alerts.MaxRulesPerBin = n
			return nil
		}},
	}
}

// alertNotifiers builds the alert engine's notifiers, every HTTP one on
// client (the SSRF-guarded outbound client).
func alertNotifiers(client *http.Client) alerts.Notifiers {
	return alerts.Notifiers{
		alerts.ChannelSlack:   slack.New(slack.Options{Client: client}),
		alerts.ChannelWebhook: webhook.New(webhook.Options{Client: client}),
	}
}
