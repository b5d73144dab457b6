// Package signature verifies webhook signatures the way each provider
// documents them. Verification is a pure function of the configuration, the
// request's headers, raw body, public URL and the receive time: no clock, no
// I/O, no globals. Comparisons are constant-time and MACs are computed over
// the raw body bytes.
//
// Two ways to call it:
//
//	res := signature.Verify(cfg, in)          // one-shot, parses cfg each time
//	v, err := signature.New(cfg); v.Verify(in) // parse once per bin, reuse (no allocations for HMAC schemes)
//
// Verdicts: "valid"; "invalid" (header present but wrong, stale or
// malformed); "missing" (the signature header is absent); "unchecked" (no
// scheme configured, or a configuration that cannot be used).
package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hookscope/hookscope/schema"
)

// Input is everything a verifier may look at. Headers are in arrival order;
// lookups are case-insensitive.
type Input struct {
	Headers []schema.Header
	Body    []byte
	URL     string    // full public URL of the request (scheme://host/h/{bin}/path?query), for twilio
	Now     time.Time // receive time
}

// Result is the verdict for one request.
type Result struct {
	Signature schema.Signature // Scheme, Status (valid|invalid|missing|unchecked), Reason
	SignedAt  time.Time        // the sender's signed timestamp when the scheme carries one and it parsed; zero otherwise
}

// Scheme names accepted in schema.SignatureConfig.Scheme.
const (
	SchemeStandardWebhooks = "standard-webhooks"
	SchemeSvix             = "svix"
	SchemeStripe           = "stripe"
	SchemeGitHub           = "github"
	SchemeSlack            = "slack"
	SchemeShopify          = "shopify"
	SchemeTwilio           = "twilio"
	SchemePaddle           = "paddle"
	SchemeZoom             = "zoom"
	SchemeLinear           = "linear"
	SchemeGitLab           = "gitlab"
	SchemeHMAC             = "hmac"
	SchemeDiscord          = "discord"
	SchemeSendGrid         = "sendgrid"
)

// policy is a scheme's replay window: the default tolerance and whether a
// timestamp in the future is rejected too (some official SDKs only reject
// old timestamps; we follow them).
type policy struct {
	def    time.Duration // 0: the provider documents no window; checked only when the bin sets one
	future bool          // also reject timestamps more than the tolerance in the future
}

// schemes maps each scheme to its replay policy; hasTime reports whether the
// scheme carries a signed timestamp at all.
var policies = map[string]struct {
	hasTime bool
	policy
}{
	// Standard Webhooks spec and reference libraries: 5 minutes either way
	// (libraries/go/webhook.go: tolerance = 5 * time.Minute, errMessageTooOld/TooNew).
	SchemeStandardWebhooks: {true, policy{5 * time.Minute, true}},
	// Svix: "more than five minutes away (past or future)"
	// (docs.svix.com/receiving/verifying-payloads/why; svix-webhooks go/webhook.go).
	SchemeSvix: {true, policy{5 * time.Minute, true}},
	// stripe-go webhook/client.go: DefaultTolerance = 300s, rejects only
	// time.Since(t) > tolerance (future timestamps are not rejected).
	SchemeStripe: {true, policy{300 * time.Second, false}},
	// Slack "Verifying requests from Slack": abs(now - timestamp) > 60 * 5.
	SchemeSlack: {true, policy{5 * time.Minute, true}},
	// paddle-node-sdk webhooks-validator.ts: MAX_VALID_TIME_DIFFERENCE = 5 (s),
	// rejects only now > ts + 5s.
	SchemePaddle: {true, policy{5 * time.Second, false}},
	// Zoom's docs ("Verify webhook events") name no window; the reference
	// sample at webhooks.fyi/webhook-directory/zoom rejects requests older than 5 minutes.
	SchemeZoom: {true, policy{5 * time.Minute, false}},
	// @linear/sdk webhooks: |now - webhookTimestamp| > 60 s is rejected
	// (webhookTimestamp, in ms, is a field of the JSON body).
	SchemeLinear: {true, policy{time.Minute, true}},
	// Discord and SendGrid sign a timestamp but document no window.
	SchemeDiscord:  {true, policy{0, true}},
	SchemeSendGrid: {true, policy{0, true}},

	SchemeGitHub:  {},
	SchemeShopify: {},
	SchemeTwilio:  {},
	SchemeGitLab:  {},
	SchemeHMAC:    {},
}

