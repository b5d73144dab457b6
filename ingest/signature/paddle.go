package signature

import (
	"time"

	"github.com/hookscope/hookscope/schema"
)

// paddle follows developer.paddle.com "Verify webhook signatures" and the
// official SDKs (paddle-go-sdk webhook_verifier.go, paddle-node-sdk
// webhooks-validator.ts): Paddle-Signature is "ts=<unix>;h1=<hex>" (several
// h1 while a secret is rotated), h1 = hex HMAC-SHA256 of "{ts}:{body}".
var paddle = tsigFormat{
	header: "Paddle-Signature", sep: ';', tsKey: "ts", sigKey: "h1", join: colon,
	noSig: "malformed header: Paddle-Signature has no h1= signature",
}

func (v *Verifier) verifyPaddle(in Input) Result { return paddle.verify(v, in) }

func (v *Verifier) signPaddle(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return paddle.sign(v, body, now), nil
}
