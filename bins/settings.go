package bins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// Limits of a bin's settings. Everything a bin stores is bounded.
const (
	MaxNameBytes         = 200
	MaxExpiryDays        = 3650
	MaxResponseBody      = 1 << 20
	MaxResponseDelayMS   = 30_000
	MaxResponseRules     = 50
	MaxResponseHeaders   = 50
	MaxHeaderNameBytes   = 256
	MaxHeaderValueBytes  = 8 << 10
	MaxPathPrefixBytes   = 1024
	MaxForwardURLBytes   = 2048
	MaxForwardTimeout    = 60 * time.Second
	minFinalStatus       = 200
	maxStatus            = 599
	minExpiry            = time.Minute
	maxExpiry            = MaxExpiryDays * 24 * time.Hour
	maxSignatureStrBytes = 4096
)

// Input is the body of create and PATCH, decoded once by web. Raw fields
// tell "absent" (nil) from "null" (clears the setting).
type Input struct {
	Name      *string         `json:"name"`
	ExpiresIn json.RawMessage `json:"expires_in"`
	Private   *bool           `json:"private"`
	Signature json.RawMessage `json:"signature"`
	Response  json.RawMessage `json:"response"`
	Forward   json.RawMessage `json:"forward"`
	// Issue 18: enforcement, redaction, retention (control.go).
	AllowCIDRs json.RawMessage `json:"allow_cidrs"`
	Redact     json.RawMessage `json:"redact"`
	Retention  json.RawMessage `json:"retention"`
}

