package event

import (
	"strconv"
	"strings"

	"github.com/hookscope/hookscope/ingest/jsontop"
)

// provider is one sender's rules: detect looks at headers (and at most the
// body's shape) to recognise an unsigned delivery; extract reads it.
type provider struct {
	name    string
	schemes []string // the signature schemes that name this provider
	detect  func(q *req) bool
	extract func(q *req) Info
}

// providers, in detection order: the most specific headers first.
var providers = []provider{
	{"github", []string{"github"}, headers("X-GitHub-Event"), github},
	{"gitlab", []string{"gitlab"}, headers("X-Gitlab-Event"), gitlab},
	{"shopify", []string{"shopify"}, headers("X-Shopify-Topic", "Shopify-Topic", "X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"), shopify},
	{"stripe", []string{"stripe"}, headers("Stripe-Signature"), stripe},
	{"slack", []string{"slack"}, headers("X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num"), slack},
	{"svix", []string{"svix"}, headers("svix-id"), idHeaderAndType("svix-id")},
	{"standard-webhooks", []string{"standard-webhooks"}, headers("webhook-id"), idHeaderAndType("webhook-id")},
	{"paddle", []string{"paddle"}, headers("Paddle-Signature"), paddle},
	{"linear", []string{"linear"}, headers("Linear-Delivery", "Linear-Signature", "Linear-Event"), linear},
	{"zoom", []string{"zoom"}, headers("x-zm-signature", "x-zm-request-timestamp", "x-zm-trackingid"), zoom},
	{"sendgrid", []string{"sendgrid"}, sendgridDetect, sendgrid},
	{"twilio", []string{"twilio"}, headers("X-Twilio-Signature", "I-Twilio-Idempotency-Token"), twilio},
	{"discord", []string{"discord"}, headers("X-Signature-Ed25519"), discord},
}

func providerFor(scheme string) *provider {
	if scheme == "" {
		return nil
	}
	for i := range providers {
		for _, s := range providers[i].schemes {
			if s == scheme {
				return &providers[i]
			}
		}
	}
	return nil
}

