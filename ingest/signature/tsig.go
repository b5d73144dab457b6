package signature

import (
	"crypto/hmac"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// tsigFormat describes a header that carries a timestamp and one or more hex
// HMAC-SHA256 signatures of "{timestamp}{join}{body}" as key=value elements:
// Stripe's "t=<unix>,v1=<hex>[,v1=...]" and Paddle's "ts=<unix>;h1=<hex>[;h1=...]".
// Several signatures appear while a secret is rolled; any one may match.
type tsigFormat struct {
	header string // Stripe-Signature
	sep    byte   // element separator
	tsKey  string // t
	sigKey string // v1
	join   []byte // between timestamp and body in the signed bytes
	// strict: every element must be exactly key=value (stripe-go
	// parseSignatureHeader); otherwise empty elements are skipped and a value
	// may contain '='.
	strict bool
	noSig  string // the reason when no sigKey element is present
}

// verify checks every header named f.header; the first valid one wins, else
// the first header's verdict stands.
func (f *tsigFormat) verify(v *Verifier, in Input) Result {
	i := nextHeader(in.Headers, f.header, 0)
	if i < 0 {
		return missing("no " + f.header + " header")
	}
	var fail Result
	for k := 0; i >= 0; i, k = nextHeader(in.Headers, f.header, i+1), k+1 {
		r := f.verifyOne(v, in.Headers[i].Value, in)
		if r.Signature.Status == schema.SigValid {
			return r
		}
		if k == 0 {
			fail = r
		}
	}
	return fail
}

// next cuts the next element off s; done reports that s had no more.
func (f *tsigFormat) next(s string) (el, rest string, more bool) {
	if j := strings.IndexByte(s, f.sep); j >= 0 {
		return trimSpace(s[:j]), s[j+1:], true
	}
	return trimSpace(s), "", false
}

func (f *tsigFormat) verifyOne(v *Verifier, h string, in Input) Result {
	var tsStr string
	haveTS, nSig := false, 0
	for s, more := h, true; more; {
		var el string
		el, s, more = f.next(s)
		if el == "" && !f.strict {
			continue
		}
		k, val, ok := strings.Cut(el, "=")
		if !ok || f.strict && strings.IndexByte(val, '=') >= 0 {
			return malformed("%s element %s is not key=value", f.header, clip(el))
		}
		switch k {
		case f.tsKey:
			if _, ok := parseUnix(val); !ok {
				return malformed("%s %s=%s is not a Unix timestamp", f.header, f.tsKey, clip(val))
			}
			tsStr, haveTS = val, true
		case f.sigKey:
			nSig++
		}
	}
	if !haveTS {
		return malformed("%s has no %s= timestamp", f.header, f.tsKey)
	}
	ts, _ := parseUnix(tsStr)
	signedAt := time.Unix(ts, 0)
	if nSig == 0 {
		return withTime(invalid(f.noSig), signedAt)
	}
	var buf [32]byte
	var want [64]byte
	hex.Encode(want[:], v.sum(buf[:], bs(tsStr), f.join, in.Body))
	for s, more := h, true; more; {
		var el string
		el, s, more = f.next(s)
		// The official libraries compare the lower-case hex strings.
		if k, val, _ := strings.Cut(el, "="); k == f.sigKey && hmac.Equal(bs(val), want[:]) {
			return v.validAt(signedAt, in.Now)
		}
	}
	return withTime(invalid("no "+f.sigKey+" signature matched"), signedAt)
}

// sign returns the header with one signature for body at now.
func (f *tsigFormat) sign(v *Verifier, body []byte, now time.Time) []schema.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	var buf [32]byte
	mac := v.sum(buf[:], bs(ts), f.join, body)
	return []schema.Header{header(f.header, f.tsKey+"="+ts+string(f.sep)+f.sigKey+"="+hex.EncodeToString(mac))}
}
