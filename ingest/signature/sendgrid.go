package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// ecKeys is SendGrid's verification key; priv only when the bin's secret is
// a private key (then the setting can also sign test requests).
type ecKeys struct {
	pub  *ecdsa.PublicKey
	priv *ecdsa.PrivateKey
}

// setupSendGrid parses the bin's "secret": the Event Webhook verification
// key as SendGrid shows it (base64 DER SubjectPublicKeyInfo of a P-256 key,
// as sendgrid-go helpers/eventwebhook ConvertPublicKeyBase64ToECDSA
// expects), or PEM. An EC private key (base64 DER or PEM, PKCS#8 or SEC 1)
// is accepted too.
func setupSendGrid(v *Verifier, cfg *schema.SignatureConfig) error {
	der, err := keyBytes(cfg.Secret)
	if err != nil {
		return fmt.Errorf("signature: sendgrid secret must be the base64 (or PEM) ECDSA P-256 verification key: %w", err)
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errors.New("signature: sendgrid verification key is not an ECDSA P-256 public key")
		}
		v.ec.pub = k
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
	v.ec.priv, v.ec.pub = priv, &priv.PublicKey
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

// verifySendGrid follows SendGrid's "Event Webhook Security Features",
// sendgrid-go helpers/eventwebhook VerifySignature and
// @sendgrid/eventwebhook verifySignature: the base64 ASN.1 ECDSA signature
// in X-Twilio-Email-Event-Webhook-Signature covers SHA-256 of
// X-Twilio-Email-Event-Webhook-Timestamp + raw body.
func (v *Verifier) verifySendGrid(in Input) Result {
	const name = "X-Twilio-Email-Event-Webhook-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Twilio-Email-Event-Webhook-Signature header")
	}
	tsStr, signedAt, r, ok := timestampHeader(in.Headers, "X-Twilio-Email-Event-Webhook-Timestamp")
	if !ok {
		return r
	}
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
		if ecdsa.VerifyASN1(v.ec.pub, digest, sig[:n]) {
			return v.validAt(signedAt, in.Now)
		}
	}
	if !wellFormed {
		return withTime(malformed("X-Twilio-Email-Event-Webhook-Signature is not base64"), signedAt)
	}
	return withTime(invalid("ECDSA signature does not verify with the verification key"), signedAt)
}

func (v *Verifier) signSendGrid(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	if v.ec.priv == nil {
		return nil, errors.New("signature: sendgrid signs with the ECDSA P-256 private key; the secret is only the verification (public) key")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	d := sha256.New()
	d.Write([]byte(ts))
	d.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, v.ec.priv, d.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("signature: sendgrid sign: %w", err)
	}
	return []schema.Header{
		header("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig)),
		header("X-Twilio-Email-Event-Webhook-Timestamp", ts),
	}, nil
}
