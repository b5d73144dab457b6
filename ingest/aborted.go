package ingest

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// ErrAborted is returned by an Incoming's ReadBody when the sender stopped
// sending the body, and by Capture after recording such a request.
var ErrAborted = errors.New("upload aborted by the sender")

// recordAborted records an upload the sender abandoned mid-body: what
// arrived is kept, marked aborted and truncated, with no response status
// (nobody was answered), no signature verdict (a partial body cannot be
// verified) and no forwarding (a partial body must not be relayed).
func (p *Pipeline) recordAborted(r *schema.Request, start time.Time) (Response, error) {
	r.Aborted = true
	r.BodyTruncated = true
	r.ResponseStatus = 0
	r.Signature = schema.Signature{Status: schema.SigUnchecked, Reason: "upload aborted by the sender"}
	r.LatencyUS = max(p.opts.Now().Sub(start).Microseconds(), 0)
	if err := p.record(r); err != nil {
		return jsonError(503, "hookscope is overloaded; retry later", uuid.Nil), err
	}
	return Response{RequestID: r.ID.String()}, ErrAborted
}
