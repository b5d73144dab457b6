package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// BinRetentionStore is what per-bin retention needs beyond RetentionStore.
type BinRetentionStore interface {
	// DeleteMatching removes a bin's requests received before f.Until
	// (both stores count first and do nothing when nothing matches: no
	// ClickHouse mutation for a bin with nothing old).
	DeleteMatching(ctx context.Context, f schema.Filter) (int64, error)
}

// applyBinRetention applies every bin's own retention setting
// (retention: {max_age, max_requests}), next to the server-wide limits: the
// stricter of the two wins because both run. Bins without one cost nothing
// but the listing.
func applyBinRetention(ctx context.Context, st RetentionStore, now time.Time, log *slog.Logger) {
	bst, ok := st.(BinRetentionStore)
	list, err := st.ListBins(ctx)
	if err != nil {
		log.Warn("bin retention: list bins", "err", err)
		return
	}
	for _, b := range list {
		rc := b.Settings.Retention
		if rc == nil {
			continue
		}
		if rc.MaxRequests > 0 {
			if n, err := st.TrimRequests(ctx, b.ID, rc.MaxRequests); err != nil {
				log.Warn("bin retention: trim", "bin", b.ID, "err", err)
			} else if n > 0 {
				log.Debug("bin retention: kept the newest", "bin", b.ID, "max_requests", rc.MaxRequests, "removed", n)
			}
		}
		age, err := rc.Age()
		if err != nil || age <= 0 || !ok {
			continue
		}
		n, err := bst.DeleteMatching(ctx, schema.Filter{BinID: b.ID, Until: now.Add(-age)})
		if err != nil {
			log.Warn("bin retention: delete old requests", "bin", b.ID, "err", err)
			continue
		}
		if n > 0 {
			log.Debug("bin retention: removed old requests", "bin", b.ID, "max_age", rc.MaxAge, "removed", n)
		}
	}
}
