// Package signature verifies webhook signatures the way each provider
// documents them and its official library checks them. Verification is a
// pure function of the configuration, the request's headers, raw body,
// public URL and the receive time: no clock, no I/O, no globals.
// Comparisons are constant-time and MACs are computed over the raw body
// bytes.
//
// Every scheme is one entry of the table in schemes.go ({verify, sign,
// policy}); each provider's code lives in its own file.
//
//	v, err := signature.New(cfg) // once per bin (rebuild it when the setting changes)
//	res := v.Verify(in)          // 0 allocations for the HMAC schemes
//
// Verdicts: "valid"; "invalid" (header present but wrong, stale or
// malformed); "missing" (the signature header is absent); "unchecked" (no
// scheme configured).
package signature

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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

// Schemes returns the supported scheme names, sorted.
func Schemes() []string {
	out := make([]string, 0, len(schemes))
	for s := range schemes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Verifier is a parsed configuration. It is safe for concurrent use; build
// one per bin (and rebuild it when the bin's signature setting changes).
type Verifier struct {
	name      string
	s         *scheme // nil: no scheme configured
	secret    string  // raw secret (gitlab token)
	tol       time.Duration
	checkTime bool

	mac   macConfig // HMAC key and hash, with a pool of states
	tw256 macConfig // twilio: HMAC-SHA256 for SharedKey signatures
	hmac  genericHMAC
	ed    edKeys
	ec    ecKeys
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
	s, ok := schemes[cfg.Scheme]
	if !ok {
		return nil, fmt.Errorf("signature: unknown scheme %s (known: %s)", clip(cfg.Scheme), strings.Join(Schemes(), ", "))
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("signature: scheme %s needs a secret", cfg.Scheme)
	}
	v := &Verifier{name: cfg.Scheme, s: s, secret: cfg.Secret, tol: s.policy.def, checkTime: s.policy.timed && s.policy.def > 0}
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
		v.tol, v.checkTime = d, s.policy.timed && d > 0
	}
	if cfg.Scheme != SchemeHMAC && (cfg.Header != "" || cfg.Algorithm != "" || cfg.Encoding != "" || cfg.Prefix != "") {
		return nil, fmt.Errorf("signature: header, algorithm, encoding and prefix apply only to scheme hmac, not %s", cfg.Scheme)
	}
	v.mac = newMAC(sha256New, []byte(cfg.Secret))
	if s.setup != nil {
		if err := s.setup(v, cfg); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// NeedsURL reports whether the scheme signs the request URL (Input.URL), so
// that callers build it only when it is used.
func (v *Verifier) NeedsURL() bool { return v.s != nil && v.s.needsURL }

// Verify checks one request.
func (v *Verifier) Verify(in Input) Result {
	if v.s == nil {
		return Result{Signature: schema.Signature{Status: schema.SigUnchecked, Reason: "no signature scheme configured"}}
	}
	r := v.s.verify(v, in)
	r.Signature.Scheme = v.name
	return r
}

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
	if v.s == nil {
		return nil, errors.New("signature: no scheme to sign with")
	}
	return v.s.sign(v, body, url, now)
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

// validAt is the verdict for a matching signature signed at signedAt: valid
// unless the replay window rejects it.
func (v *Verifier) validAt(signedAt, now time.Time) Result {
	if reason := v.checkWindow(signedAt, now); reason != "" {
		return withTime(invalid(reason), signedAt)
	}
	return withTime(valid(), signedAt)
}
