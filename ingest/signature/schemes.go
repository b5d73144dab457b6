package signature

import (
	"strconv"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// scheme is one provider's entry: how a bin's secret is parsed, how a
// request is verified and signed, and the replay window.
type scheme struct {
	policy policy
	// setup parses what the scheme needs beyond an HMAC-SHA256 key made of
	// the secret's bytes (the default); nil when nothing else is needed.
	setup    func(v *Verifier, cfg *schema.SignatureConfig) error
	verify   func(v *Verifier, in Input) Result
	sign     func(v *Verifier, body []byte, url string, now time.Time) ([]schema.Header, error)
	needsURL bool // the signature covers Input.URL
}

// policy is a scheme's replay window: whether it signs a timestamp, the
// default tolerance and whether a timestamp in the future is rejected too.
// Each default follows the provider's official library (README.md names the
// source); a bin's `tolerance` overrides it.
type policy struct {
	timed  bool          // the scheme carries a signed timestamp
	def    time.Duration // 0: no window unless the bin sets one
	future bool          // also reject timestamps more than the tolerance ahead
}

// schemes is the table of every supported scheme. The verify and sign
// functions live in one file per provider.
var schemes = map[string]*scheme{
	// standard-webhooks (npm standardwebhooks, libraries/go/webhook.go):
	// 5 minutes either way ("Message timestamp too old" / "too new").
	SchemeStandardWebhooks: {policy: policy{true, 5 * time.Minute, true}, setup: setupWhsec, verify: (*Verifier).verifyStandardWebhooks, sign: (*Verifier).signStandardWebhooks},
	// svix (npm svix delegates to standardwebhooks): 5 minutes either way.
	SchemeSvix: {policy: policy{true, 5 * time.Minute, true}, setup: setupWhsec, verify: (*Verifier).verifySvix, sign: (*Verifier).signSvix},
	// stripe-node Webhooks.js (DEFAULT_TOLERANCE = 300) and stripe-go: only
	// an age above the tolerance is rejected; a future t is accepted.
	SchemeStripe: {policy: policy{true, 300 * time.Second, false}, verify: (*Verifier).verifyStripe, sign: (*Verifier).signStripe},
	// @slack/bolt receivers/verify-request.ts: rejects a timestamp more than
	// 5 minutes old and nothing else (Slack's docs page computes
	// abs(now - timestamp); the official library does not reject the future).
	SchemeSlack: {policy: policy{true, 5 * time.Minute, false}, verify: (*Verifier).verifySlack, sign: (*Verifier).signSlack},
	// paddle-node-sdk webhooks-validator.ts: MAX_VALID_TIME_DIFFERENCE = 5 (s),
	// rejects only now > ts + 5s.
	SchemePaddle: {policy: policy{true, 5 * time.Second, false}, verify: (*Verifier).verifyPaddle, sign: (*Verifier).signPaddle},
	// @zoom/rivet (CommonHttpRequest.isEventVerified) and Zoom's "Verify
	// webhook events" check no window: none unless the bin sets one.
	SchemeZoom: {policy: policy{true, 0, true}, verify: (*Verifier).verifyZoom, sign: (*Verifier).signZoom},
	// @linear/sdk webhooks/client.ts verify: |now - webhookTimestamp| > 60 s
	// is rejected (webhookTimestamp, in ms, is a field of the signed body).
	SchemeLinear: {policy: policy{true, time.Minute, true}, verify: (*Verifier).verifyLinear, sign: (*Verifier).signLinear},
	// discord-interactions verifyKey and @sendgrid/eventwebhook
	// verifySignature sign a timestamp but check no window.
	SchemeDiscord:  {policy: policy{true, 0, true}, setup: setupDiscord, verify: (*Verifier).verifyDiscord, sign: (*Verifier).signDiscord},
	SchemeSendGrid: {policy: policy{true, 0, true}, setup: setupSendGrid, verify: (*Verifier).verifySendGrid, sign: (*Verifier).signSendGrid},

	SchemeGitHub:  {verify: (*Verifier).verifyGitHub, sign: (*Verifier).signGitHub},
	SchemeShopify: {verify: (*Verifier).verifyShopify, sign: (*Verifier).signShopify},
	SchemeTwilio:  {setup: setupTwilio, verify: (*Verifier).verifyTwilio, sign: (*Verifier).signTwilio, needsURL: true},
	SchemeGitLab:  {verify: (*Verifier).verifyGitLab, sign: (*Verifier).signGitLab},
	SchemeHMAC:    {setup: setupHMAC, verify: (*Verifier).verifyHMAC, sign: (*Verifier).signHMAC},
}

// checkWindow applies the replay window. It returns "" when ts is acceptable.
func (v *Verifier) checkWindow(ts, now time.Time) string {
	if !v.checkTime || now.IsZero() {
		return ""
	}
	if age := now.Sub(ts); age > v.tol {
		return "timestamp " + beyond(age, v.tol) + " older than tolerance " + beyond(v.tol, 0)
	}
	if lead := ts.Sub(now); v.s.policy.future && lead > v.tol {
		return "timestamp " + beyond(lead, v.tol) + " in the future beyond tolerance " + beyond(v.tol, 0)
	}
	return ""
}

// beyond renders d (> tol) in whole seconds, rounded down, unless that would
// not exceed tol ("300s older than tolerance 300s"); then to the millisecond.
func beyond(d, tol time.Duration) string {
	if s := d.Truncate(time.Second); s > tol || d%time.Second == 0 {
		return strconv.FormatInt(int64(s/time.Second), 10) + "s"
	}
	return strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', -1, 64) + "s"
}
