package signature

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// edKeys is Discord's application key pair; priv only when the bin's secret
// is a private key (then the setting can also sign test requests).
type edKeys struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

// setupDiscord parses the bin's "secret": the application's public key as
// shown in the Discord developer portal (64 hex digits). A 128-hex-digit
// Ed25519 private key (seed || public key, Go's ed25519.PrivateKey) is
// accepted too.
func setupDiscord(v *Verifier, cfg *schema.SignatureConfig) error {
	b, err := hex.DecodeString(strings.TrimSpace(cfg.Secret))
	switch {
	case err == nil && len(b) == ed25519.PublicKeySize:
		v.ed.pub = ed25519.PublicKey(b)
	case err == nil && len(b) == ed25519.PrivateKeySize:
		v.ed.priv = ed25519.PrivateKey(b)
		v.ed.pub = v.ed.priv.Public().(ed25519.PublicKey)
	default:
		return errors.New("signature: discord secret must be the application's Ed25519 public key (64 hex digits) or a private key (128 hex digits)")
	}
	return nil
}

// verifyDiscord follows discord.com/developers/docs/interactions/overview
// ("Setting Up an Endpoint: Validating Security Request Headers") and
// discord-interactions verifyKey: X-Signature-Ed25519 is the hex Ed25519
// signature of X-Signature-Timestamp + raw body, checked with the
// application's public key.
func (v *Verifier) verifyDiscord(in Input) Result {
	const name = "X-Signature-Ed25519"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Signature-Ed25519 header")
	}
	tsStr, signedAt, r, ok := timestampHeader(in.Headers, "X-Signature-Timestamp")
	if !ok {
		return r
	}
	msg := make([]byte, 0, len(tsStr)+len(in.Body))
	msg = append(append(msg, tsStr...), in.Body...)
	var sig [ed25519.SignatureSize]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		if !decodeHex(sig[:], trimSpace(in.Headers[i].Value), ed25519.SignatureSize) {
			continue
		}
		wellFormed = true
		if ed25519.Verify(v.ed.pub, msg, sig[:]) {
			return v.validAt(signedAt, in.Now)
		}
	}
	if !wellFormed {
		return withTime(malformed("X-Signature-Ed25519 is not 128 hex digits"), signedAt)
	}
	return withTime(invalid("Ed25519 signature does not verify with the public key"), signedAt)
}

func (v *Verifier) signDiscord(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	if v.ed.priv == nil {
		return nil, errors.New("signature: discord signs with the Ed25519 private key (128 hex digits); the secret is only a public key")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	msg := append([]byte(ts), body...)
	return []schema.Header{
		header("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(v.ed.priv, msg))),
		header("X-Signature-Timestamp", ts),
	}, nil
}