func headers(names ...string) func(q *req) bool {
	return func(q *req) bool { return q.has(names...) }
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func join(a, sep, b string) string {
	if a == "" || b == "" {
		return a
	}
	return clip(a + sep + b)
}

// github: docs.github.com "Webhook events and payloads" — X-GitHub-Event
// names the event, the payload's "action" the activity
// ("pull_request.opened"); X-GitHub-Delivery is the delivery's GUID, kept
// when a delivery is redelivered.
func github(q *req) Info {
	return Info{Type: join(q.header("X-GitHub-Event"), ".", q.str("action")), DeliveryID: q.header("X-GitHub-Delivery")}
}

// gitlab: docs.gitlab.com "Webhook events" — X-Gitlab-Event ("Push Hook");
// Idempotency-Key is the same across retries of one event,
// X-Gitlab-Event-UUID identifies the event (older GitLab sends only that).
func gitlab(q *req) Info {
	return Info{
		Type:       firstOf(q.header("X-Gitlab-Event"), q.str("object_kind")),
		DeliveryID: firstOf(q.header("Idempotency-Key"), q.header("X-Gitlab-Event-UUID"), q.header("X-Gitlab-Webhook-UUID")),
	}
}

// shopify: shopify.dev "Webhooks delivery structure" (X-Shopify-Topic
// "orders/create", X-Shopify-Webhook-Id, the same on retries) and "Events
// delivery structure" (Shopify-Topic "Product" with Shopify-Action
// "update", repeated from the body's topic and action; Shopify-Webhook-Id
// "to detect duplicates"). An Events type reads "Product/update", like the
// webhooks' topics.
func shopify(q *req) Info {
	t := join(q.header("Shopify-Topic"), "/", q.header("Shopify-Action"))
	return Info{
		Type:       firstOf(t, q.header("X-Shopify-Topic")),
		DeliveryID: firstOf(q.header("Shopify-Webhook-Id"), q.header("X-Shopify-Webhook-Id")),
	}
}

// stripe: docs.stripe.com "The Event object" — "type" and the event "id"
// (evt_...), the same on every retry.
func stripe(q *req) Info {
	return Info{Type: q.str("type"), DeliveryID: q.str("id")}
}

// slack: api.slack.com Events API — {"type":"event_callback","event_id",
// "event":{"type":"app_mention"}}; url_verification and app_rate_limited
// carry only "type"; interactivity posts a form with payload=<JSON>
// ("block_actions"), slash commands a form with command=/name. Retries
// carry X-Slack-Retry-Num (1 for the first retry) and X-Slack-Retry-Reason.
func slack(q *req) Info {
	info := Info{Attempt: 1}
	if n, err := strconv.Atoi(q.header("X-Slack-Retry-Num")); err == nil && n >= 0 && n < 1000 {
		info.Attempt = n + 1
	}
	if _, ok := q.json(); ok {
		info.Type = q.str("type")
		if info.Type == "event_callback" {
			info.Type = firstOf(q.nested("event", "type"), info.Type)
		}
		info.DeliveryID = q.str("event_id")
		return info
	}
	if p := q.formRaw("payload"); p != "" && jsontop.Valid([]byte(p)) {
		info.Type = rawString(member([]byte(p), "type"))
		return info
	}
	if c := q.form("command"); c != "" {
		info.Type = clip("slash_command:" + c)
	}
	return info
}

// idHeaderAndType: Standard Webhooks (spec: "webhook-id ... the same when
// the message is retried", payload {"type","timestamp","data"}) and Svix
// (svix-id, the same construction).
func idHeaderAndType(idHeader string) func(q *req) Info {
	return func(q *req) Info {
		return Info{Type: firstOf(q.str("type"), q.str("eventType"), q.str("event_type")), DeliveryID: q.header(idHeader)}
	}
}

// paddle: developer.paddle.com "Notifications" — {"event_id",
// "event_type":"transaction.completed","notification_id",...}.
func paddle(q *req) Info {
	return Info{Type: q.str("event_type"), DeliveryID: q.str("event_id")}
}

// linear: linear.app/developers/webhooks — {"action":"create","type":"Issue",
// ...}; Linear-Delivery is the delivery's id, Linear-Event the type.
func linear(q *req) Info {
	return Info{
		Type:       firstOf(join(q.str("type"), ".", q.str("action")), q.header("Linear-Event")),
		DeliveryID: q.header("Linear-Delivery"),
	}
}

// zoom: developers.zoom.us "Using webhooks" — {"event":"meeting.started",
// "event_ts",...}. Zoom states no delivery id (x-zm-trackingid traces a
// request, and is not documented as stable across its retries).
func zoom(q *req) Info {
	return Info{Type: q.str("event")}
}

// sendgridDetect: the signature header, or (unsigned) a JSON array whose
// first element carries sg_event_id.
func sendgridDetect(q *req) bool {
	if q.has("X-Twilio-Email-Event-Webhook-Signature") {
		return true
	}
	body, ok := q.json()
	if !ok {
		return false
	}
	found := false
	jsontop.Elements(body, func(v []byte) bool {
		found = len(v) > 0 && v[0] == '{' && member(v, "sg_event_id") != nil
		return false
	})
	return found
}

// maxSendGridTypes bounds the distinct event names listed for one batch.
const maxSendGridTypes = 8

// sendgrid: the Event Webhook posts a JSON array of events, each with
// "event" ("processed", "delivered", ...) and "sg_event_id". One delivery
// can batch several: Type lists the distinct names in order ("processed,
// delivered"); DeliveryID is the sg_event_id of a single-event batch.
func sendgrid(q *req) Info {
	body, ok := q.json()
	if !ok {
		return Info{}
	}
	var types []string
	var id string
	n := 0
	jsontop.Elements(body, func(v []byte) bool {
		n++
		if len(v) == 0 || v[0] != '{' {
			return true
		}
		if n == 1 {
			id = rawString(member(v, "sg_event_id"))
		}
		if t := rawString(member(v, "event")); t != "" && !contains(types, t) && len(types) < maxSendGridTypes {
			types = append(types, t)
		}
		return true
	})
	info := Info{Type: clip(strings.Join(types, ","))}
	if n == 1 {
		info.DeliveryID = id
	}
	return info
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// twilio: twilio.com/docs/usage/webhooks — Messaging status callbacks
// (MessageStatus, or SmsStatus on older ones), Voice (CallStatus) as form
// parameters (GET webhooks: in the query); Event Streams post a JSON array
// of CloudEvents ({"type":"com.twilio.messaging.message.delivered"}).
// I-Twilio-Idempotency-Token is the same on Twilio's retries.
func twilio(q *req) Info {
	info := Info{DeliveryID: q.header("I-Twilio-Idempotency-Token")}
	if body, ok := q.json(); ok {
		if !jsontop.Members(body, func([]byte, []byte) bool { return false }) {
			n := 0
			var id string
			jsontop.Elements(body, func(v []byte) bool {
				if n++; n == 1 && len(v) > 0 && v[0] == '{' {
					info.Type, id = rawString(member(v, "type")), rawString(member(v, "id"))
				}
				return n < 2
			})
			if n == 1 && info.DeliveryID == "" {
				info.DeliveryID = id // a single CloudEvent's id
			}
		} else {
			info.Type = q.str("type")
		}
		return info
	}
	switch {
	case q.form("MessageStatus") != "":
		info.Type = clip("message." + strings.ToLower(q.form("MessageStatus")))
	case q.form("SmsStatus") != "":
		info.Type = clip("message." + strings.ToLower(q.form("SmsStatus")))
	case q.form("CallStatus") != "":
		info.Type = clip("call." + strings.ToLower(q.form("CallStatus")))
	}
	return info
}

// discordInteraction names the interaction types of
// discord.com/developers/docs/interactions/receiving-and-responding.
var discordInteraction = map[string]string{
	"1": "PING", "2": "APPLICATION_COMMAND", "3": "MESSAGE_COMPONENT",
	"4": "APPLICATION_COMMAND_AUTOCOMPLETE", "5": "MODAL_SUBMIT",
}

// discord: interactions ({"type":2,"id","token",...}: the type by name, the
// interaction id) and webhook events ({"version":1,"type":1,"event":
// {"type":"APPLICATION_AUTHORIZED",...}}, or "type":0 for their PING).
func discord(q *req) Info {
	if t := q.nested("event", "type"); t != "" {
		return Info{Type: t}
	}
	raw := string(q.field("type"))
	if q.field("token") != nil {
		return Info{Type: discordInteraction[raw], DeliveryID: q.str("id")}
	}
	if raw == "0" {
		return Info{Type: "PING"}
	}
	return Info{}
}

// generic: the fields and headers many senders use.
func generic(q *req) Info {
	return Info{
		Type: firstOf(q.str("type"), q.str("event_type"), q.str("eventType"), q.str("event"), q.str("topic"),
			q.header("X-Event-Type"), q.header("X-Event-Key")),
		DeliveryID: firstOf(q.header("Idempotency-Key"), q.header("X-Delivery-Id"), q.header("X-Webhook-Id"), q.header("X-Event-Id"),
			q.str("event_id"), q.str("eventId")),
	}
}
