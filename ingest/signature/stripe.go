package signature

import (
	"time"

	"github.com/hookscope/hookscope/schema"
)

// stripe follows stripe-go webhook/client.go and stripe-node Webhooks.js:
// Stripe-Signature is "t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]"; the MAC is
// hex HMAC-SHA256 over "{t}.{body}" with the whsec_ secret used as-is;
// several v1 entries appear while a secret is rolled; undecodable v1 values
// and unknown keys are ignored.
var stripe = tsigFormat{
	header: "Stripe-Signature", sep: ',', tsKey: "t", sigKey: "v1", join: dot,
	strict: true, noSig: "no v1 signature in Stripe-Signature header",
}

func (v *Verifier) verifyStripe(in Input) Result { return stripe.verify(v, in) }

func (v *Verifier) signStripe(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return stripe.sign(v, body, now), nil
}
