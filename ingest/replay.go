package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// ReplayHeader marks a replayed request's record with the original's id.
const ReplayHeader = "X-Hookscope-Replay-Of"

// ErrForwardingDisabled is returned by Replay on a pipeline without a forwarder.
var ErrForwardingDisabled = errors.New("forwarding is not enabled on this server")

// InputError is a caller's mistake in one parameter; the message is safe
// to show.
type InputError struct {
	Param string
	Msg   string
}

func (e *InputError) Error() string { return e.Param + ": " + e.Msg }

// ReplayInput is one replay request.
type ReplayInput struct {
	// Original is the stored request to send again, as the caller loaded
	// (and authorised) it.
	Original *schema.Request
	// URL is the exact target; empty sends to the bin's forward target
	// plus the original's path suffix and query.
	URL string
	// RemoteIP is the address of whoever asked for the replay.
	RemoteIP string
}

// Replay sends a captured request again and records the attempt as a new
// request of its bin, carrying ReplayHeader with the original's id (the
// target gets the original's headers only: the marker is for the history).
// The returned record's Forward holds the outcome; a target that failed is
// not an error. Errors: ErrForwardingDisabled, *InputError (no target, or a
// URL that is not http(s)), ErrUnknownBin, ErrOverloaded.
func (p *Pipeline) Replay(ctx context.Context, in ReplayInput) (*schema.Request, error) {
	if p.opts.Forwarder == nil {
		return nil, ErrForwardingDisabled
	}
	orig := in.Original
	t, err := p.bin(ctx, orig.BinID)
	if err != nil {
		return nil, err
	}
	var fc *schema.ForwardConfig
	if f := t.Bin.Settings.Forward; f != nil && f.URL != "" {
		fc = f
	}
	if in.URL == "" && fc == nil {
		return nil, &InputError{"url", "the bin has no forward target; give a url"}
	}
	if in.URL != "" && !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		return nil, &InputError{"url", "url must be http:// or https://"}
	}

	id, at := p.newID()
	r := &schema.Request{
		ID:            id,
		BinID:         orig.BinID,
		ReceivedAt:    at,
		Method:        orig.Method,
		Path:          orig.Path,
		Query:         orig.Query,
		Headers:       append(slices.Clone(orig.Headers), schema.Header{Name: ReplayHeader, Value: orig.ID.String()}),
		RemoteIP:      in.RemoteIP,
		ContentType:   orig.ContentType,
		Body:          orig.Body,
		BodySize:      orig.BodySize,
		BodyTruncated: orig.BodyTruncated,
		Signature:     orig.Signature,
		DeliveryLagMS: orig.DeliveryLagMS,
		// The replay is another delivery of the same event: the store
		// writer links it to the chain's first request (duplicate_of) and
		// numbers it along the chain (Attempt left 0: the original's
		// number, stated or counted, is not this delivery's).
		EventType:  orig.EventType,
		DeliveryID: orig.DeliveryID,
	}
	sent := *r
	sent.Headers = orig.Headers
	var res forward.Result
	if in.URL != "" {
		res = p.opts.Forwarder.Send(ctx, in.URL, p.opts.Forwarder.Timeout(fc), &sent, forward.ModeReplay, false)
	} else {
		res = p.opts.Forwarder.Do(ctx, *fc, &sent, forward.ModeReplay, false)
	}
	r.Forward = &res.Forward
	r.ResponseStatus = res.Status
	if res.Status == 0 {
		r.ResponseStatus = 502
	}
	r.LatencyUS = res.Forward.LatencyUS
	if err := p.record(ctx, r); err != nil {
		return nil, fmt.Errorf("record replay: %w", err)
	}
	return r, nil
}
