package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hookscope/hookscope/schema"
)

// Helpers shared by the providers' files: header lookups, timestamps, the
// pooled HMAC, and bytes.

var (
	dot   = []byte(".")
	colon = []byte(":")
)

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

// --- time --------------------------------------------------------------------

// timestampHeader reads a signed Unix timestamp from header name (which must
// be present once, or repeated with the same value). ok=false with the
// verdict when it is absent, conflicting or not a decimal timestamp.
func timestampHeader(hs []schema.Header, name string) (raw string, at time.Time, r Result, ok bool) {
	raw, r, ok = single(hs, name)
	if !ok {
		return "", time.Time{}, r, false
	}
	ts, ok := parseUnix(raw)
	if !ok {
		return "", time.Time{}, malformed("%s %s is not a Unix timestamp", name, clip(raw)), false
	}
	return raw, time.Unix(ts, 0), Result{}, true
}

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

// --- MAC ---------------------------------------------------------------------

func sha256New() hash.Hash { return sha256.New() }

// macConfig is the scheme's HMAC key and hash, with a pool of states so that
// computing a MAC allocates nothing.
type macConfig struct {
	key     []byte
	newHash func() hash.Hash
	states  *sync.Pool // of *macState
}

func newMAC(newHash func() hash.Hash, key []byte) macConfig {
	m := macConfig{key: key, newHash: newHash, states: &sync.Pool{}}
	m.states.New = func() any { return &macState{h: hmac.New(newHash, key)} }
	return m
}

// macState is a pooled HMAC with room for its digest.
type macState struct {
	h   hash.Hash
	out [64]byte
}

// sum computes the verifier's HMAC of the concatenated parts, copies it into
// dst (len(dst) >= digest size) and returns dst[:size].
func (v *Verifier) sum(dst []byte, parts ...[]byte) []byte {
	st := v.mac.states.Get().(*macState)
	st.h.Reset()
	for _, p := range parts {
		st.h.Write(p)
	}
	n := copy(dst, st.h.Sum(st.out[:0]))
	v.mac.states.Put(st)
	return dst[:n]
}

// decodeHex decodes exactly n bytes of hex from s into dst (len(dst) >= n).
func decodeHex(dst []byte, s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	_, err := hex.Decode(dst[:n], bs(s))
	return err == nil
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

func header(name, value string) schema.Header { return schema.Header{Name: name, Value: value} }

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
