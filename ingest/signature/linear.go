package signature

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/hookscope/hookscope/ingest/jsontop"
	"github.com/hookscope/hookscope/schema"
)

// verifyLinear follows linear.app/developers/webhooks and @linear/sdk
// (LinearWebhookClient.verify, webhooks/client.ts): Linear-Signature is the
// lower-case hex HMAC-SHA256 of the raw body, compared as a string; then the
// body's top-level "webhookTimestamp" (Unix ms) is required, must be a
// number, and must be within the window (60 s either way by default). The
// Linear-Timestamp header is not signed and is ignored, as the SDK does.
func (v *Verifier) verifyLinear(in Input) Result {
	const name = "Linear-Signature"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no Linear-Signature header")
	}
	if len(in.Body) > linearMaxBody {
		// Also bounds the JSON walk below.
		return invalid("body larger than 5 MiB, the most @linear/sdk accepts")
	}
	ts := linearTimestamp(in.Body)
	var signedAt time.Time
	if ts.kind == tsNumber {
		signedAt = ts.at
	}
	var buf [32]byte
	var want [64]byte
	hex.Encode(want[:], v.sum(buf[:], in.Body))
	var got [32]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if !decodeHex(got[:], val, 32) {
			continue
		}
		wellFormed = true
		if hmac.Equal(bs(val), want[:]) {
			return v.linearTime(ts, in.Now)
		}
	}
	if !wellFormed {
		return withTime(malformed("Linear-Signature is not 64 hex digits"), signedAt)
	}
	return withTime(invalid("signature does not match"), signedAt)
}

// linearTime applies the SDK's rules to the signed body's webhookTimestamp.
func (v *Verifier) linearTime(ts bodyTimestamp, now time.Time) Result {
	switch ts.kind {
	case tsNotJSON:
		return invalid("signed body is not JSON: webhookTimestamp cannot be read")
	case tsAbsent:
		return invalid("webhookTimestamp missing from the signed body")
	case tsNull:
		return invalid("webhookTimestamp is null in the signed body")
	case tsNotNumber:
		return invalid("webhookTimestamp in the signed body is not a number")
	case tsOutOfRange:
		if !v.checkTime {
			return valid()
		}
		return invalid("webhookTimestamp " + ts.raw + " is outside the tolerance " + beyond(v.tol, 0))
	}
	return v.validAt(ts.at, now)
}

// linearMaxBody is @linear/sdk's LINEAR_WEBHOOK_DEFAULT_MAX_BODY_BYTES: its
// handler answers 413 to a larger body.
const linearMaxBody = 5 << 20

type tsKind uint8

const (
	tsAbsent     tsKind = iota // the top-level object has no webhookTimestamp (or the body is not an object)
	tsNotJSON                  // JSON.parse would throw
	tsNull                     // "webhookTimestamp": null
	tsNotNumber                // a string, bool, object or array
	tsOutOfRange               // a number too large for a time.Time (never within any window)
	tsNumber
)

type bodyTimestamp struct {
	kind tsKind
	at   time.Time
	raw  string // the number as sent, clipped, for tsOutOfRange
}

// maxLinearMS bounds the timestamps turned into a time.Time (year 2255; ms*1e6 must fit an int64 of nanoseconds).
const maxLinearMS = 9e12

// linearTimestamp reads webhookTimestamp from the top level of a JSON body
// as JSON.parse would: only the top-level object's own key counts (a nested
// "webhookTimestamp" does not), and of duplicated keys the last one wins.
// It validates the whole body first (JSON.parse rejects any syntax error),
// then walks the top level without decoding nested values (ingest/jsontop):
// linear time and no allocation except for a key written with escapes.
func linearTimestamp(body []byte) bodyTimestamp {
	if !json.Valid(body) {
		return bodyTimestamp{kind: tsNotJSON}
	}
	var val []byte // the last top-level webhookTimestamp value
	jsontop.Members(body, func(key, value []byte) bool {
		if jsontop.KeyIs(key, "webhookTimestamp") {
			val = value
		}
		return true
	})
	switch {
	case val == nil:
		return bodyTimestamp{kind: tsAbsent}
	case val[0] == 'n':
		return bodyTimestamp{kind: tsNull}
	case val[0] != '-' && (val[0] < '0' || val[0] > '9'):
		return bodyTimestamp{kind: tsNotNumber}
	}
	ms, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.IsInf(ms, 0) || math.Abs(ms) > maxLinearMS {
		// JSON.parse turns 1e400 into Infinity, which the SDK rejects as
		// not finite; a finite number this large is never in a window.
		return bodyTimestamp{kind: tsOutOfRange, raw: clip(string(val))}
	}
	return bodyTimestamp{kind: tsNumber, at: msTime(ms)}
}

// msTime converts Unix milliseconds (|ms| <= maxLinearMS) to a time, exact
// for whole milliseconds.
func msTime(ms float64) time.Time {
	whole := math.Floor(ms)
	return time.UnixMilli(int64(whole)).Add(time.Duration((ms - whole) * 1e6))
}

func (v *Verifier) signLinear(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [32]byte
	return []schema.Header{header("Linear-Signature", hex.EncodeToString(v.sum(buf[:], body)))}, nil
}
