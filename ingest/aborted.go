package ingest

import (
	"github.com/hookscope/hookscope/schema"
)

// recordAborted records an upload the sender abandoned mid-body: what
// arrived is kept, marked aborted and truncated, with no response status
// (nobody was answered), no signature verdict (a partial body cannot be
// verified) and no forwarding (a partial body must not be relayed).
func (p *Pipeline) recordAborted(r *schema.Request, in *Incoming) (*schema.Request, Response, error) {
	r.Aborted = true
	r.BodyTruncated = true
	r.ResponseStatus = 0
	r.Signature = schema.Signature{Status: schema.SigUnchecked, Reason: "upload aborted by the sender"}
	r.LatencyUS = max(p.opts.Now().Sub(in.Start).Microseconds(), 0)
	if err := p.Record(r); err != nil {
		return nil, Response{}, err
	}
	return r, Response{RequestID: r.ID.String()}, nil
}
