package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// verifyGitHub follows docs.github.com "Validating webhook deliveries" and
// @octokit/webhooks-methods verify: X-Hub-Signature-256: sha256=<hex
// HMAC-SHA256 of the body>; the legacy X-Hub-Signature: sha1=<hex HMAC-SHA1>
// is checked only when the SHA-256 header is absent (as google/go-github
// github/messages.go prefers it).
func (v *Verifier) verifyGitHub(in Input) Result {
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
		m := hmac.New(sha1.New, v.mac.key) // legacy header only: not pooled
		m.Write(in.Body)
		mac = m.Sum(nil)
	}
	var want [64]byte
	hex.Encode(want[:], mac)
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) < len(prefix) || !strings.EqualFold(val[:len(prefix)], prefix) || !decodeHex(got[:], val[len(prefix):], size) {
			continue
		}
		wellFormed = true
		// @octokit/webhooks-methods compares the whole "sha256=<lower-case
		// hex>" string.
		if val[:len(prefix)] == prefix && hmac.Equal(bs(val[len(prefix):]), want[:2*size]) {
			return valid()
		}
	}
	if !wellFormed {
		return malformed("%s is not %s<%d hex digits>", name, prefix, 2*size)
	}
	return invalid(prefix[:len(prefix)-1] + " signature does not match")
}

// signGitHub sends both headers, as GitHub does.
func (v *Verifier) signGitHub(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [32]byte
	mac := v.sum(buf[:], body)
	m1 := hmac.New(sha1.New, v.mac.key)
	m1.Write(body)
	return []schema.Header{
		header("X-Hub-Signature", "sha1="+hex.EncodeToString(m1.Sum(nil))),
		header("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac)),
	}, nil
}
