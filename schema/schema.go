// Package schema is hookscope's data contract: the records it captures, the
// bins that own them, the filters and cursors of the read side, and the
// storage interfaces every backend implements. It imports nothing of ours so
// that every other package can depend on it.
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

	// RefusedReason says why the bin's enforcement refused the delivery
	// (signature.enforce: 401; allow_cidrs: 403; ResponseStatus holds the
	// answer). Empty when it was accepted. Refused deliveries are recorded
	// like any other, and never forwarded.
	RefusedReason string `json:"refused_reason,omitempty"`
	// Redacted lists what was replaced before the record was stored (nil:
	// nothing). Headers and BodyPaths hold what matched, not the values.
	Redacted *Redaction `json:"redacted,omitempty"`
}

// Redaction is what capture replaced in a record before storing it.
type Redaction struct {
	Headers   []string `json:"headers,omitempty"`    // header names, as sent
	BodyPaths []string `json:"body_paths,omitempty"` // JSON body paths found and replaced
	// BodyDropped: the bin keeps metadata only (redact.store_body false);
	// BodySize still says what was sent.
	BodyDropped bool `json:"body_dropped,omitempty"`
}

// EncodeRedaction is the text form stores keep ("" for nil).
func EncodeRedaction(r *Redaction) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode redacted: %w", err)
	}
	return string(b), nil
}

// DecodeRedaction reads what EncodeRedaction wrote.
func DecodeRedaction(s string) (*Redaction, error) {
	if s == "" {
		return nil, nil
	}
	r := new(Redaction)
	if err := json.Unmarshal([]byte(s), r); err != nil {
		return nil, fmt.Errorf("decode redacted: %w", err)
	}
	return r, nil
}

// RedactedValue replaces a redacted header value or JSON body value.
const RedactedValue = "[redacted]"

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
	// AllowCIDRs, when set, is the only senders capture accepts; others are
	// answered 403 (and recorded, with the reason). Canonical prefixes.
	AllowCIDRs []string         `json:"allow_cidrs,omitempty"`
	Redact     *RedactConfig    `json:"redact,omitempty"`
	Retention  *RetentionConfig `json:"retention,omitempty"`
}

// RedactConfig names what capture replaces before a record is stored, on
// top of the server-wide headers (HOOKSCOPE_REDACT_HEADERS).
type RedactConfig struct {
	Headers   []string `json:"headers,omitempty"`    // header names, case-insensitive
	BodyPaths []string `json:"body_paths,omitempty"` // JSON paths: "card.number", "items.0.token"
	// StoreBody false keeps metadata only: the body is not stored (nil: true).
	StoreBody *bool `json:"store_body,omitempty"`
}

// KeepsBody reports whether the bin stores bodies.
func (c *RedactConfig) KeepsBody() bool { return c == nil || c.StoreBody == nil || *c.StoreBody }

// RetentionConfig bounds how much of a bin's history is kept, next to the
// server-wide limits (the stricter applies).
type RetentionConfig struct {
	MaxAge      string `json:"max_age,omitempty"` // Go duration or "7d"
	MaxRequests int    `json:"max_requests,omitempty"`
}

// MaxRetentionDays bounds retention.max_age.
const MaxRetentionDays = 3650