// Schemes returns the supported scheme names, sorted.
func Schemes() []string {
	out := make([]string, 0, len(policies))
	for s := range policies {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Verifier is a parsed configuration. It is safe for concurrent use; build
// one per bin (and rebuild it when the bin's signature setting changes).
type Verifier struct {
	scheme    string
	secret    string // raw secret (gitlab token, hmac key as given)
	key       []byte // HMAC key
	tol       time.Duration
	future    bool
	checkTime bool

	// generic hmac
	header string
	algo   string
	b64    bool
	prefix string

	newHash func() hash.Hash
	macs    sync.Pool // of *macState (hmac over key)

	edPub ed25519.PublicKey
	edKey ed25519.PrivateKey // discord signing, when the secret is a private key
	ecPub *ecdsa.PublicKey
	ecKey *ecdsa.PrivateKey // sendgrid signing, when the secret is a private key
}

// ValidateConfig checks a bin's signature setting. A nil config or an empty
// scheme means "no verification" and is valid. Error messages are meant for a
// 400 answer and never contain the secret.
func ValidateConfig(cfg *schema.SignatureConfig) error {
	_, err := New(cfg)
	return err
}

// New parses cfg. A nil cfg or empty scheme gives a Verifier that always
// answers "unchecked".
func New(cfg *schema.SignatureConfig) (*Verifier, error) {
	if cfg == nil || cfg.Scheme == "" {
		if cfg != nil && (cfg.Secret != "" || cfg.Tolerance != "" || cfg.Header != "" ||
			cfg.Algorithm != "" || cfg.Encoding != "" || cfg.Prefix != "") {
			return nil, errors.New("signature: scheme is required when other signature settings are given")
		}
		return &Verifier{}, nil
	}
	p, ok := policies[cfg.Scheme]
	if !ok {
		return nil, fmt.Errorf("signature: unknown scheme %s (known: %s)", clip(cfg.Scheme), strings.Join(Schemes(), ", "))
	}
	v := &Verifier{scheme: cfg.Scheme, secret: cfg.Secret, tol: p.def, future: p.future, checkTime: p.hasTime && p.def > 0}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("signature: scheme %s needs a secret", cfg.Scheme)
	}
	if cfg.Tolerance != "" {
		d, err := time.ParseDuration(cfg.Tolerance)
		if err != nil {
			return nil, fmt.Errorf("signature: tolerance %s is not a duration such as \"5m\" or \"300s\"", clip(cfg.Tolerance))
		}
		if d < 0 {
			return nil, fmt.Errorf("signature: tolerance %q must not be negative", cfg.Tolerance)
		}
		// "0s" turns the replay check off; schemes without a signed
		// timestamp ignore the tolerance.
		v.tol, v.checkTime = d, p.hasTime && d > 0
	}
	if cfg.Scheme != SchemeHMAC && (cfg.Header != "" || cfg.Algorithm != "" || cfg.Encoding != "" || cfg.Prefix != "") {
		return nil, fmt.Errorf("signature: header, algorithm, encoding and prefix apply only to scheme hmac, not %s", cfg.Scheme)
	}
	v.newHash = sha256.New
	v.key = []byte(cfg.Secret)
	switch cfg.Scheme {
	case SchemeStandardWebhooks, SchemeSvix:
		key, err := decodeWhsec(cfg.Secret)
		if err != nil {
			return nil, fmt.Errorf("signature: %s secret must be base64, optionally prefixed whsec_: %w", cfg.Scheme, err)
		}
		v.key = key
	case SchemeTwilio:
		v.newHash = sha1.New
	case SchemeHMAC:
		if err := v.hmacOptions(cfg); err != nil {
			return nil, err
		}
	case SchemeDiscord:
		if err := v.discordKey(cfg.Secret); err != nil {
			return nil, err
		}
	case SchemeSendGrid:
		if err := v.sendgridKey(cfg.Secret); err != nil {
			return nil, err
		}
	}
	nh, key := v.newHash, v.key
	v.macs.New = func() any { return &macState{h: hmac.New(nh, key)} }
	return v, nil
}

func (v *Verifier) hmacOptions(cfg *schema.SignatureConfig) error {
	if cfg.Header == "" {
		return errors.New("signature: scheme hmac needs header (the request header that carries the signature)")
	}
	for i := 0; i < len(cfg.Header); i++ {
		if !isTokenChar(cfg.Header[i]) {
			return fmt.Errorf("signature: hmac header %s is not a valid HTTP header name", clip(cfg.Header))
		}
	}
	v.header = cfg.Header
	switch cfg.Algorithm {
	case "sha256", "":
		v.algo, v.newHash = "sha256", sha256.New
	case "sha1":
		v.algo, v.newHash = "sha1", sha1.New
	case "sha512":
		v.algo, v.newHash = "sha512", sha512.New
	default:
		return fmt.Errorf("signature: hmac algorithm %s is not one of sha1, sha256, sha512", clip(cfg.Algorithm))
	}
	switch cfg.Encoding {
	case "hex", "":
	case "base64":
		v.b64 = true
	default:
		return fmt.Errorf("signature: hmac encoding %s is not one of hex, base64", clip(cfg.Encoding))
	}
	if strings.ContainsAny(cfg.Prefix, " ,\r\n") {
		return fmt.Errorf("signature: hmac prefix %s must not contain spaces or commas", clip(cfg.Prefix))
	}
	v.prefix = cfg.Prefix
	return nil
}

// decodeWhsec decodes a Standard Webhooks / Svix secret: base64 of the key,
// optionally prefixed "whsec_" (standard-webhooks libraries/go/webhook.go
// NewWebhook: base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))).
func decodeWhsec(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, err
	}
	if len(key) == 0 {
		return nil, errors.New("empty key")
	}
	return key, nil
}

