package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/hookscope/hookscope/schema"
)

// Twilio ("Webhooks security", twilio.com/docs/usage/webhooks/webhooks-security,
// and twilio-go client/request_validator.go):
//
//   - X-Twilio-Signature is the base64 HMAC-SHA1, keyed by the auth token, of
//     the full URL Twilio requested followed, for an
//     application/x-www-form-urlencoded POST, by every POST parameter name and
//     value concatenated without delimiters, sorted by name.
//   - For a JSON (or other) body Twilio adds bodySHA256=<hex SHA-256 of the body>
//     to the URL's query; the signature covers the URL only and the body must
//     hash to that value.
//   - Because Twilio's own signing is inconsistent about explicit default
//     ports, the SDKs accept the signature for the URL with and without the
//     port (:443 / :80); so do we.

type param struct{ k, v string }

// twilioParams decodes a form body into (name, value) pairs sorted by name
// (then value, for repeated names). Names and values are decoded like
// url.QueryUnescape into one arena, so the cost is three allocations
// whatever the number of parameters.
func twilioParams(body []byte) ([]param, error) {
	type span struct{ k0, k1, v1 int }
	spans := make([]span, 0, bytes.Count(body, []byte("&"))+1)
	arena := make([]byte, 0, len(body))
	var err error
	for s := body; len(s) > 0; {
		var pair []byte
		pair, s, _ = bytes.Cut(s, []byte("&"))
		if len(pair) == 0 {
			continue
		}
		k, val, _ := bytes.Cut(pair, []byte("="))
		sp := span{k0: len(arena)}
		if arena, err = unescapeAppend(arena, k); err != nil {
			return nil, fmt.Errorf("form parameter name %s: %w", clip(string(k)), err)
		}
		sp.k1 = len(arena)
		if arena, err = unescapeAppend(arena, val); err != nil {
			return nil, fmt.Errorf("form parameter %s: %w", clip(string(arena[sp.k0:sp.k1])), err)
		}
		sp.v1 = len(arena)
		spans = append(spans, sp)
	}
	if len(arena) == 0 {
		arena = append(arena, 0) // a valid pointer for unsafe.String; never read
	}
	all := unsafe.String(&arena[0], len(arena)) // arena is not written again
	ps := make([]param, len(spans))
	for i, sp := range spans {
		ps[i] = param{all[sp.k0:sp.k1], all[sp.k1:sp.v1]}
	}
	slices.SortFunc(ps, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	return ps, nil
}

// unescapeAppend appends the form-decoding of s ("+" is a space, %XX a
// byte) to dst, rejecting malformed escapes as url.QueryUnescape does.
func unescapeAppend(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				end := min(i+3, len(s))
				return dst, url.EscapeError(string(s[i:end]))
			}
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isForm reports whether the request's Content-Type is a urlencoded form.
func isForm(in Input) bool {
	ct, _, _ := first(in.Headers, "Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// bodySHA256 returns the bodySHA256 query parameter of rawURL, if any.
func bodySHA256(rawURL string) (string, bool) {
	_, q, ok := strings.Cut(rawURL, "?")
	if !ok {
		return "", false
	}
	q, _, _ = strings.Cut(q, "#")
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if k, val, _ := strings.Cut(pair, "="); k == "bodySHA256" {
			return val, true
		}
	}
	return "", false
}

// urlVariants returns rawURL as given, plus the same URL with the scheme's
// default port added (when it has none) or removed (when it has one).
func urlVariants(rawURL string) []string {
	out := []string{rawURL}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return out
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	hostOnly := host
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		hostOnly = host[at+1:]
	}
	userinfo := host[:len(host)-len(hostOnly)]
	if c := strings.LastIndexByte(hostOnly, ':'); c >= 0 && !strings.HasSuffix(hostOnly, "]") {
		out = append(out, scheme+"://"+userinfo+hostOnly[:c]+tail)
		return out
	}
	port := ""
	switch strings.ToLower(scheme) {
	case "https":
		port = ":443"
	case "http":
		port = ":80"
	}
	if port != "" {
		out = append(out, scheme+"://"+host+port+tail)
	}
	return out
}

// twilioSign computes the signature of u with the sorted params using m.
func twilioSign(m *macConfig, dst []byte, u string, ps []param) []byte {
	st := m.states.Get().(*macState)
	st.h.Reset()
	st.h.Write(bs(u))
	for _, p := range ps {
		st.h.Write(bs(p.k))
		st.h.Write(bs(p.v))
	}
	n := copy(dst, st.h.Sum(st.out[:0]))
	m.states.Put(st)
	return dst[:n]
}

// twilioSettings is the header Twilio adds to webhooks signed with a
// SharedKey: "key=<id>,algorithm=HMAC_SHA256" (twilio-node
// webhooks.ts getSignatureAlgorithm). Absent, empty or without algorithm=
// means the legacy Auth Token signature, HMAC-SHA1.
const twilioSettings = "X-Twilio-Webhooks-Signature-Settings"

// twilioAlgorithm returns the MAC named by the settings header and the
// hash's name, or ok=false with the algorithm's name when it is one the SDK
// does not support.
func (v *Verifier) twilioAlgorithm(in Input) (m *macConfig, size int, name string, ok bool) {
	settings, _, _ := first(in.Headers, twilioSettings)
	algo := ""
	for part := range strings.SplitSeq(settings, ",") {
		if k, val, found := strings.Cut(part, "="); found && strings.TrimSpace(k) == "algorithm" {
			if val = strings.TrimSpace(val); val != "" {
				algo = val
				break
			}
		}
	}
	switch strings.ToUpper(algo) {
	case "", "HMAC_SHA1":
		return &v.mac, 20, "SHA-1", true
	case "HMAC_SHA256":
		return &v.tw256, 32, "SHA-256", true
	}
	return nil, 0, algo, false
}

func (v *Verifier) verifyTwilio(in Input) Result {
	const name = "X-Twilio-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Twilio-Signature header")
	}
	if in.URL == "" {
		return invalid("public URL unknown: cannot check a Twilio signature (set HOOKSCOPE_PUBLIC_URL)")
	}
	m, size, algo, ok := v.twilioAlgorithm(in)
	if !ok {
		return malformed("%s names algorithm %s, not HMAC_SHA1 or HMAC_SHA256", twilioSettings, clip(algo))
	}
	var ps []param
	what := "URL"
	if sha, ok := bodySHA256(in.URL); ok {
		sum := sha256.Sum256(in.Body)
		var want [32]byte
		if !decodeHex(want[:], sha, 32) {
			return invalid("bodySHA256 query parameter is not 64 hex digits")
		}
		if !hmac.Equal(want[:], sum[:]) {
			return invalid("body does not match the bodySHA256 query parameter")
		}
		what = "URL (with bodySHA256)"
	} else if isForm(in) {
		var err error
		if ps, err = twilioParams(in.Body); err != nil {
			return invalid("malformed form body: " + err.Error())
		}
		what = "URL and form parameters"
	}
	encLen := base64.StdEncoding.EncodedLen(size)
	var got [32]byte
	var buf [32]byte
	var enc [44]byte
	wellFormed := false
	variants := urlVariants(in.URL)
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) != encLen {
			continue
		}
		if n, err := base64.StdEncoding.Decode(got[:], bs(val)); err != nil || n != size {
			continue
		}
		wellFormed = true
		for _, u := range variants {
			// twilio-node compares the base64 strings.
			base64.StdEncoding.Encode(enc[:encLen], twilioSign(m, buf[:], u, ps))
			if hmac.Equal(bs(val), enc[:encLen]) {
				return valid()
			}
		}
	}
	if !wellFormed {
		return malformed("X-Twilio-Signature is not a base64 %s HMAC", algo)
	}
	if size == 32 {
		return invalid("HMAC-SHA256 signature (" + twilioSettings + ") does not match the " + what)
	}
	return invalid("signature does not match the " + what)
}

