package ingest

import (
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// NotVerifiableError says why a stored request cannot be checked again;
// the reason is safe to show to the bin's owner.
type NotVerifiableError struct{ Reason string }

func (e *NotVerifiableError) Error() string { return "cannot re-verify: " + e.Reason }

// Reverify checks the signature of a stored request again with the bin's
// current signature settings: a request captured before its bin got a
// secret (or a rotated one) gets a verdict. It runs as at capture time
// (Now is r.ReceivedAt): a timestamped scheme's tolerance is measured from
// the arrival, not from today, and the lag is the same as then. url is the
// public URL the sender used (Twilio signs it). The stored record is not
// changed. Errors: *NotVerifiableError (no scheme, settings that do not
// parse, a body truncated at capture).
func Reverify(bin *schema.Bin, r *schema.Request, url string) (schema.Signature, *int64, error) {
	cfg := bin.Settings.Signature
	if cfg == nil || cfg.Scheme == "" {
		return schema.Signature{}, nil, &NotVerifiableError{"the bin has no signature scheme; set one (and its secret) in the bin's settings"}
	}
	if r.BodyTruncated {
		return schema.Signature{}, nil, &NotVerifiableError{"the body was truncated at capture: the signed bytes are not all stored"}
	}
	v, err := signature.New(cfg)
	if err != nil {
		return schema.Signature{}, nil, &NotVerifiableError{"the bin's signature settings do not apply: " + err.Error()}
	}
	if !v.NeedsURL() {
		url = ""
	}
	res := v.Verify(signature.Input{Headers: r.Headers, Body: r.Body, URL: url, Now: r.ReceivedAt})
	var lag *int64
	if !res.SignedAt.IsZero() {
		ms := r.ReceivedAt.Sub(res.SignedAt).Milliseconds()
		lag = &ms
	}
	return res.Signature, lag, nil
}
