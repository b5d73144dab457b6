package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// forwardConfig is the bin's forward setting when this capture is to be
// relayed. A truncated body is not relayed: the target would get a body
// that differs from what the sender sent.
func (p *Pipeline) forwardConfig(bin *schema.Bin, in *Incoming) *schema.ForwardConfig {
	fc := bin.Settings.Forward
	if fc == nil || fc.URL == "" || p.opts.Forwarder == nil || in.BodyTruncated {
		return nil
	}
	return fc
}

// forwardLoop reports a capture that went through MaxHops relays already:
// it is recorded with an error instead of being relayed again.
func forwardLoop(fc *schema.ForwardConfig, in *Incoming) *schema.Forward {
	if n := forward.Hops(in.Headers); n >= forward.MaxHops {
		mode := fc.Mode
		if mode == "" {
			mode = forward.ModeAsync
		}
		return &schema.Forward{URL: fc.URL, Mode: mode,
			Error: fmt.Sprintf("forward loop: %s is %d; not forwarded", forward.HopsHeader, n)}
	}
	return nil
}

// proxy relays r and answers with the target's answer; when the target
// cannot be reached the sender gets 502 (504 on a timeout).
func (p *Pipeline) proxy(ctx context.Context, fc schema.ForwardConfig, r *schema.Request) Response {
	res := p.opts.Forwarder.Do(ctx, fc, r, forward.ModeProxy, true)
	r.Forward = &res.Forward
	if res.Status == 0 {
		status := 502
		if len(res.Forward.Error) >= 7 && res.Forward.Error[:7] == "timeout" {
			status = 504
		}
		return jsonError(status, "forward target failed: "+res.Forward.Error, r.ID)
	}
	return Response{Status: res.Status, Headers: res.Headers, Body: res.Body}
}

// forwardAsync relays r in the forwarder's worker pool; the record goes to
// the batcher (and the live feed and observers) once the forward finished,
// so the stored record carries its outcome.
//
// Durability: between the answer to the sender and the end of the forward
// (at most the forward timeout, plus queueing) the record is not in the
// batcher. With a Journal it is on disk meanwhile, and a crash recovers it
// on the next start (recorded with forward.error JournalInterrupted);
// without one a crash loses it. A clean shutdown waits for it either way
// (App.Shutdown closes the forwarder before the batcher). When the pool is
// saturated the request is recorded at once with the error "forward queue
// full; not forwarded", so overload never loses a capture.
func (p *Pipeline) forwardAsync(fc schema.ForwardConfig, r *schema.Request) error {
	pending := schema.Forward{URL: fc.URL, Mode: forward.ModeAsync}
	r.Forward = &pending
	j := p.opts.Journal
	if j != nil {
		if err := j.Add(r); err != nil {
			p.log.Warn("forward journal", "bin", r.BinID, "request_id", r.ID, "err", err)
		}
	}
	err := p.opts.Forwarder.Submit(fc, r, func(fw schema.Forward) {
		r.Forward = &fw
		if err := p.Record(r); err != nil {
			p.log.Error("record forwarded request", "bin", r.BinID, "request_id", r.ID, "err", err)
			return // stays in the journal: recovered on the next start
		}
		if j != nil {
			if err := j.Done(r.ID); err != nil {
				p.log.Warn("forward journal", "err", err)
			}
		}
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, forward.ErrQueueFull) {
		pending.Error = "forward queue full; not forwarded"
	} else {
		pending.Error = fmt.Sprintf("not forwarded: %v", err)
	}
	if err := p.Record(r); err != nil {
		return err
	}
	if j != nil {
		_ = j.Done(r.ID)
	}
	return nil
}