// setupTwilio keys both algorithms with the secret: the Auth Token for
// HMAC-SHA1, or a SharedKey secret, which Twilio pairs with HMAC-SHA256.
func setupTwilio(v *Verifier, cfg *schema.SignatureConfig) error {
	v.mac = newMAC(sha1.New, []byte(cfg.Secret))
	v.tw256 = newMAC(sha256New, []byte(cfg.Secret))
	return nil
}

// signTwilio returns X-Twilio-Signature for body sent to rawURL. When rawURL
// has a bodySHA256 parameter it must match the body; otherwise the body is
// signed as form parameters (how Twilio delivers its webhooks) and a
// Content-Type: application/x-www-form-urlencoded header is included.
func (v *Verifier) signTwilio(body []byte, rawURL string, _ time.Time) ([]schema.Header, error) {
	if rawURL == "" {
		return nil, errors.New("signature: twilio signs the full public URL: url is required")
	}
	var ps []param
	form := false
	if sha, ok := bodySHA256(rawURL); ok {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(sha, hex.EncodeToString(sum[:])) {
			return nil, errors.New("signature: twilio: the url's bodySHA256 does not match the body")
		}
	} else {
		var err error
		if ps, err = twilioParams(body); err != nil {
			return nil, fmt.Errorf("signature: twilio signs form parameters; body is not a urlencoded form: %w", err)
		}
		form = true
	}
	var buf [20]byte
	out := []schema.Header{header("X-Twilio-Signature", base64.StdEncoding.EncodeToString(twilioSign(&v.mac, buf[:], rawURL, ps)))}
	if form {
		out = append(out, header("Content-Type", "application/x-www-form-urlencoded"))
	}
	return out, nil
}
