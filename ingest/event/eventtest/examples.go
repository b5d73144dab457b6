// Package eventtest holds the providers' documented webhook examples with
// what ingest/event must read from each: the extractor's unit tests and
// the API tests (cmd/hookscope) use the same list.
package eventtest

import "github.com/hookscope/hookscope/schema"

// Request and Info mirror event.Request and event.Info field for field
// (convert with event.Request(r)); this package cannot import event,
// whose own tests import it.
type Request struct {
	Method  string
	Headers []schema.Header
	Query   string
	Body    []byte
	Scheme  string
}

// Info mirrors event.Info.
type Info struct {
	Type       string
	DeliveryID string
	Attempt    int
	Source     string
}

// Example is one documented delivery and what it says about itself.
type Example struct {
	Name   string
	Source string // where the provider publishes it
	Req    Request
	Want   Info
}

func hs(pairs ...string) []schema.Header {
	out := make([]schema.Header, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, schema.Header{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

const jsonCT = "application/json"

// The providers' documented examples. Each names where it is published;
// "shape of" means the page documents the fields and headers but the values
// here are made up.
var Examples = []Example{
	{
		Name:   "github issues opened",
		Source: "docs.github.com/en/webhooks/webhook-events-and-payloads (Example webhook delivery)",
		Req: Request{Method: "POST", Headers: hs(
			"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			"X-Hub-Signature-256", "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c",
			"User-Agent", "GitHub-Hookshot/044aadd", "Content-Type", jsonCT, "X-GitHub-Event", "issues",
			"X-GitHub-Hook-ID", "292430182", "X-GitHub-Hook-Installation-Target-ID", "79929171",
			"X-GitHub-Hook-Installation-Target-Type", "repository"),
			Body: []byte(`{"action":"opened","issue":{"url":"https://api.github.com/repos/octocat/Hello-World/issues/1347","number":1347},"repository":{"id":1296269,"full_name":"octocat/Hello-World","owner":{"login":"octocat","id":1}},"sender":{"login":"octocat","id":1}}`)},
		Want: Info{Type: "issues.opened", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", Source: "github"},
	},
	{
		Name:   "github ping (no action)",
		Source: "docs.github.com/en/webhooks/webhook-events-and-payloads#ping",
		Req: Request{Method: "POST", Headers: hs("X-GitHub-Event", "ping", "X-GitHub-Delivery", "c6a3a3c0-9a2b-11ee-8f1f-a1b2c3d4e5f6", "Content-Type", jsonCT),
			Body: []byte(`{"zen":"Keep it logically awesome.","hook_id":292430182,"hook":{"type":"Repository","id":292430182,"events":["issues"]}}`)},
		Want: Info{Type: "ping", DeliveryID: "c6a3a3c0-9a2b-11ee-8f1f-a1b2c3d4e5f6", Source: "github"},
	},
	{
		Name:   "stripe event",
		Source: "docs.stripe.com/api/events/object (The Event object)",
		Req: Request{Method: "POST", Headers: hs("Content-Type", "application/json; charset=utf-8", "Stripe-Signature", "t=1686089970,v1=0000000000000000000000000000000000000000000000000000000000000000"),
			Body: []byte(`{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","api_version":"2022-11-15","created":1686089970,"data":{"object":{"id":"seti_1NG8Du2eZvKYlo2C9XMqbR0x","object":"setup_intent","status":"requires_confirmation"}},"livemode":false,"pending_webhooks":0,"request":{"id":null,"idempotency_key":null},"type":"setup_intent.created"}`)},
		Want: Info{Type: "setup_intent.created", DeliveryID: "evt_1NG8Du2eZvKYlo2CUI79vXWy", Source: "stripe"},
	},
	{
		Name:   "shopify webhooks orders/create",
		Source: "shopify.dev/docs/apps/build/webhooks/delivery-structure (Headers)",
		Req: Request{Method: "POST", Headers: hs("X-Shopify-Topic", "orders/create", "X-Shopify-Hmac-Sha256", "XWmrwMey6OsLMeiZKwP4FppHH3cmAiiJJAweH5Jo4bM=",
			"X-Shopify-Shop-Domain", "shop.myshopify.com", "X-Shopify-API-Version", "2025-04",
			"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Triggered-At", "2023-03-29T18:00:27.877041743Z",
			"X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5", "Content-Type", jsonCT),
			Body: []byte(`{"id":820982911946154508,"email":"jon@example.com","type":"not the event type"}`)},
		Want: Info{Type: "orders/create", DeliveryID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", Source: "shopify"},
	},
	{
		Name:   "shopify Events delivery",
		Source: "shape of shopify.dev/docs/apps/build/events/delivery-structure (topic, action, handle repeated in headers) and verify-deliveries (Shopify-Webhook-Id)",
		Req: Request{Method: "POST", Headers: hs("shopify-topic", "Product", "shopify-action", "update", "shopify-handle", "product-updates",
			"shopify-webhook-id", "0b1c5b8f-7d0a-4c4f-9a53-3c2f9f0d1e11", "shopify-event-id", "a3c1f1f2-5d7a-4b8b-9a9e-1f2e3d4c5b6a",
			"shopify-hmac-sha256", "AAAA", "Content-Type", jsonCT),
			Body: []byte(`{"topic":"Product","action":"update","handle":"product-updates","fields_changed":["title"]}`)},
		Want: Info{Type: "Product/update", DeliveryID: "0b1c5b8f-7d0a-4c4f-9a53-3c2f9f0d1e11", Source: "shopify"},
	},
	{
		Name:   "slack event_callback",
		Source: "docs.slack.dev/apis/events-api (Callback field overview)",
		Req: Request{Method: "POST", Headers: hs("X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature", "v0=00", "Content-Type", jsonCT),
			Body: []byte(`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"name_of_event","event_ts":"1234567890.123456","user":"U123ABC456"},"type":"event_callback","authed_users":["U123ABC456"],"event_id":"Ev123ABC456","event_time":1234567890}`)},
		Want: Info{Type: "name_of_event", DeliveryID: "Ev123ABC456", Attempt: 1, Source: "slack"},
	},
	{
		Name:   "slack retry",
		Source: "docs.slack.dev/apis/events-api (Retries: X-Slack-Retry-Num, X-Slack-Retry-Reason)",
		Req: Request{Method: "POST", Headers: hs("X-Slack-Retry-Num", "2", "X-Slack-Retry-Reason", "http_timeout", "X-Slack-Signature", "v0=00", "Content-Type", jsonCT),
			Body: []byte(`{"type":"event_callback","event_id":"Ev123ABC456","event":{"type":"app_mention","text":"<@U0LAN0Z89> is it everything a river should be?"}}`)},
		Want: Info{Type: "app_mention", DeliveryID: "Ev123ABC456", Attempt: 3, Source: "slack"},
	},
	{
		Name:   "slack url_verification",
		Source: "docs.slack.dev/reference/events/url_verification",
		Req: Request{Method: "POST", Headers: hs("X-Slack-Signature", "v0=00", "Content-Type", jsonCT),
			Body: []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)},
		Want: Info{Type: "url_verification", Attempt: 1, Source: "slack"},
	},
	{
		Name:   "slack slash command",
		Source: "api.slack.com/authentication/verifying-requests-from-slack (worked example body)",
		Req: Request{Method: "POST", Headers: hs("X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", "Content-Type", "application/x-www-form-urlencoded"),
			Body: []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")},
		Want: Info{Type: "slash_command:/webhook-collect", Attempt: 1, Source: "slack"},
	},
	{
		Name:   "slack interactivity",
		Source: "shape of docs.slack.dev/interactivity/handling-user-interaction (payload= form field, block_actions)",
		Req: Request{Method: "POST", Headers: hs("X-Slack-Signature", "v0=00", "Content-Type", "application/x-www-form-urlencoded"),
			Body: []byte("payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U123%22%7D%2C%22actions%22%3A%5B%7B%22type%22%3A%22button%22%7D%5D%7D")},
		Want: Info{Type: "block_actions", Attempt: 1, Source: "slack"},
	},
	{
		Name:   "standard webhooks",
		Source: "github.com/standard-webhooks/standard-webhooks spec/standard-webhooks.md (payload example; data.type must not win)",
		Req: Request{Method: "POST", Headers: hs("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "webhook-timestamp", "1674087231", "webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=", "Content-Type", jsonCT),
			Body: []byte(`{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485","type":"contact","name":"Some Name"}}`)},
		Want: Info{Type: "contact.created", DeliveryID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Source: "standard-webhooks"},
	},
	{
		Name:   "svix",
		Source: "docs.svix.com/idempotency (message payload) and docs.svix.com/receiving/verifying-payloads (svix-id)",
		Req: Request{Method: "POST", Headers: hs("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp", "1614265330", "svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "Content-Type", jsonCT),
			Body: []byte(`{"type":"invoice.paid","id":"invoice_WF7WtCLFFtd8ubcTgboSFNql","status":"paid","attempt":2}`)},
		Want: Info{Type: "invoice.paid", DeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Source: "svix"},
	},
	{
		Name:   "paddle price.created",
		Source: "github.com/PaddleHQ/paddle-go-sdk example_webhook_verifier_test.go",
		Req: Request{Method: "POST", Headers: hs("Paddle-Signature", "ts=1710929255;h1=6c05ef8fa83c44d751be6d259ec955ce5638e2c54095bf128e408e2fce1589c8", "Content-Type", jsonCT),
			Body: []byte(`{"data":{"id":"pri_01hsdn96k2hxjzsq5yerecdj9j","name":null,"status":"active","quantity":{"maximum":999999,"minimum":1},"tax_mode":"account_setting","product_id":"pro_01hsdn8qp7yydry3x1yeg6a9rv","unit_price":{"amount":"1000","currency_code":"USD"},"custom_data":null,"description":"testing","import_meta":null,"trial_period":null,"billing_cycle":{"interval":"month","frequency":1},"unit_price_overrides":[]},"event_id":"evt_01hsdn97563968dy0szkmgjwh3","event_type":"price.created","occurred_at":"2024-03-20T10:07:35.590857Z","notification_id":"ntf_01hsdn977e920kbgzt6r6c9rqc"}`)},
		Want: Info{Type: "price.created", DeliveryID: "evt_01hsdn97563968dy0szkmgjwh3", Source: "paddle"},
	},
	{
		Name:   "gitlab push hook",
		Source: "shape of docs.gitlab.com/user/project/integrations/webhook_events (Push events) and webhooks (Delivery headers: Idempotency-Key, X-Gitlab-Event-UUID)",
		Req: Request{Method: "POST", Headers: hs("X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "secret", "X-Gitlab-Instance", "https://gitlab.com",
			"X-Gitlab-Webhook-UUID", "16b8a8b8-2b6c-4d8f-9c0e-1a2b3c4d5e6f", "X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e",
			"Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", "Content-Type", jsonCT),
			Body: []byte(`{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/master","user_name":"John Smith"}`)},
		Want: Info{Type: "Push Hook", DeliveryID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", Source: "gitlab"},
	},
	{
		Name:   "gitlab without Idempotency-Key (older GitLab)",
		Source: "docs.gitlab.com/user/project/integrations/webhooks (X-Gitlab-Event-UUID)",
		Req: Request{Method: "POST", Headers: hs("X-Gitlab-Event", "Merge Request Hook", "X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e", "Content-Type", jsonCT),
			Body: []byte(`{"object_kind":"merge_request","event_type":"merge_request"}`)},
		Want: Info{Type: "Merge Request Hook", DeliveryID: "13792a34-cac6-4fda-95a8-c58e00a3954e", Source: "gitlab"},
	},
	{
		Name:   "linear issue create",
		Source: "linear.app/developers/webhooks (payload fields; Linear-Delivery and Linear-Event headers)",
		Req: Request{Method: "POST", Headers: hs("Linear-Delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72", "Linear-Event", "Issue", "Linear-Signature", "00", "Content-Type", jsonCT),
			Body: []byte(`{"action":"create","actor":{"id":"2e6eea91-1111-0000-9486-acea0603064d","type":"user","name":"Linear app"},"createdAt":"2020-01-23T12:53:18.084Z","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Fix bug"},"url":"https://linear.app/issue/LIN-1778/foo-bar","type":"Issue","organizationId":"ccb63c9c-2b4b-4bdc-b6b1-ab3a7f8b2a31","webhookTimestamp":1676056940508,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}`)},
		Want: Info{Type: "Issue.create", DeliveryID: "234d1a4e-b617-4388-90fe-adc3633d6b72", Source: "linear"},
	},
	{
		Name:   "zoom meeting.started",
		Source: "github.com/zoom/webhook-sample README (logged headers and payload)",
		Req: Request{Method: "POST", Headers: hs("user-agent", "Zoom Marketplace/1.0a", "content-type", "application/json; charset=utf-8",
			"x-zm-request-timestamp", "1635885799", "x-zm-signature", "v0=00", "x-zm-trackingid", "v=2.0;clid=aw1;rid=1234"),
			Body: []byte(`{"event":"meeting.started","payload":{"account_id":"AAAAAA","object":{"duration":0,"start_time":"2021-11-02T20:43:19Z","timezone":"America/Denver","topic":"My Meeting","id":"85952261234","type":4,"uuid":"qhNS8vSHQ0WfVVTzGnV3Pw==","host_id":"z8yBXksuRN6I8L2ElkNmVQ"}},"event_ts":1635885799302}`)},
		Want: Info{Type: "meeting.started", Source: "zoom"},
	},
	{
		Name:   "twilio message status callback",
		Source: "twilio.com/docs/messaging/guides/track-outbound-message-status (status callback parameters)",
		Req: Request{Method: "POST", Headers: hs("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "I-Twilio-Idempotency-Token", "7f1b2ac2-3b8c-4c1e-9a5c-2f2b0c1d4e5f", "Content-Type", "application/x-www-form-urlencoded"),
			Body: []byte("AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&From=%2B15017122661&MessageSid=SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&MessageStatus=delivered&SmsSid=SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&SmsStatus=delivered&To=%2B15558675310&ApiVersion=2010-04-01")},
		Want: Info{Type: "message.delivered", DeliveryID: "7f1b2ac2-3b8c-4c1e-9a5c-2f2b0c1d4e5f", Source: "twilio"},
	},
	{
		Name:   "twilio voice webhook (GET, parameters in the query)",
		Source: "twilio.com/docs/voice/twiml (request parameters: CallStatus)",
		Req:    Request{Method: "GET", Headers: hs("X-Twilio-Signature", "x"), Query: "CallSid=CA1234567890ABCDE&CallStatus=ringing&From=%2B14158675309&To=%2B18005551212"},
		Want:   Info{Type: "call.ringing", Source: "twilio"},
	},
	{
		Name:   "twilio event streams CloudEvent",
		Source: "shape of twilio.com/docs/events/webhook-quickstart (a JSON array of CloudEvents)",
		Req: Request{Method: "POST", Headers: hs("X-Twilio-Signature", "x", "Content-Type", jsonCT),
			Body: []byte(`[{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/AC00/Messages/SM00.json","id":"EZ2c6d8c8e6a1b4f4b9d7f0e1a2b3c4d5e","dataschema":"https://events-schemas.twilio.com/Messaging.MessageStatus/2","datacontenttype":"application/json","time":"2022-04-11T19:22:12.000Z","data":{"messageStatus":"DELIVERED"}}]`)},
		Want: Info{Type: "com.twilio.messaging.message.delivered", DeliveryID: "EZ2c6d8c8e6a1b4f4b9d7f0e1a2b3c4d5e", Source: "twilio"},
	},
	{
		Name:   "sendgrid event batch",
		Source: "twilio.com/docs/sendgrid/for-developers/tracking-events/event (example event data)",
		Req: Request{Method: "POST", Headers: hs("X-Twilio-Email-Event-Webhook-Signature", "MEUCIQ==", "X-Twilio-Email-Event-Webhook-Timestamp", "1588788367", "Content-Type", jsonCT),
			Body: []byte(`[{"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":"cat facts","sg_event_id":"sg_event_id","sg_message_id":"sg_message_id"},{"email":"example@test.com","timestamp":1513299569,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"deferred","category":"cat facts","sg_event_id":"sg_event_id","sg_message_id":"sg_message_id","response":"400 try again later","attempt":"5"},{"email":"example@test.com","event":"processed","sg_event_id":"sg_event_id_2"}]`)},
		Want: Info{Type: "processed,deferred", Source: "sendgrid"},
	},
	{
		Name:   "sendgrid single event, unsigned",
		Source: "twilio.com/docs/sendgrid/for-developers/tracking-events/event (delivered event)",
		Req: Request{Method: "POST", Headers: hs("Content-Type", jsonCT, "User-Agent", "SendGrid Event API"),
			Body: []byte(`[{"email":"example@test.com","timestamp":1513299569,"event":"delivered","sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000","response":"250 OK"}]`)},
		Want: Info{Type: "delivered", DeliveryID: "rbtnWrG1DVDGGGFHFyun0A==", Source: "sendgrid"},
	},
	{
		Name:   "discord interaction ping",
		Source: "discord.com/developers/docs/interactions/overview (PING, type 1)",
		Req: Request{Method: "POST", Headers: hs("X-Signature-Ed25519", "00", "X-Signature-Timestamp", "1700000000", "Content-Type", jsonCT),
			Body: []byte(`{"app_permissions":"562949953601536","application_id":"1234567890123456789","id":"1234567890987654321","token":"aW50ZXJhY3Rpb246MTIzNDU2","type":1,"user":{"id":"1"},"version":1}`)},
		Want: Info{Type: "PING", DeliveryID: "1234567890987654321", Source: "discord"},
	},
	{
		Name:   "discord slash command",
		Source: "discord.com/developers/docs/interactions/receiving-and-responding (APPLICATION_COMMAND, type 2)",
		Req: Request{Method: "POST", Headers: hs("X-Signature-Ed25519", "00", "Content-Type", jsonCT),
			Body: []byte(`{"type":2,"token":"A_UNIQUE_TOKEN","member":{"user":{"id":"53908232506183680"}},"id":"786008729715212338","guild_id":"290926798626357999","data":{"type":1,"options":[{"type":3,"name":"cardname","value":"The Gitrog Monster"}],"name":"cardsearch","id":"771825006014889984"},"channel_id":"645027906669510667"}`)},
		Want: Info{Type: "APPLICATION_COMMAND", DeliveryID: "786008729715212338", Source: "discord"},
	},
	{
		Name:   "discord webhook event",
		Source: "discord.com/developers/docs/events/webhook-events (APPLICATION_AUTHORIZED example)",
		Req: Request{Method: "POST", Headers: hs("X-Signature-Ed25519", "00", "Content-Type", jsonCT),
			Body: []byte(`{"version":1,"application_id":"1234560123453231555","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"integration_type":1,"scopes":["applications.commands"],"user":{"id":"1"}}}}`)},
		Want: Info{Type: "APPLICATION_AUTHORIZED", Source: "discord"},
	},
	{
		Name:   "generic type and Idempotency-Key",
		Source: "draft-ietf-httpapi-idempotency-key-header; a common {type, data} envelope",
		Req: Request{Method: "POST", Headers: hs("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324", "Content-Type", jsonCT),
			Body: []byte(`{"type":"user.created","timestamp":1749816650724,"data":{"userId":"684c154ab06eb32565e5cbc0"}}`)},
		Want: Info{Type: "user.created", DeliveryID: "8e03978e-40d5-43e8-bc93-6894a57f9324", Source: "generic"},
	},
	{
		Name:   "generic event field",
		Source: "a common {event, event_id} envelope",
		Req:    Request{Method: "POST", Headers: hs("Content-Type", jsonCT), Body: []byte(`{"event":"build.finished","event_id":"e_42","data":{"type":"nested"}}`)},
		Want:   Info{Type: "build.finished", DeliveryID: "e_42", Source: "generic"},
	},
}
