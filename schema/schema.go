// Package schema is hookscope's data contract: the records it captures, the
// bins that own them, the filters and cursors of the read side, and the
// storage interfaces every backend implements. It imports nothing of ours so
// that every other package can depend on it.
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Sentinel errors. Backends wrap them with %w; the web layer maps them to
// HTTP status codes in one place.
var (
	// ErrNotFound: the bin, request, rule or event does not exist (or expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict: an object with that id already exists.
	ErrConflict = errors.New("already exists")
	// ErrInvalid: the caller passed a value the store cannot accept.
	ErrInvalid = errors.New("invalid argument")
	// ErrUnavailable: the backend cannot be reached right now; the caller may retry.
	ErrUnavailable = errors.New("storage unavailable")
)

// Header is one header line as it arrived. Requests keep headers as an ordered
// list so duplicates and order survive. JSON form: ["Name","value"].
type Header struct {
	Name  string
	Value string
}

// MarshalJSON encodes a header as a two-element array.
func (h Header) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{h.Name, h.Value})
}

// UnmarshalJSON decodes the two-element array form.
func (h *Header) UnmarshalJSON(b []byte) error {
	var pair [2]string
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("header must be [name, value]: %w", err)
	}
	h.Name, h.Value = pair[0], pair[1]
	return nil
}

// SignatureStatus is the verdict of signature verification.
type SignatureStatus string

const (
	SigValid     SignatureStatus = "valid"
	SigInvalid   SignatureStatus = "invalid"
	SigMissing   SignatureStatus = "missing"
	SigUnchecked SignatureStatus = "unchecked"
)

// Valid reports whether s is one of the four known verdicts.
func (s SignatureStatus) Valid() bool {
	switch s {
	case SigValid, SigInvalid, SigMissing, SigUnchecked:
		return true
	}
	return false
}

// Signature is what verification concluded for one request.
type Signature struct {
	Scheme string          `json:"scheme"`
	Status SignatureStatus `json:"status"`
	Reason string          `json:"reason"`
}

// Forward is the outcome of relaying a captured request to the bin's target
// (or of a replay).
//
// Status, LatencyUS and Error are those of the last attempt. Attempts keeps
// every attempt of an async forward (retries and redeliveries included) in
// order; State is where the forward stands. Skipped, with State
// ForwardSkipped, says why a capture was not forwarded (the bin's forward
// filter did not match).
type Forward struct {
	URL       string           `json:"url"`
	Mode      string           `json:"mode"` // "async" or "proxy" (or "replay")
	Status    int              `json:"status"`
	LatencyUS int64            `json:"latency_us"`
	Error     string           `json:"error,omitempty"`
	State     ForwardState     `json:"state,omitempty"`
	Attempts  []ForwardAttempt `json:"attempts,omitempty"`
	NextAt    *time.Time       `json:"next_at,omitempty"` // the next attempt, while retrying
	Skipped   string           `json:"skipped,omitempty"`
}

// ForwardAttempt is one try of a forward.
type ForwardAttempt struct {
	At        time.Time `json:"at"`
	Status    int       `json:"status"` // 0: the target did not answer
	LatencyUS int64     `json:"latency_us"`
	Error     string    `json:"error,omitempty"`
}

// ForwardState is where a forward stands. Records written before states
// existed have "" and are read as delivered or failed from Status and Error.
type ForwardState string

const (
	ForwardDelivered ForwardState = "delivered" // the target answered 2xx
	ForwardFailed    ForwardState = "failed"    // no attempt left (or none allowed) and none succeeded
	ForwardRetrying  ForwardState = "retrying"  // failed so far; NextAt is the next attempt
	ForwardSkipped   ForwardState = "skipped"   // not forwarded: the forward filter did not match
)

// Valid reports whether s is one of the four states.
func (s ForwardState) Valid() bool {
	switch s {
	case ForwardDelivered, ForwardFailed, ForwardRetrying, ForwardSkipped:
		return true
	}
	return false
}

// StateOf is f's state, derived from the last outcome for records that
// carry none (written before states existed, proxy answers, replays).
func (f *Forward) StateOf() ForwardState {
	switch {
	case f == nil:
		return ""
	case f.State != "":
		return f.State
	case f.Error == "" && f.Status >= 200 && f.Status <= 299:
		return ForwardDelivered
	default:
		return ForwardFailed
	}
}

// Version orders the outcomes of one forward: every attempt adds one, so a
// store keeps the outcome with the most attempts when updates arrive out of
// order or twice.
func (f *Forward) Version() int64 { return int64(len(f.Attempts)) }

// ForwardUpdate is a later outcome of a stored request's forward (a retry or
// a redelivery). Forward replaces the stored one when its Version is greater.
type ForwardUpdate struct {
	BinID   string
	ID      uuid.UUID
	Forward Forward
}