// Verify checks one request against cfg. cfg nil or Scheme "" → unchecked.
// An unusable cfg (see ValidateConfig) is also unchecked, with the reason.
func Verify(cfg *schema.SignatureConfig, in Input) Result {
	v, err := New(cfg)
	if err != nil {
		scheme := ""
		if cfg != nil {
			scheme = cfg.Scheme
		}
		return Result{Signature: schema.Signature{Scheme: scheme, Status: schema.SigUnchecked, Reason: "configuration error: " + strings.TrimPrefix(err.Error(), "signature: ")}}
	}
	return v.Verify(in)
}

// Verify checks one request.
// NeedsURL reports whether the scheme signs the request URL (Input.URL), so
// that callers build it only when it is used.
func (v *Verifier) NeedsURL() bool { return v.scheme == SchemeTwilio }

func (v *Verifier) Verify(in Input) Result {
	var r Result
	switch v.scheme {
	case "":
		return Result{Signature: schema.Signature{Status: schema.SigUnchecked, Reason: "no signature scheme configured"}}
	case SchemeStandardWebhooks:
		r = v.verifyStandard(&in, "webhook-id", "webhook-timestamp", "webhook-signature")
	case SchemeSvix:
		r = v.verifySvix(&in)
	case SchemeStripe:
		r = v.verifyStripe(&in)
	case SchemeGitHub:
		r = v.verifyGitHub(&in)
	case SchemeSlack:
		r = v.verifyV0(&in, "X-Slack-Signature", "X-Slack-Request-Timestamp")
	case SchemeZoom:
		r = v.verifyV0(&in, "x-zm-signature", "x-zm-request-timestamp")
	case SchemeShopify:
		r = v.verifyShopify(&in)
	case SchemeTwilio:
		r = v.verifyTwilio(&in)
	case SchemePaddle:
		r = v.verifyPaddle(&in)
	case SchemeLinear:
		r = v.verifyLinear(&in)
	case SchemeGitLab:
		r = v.verifyGitLab(&in)
	case SchemeHMAC:
		r = v.verifyHMAC(&in)
	case SchemeDiscord:
		r = v.verifyDiscord(&in)
	case SchemeSendGrid:
		r = v.verifySendGrid(&in)
	}
	r.Signature.Scheme = v.scheme
	return r
}

