package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookscope/hookscope/schema"
)

// ErrAborted is what Incoming.ReadBody returns (wrapped) when the sender
// stopped mid-body: Capture records what arrived, marked, and returns
// ErrAborted so the caller closes the connection without an answer.
var ErrAborted = errors.New("upload aborted by the sender")

// recordAborted records an upload the sender abandoned mid-body: what
// arrived is kept, marked aborted and truncated, with no response status
// (nobody was answered), no signature verdict (a partial body cannot be
// verified) and no forwarding (a partial body must not be relayed).
func (p *Pipeline) recordAborted(ctx context.Context, r *schema.Request, latencyUS int64) error {
	r.Aborted = true
	r.BodyTruncated = true
	r.ResponseStatus = 0
	r.Signature = schema.Signature{Status: schema.SigUnchecked, Reason: "upload aborted by the sender"}
	r.LatencyUS = max(latencyUS, 0)
	if err := p.record(ctx, r); err != nil {
		return fmt.Errorf("record aborted upload: %w", errors.Join(ErrAborted, err))
	}
	return ErrAborted
}
