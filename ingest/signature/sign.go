package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Sign returns the headers a provider would send with body to url at now, so
// that Verify answers "valid" for the same cfg (for `hookscope send` and for
// checking one's own receivers). url matters only for twilio. For twilio
// without a bodySHA256 query parameter the body is signed as form parameters
// and a Content-Type: application/x-www-form-urlencoded header is included.
// Discord and SendGrid sign with a private key: their cfg.Secret must then be
// the private key (Verify accepts it as well and checks with its public half).
func Sign(cfg *schema.SignatureConfig, body []byte, url string, now time.Time) ([]schema.Header, error) {
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if v.scheme == "" {
		return nil, errors.New("signature: no scheme to sign with")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h := func(name, value string) schema.Header { return schema.Header{Name: name, Value: value} }
	var buf [64]byte
	switch v.scheme {
	case SchemeStandardWebhooks, SchemeSvix:
		prefix := "webhook-"
		if v.scheme == SchemeSvix {
			prefix = "svix-"
		}
		id := "msg_" + strconv.FormatInt(now.UnixNano(), 36)
		mac := v.sum(buf[:], bs(id), dot, bs(ts), dot, body)
		return []schema.Header{
			h(prefix+"id", id),
			h(prefix+"timestamp", ts),
			h(prefix+"signature", "v1,"+base64.StdEncoding.EncodeToString(mac)),
		}, nil
	case SchemeStripe:
		mac := v.sum(buf[:], bs(ts), dot, body)
		return []schema.Header{h("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac))}, nil
	case SchemeGitHub:
		mac := v.sum(buf[:], body)
		m1 := hmac.New(sha1.New, v.key)
		m1.Write(body)
		// GitHub sends both headers.
		return []schema.Header{
			h("X-Hub-Signature", "sha1="+hex.EncodeToString(m1.Sum(nil))),
			h("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac)),
		}, nil
	case SchemeSlack, SchemeZoom:
		mac := v.sum(buf[:], v0, bs(ts), colon, body)
		if v.scheme == SchemeSlack {
			return []schema.Header{h("X-Slack-Request-Timestamp", ts), h("X-Slack-Signature", "v0="+hex.EncodeToString(mac))}, nil
		}
		return []schema.Header{h("x-zm-request-timestamp", ts), h("x-zm-signature", "v0="+hex.EncodeToString(mac))}, nil
	case SchemeShopify:
		return []schema.Header{h("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(v.sum(buf[:], body)))}, nil
	case SchemeTwilio:
		sig, form, err := v.signTwilio(body, url)
		if err != nil {
			return nil, fmt.Errorf("signature: %w", err)
		}
		out := []schema.Header{h("X-Twilio-Signature", sig)}
		if form {
			out = append(out, h("Content-Type", "application/x-www-form-urlencoded"))
		}
		return out, nil
	case SchemePaddle:
		mac := v.sum(buf[:], bs(ts), colon, body)
		return []schema.Header{h("Paddle-Signature", "ts="+ts+";h1="+hex.EncodeToString(mac))}, nil
	case SchemeLinear:
		return []schema.Header{h("Linear-Signature", hex.EncodeToString(v.sum(buf[:], body)))}, nil
	case SchemeGitLab:
		return []schema.Header{h("X-Gitlab-Token", v.secret)}, nil
	case SchemeHMAC:
		mac := v.sum(buf[:], body)
		enc := hex.EncodeToString(mac)
		if v.b64 {
			enc = base64.StdEncoding.EncodeToString(mac)
		}
		return []schema.Header{h(v.header, v.prefix+enc)}, nil
	case SchemeDiscord:
		if v.edKey == nil {
			return nil, errors.New("signature: discord signs with the Ed25519 private key (128 hex digits); the secret is only a public key")
		}
		msg := append([]byte(ts), body...)
		return []schema.Header{
			h("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(v.edKey, msg))),
			h("X-Signature-Timestamp", ts),
		}, nil
	case SchemeSendGrid:
		if v.ecKey == nil {
			return nil, errors.New("signature: sendgrid signs with the ECDSA P-256 private key; the secret is only the verification (public) key")
		}
		d := sha256.New()
		d.Write([]byte(ts))
		d.Write(body)
		sig, err := ecdsa.SignASN1(rand.Reader, v.ecKey, d.Sum(nil))
		if err != nil {
			return nil, fmt.Errorf("signature: sendgrid sign: %w", err)
		}
		return []schema.Header{
			h("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig)),
			h("X-Twilio-Email-Event-Webhook-Timestamp", ts),
		}, nil
	}
	return nil, fmt.Errorf("signature: cannot sign scheme %s", v.scheme)
}
