package signature

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"time"

	"github.com/hookscope/hookscope/schema"
)

var webhookTimestampKey = []byte(`"webhookTimestamp"`)

// verifyLinear follows linear.app/developers/webhooks and @linear/sdk
// LinearWebhooks.verify: Linear-Signature is the hex HMAC-SHA256 of the raw
// body; the body's "webhookTimestamp" (Unix ms) must be within a minute of now.
func (v *Verifier) verifyLinear(in Input) Result {
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
				return v.validAt(signedAt, in.Now)
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

func (v *Verifier) signLinear(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [32]byte
	return []schema.Header{header("Linear-Signature", hex.EncodeToString(v.sum(buf[:], body)))}, nil
}
