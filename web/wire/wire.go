// Package wire holds the JSON views of hookscope's API: requests (summary
// and full), bins, share links and the live feed's messages. The server
// encodes them, the CLI (client/) and the bench decode them, so the field
// names live in one place. It imports schema only.
package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// ReplayHeader marks a replayed request's record with the original's id.
// Ingest's replay adds it to the record (not to what is sent to the
// target); the views turn it into replay_of.
const ReplayHeader = "X-Hookscope-Replay-Of"

// Body is a full request's body: utf8 text as is, anything else base64.
type Body struct {
	Encoding string `json:"encoding"` // "utf8" or "base64"
	Data     string `json:"data"`
}

// Bytes decodes the body.
func (b *Body) Bytes() ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	if b.Encoding == "base64" {
		v, err := base64.StdEncoding.DecodeString(b.Data)
		if err != nil {
			return nil, fmt.Errorf("decode body: %w", err)
		}
		return v, nil
	}
	return []byte(b.Data), nil
}

// Request is a request as the API shows it: summaries carry body_preview,
// the full record carries body. ReplayOf is set on the record of a replay.
type Request struct {
	*schema.Request
	Headers     []schema.Header `json:"headers"`
	ReplayOf    *uuid.UUID      `json:"replay_of,omitempty"`
	BodyPreview *string         `json:"body_preview,omitempty"`
	Body        *Body           `json:"body,omitempty"`
}

// Summary is the list and live-feed view of r.
func Summary(r *schema.Request) Request {
	p := Preview(r.Body)
	return Request{Request: r, Headers: nonNil(r.Headers), ReplayOf: ReplayOf(r), BodyPreview: &p}
}

// Full is the single-request view of r, body included.
func Full(r *schema.Request) Request {
	v := Request{Request: r, Headers: nonNil(r.Headers), ReplayOf: ReplayOf(r)}
	if utf8.Valid(r.Body) {
		v.Body = &Body{Encoding: "utf8", Data: string(r.Body)}
	} else {
		v.Body = &Body{Encoding: "base64", Data: base64.StdEncoding.EncodeToString(r.Body)}
	}
	return v
}

// Record turns a decoded view back into a request with its body.
func (v *Request) Record() (*schema.Request, error) {
	if v.Request == nil {
		return nil, fmt.Errorf("request view without a request")
	}
	r := *v.Request
	r.Headers = v.Headers
	if v.Body != nil {
		b, err := v.Body.Bytes()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	return &r, nil
}

// UnmarshalJSON fills the embedded request too (the embedded pointer is
// nil in a zero Request, which encoding/json would not allocate through a
// custom path otherwise).
func (v *Request) UnmarshalJSON(b []byte) error {
	type view Request
	var out view
	out.Request = new(schema.Request)
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*v = Request(out)
	return nil
}

// ReplayOf is the id of the request r replays, or nil.
func ReplayOf(r *schema.Request) *uuid.UUID {
	if r.Forward == nil || r.Forward.Mode != "replay" {
		return nil
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, ReplayHeader) {
			if id, err := uuid.Parse(h.Value); err == nil {
				return &id
			}
		}
	}
	return nil
}

func nonNil(h []schema.Header) []schema.Header {
	if h == nil {
		return []schema.Header{}
	}
	return h
}

// Preview is the first schema.PreviewBytes of a body as text: a rune cut at
// the end is dropped, invalid bytes become U+FFFD.
func Preview(b []byte) string {
	if len(b) > schema.PreviewBytes {
		b = b[:schema.PreviewBytes]
	}
	for i := 0; i < 3 && len(b) > 0 && !utf8.FullRune(b[lastRuneStart(b):]); i++ {
		b = b[:lastRuneStart(b)]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-4; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return len(b) - 1
}

// Page is GET /api/v1/bins/{bin}/requests.
type Page struct {
	Requests []Request `json:"requests"`
	Next     *string   `json:"next"`
}

// Live message types.
const (
	LiveRequest = "request" // Request is set
	LiveLagged  = "lagged"  // the subscriber fell behind and is closed; resume with after=
	LiveAlert   = "alert"   // Alert is set: an alert event of the feed's bin was recorded
)

// Live is one message of the websocket live feed. Alert is the event as
// GET /api/v1/alerts/events shows it (the server's alerts package builds
// it; wire only carries it).
type Live struct {
	Type    string          `json:"type"`
	Request *Request        `json:"request,omitempty"`
	Alert   json.RawMessage `json:"alert,omitempty"`
}

// EncodeLive builds the live feed's message for r.
func EncodeLive(r *schema.Request) []byte {
	v := Summary(r)
	b, err := json.Marshal(Live{Type: LiveRequest, Request: &v})
	if err != nil { // cannot happen for these types
		return []byte(`{"type":"error"}`)
	}
	return b
}

// Signature is a bin's signature settings as shown: the secret is
// write-only, a hint stands for it.
type Signature struct {
	Scheme     string `json:"scheme"`
	Tolerance  string `json:"tolerance,omitempty"`
	SecretHint string `json:"secret_hint,omitempty"`
	Header     string `json:"header,omitempty"`
	Algorithm  string `json:"algorithm,omitempty"`
	Encoding   string `json:"encoding,omitempty"`
	Prefix     string `json:"prefix,omitempty"`
	Enforce    bool   `json:"enforce,omitempty"`
}

// Settings of a bin as shown.
type Settings struct {
	Signature  *Signature              `json:"signature"`
	Response   *schema.ResponseConfig  `json:"response"`
	Forward    *schema.ForwardConfig   `json:"forward"`
	AllowCIDRs []string                `json:"allow_cidrs,omitempty"`
	Redact     *schema.RedactConfig    `json:"redact,omitempty"`
	Retention  *schema.RetentionConfig `json:"retention,omitempty"`
}

// Bin is a bin as the API shows it. Token is the owner token: in the answer
// to create and to token revocation only.
type Bin struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	URL          string     `json:"url"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	Private      bool       `json:"private"`
	Settings     Settings   `json:"settings"`
	RequestCount *int64     `json:"request_count,omitempty"`
	RefusedCount *int64     `json:"refused_count,omitempty"`
	// LastRequestAt is the newest request's receive time (the bin list only).
	LastRequestAt *time.Time `json:"last_request_at,omitempty"`
	Token         string     `json:"token,omitempty"`
}

// ViewBin is b as shown; hint renders the signature secret (nil: none shown).
func ViewBin(b *schema.Bin, url string, hint func(string) string) Bin {
	v := Bin{ID: b.ID, Name: b.Name, URL: url, CreatedAt: b.CreatedAt, ExpiresAt: b.ExpiresAt, Private: b.Private,
		Settings: Settings{Response: b.Settings.Response, Forward: b.Settings.Forward,
			AllowCIDRs: b.Settings.AllowCIDRs, Redact: b.Settings.Redact, Retention: b.Settings.Retention}}
	if sc := b.Settings.Signature; sc != nil {
		v.Settings.Signature = &Signature{Scheme: sc.Scheme, Tolerance: sc.Tolerance, Header: sc.Header,
			Algorithm: sc.Algorithm, Encoding: sc.Encoding, Prefix: sc.Prefix, Enforce: sc.Enforce}
		if sc.Secret != "" && hint != nil {
			v.Settings.Signature.SecretHint = hint(sc.Secret)
		}
	}
	return v
}

// Share is the answer to POST /api/v1/bins/{bin}/share.
type Share struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Error is every API error's body.
type Error struct {
	Error string `json:"error"`
	// Limit names the quota or rate limit that refused the request (429).
	Limit string `json:"limit,omitempty"`
}
