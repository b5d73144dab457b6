package ingest

import (
	"context"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
)

// ForwardWriter is the store seam of forward updates (schema.ForwardUpdater).
type ForwardWriter interface {
	UpdateForwards(ctx context.Context, ups []schema.ForwardUpdate) error
}

// writeUpdates stores the forward updates among batches (retries and
// redeliveries, caplog.UpdateEntry), after the batch's captures: first the
// updated requests themselves, which stores only the ones missing (a crash
// may have kept a request's first record out of the log), then their new
// forward outcome, which the store applies only when it has more attempts
// than what it holds. It retries until the store takes them and returns
// false only when the consumers are closed meanwhile.
func (c *Consumers) writeUpdates(w Writer, batches []caplog.Batch) bool {
	var reqs []*schema.Request
	for _, b := range batches {
		for _, rec := range b.Records {
			if !caplog.IsUpdate(rec.Data) {
				continue
			}
			r, err := caplog.DecodeRequest(rec.Data)
			if err != nil || r.Forward == nil {
				c.opts.Metrics.Undecodable.Inc()
				c.lg.Error("skip undecodable forward update", "position", rec.Position, "err", err)
				continue
			}
			reqs = append(reqs, r)
		}
	}
	if len(reqs) == 0 {
		return true
	}
	fw, ok := w.(ForwardWriter)
	if !ok {
		c.lg.Warn("the store keeps no forward updates; dropped", "updates", len(reqs))
		return true
	}
	if !c.write(w, reqs) {
		return false
	}
	ups := make([]schema.ForwardUpdate, len(reqs))
	for i, r := range reqs {
		ups[i] = schema.ForwardUpdate{BinID: r.BinID, ID: r.ID, Forward: *r.Forward}
	}
	pause := c.opts.RetryInterval
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(c.run, c.opts.WriteTimeout)
		err := fw.UpdateForwards(ctx, ups)
		cancel()
		if err == nil {
			return true
		}
		if attempt == 0 || attempt%50 == 0 {
			c.lg.Warn("forward update failed; the log keeps the batch and the writer retries", "updates", len(ups), "attempt", attempt+1, "err", err)
		}
		if c.stop.Err() != nil || !c.sleep(pause) {
			return false
		}
		pause = min(pause*2, 5*time.Second)
	}
}
