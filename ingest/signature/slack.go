package signature

import (
	"crypto/hmac"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// v0Format is the "v0" construction shared by Slack ("Verifying requests
// from Slack": X-Slack-Signature = "v0=" + hex HMAC-SHA256 of
// "v0:{X-Slack-Request-Timestamp}:{body}") and Zoom (zoom.go).
type v0Format struct{ sigH, tsH string }

var (
	slack  = v0Format{"X-Slack-Signature", "X-Slack-Request-Timestamp"}
	v0Pref = []byte("v0:")
)

func (v *Verifier) verifySlack(in Input) Result { return slack.verify(v, in) }

func (v *Verifier) signSlack(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return slack.sign(v, body, now), nil
}

func (f v0Format) verify(v *Verifier, in Input) Result {
	i := nextHeader(in.Headers, f.sigH, 0)
	if i < 0 {
		return missing("no " + f.sigH + " header")
	}
	tsStr, signedAt, r, ok := timestampHeader(in.Headers, f.tsH)
	if !ok {
		return r
	}
	var buf [32]byte
	var want [64]byte
	hex.Encode(want[:], v.sum(buf[:], v0Pref, bs(tsStr), colon, in.Body))
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, f.sigH, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if !strings.HasPrefix(val, "v0=") || !decodeHex(got[:], val[3:], 32) {
			continue
		}
		wellFormed = true
		// @slack/bolt and @zoom/rivet compare the lower-case hex strings.
		if hmac.Equal(bs(val[3:]), want[:]) {
			return v.validAt(signedAt, in.Now)
		}
	}
	if !wellFormed {
		return withTime(malformed("%s is not v0=<64 hex digits>", f.sigH), signedAt)
	}
	return withTime(invalid("v0 signature does not match"), signedAt)
}

func (f v0Format) sign(v *Verifier, body []byte, now time.Time) []schema.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	var buf [32]byte
	mac := v.sum(buf[:], v0Pref, bs(ts), colon, body)
	return []schema.Header{header(f.tsH, ts), header(f.sigH, "v0="+hex.EncodeToString(mac))}
}