// Request is one captured delivery. Stores must round-trip every field
// exactly; Body is raw bytes (binary and invalid UTF-8 included).
type Request struct {
	ID            uuid.UUID `json:"id"` // UUIDv7, generated at capture
	BinID         string    `json:"bin_id"`
	ReceivedAt    time.Time `json:"received_at"` // UTC, microsecond precision
	Method        string    `json:"method"`
	Path          string    `json:"path"`  // part after /h/{bin}; "/" when empty
	Query         string    `json:"query"` // raw query string, no leading '?'
	Headers       []Header  `json:"headers"`
	RemoteIP      string    `json:"remote_ip"`
	ContentType   string    `json:"content_type"`
	BodySize      int64     `json:"body_size"` // bytes the sender sent
	BodyTruncated bool      `json:"body_truncated"`
	Body          []byte    `json:"-"` // stored bytes (at most the body limit)
	// Aborted: the sender stopped sending the body (connection closed or
	// timed out) and got no answer. Body holds what arrived; BodyTruncated
	// is true and ResponseStatus 0.
	Aborted bool `json:"aborted"`

	ResponseStatus int   `json:"response_status"`
	LatencyUS      int64 `json:"latency_us"`

	Signature     Signature `json:"signature"`
	DeliveryLagMS *int64    `json:"delivery_lag_ms"` // receive time minus signed timestamp, when the scheme carries one
	Forward       *Forward  `json:"forward"`

	// What the delivery says about itself (ingest/event), empty when
	// nothing was found. Attempt is 1 for a first delivery; when the
	// provider does not state it, the store writer counts the chain.
	EventType  string `json:"event_type"`
	DeliveryID string `json:"delivery_id"`
	Attempt    int    `json:"attempt"`
	// DuplicateOf is the id of the first request of the bin with the same
	// DeliveryID (nil for that first one and for requests without one).
	DuplicateOf *uuid.UUID `json:"duplicate_of"`
}

// Truncate normalises a timestamp the way stores keep it: UTC, microseconds.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Bin owns captured requests. Settings is a typed document that stores keep as
// one JSON value, so features can add settings without touching backends.
type Bin struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt *time.Time  `json:"expires_at"` // nil: never expires
	Private   bool        `json:"private"`
	Settings  BinSettings `json:"settings"`
	// TokenGen is the bin's token generation: owner tokens and share links
	// carry the generation they were minted in, and only the current one is
	// accepted. Revoking a bin's tokens increments it. Stores keep it with
	// the bin (UpdateBin writes it too).
	TokenGen uint64 `json:"token_gen"`
}

// Expired reports whether the bin has expired at now.
func (b *Bin) Expired(now time.Time) bool {
	return b.ExpiresAt != nil && !now.Before(*b.ExpiresAt)
}

// BinSettings is everything configurable on a bin beyond its identity. Unknown
// fields are preserved by stores because they store the marshalled document.
type BinSettings struct {
	Signature *SignatureConfig `json:"signature,omitempty"`
	Response  *ResponseConfig  `json:"response,omitempty"`
	Forward   *ForwardConfig   `json:"forward,omitempty"`
}

// SignatureConfig selects the verifier of a bin. Secret is write-only at the
// API: it is stored but never returned.
type SignatureConfig struct {
	Scheme    string `json:"scheme"`
	Secret    string `json:"secret,omitempty"`
	Tolerance string `json:"tolerance,omitempty"` // Go duration; empty = the scheme's default
	// Generic "hmac" scheme options.
	Header    string `json:"header,omitempty"`
	Algorithm string `json:"algorithm,omitempty"` // sha1, sha256, sha512
	Encoding  string `json:"encoding,omitempty"`  // hex, base64
	Prefix    string `json:"prefix,omitempty"`    // e.g. "sha256="
}

// ResponseConfig is what capture answers for a bin.
type ResponseConfig struct {
	Status  int            `json:"status,omitempty"`
	Headers []Header       `json:"headers,omitempty"`
	Body    string         `json:"body,omitempty"`
	DelayMS int            `json:"delay_ms,omitempty"`
	Rules   []ResponseRule `json:"rules,omitempty"`
}

// ResponseRule picks a different response by method and/or path prefix.
type ResponseRule struct {
	Method     string   `json:"method,omitempty"`
	PathPrefix string   `json:"path_prefix,omitempty"`
	Status     int      `json:"status,omitempty"`
	Headers    []Header `json:"headers,omitempty"`
	Body       string   `json:"body,omitempty"`
	DelayMS    int      `json:"delay_ms,omitempty"`
}

// ForwardConfig relays every capture of a bin to URL.
type ForwardConfig struct {
	URL     string `json:"url"`
	Timeout string `json:"timeout,omitempty"` // Go duration
	Mode    string `json:"mode,omitempty"`    // "async" (default) or "proxy"
	// Retry retries a failed async forward with exponential backoff (nil:
	// one attempt).
	Retry *RetryConfig `json:"retry,omitempty"`
	// Filter forwards only the captures it matches: the requests list's
	// filter parameters as a query string ("method=POST&event_type=push"),
	// plus path_prefix= and header= (see bins.ValidateForward). Empty:
	// every capture.
	Filter string `json:"filter,omitempty"`
}

// RetryConfig is a forward's retry policy: at most MaxAttempts attempts in
// all, the n-th retry after about Initial*2^(n-1) (with jitter), never
// more than Max apart. Durations are Go durations.
type RetryConfig struct {
	MaxAttempts int    `json:"max_attempts"`
	Initial     string `json:"initial,omitempty"`
	Max         string `json:"max,omitempty"`
}
