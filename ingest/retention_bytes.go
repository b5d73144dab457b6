package ingest

import (
	"context"
	"log/slog"

	"github.com/hookscope/hookscope/schema"
)

// trimBinsToBytes applies the stored-bytes quota: in every bin it keeps the
// newest requests whose stored size adds up to at most MaxBytesPerBin and
// drops the older ones (the oldest go first; capture is never refused for
// it, so a provider's deliveries are always answered). It pages newest
// first and stops at the first request over the budget, so a bin costs a
// scan of what it keeps.
func trimBinsToBytes(ctx context.Context, st RetentionStore, opts RetentionOptions, log *slog.Logger) {
	budget := opts.MaxBytesPerBin
	if budget <= 0 {
		return
	}
	bins, err := st.ListBins(ctx)
	if err != nil {
		log.Warn("byte quota: list bins", "err", err)
		return
	}
	for _, b := range bins {
		keep, over, err := fitBytes(ctx, st, b.ID, budget, opts.MaxBodyBytes)
		if err != nil {
			log.Warn("byte quota: scan bin", "bin", b.ID, "err", err)
			continue
		}
		if !over {
			continue
		}
		n, err := st.TrimRequests(ctx, b.ID, keep)
		if err != nil {
			log.Warn("byte quota: trim bin", "bin", b.ID, "err", err)
			continue
		}
		if n > 0 {
			log.Debug("byte quota: dropped oldest requests", "bin", b.ID, "removed", n)
			if opts.Dropped != nil {
				opts.Dropped(n)
			}
		}
	}
}

// fitBytes counts the newest requests of bin that fit budget; over is true
// when older ones do not.
func fitBytes(ctx context.Context, st RetentionStore, bin string, budget, maxBody int64) (keep int, over bool, err error) {
	f := schema.Filter{BinID: bin, Limit: 1000}
	var sum int64
	for {
		page, err := st.ListRequests(ctx, f)
		if err != nil {
			return 0, false, err
		}
		for _, r := range page.Requests {
			sum += StoredSize(r, maxBody)
			if sum > budget {
				return keep, true, nil
			}
			keep++
		}
		if page.Next == nil {
			return keep, false, nil
		}
		f.Before = page.Next
	}
}

// StoredSize estimates what a request occupies: its body as stored (at
// most maxBody when set) plus its path, query and headers.
func StoredSize(r *schema.Request, maxBody int64) int64 {
	body := r.BodySize
	if maxBody > 0 && body > maxBody {
		body = maxBody
	}
	n := body + int64(len(r.Path)+len(r.Query)+len(r.Method)+len(r.RemoteIP)+len(r.ContentType))
	for _, h := range r.Headers {
		n += int64(len(h.Name) + len(h.Value) + 4)
	}
	return n
}