// --- results -----------------------------------------------------------------

func valid() Result { return Result{Signature: schema.Signature{Status: schema.SigValid}} }

func missing(reason string) Result {
	return Result{Signature: schema.Signature{Status: schema.SigMissing, Reason: reason}}
}

func invalid(reason string) Result {
	return Result{Signature: schema.Signature{Status: schema.SigInvalid, Reason: reason}}
}

func malformed(format string, a ...any) Result {
	return invalid("malformed header: " + fmt.Sprintf(format, a...))
}

// withTime sets SignedAt on r.
func withTime(r Result, t time.Time) Result {
	r.SignedAt = t
	return r
}

// --- time --------------------------------------------------------------------

// parseUnix parses a decimal Unix timestamp made only of ASCII digits.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkWindow applies the replay window. It returns "" when ts is acceptable.
func (v *Verifier) checkWindow(ts, now time.Time) string {
	if !v.checkTime || now.IsZero() {
		return ""
	}
	if age := now.Sub(ts); age > v.tol {
		return "timestamp " + beyond(age, v.tol) + " older than tolerance " + beyond(v.tol, 0)
	}
	if lead := ts.Sub(now); v.future && lead > v.tol {
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

// --- headers -----------------------------------------------------------------

// first returns the first value of header name and whether a later header of
// the same name carries a different value (conflict).
func first(hs []schema.Header, name string) (val string, found, conflict bool) {
	for i := range hs {
		if !strings.EqualFold(hs[i].Name, name) {
			continue
		}
		if !found {
			val, found = hs[i].Value, true
		} else if hs[i].Value != val {
			return val, true, true
		}
	}
	return val, found, false
}

// nextHeader returns the index of the next header named name at or after i, or -1.
func nextHeader(hs []schema.Header, name string, i int) int {
	for ; i < len(hs); i++ {
		if strings.EqualFold(hs[i].Name, name) {
			return i
		}
	}
	return -1
}

// single reads a header that must not appear with two different values
// (timestamps, ids). ok=false with a Result when it is absent or conflicting.
func single(hs []schema.Header, name string) (string, Result, bool) {
	val, found, conflict := first(hs, name)
	if !found {
		return "", malformed("no %s header", name), false
	}
	if conflict {
		return "", malformed("several %s headers with different values", name), false
	}
	return val, Result{}, true
}

// --- bytes -------------------------------------------------------------------

// bs views s as bytes without copying. The result must not be modified.
func bs(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// clip quotes at most 40 bytes of an untrusted value for a reason string.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// macState is a pooled HMAC with room for its digest, so that computing a
// MAC allocates nothing.
type macState struct {
	h   hash.Hash
	out [64]byte
}

// sum computes the verifier's HMAC of the concatenated parts, copies it into
// dst (len(dst) >= digest size) and returns dst[:size].
func (v *Verifier) sum(dst []byte, parts ...[]byte) []byte {
	st := v.macs.Get().(*macState)
	st.h.Reset()
	for _, p := range parts {
		st.h.Write(p)
	}
	n := copy(dst, st.h.Sum(st.out[:0]))
	v.macs.Put(st)
	return dst[:n]
}

// SecretHint returns a hint that identifies a secret without revealing it:
// "…" and its last 4 characters, fewer for short secrets (never more than a
// quarter of it), "" for an empty secret.
func SecretHint(secret string) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret) / 4
	if n > 4 {
		n = 4
	}
	i := len(secret)
	for k := 0; k < n; k++ {
		_, size := utf8.DecodeLastRuneInString(secret[:i])
		i -= size
	}
	return "…" + secret[i:]
}
