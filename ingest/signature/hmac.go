package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

var (
	dot   = []byte(".")
	colon = []byte(":")
	v0    = []byte("v0:")
)

// decodeHex decodes exactly n bytes of hex from s into dst (len(dst) >= n).
func decodeHex(dst []byte, s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	_, err := hex.Decode(dst[:n], bs(s))
	return err == nil
}

// --- Standard Webhooks and Svix ----------------------------------------------

// verifyStandard implements the Standard Webhooks spec
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md and
// libraries/go/webhook.go): HMAC-SHA256 with the base64-decoded secret over
// "{id}.{timestamp}.{body}", base64; webhook-signature holds space-separated
// "v1,<base64>" entries (several during a key rotation; others are ignored).
func (v *Verifier) verifyStandard(in *Input, idH, tsH, sigH string) Result {
	i := nextHeader(in.Headers, sigH, 0)
	if i < 0 {
		return missing("no " + sigH + " header")
	}
	id, r, ok := single(in.Headers, idH)
	if !ok {
		return r
	}
	tsStr, r, ok := single(in.Headers, tsH)
	if !ok {
		return r
	}
	ts, ok := parseUnix(tsStr)
	if !ok {
		return malformed("%s %s is not a Unix timestamp", tsH, clip(tsStr))
	}
	signedAt := time.Unix(ts, 0)

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
	if reason := v.checkWindow(signedAt, in.Now); reason != "" {
		return withTime(invalid(reason), signedAt)
	}
	return withTime(valid(), signedAt)
}

// verifySvix reads svix-id/svix-timestamp/svix-signature and, like the Svix
// libraries (svix-webhooks go/webhook.go Verify), falls back to the
// webhook-* names when the svix-* ones are absent.
func (v *Verifier) verifySvix(in *Input) Result {
	if nextHeader(in.Headers, "svix-signature", 0) < 0 && nextHeader(in.Headers, "webhook-signature", 0) >= 0 {
		return v.verifyStandard(in, "webhook-id", "webhook-timestamp", "webhook-signature")
	}
	return v.verifyStandard(in, "svix-id", "svix-timestamp", "svix-signature")
}

// --- Stripe --------------------------------------------------------------------

// verifyStripe follows stripe-go webhook/client.go: Stripe-Signature is
// "t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]", each element exactly key=value;
// the MAC is hex HMAC-SHA256 over "{t}.{body}" with the whsec_ secret used
// as-is; several v1 entries appear while a secret is rolled; undecodable
// v1 values and unknown keys are ignored.
func (v *Verifier) verifyStripe(in *Input) Result {
	const name = "Stripe-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no Stripe-Signature header")
	}
	var fail Result
	for k := 0; i >= 0; i, k = nextHeader(in.Headers, name, i+1), k+1 {
		r := v.stripeOne(in.Headers[i].Value, in)
		if r.Signature.Status == schema.SigValid {
			return r
		}
		if k == 0 {
			fail = r
		}
	}
	return fail
}

func (v *Verifier) stripeOne(h string, in *Input) Result {
	var tStr string
	haveT, nV1 := false, 0
	for s := h; ; {
		var el string
		var more bool
		el, s, more = strings.Cut(s, ",")
		el = trimSpace(el)
		k, val, ok := strings.Cut(el, "=")
		if !ok || strings.IndexByte(val, '=') >= 0 {
			return malformed("Stripe-Signature element %s is not key=value", clip(el))
		}
		switch k {
		case "t":
			if _, ok := parseUnix(val); !ok {
				return malformed("Stripe-Signature t=%s is not a Unix timestamp", clip(val))
			}
			tStr, haveT = val, true
		case "v1":
			nV1++
		}
		if !more {
			break
		}
	}
	if !haveT {
		return malformed("Stripe-Signature has no t= timestamp")
	}
	ts, _ := parseUnix(tStr)
	signedAt := time.Unix(ts, 0)
	if nV1 == 0 {
		return withTime(invalid("no v1 signature in Stripe-Signature header"), signedAt)
	}
	var buf [32]byte
	mac := v.sum(buf[:], bs(tStr), dot, in.Body)
	matched := false
	var got [32]byte
	for s := h; s != ""; {
		var el string
		el, s, _ = strings.Cut(s, ",")
		k, val, _ := strings.Cut(trimSpace(el), "=")
		if k == "v1" && decodeHex(got[:], val, 32) && hmac.Equal(got[:], mac) {
			matched = true
		}
	}
	if !matched {
		return withTime(invalid("no v1 signature matched"), signedAt)
	}
	if reason := v.checkWindow(signedAt, in.Now); reason != "" {
		return withTime(invalid(reason), signedAt)
	}
	return withTime(valid(), signedAt)
}

