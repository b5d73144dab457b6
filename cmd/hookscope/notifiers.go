package main

import (
	"net/http"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/webhook"
)

// alertNotifiers builds the alert engine's notifiers, every HTTP one on
// client (the SSRF-guarded outbound client).
func alertNotifiers(client *http.Client) alerts.Notifiers {
	return alerts.Notifiers{
		alerts.ChannelSlack:   slack.New(slack.Options{Client: client}),
		alerts.ChannelWebhook: webhook.New(webhook.Options{Client: client}),
	}
}