// Age parses MaxAge (0 when empty): a Go duration from 1m, or a number of
// days ("7d"), at most MaxRetentionDays days.
func (c *RetentionConfig) Age() (time.Duration, error) {
	if c == nil || c.MaxAge == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(c.MaxAge, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > MaxRetentionDays {
			return 0, fmt.Errorf("%w: max_age: days must be from 1 to %d, like \"7d\"", ErrInvalid, MaxRetentionDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(c.MaxAge)
	if err != nil || d < time.Minute || d > MaxRetentionDays*24*time.Hour {
		return 0, fmt.Errorf("%w: max_age: must be a duration from 1m to %dd, like \"72h\" or \"7d\"", ErrInvalid, MaxRetentionDays)
	}
	return d, nil
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
	// Enforce answers 401 to a delivery whose signature is invalid or
	// missing (it is still recorded, with the reason).
	Enforce bool `json:"enforce,omitempty"`
}

// ResponseConfig is what capture answers for a bin. Bodies may use request
// fields ({{request.id}}, {{body.<path>}}, {{header.<name>}}, ...), escaped
// for the response's content type (ingest/respond.go).
type ResponseConfig struct {
	Status  int            `json:"status,omitempty"`
	Headers []Header       `json:"headers,omitempty"`
	Body    string         `json:"body,omitempty"`
	DelayMS int            `json:"delay_ms,omitempty"`
	Rules   []ResponseRule `json:"rules,omitempty"`
	// CORS answers preflights (OPTIONS with Access-Control-Request-Method)
	// with 204 and the CORS headers, and adds Access-Control-Allow-Origin to
	// every answer, so a browser page can post to the bin.
	CORS bool `json:"cors,omitempty"`
}

// ResponseRule picks a different response. Every condition it sets must
// hold: method, path prefix, a header, a query parameter, a JSON body field.
type ResponseRule struct {
	Method     string      `json:"method,omitempty"`
	PathPrefix string      `json:"path_prefix,omitempty"`
	Header     *FieldMatch `json:"header,omitempty"`     // Name: header name, case-insensitive
	Query      *FieldMatch `json:"query,omitempty"`      // Name: query parameter
	BodyField  *FieldMatch `json:"body_field,omitempty"` // Path: JSON body dot path
	Status     int         `json:"status,omitempty"`
	Headers    []Header    `json:"headers,omitempty"`
	Body       string      `json:"body,omitempty"`
	DelayMS    int         `json:"delay_ms,omitempty"`
}

// FieldMatch is one condition of a response rule: the named header, query
// parameter or JSON body field is present and, when Value is set, equal to
// it (any of a repeated header or parameter; a body field as its text:
// strings unquoted, numbers and booleans as written).
type FieldMatch struct {
	Name  string  `json:"name,omitempty"`
	Path  string  `json:"path,omitempty"`
	Value *string `json:"value,omitempty"`
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

// Replay job states. A job is queued until its runner picks it up, running
// while it sends, and ends done, canceled, failed (it could not go on: the
// bin vanished, the store failed) or interrupted (its runner stopped before
// it finished: the process exited or died; see replays.Manager.Recover).
const (
	ReplayQueued      = "queued"
	ReplayRunning     = "running"
	ReplayDone        = "done"
	ReplayCanceled    = "canceled"
	ReplayFailed      = "failed"
	ReplayInterrupted = "interrupted"
)

// ReplayJob is a bulk replay (POST /api/v1/bins/{bin}/replays): the
// requests of a bin matching a filter, sent again at a bounded rate, each
// recorded as a replay of its original. Stores keep it as one document
// (so the job can grow fields without a migration) plus the columns they
// index: id, bin, state.
type ReplayJob struct {
	ID    uuid.UUID `json:"id"` // UUIDv7
	BinID string    `json:"bin_id"`
	// Params are the list filters as the caller gave them (method, status,
	// q, ...); the runner parses them with the list's own parser, so a
	// job filters exactly like the list.
	Params map[string]string `json:"params"`
	URL    string            `json:"url,omitempty"` // "" = the bin's forward target
	Rate   float64           `json:"rate"`          // requests per second
	// RemoteIP is who asked for the job; each replay's record carries it.
	RemoteIP string `json:"remote_ip"`
	// Until is the snapshot bound: only requests received before it are
	// replayed (the replays themselves land in the same bin, later).
	Until time.Time `json:"until"`
	State string    `json:"state"`
	// Total is how many requests matched when the job was created (at most
	// the job limit); Sent counts attempts, Succeeded the 2xx answers,
	// Failed the rest (errors, non-2xx, originals deleted meanwhile).
	Total     int64  `json:"total"`
	Sent      int64  `json:"sent"`
	Succeeded int64  `json:"succeeded"`
	Failed    int64  `json:"failed"`
	Error     string `json:"error,omitempty"`
	// Instance names the process running the job; Heartbeat is when it
	// last wrote progress.
	Instance  string     `json:"instance"`
	Heartbeat time.Time  `json:"heartbeat"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Finished  *time.Time `json:"finished_at,omitempty"`
	// CancelRequested is set by CancelReplayJob (from any instance); the
	// runner reads it and stops.
	CancelRequested bool `json:"cancel_requested"`
}

// Ended reports whether the job is in a final state.
func (j *ReplayJob) Ended() bool {
	switch j.State {
	case ReplayDone, ReplayCanceled, ReplayFailed, ReplayInterrupted:
		return true
	}
	return false
}