// ParseExpiry parses expires_in: a Go duration from 1m or a number of days
// ("7d"), at most 3650 days.
func ParseExpiry(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > MaxExpiryDays {
			return 0, invalid("expires_in", `days must be from 1 to %d, like "7d"`, MaxExpiryDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	dur, err := time.ParseDuration(v)
	if err != nil || dur < minExpiry || dur > maxExpiry {
		return 0, invalid("expires_in", `must be a duration from 1m to %dd, like "24h" or "7d", or null`, MaxExpiryDays)
	}
	return dur, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// apply validates in and applies it to b; create is true for POST.
func (s *Service) apply(b *schema.Bin, in *Input, now time.Time, create bool) error {
	if in == nil {
		in = &Input{}
	}
	if in.Name != nil {
		if len(*in.Name) > MaxNameBytes {
			return invalid("name", "at most %d bytes", MaxNameBytes)
		}
		if hasControl(*in.Name) {
			return invalid("name", "must not contain control characters")
		}
		b.Name = *in.Name
	}
	switch {
	case in.ExpiresIn == nil:
		if create && s.opts.DefaultExpiry > 0 {
			t := now.Add(s.opts.DefaultExpiry)
			b.ExpiresAt = &t
		}
	case isNull(in.ExpiresIn):
		b.ExpiresAt = nil
	default:
		var v string
		if err := json.Unmarshal(in.ExpiresIn, &v); err != nil {
			return invalid("expires_in", `must be a string like "24h" or null`)
		}
		d, err := ParseExpiry(v)
		if err != nil {
			return err
		}
		t := now.Add(d)
		b.ExpiresAt = &t
	}
	if in.Private != nil {
		b.Private = *in.Private
	}
	if in.Signature != nil {
		if isNull(in.Signature) {
			b.Settings.Signature = nil
		} else {
			var sc schema.SignatureConfig
			if err := strictUnmarshal(in.Signature, &sc); err != nil {
				return invalid("signature", "%s", err.Error())
			}
			for _, f := range []string{sc.Scheme, sc.Secret, sc.Tolerance, sc.Header, sc.Algorithm, sc.Encoding, sc.Prefix} {
				if len(f) > maxSignatureStrBytes {
					return invalid("signature", "each field at most %d bytes", maxSignatureStrBytes)
				}
			}
			// Keep the stored secret when only other fields change: the
			// secret is write-only, so clients cannot send it back.
			if old := b.Settings.Signature; sc.Secret == "" && old != nil && old.Scheme == sc.Scheme {
				sc.Secret = old.Secret
			}
			if s.opts.ValidateSignature != nil {
				if err := s.opts.ValidateSignature(&sc); err != nil {
					return invalid("signature", "%s", err.Error())
				}
			}
			b.Settings.Signature = &sc
		}
	}
	if in.Response != nil {
		if isNull(in.Response) {
			b.Settings.Response = nil
		} else {
			var rc schema.ResponseConfig
			if err := strictUnmarshal(in.Response, &rc); err != nil {
				return invalid("response", "%s", err.Error())
			}
			if err := ValidateResponse(&rc); err != nil {
				return err
			}
			b.Settings.Response = &rc
		}
	}
	if in.Forward != nil {
		if isNull(in.Forward) {
			b.Settings.Forward = nil
		} else {
			var fc schema.ForwardConfig
			if err := strictUnmarshal(in.Forward, &fc); err != nil {
				return invalid("forward", "%s", err.Error())
			}
			if err := ValidateForward(&fc); err != nil {
				return err
			}
			b.Settings.Forward = &fc
		}
	}
	return applyControl(b, in)
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// ValidateResponse checks a custom response: final statuses only (200-599;
// 1xx would leave the sender waiting for a final answer that never comes),
// header names that are tokens, header values without control characters,
// no framing headers, bounded sizes. It normalises rule methods to upper
// case. Errors are *FieldError naming the field ("response: rules[2].status: ...").
func ValidateResponse(rc *schema.ResponseConfig) error {
	check := func(where string, status, delay int, headers []schema.Header, body string) error {
		if status != 0 && (status < minFinalStatus || status > maxStatus) {
			return rinvalid(where+"status", "must be a final status from %d to %d", minFinalStatus, maxStatus)
		}
		if delay < 0 || delay > MaxResponseDelayMS {
			return rinvalid(where+"delay_ms", "must be from 0 to %d", MaxResponseDelayMS)
		}
		if len(body) > MaxResponseBody {
			return rinvalid(where+"body", "at most %d bytes", MaxResponseBody)
		}
		if err := ValidateTemplate(body); err != nil {
			return rinvalid(where+"body", "%s", err)
		}
		if len(headers) > MaxResponseHeaders {
			return rinvalid(where+"headers", "at most %d headers", MaxResponseHeaders)
		}
		for i, h := range headers {
			f := fmt.Sprintf("%sheaders[%d]", where, i)
			if !ValidHeaderName(h.Name) {
				return rinvalid(f, "name must be a token of at most %d bytes", MaxHeaderNameBytes)
			}
			if !ValidHeaderValue(h.Value) {
				return rinvalid(f, "value must be at most %d bytes without control characters", MaxHeaderValueBytes)
			}
			if framingHeader(h.Name) {
				return rinvalid(f, "%q is set by hookscope itself", h.Name)
			}
		}
		return nil
	}
	if err := check("", rc.Status, rc.DelayMS, rc.Headers, rc.Body); err != nil {
		return err
	}
	if len(rc.Rules) > MaxResponseRules {
		return rinvalid("rules", "at most %d rules", MaxResponseRules)
	}
	for i := range rc.Rules {
		// Methods match the request's method exactly, which is upper case
		// for every standard method.
		rc.Rules[i].Method = strings.ToUpper(rc.Rules[i].Method)
		r := rc.Rules[i]
		where := fmt.Sprintf("rules[%d].", i)
		if r.Method == "" && r.PathPrefix == "" && r.Header == nil && r.Query == nil && r.BodyField == nil {
			return rinvalid(where[:len(where)-1], "needs method, path_prefix, header, query or body_field")
		}
		if err := validateMatches(where, &r); err != nil {
			return err
		}
		if r.Method != "" && !ValidHeaderName(r.Method) {
			return rinvalid(where+"method", "must be a token")
		}
		if len(r.PathPrefix) > MaxPathPrefixBytes || hasControl(r.PathPrefix) {
			return rinvalid(where+"path_prefix", "at most %d bytes without control characters", MaxPathPrefixBytes)
		}
		if err := check(where, r.Status, r.DelayMS, r.Headers, r.Body); err != nil {
			return err
		}
	}
	return nil
}

// rinvalid is a FieldError of the response setting: the message names the
// place inside it ("response: rules[2].status: ...").
func rinvalid(where, format string, a ...any) error {
	return &FieldError{Field: "response", Msg: where + ": " + fmt.Sprintf(format, a...)}
}

// framingHeader: headers that describe the connection or the message
// framing, which a custom response must not override.
func framingHeader(n string) bool {
	switch strings.ToLower(n) {
	case "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te":
		return true
	}
	return false
}

// ValidHeaderName: an RFC 9110 token.
func ValidHeaderName(n string) bool {
	return len(n) <= MaxHeaderNameBytes && schema.IsHeaderToken(n)
}

// ValidHeaderValue: RFC 9110 field-value characters (visible ASCII, space,
// horizontal tab, obs-text), bounded. Every other control character (NUL,
// BS, VT, CR, LF, DEL...) is refused.
func ValidHeaderValue(v string) bool {
	if len(v) > MaxHeaderValueBytes {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

// ValidateForward checks a forward target.
func ValidateForward(fc *schema.ForwardConfig) error {
	if len(fc.URL) > MaxForwardURLBytes || hasControl(fc.URL) {
		return invalid("forward", "url: at most %d bytes without control characters", MaxForwardURLBytes)
	}
	if !strings.HasPrefix(fc.URL, "http://") && !strings.HasPrefix(fc.URL, "https://") {
		return invalid("forward", "url: must be http:// or https://")
	}
	if fc.Timeout != "" {
		d, err := time.ParseDuration(fc.Timeout)
		if err != nil || d <= 0 || d > MaxForwardTimeout {
			return invalid("forward", "timeout: must be a duration up to %v", MaxForwardTimeout)
		}
	}
	switch fc.Mode {
	case "", "async", "proxy":
	default:
		return invalid("forward", `mode: must be "async" or "proxy"`)
	}
	if fc.Retry != nil {
		if fc.Mode == "proxy" {
			return invalid("forward", "retry: applies to async forwarding only (a proxy answers the sender with the first attempt)")
		}
		if _, err := forward.ParsePolicy(fc.Retry); err != nil {
			return invalid("forward", "retry.%s", err.Error())
		}
	}
	if _, err := forward.ParseFilter(fc.Filter); err != nil {
		return invalid("forward", "filter: %s", err.Error())
	}
	return nil
}