// --- GitHub ----------------------------------------------------------------------

// verifyGitHub follows docs.github.com "Validating webhook deliveries":
// X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>; the legacy
// X-Hub-Signature: sha1=<hex HMAC-SHA1> is checked only when the SHA-256
// header is absent (as google/go-github github/messages.go prefers it).
func (v *Verifier) verifyGitHub(in *Input) Result {
	name, prefix, size := "X-Hub-Signature-256", "sha256=", 32
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		name, prefix, size = "X-Hub-Signature", "sha1=", 20
		if i = nextHeader(in.Headers, name, 0); i < 0 {
			return missing("no X-Hub-Signature-256 or X-Hub-Signature header")
		}
	}
	var buf [32]byte
	var mac []byte
	if size == 32 {
		mac = v.sum(buf[:], in.Body)
	} else {
		m := hmac.New(sha1.New, v.key) // legacy header only: not pooled
		m.Write(in.Body)
		mac = m.Sum(nil)
	}
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) < len(prefix) || !strings.EqualFold(val[:len(prefix)], prefix) || !decodeHex(got[:], val[len(prefix):], size) {
			continue
		}
		wellFormed = true
		if hmac.Equal(got[:size], mac) {
			return valid()
		}
	}
	if !wellFormed {
		return malformed("%s is not %s<%d hex digits>", name, prefix, 2*size)
	}
	return invalid(prefix[:len(prefix)-1] + " signature does not match")
}

// --- Slack and Zoom ----------------------------------------------------------------

// verifyV0 implements the "v0" scheme shared by Slack ("Verifying requests
// from Slack": X-Slack-Signature = "v0=" + hex HMAC-SHA256 of
// "v0:{X-Slack-Request-Timestamp}:{body}") and Zoom ("Verify webhook events":
// x-zm-signature = "v0=" + hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{body}").
func (v *Verifier) verifyV0(in *Input, sigH, tsH string) Result {
	i := nextHeader(in.Headers, sigH, 0)
	if i < 0 {
		return missing("no " + sigH + " header")
	}
	tsStr, r, ok := single(in.Headers, tsH)
	if !ok {
		return r
	}
	ts, ok := parseUnix(tsStr)
	if !ok {
		return malformed("%s %s is not a Unix timestamp", tsH, clip(tsStr))
	}
	signedAt := time.Unix(ts, 0)
	var buf [32]byte
	mac := v.sum(buf[:], v0, bs(tsStr), colon, in.Body)
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, sigH, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if !strings.HasPrefix(val, "v0=") || !decodeHex(got[:], val[3:], 32) {
			continue
		}
		wellFormed = true
		if hmac.Equal(got[:], mac) {
			if reason := v.checkWindow(signedAt, in.Now); reason != "" {
				return withTime(invalid(reason), signedAt)
			}
			return withTime(valid(), signedAt)
		}
	}
	if !wellFormed {
		return withTime(malformed("%s is not v0=<64 hex digits>", sigH), signedAt)
	}
	return withTime(invalid("v0 signature does not match"), signedAt)
}

