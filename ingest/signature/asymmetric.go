package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// --- Discord (Ed25519) ------------------------------------------------------------

// discordKey parses the bin's "secret": the application's public key as shown
// in the Discord developer portal (64 hex digits). A 128-hex-digit Ed25519
// private key (seed || public key, Go's ed25519.PrivateKey) is accepted too,
// so that the same setting can also sign test requests.
func (v *Verifier) discordKey(secret string) error {
	b, err := hex.DecodeString(strings.TrimSpace(secret))
	switch {
	case err == nil && len(b) == ed25519.PublicKeySize:
		v.edPub = ed25519.PublicKey(b)
	case err == nil && len(b) == ed25519.PrivateKeySize:
		v.edKey = ed25519.PrivateKey(b)
		v.edPub = v.edKey.Public().(ed25519.PublicKey)
	default:
		return errors.New("signature: discord secret must be the application's Ed25519 public key (64 hex digits) or a private key (128 hex digits)")
	}
	return nil
}

// verifyDiscord follows discord.com/developers/docs/interactions/overview
// ("Setting Up an Endpoint: Validating Security Request Headers"):
// X-Signature-Ed25519 is the hex Ed25519 signature of
// X-Signature-Timestamp + raw body, checked with the application's public key.
func (v *Verifier) verifyDiscord(in *Input) Result {
	const name = "X-Signature-Ed25519"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Signature-Ed25519 header")
	}
	tsStr, r, ok := single(in.Headers, "X-Signature-Timestamp")
	if !ok {
		return r
	}
	ts, ok := parseUnix(tsStr)
	if !ok {
		return malformed("X-Signature-Timestamp %s is not a Unix timestamp", clip(tsStr))
	}
	signedAt := time.Unix(ts, 0)
	msg := make([]byte, 0, len(tsStr)+len(in.Body))
	msg = append(append(msg, tsStr...), in.Body...)
	var sig [ed25519.SignatureSize]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		if !decodeHex(sig[:], trimSpace(in.Headers[i].Value), ed25519.SignatureSize) {
			continue
		}
		wellFormed = true
		if ed25519.Verify(v.edPub, msg, sig[:]) {
			if reason := v.checkWindow(signedAt, in.Now); reason != "" {
				return withTime(invalid(reason), signedAt)
			}
			return withTime(valid(), signedAt)
		}
	}
	if !wellFormed {
		return withTime(malformed("X-Signature-Ed25519 is not 128 hex digits"), signedAt)
	}
	return withTime(invalid("Ed25519 signature does not verify with the public key"), signedAt)
}

// --- SendGrid (ECDSA P-256) -----------------------------------------------------------

// sendgridKey parses the bin's "secret": the Event Webhook verification key
// as SendGrid shows it (base64 DER SubjectPublicKeyInfo of a P-256 key, as
// sendgrid-go helpers/eventwebhook ConvertPublicKeyBase64ToECDSA expects), or
// PEM. An EC private key (base64 DER or PEM, PKCS#8 or SEC 1) is accepted too
// so that the same setting can sign test requests.
func (v *Verifier) sendgridKey(secret string) error {
	der, err := keyBytes(secret)
	if err != nil {
		return fmt.Errorf("signature: sendgrid secret must be the base64 (or PEM) ECDSA P-256 verification key: %w", err)
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errors.New("signature: sendgrid verification key is not an ECDSA P-256 public key")
		}
		v.ecPub = k
		return nil
	}
	var priv *ecdsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		priv, _ = k.(*ecdsa.PrivateKey)
	} else if k, err := x509.ParseECPrivateKey(der); err == nil {
		priv = k
	}
	if priv == nil || priv.Curve != elliptic.P256() {
		return errors.New("signature: sendgrid secret is neither an ECDSA P-256 public key nor a P-256 private key")
	}
	v.ecKey, v.ecPub = priv, &priv.PublicKey
	return nil
}

func keyBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			return nil, errors.New("bad PEM block")
		}
		return b.Bytes, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// verifySendGrid follows SendGrid's "Event Webhook Security Features" and
// sendgrid-go helpers/eventwebhook VerifySignature: the base64 ASN.1 ECDSA
// signature in X-Twilio-Email-Event-Webhook-Signature covers SHA-256 of
// X-Twilio-Email-Event-Webhook-Timestamp + raw body.
func (v *Verifier) verifySendGrid(in *Input) Result {
	const name = "X-Twilio-Email-Event-Webhook-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Twilio-Email-Event-Webhook-Signature header")
	}
	tsStr, r, ok := single(in.Headers, "X-Twilio-Email-Event-Webhook-Timestamp")
	if !ok {
		return r
	}
	ts, ok := parseUnix(tsStr)
	if !ok {
		return malformed("X-Twilio-Email-Event-Webhook-Timestamp %s is not a Unix timestamp", clip(tsStr))
	}
	signedAt := time.Unix(ts, 0)
	h := sha256.New()
	h.Write(bs(tsStr))
	h.Write(in.Body)
	var sum [32]byte
	digest := h.Sum(sum[:0])
	var sig [80]byte // a DER P-256 signature is at most 72 bytes
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if base64.StdEncoding.DecodedLen(len(val)) > len(sig) {
			continue
		}
		n, err := base64.StdEncoding.Decode(sig[:], bs(val))
		if err != nil {
			continue
		}
		wellFormed = true
		if ecdsa.VerifyASN1(v.ecPub, digest, sig[:n]) {
			if reason := v.checkWindow(signedAt, in.Now); reason != "" {
				return withTime(invalid(reason), signedAt)
			}
			return withTime(valid(), signedAt)
		}
	}
	if !wellFormed {
		return withTime(malformed("X-Twilio-Email-Event-Webhook-Signature is not base64"), signedAt)
	}
	return withTime(invalid("ECDSA signature does not verify with the verification key"), signedAt)
}
