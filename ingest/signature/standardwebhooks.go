package signature

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Standard Webhooks (github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md and libraries/go/webhook.go) and Svix, which
// uses the same construction under svix-* header names.

// setupWhsec decodes a Standard Webhooks / Svix secret: base64 of the key,
// optionally prefixed "whsec_" (standard-webhooks libraries/go/webhook.go
// NewWebhook: base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))).
func setupWhsec(v *Verifier, cfg *schema.SignatureConfig) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(cfg.Secret, "whsec_"))
	if err == nil && len(key) == 0 {
		err = errors.New("empty key")
	}
	if err != nil {
		return fmt.Errorf("signature: %s secret must be base64, optionally prefixed whsec_: %w", cfg.Scheme, err)
	}
	v.mac = newMAC(sha256New, key)
	return nil
}

func (v *Verifier) verifyStandardWebhooks(in Input) Result {
	return v.verifyStandard(in, "webhook-id", "webhook-timestamp", "webhook-signature")
}

// verifySvix reads svix-id/svix-timestamp/svix-signature and, like the Svix
// libraries (svix-webhooks go/webhook.go Verify), falls back to the
// webhook-* names when the svix-* ones are absent.
func (v *Verifier) verifySvix(in Input) Result {
	if nextHeader(in.Headers, "svix-signature", 0) < 0 && nextHeader(in.Headers, "webhook-signature", 0) >= 0 {
		return v.verifyStandard(in, "webhook-id", "webhook-timestamp", "webhook-signature")
	}
	return v.verifyStandard(in, "svix-id", "svix-timestamp", "svix-signature")
}

// verifyStandard checks HMAC-SHA256 with the base64-decoded secret over
// "{id}.{timestamp}.{body}", base64; the signature header holds
// space-separated "v1,<base64>" entries (several during a key rotation;
// other versions are ignored).
func (v *Verifier) verifyStandard(in Input, idH, tsH, sigH string) Result {
	i := nextHeader(in.Headers, sigH, 0)
	if i < 0 {
		return missing("no " + sigH + " header")
	}
	id, r, ok := single(in.Headers, idH)
	if !ok {
		return r
	}
	tsStr, signedAt, r, ok := timestampHeader(in.Headers, tsH)
	if !ok {
		return r
	}

	var buf [64]byte
	mac := v.sum(buf[:], bs(id), dot, bs(tsStr), dot, in.Body)
	var enc [64]byte
	n := base64.StdEncoding.EncodedLen(len(mac))
	base64.StdEncoding.Encode(enc[:n], mac)
	want := enc[:n]

	matched, sawV1 := false, false
	for ; i >= 0; i = nextHeader(in.Headers, sigH, i+1) {
		s := in.Headers[i].Value
		for s != "" {
			var entry string
			entry, s, _ = strings.Cut(s, " ")
			version, sig, found := strings.Cut(entry, ",")
			if !found || version != "v1" {
				continue
			}
			sawV1 = true
			if hmac.Equal(bs(sig), want) {
				matched = true
			}
		}
	}
	if !sawV1 {
		return withTime(malformed("%s has no \"v1,<base64>\" entry", sigH), signedAt)
	}
	if !matched {
		return withTime(invalid("no v1 signature matched"), signedAt)
	}
	return v.validAt(signedAt, in.Now)
}

func (v *Verifier) signStandardWebhooks(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return v.signStandard("webhook-", body, now), nil
}

func (v *Verifier) signSvix(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return v.signStandard("svix-", body, now), nil
}

func (v *Verifier) signStandard(prefix string, body []byte, now time.Time) []schema.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	id := "msg_" + strconv.FormatInt(now.UnixNano(), 36)
	var buf [64]byte
	mac := v.sum(buf[:], bs(id), dot, bs(ts), dot, body)
	return []schema.Header{
		header(prefix+"id", id),
		header(prefix+"timestamp", ts),
		header(prefix+"signature", "v1,"+base64.StdEncoding.EncodeToString(mac)),
	}
}
