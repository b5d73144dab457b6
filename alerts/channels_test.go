package alerts

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/alerts/discord"
	"github.com/hookscope/hookscope/alerts/email"
	"github.com/hookscope/hookscope/alerts/notify/notifytest"
	"github.com/hookscope/hookscope/alerts/pagerduty"
	"github.com/hookscope/hookscope/alerts/slack"
	"github.com/hookscope/hookscope/alerts/teams"
	"github.com/hookscope/hookscope/alerts/webhook"
)

// TestEveryChannelEndToEnd: a rule with one channel of every type, created
// from JSON as the API decodes it, tested through the engine's dispatcher
// and the real notifier packages against local receivers (HTTP stand-ins
// for Slack, Discord, Teams, PagerDuty and a webhook; a local SMTP server
// for e-mail). Each receiver gets its provider's payload; the API view and
// the logs carry no secret.
func TestEveryChannelEndToEnd(t *testing.T) {
	recv := map[string]*notifytest.Receiver{}
	for _, typ := range []string{ChannelSlack, ChannelWebhook, ChannelDiscord, ChannelTeams, ChannelPagerDuty} {
		recv[typ] = notifytest.NewReceiver(t, func(notifytest.Request) (int, http.Header, string) { return 202, nil, "" })
	}
	smtp := notifytest.StartSMTPD(t, &notifytest.SMTPD{})
	mail, err := email.New(email.Options{Addr: smtp.Addr, From: "alerts@hookscope.test", TLS: email.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	st := newMemStore()
	e := New(st, st, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), PublicURL: "http://hookscope.test", Notifiers: Notifiers{
		ChannelSlack:     slack.New(slack.Options{Client: recv[ChannelSlack].Client}),
		ChannelWebhook:   webhook.New(webhook.Options{Client: recv[ChannelWebhook].Client}),
		ChannelDiscord:   discord.New(discord.Options{Client: recv[ChannelDiscord].Client}),
		ChannelTeams:     teams.New(teams.Options{Client: recv[ChannelTeams].Client}),
		ChannelPagerDuty: pagerduty.New(pagerduty.Options{Client: recv[ChannelPagerDuty].Client, Endpoint: recv[ChannelPagerDuty].URL + "/v2/enqueue"}),
		ChannelEmail:     mail,
	}})
	svc := NewService(st, e, ServiceOptions{})
	const key = "PDKEYsecret0123456789abcdefabcd"
	r, err := createJSON(t.Context(), svc, []byte(`{"name":"every channel","bin_id":"b1","kind":"failure_spike","channels":[
		{"type":"slack","url":"`+recv[ChannelSlack].URL+`/services/T/B/slack-secret"},
		{"type":"webhook","url":"`+recv[ChannelWebhook].URL+`/hook/webhook-secret"},
		{"type":"discord","url":"`+recv[ChannelDiscord].URL+`/api/webhooks/1/discord-secret"},
		{"type":"teams","url":"`+recv[ChannelTeams].URL+`/workflows/x?sig=teams-secret"},
		{"type":"pagerduty","routing_key":"`+key+`"},
		{"type":"email","to":["ops@example.test"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.TestRule(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res {
		if !c.OK {
			t.Errorf("%s: %s", c.Type, c.Error)
		}
	}
	for typ, want := range map[string]string{ChannelSlack: `"blocks"`, ChannelWebhook: `"source":"hookscope"`,
		ChannelDiscord: `"embeds"`, ChannelTeams: `"application/vnd.microsoft.card.adaptive"`, ChannelPagerDuty: `"routing_key":"` + key + `"`} {
		got := recv[typ].Requests()
		if len(got) == 0 || !strings.Contains(string(got[0].Body), want) || !strings.Contains(string(got[0].Body), "every channel") {
			t.Errorf("%s received %d requests; want one containing %s", typ, len(got), want)
		}
	}
	if n := len(recv[ChannelPagerDuty].Requests()); n != 2 {
		t.Errorf("pagerduty got %d events, want a trigger and its resolve", n)
	}
	if m := smtp.Delivered(); len(m) != 1 || m[0].To[0] != "ops@example.test" || !strings.Contains(m[0].Data, "every channel") {
		t.Errorf("e-mail delivered %+v", m)
	}
	view, _ := json.Marshal(r)
	for _, s := range []string{string(view), logs.String()} {
		for _, secret := range []string{"slack-secret", "webhook-secret", "discord-secret", "teams-secret", key} {
			if strings.Contains(s, secret) {
				t.Errorf("%s leaked: %s", secret, s)
			}
		}
	}
	if !strings.Contains(string(view), `"to":["ops@example.test"]`) || !strings.Contains(string(view), `"url_hint":"…abcd"`) {
		t.Errorf("rule view %s", view)
	}
}