// --- Shopify ------------------------------------------------------------------------

// verifyShopify follows shopify.dev "Verify webhooks": X-Shopify-Hmac-Sha256
// is the base64 HMAC-SHA256 of the raw body with the app's client secret.
func (v *Verifier) verifyShopify(in *Input) Result {
	const name = "X-Shopify-Hmac-Sha256"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Shopify-Hmac-Sha256 header")
	}
	var buf [32]byte
	mac := v.sum(buf[:], in.Body)
	var got [48]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) != 44 {
			continue
		}
		n, err := base64.StdEncoding.Decode(got[:], bs(val))
		if err != nil || n != 32 {
			continue
		}
		wellFormed = true
		if hmac.Equal(got[:32], mac) {
			return valid()
		}
	}
	if !wellFormed {
		return malformed("X-Shopify-Hmac-Sha256 is not a base64 SHA-256 HMAC")
	}
	return invalid("signature does not match")
}

// --- Paddle -------------------------------------------------------------------------

// verifyPaddle follows developer.paddle.com "Verify webhook signatures" and
// the official SDKs (paddle-go-sdk webhook_verifier.go, paddle-node-sdk
// webhooks-validator.ts): Paddle-Signature is "ts=<unix>;h1=<hex>" (several
// h1 while a secret is rotated), h1 = hex HMAC-SHA256 of "{ts}:{body}".
func (v *Verifier) verifyPaddle(in *Input) Result {
	const name = "Paddle-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no Paddle-Signature header")
	}
	var fail Result
	for k := 0; i >= 0; i, k = nextHeader(in.Headers, name, i+1), k+1 {
		r := v.paddleOne(in.Headers[i].Value, in)
		if r.Signature.Status == schema.SigValid {
			return r
		}
		if k == 0 {
			fail = r
		}
	}
	return fail
}

func (v *Verifier) paddleOne(h string, in *Input) Result {
	var tsStr string
	haveTS, nH1 := false, 0
	for s := h; s != ""; {
		var el string
		el, s, _ = strings.Cut(s, ";")
		el = trimSpace(el)
		if el == "" {
			continue
		}
		k, val, ok := strings.Cut(el, "=")
		if !ok {
			return malformed("Paddle-Signature element %s is not key=value", clip(el))
		}
		switch k {
		case "ts":
			if _, ok := parseUnix(val); !ok {
				return malformed("Paddle-Signature ts=%s is not a Unix timestamp", clip(val))
			}
			tsStr, haveTS = val, true
		case "h1":
			nH1++
		}
	}
	if !haveTS {
		return malformed("Paddle-Signature has no ts= timestamp")
	}
	ts, _ := parseUnix(tsStr)
	signedAt := time.Unix(ts, 0)
	if nH1 == 0 {
		return withTime(malformed("Paddle-Signature has no h1= signature"), signedAt)
	}
	var buf [32]byte
	mac := v.sum(buf[:], bs(tsStr), colon, in.Body)
	var got [32]byte
	for s := h; s != ""; {
		var el string
		el, s, _ = strings.Cut(s, ";")
		k, val, _ := strings.Cut(trimSpace(el), "=")
		if k == "h1" && decodeHex(got[:], val, 32) && hmac.Equal(got[:], mac) {
			if reason := v.checkWindow(signedAt, in.Now); reason != "" {
				return withTime(invalid(reason), signedAt)
			}
			return withTime(valid(), signedAt)
		}
	}
	return withTime(invalid("no h1 signature matched"), signedAt)
}

// --- Linear ---------------------------------------------------------------------------

var webhookTimestampKey = []byte(`"webhookTimestamp"`)

// verifyLinear follows linear.app/developers/webhooks and @linear/sdk
// LinearWebhooks.verify: Linear-Signature is the hex HMAC-SHA256 of the raw
// body; the body's "webhookTimestamp" (Unix ms) must be within a minute of now.
func (v *Verifier) verifyLinear(in *Input) Result {
	const name = "Linear-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no Linear-Signature header")
	}
	var signedAt time.Time
	if ms, ok := jsonTimestamp(in.Body); ok {
		signedAt = time.UnixMilli(ms)
	}
	var buf [32]byte
	mac := v.sum(buf[:], in.Body)
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		if !decodeHex(got[:], trimSpace(in.Headers[i].Value), 32) {
			continue
		}
		wellFormed = true
		if hmac.Equal(got[:], mac) {
			if !signedAt.IsZero() {
				if reason := v.checkWindow(signedAt, in.Now); reason != "" {
					return withTime(invalid(reason), signedAt)
				}
			}
			return withTime(valid(), signedAt)
		}
	}
	if !wellFormed {
		return withTime(malformed("Linear-Signature is not 64 hex digits"), signedAt)
	}
	return withTime(invalid("signature does not match"), signedAt)
}

// jsonTimestamp finds `"webhookTimestamp": <digits>` in a JSON body without
// decoding it.
func jsonTimestamp(body []byte) (int64, bool) {
	i := bytes.Index(body, webhookTimestampKey)
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(webhookTimestampKey):]
	j := 0
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
		j++
	}
	if j >= len(rest) || rest[j] != ':' {
		return 0, false
	}
	j++
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n' || rest[j] == '\r') {
		j++
	}
	k := j
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	return parseUnix(string(rest[j:k]))
}

// --- GitLab ---------------------------------------------------------------------------

// verifyGitLab follows docs.gitlab.com "Webhooks" (secret token): GitLab
// sends the configured token verbatim in X-Gitlab-Token; there is no MAC.
func (v *Verifier) verifyGitLab(in *Input) Result {
	const name = "X-Gitlab-Token"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Gitlab-Token header")
	}
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		if subtle.ConstantTimeCompare(bs(in.Headers[i].Value), bs(v.secret)) == 1 {
			return valid()
		}
	}
	return invalid("X-Gitlab-Token does not match the secret")
}

// --- generic HMAC -----------------------------------------------------------------------

// verifyHMAC checks a user-described scheme: cfg.Header carries
// [prefix]<hex|base64 HMAC of the raw body>; several comma- or
// space-separated values (or several headers) are accepted for rotation.
func (v *Verifier) verifyHMAC(in *Input) Result {
	i := nextHeader(in.Headers, v.header, 0)
	if i < 0 {
		return missing("no " + v.header + " header")
	}
	var buf [64]byte
	mac := v.sum(buf[:], in.Body)
	var got [96]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, v.header, i+1) {
		s := in.Headers[i].Value
		for s != "" {
			var tok string
			cut := strings.IndexAny(s, ", ")
			if cut < 0 {
				tok, s = s, ""
			} else {
				tok, s = s[:cut], s[cut+1:]
			}
			if tok == "" {
				continue
			}
			if v.prefix != "" {
				if len(tok) < len(v.prefix) || !strings.EqualFold(tok[:len(v.prefix)], v.prefix) {
					continue
				}
				tok = tok[len(v.prefix):]
			}
			if !v.decodeGeneric(got[:], tok, len(mac)) {
				continue
			}
			wellFormed = true
			if hmac.Equal(got[:len(mac)], mac) {
				return valid()
			}
		}
	}
	if !wellFormed {
		enc := "hex"
		if v.b64 {
			enc = "base64"
		}
		return malformed("%s is not %s%s %s", v.header, v.prefix, enc, v.algo)
	}
	return invalid("signature does not match")
}

func (v *Verifier) decodeGeneric(dst []byte, tok string, n int) bool {
	if !v.b64 {
		return decodeHex(dst, tok, n)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if enc.DecodedLen(len(tok)) > len(dst) {
			return false
		}
		if m, err := enc.Decode(dst, bs(tok)); err == nil {
			return m == n
		}
	}
	return false
}
