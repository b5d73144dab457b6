package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// RetentionStore is what retention needs from the store.
type RetentionStore interface {
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
	ListBins(ctx context.Context) ([]*schema.Bin, error)
	TrimRequests(ctx context.Context, binID string, keep int) (int64, error)
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
}

// RetentionOptions configure RunRetention.
type RetentionOptions struct {
	Logger *slog.Logger
	// Interval between sweeps (default 1m).
	Interval time.Duration
	// MaxRequestsPerBin keeps at most this many requests in every bin (0: no limit).
	MaxRequestsPerBin int
	// MaxBytesPerBin keeps, in every bin, the newest requests whose stored
	// size fits (0: no limit); see retention_bytes.go.
	MaxBytesPerBin int64
	// MaxBodyBytes is the capture body limit (what a body can occupy).
	MaxBodyBytes int64
	// Dropped is told how many requests the byte quota removed.
	Dropped func(n int64)
	Now     func() time.Time
	// Tasks run after the store's own retention on every sweep (the
	// replay jobs' retention, replays.Manager.Purge), in order; an error
	// is logged and the next sweep tries again.
	Tasks []RetentionTask
}

// RetentionTask is more cleanup done on each retention sweep.
type RetentionTask struct {
	Name string
	// Run removes what is due and returns how many items it removed.
	Run func(ctx context.Context) (int64, error)
}

// RunRetention removes expired bins and their data, and trims every bin to
// MaxRequestsPerBin, every Interval until ctx ends.
func RunRetention(ctx context.Context, st RetentionStore, opts RetentionOptions) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger.With("component", "retention")
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := st.PurgeExpired(ctx, opts.Now())
			if err != nil {
				log.Warn("purge expired bins", "err", err)
			} else if n > 0 {
				log.Info("purged expired bins", "bins", n)
			}
			trimBins(ctx, st, opts.MaxRequestsPerBin, log)
			trimBinsToBytes(ctx, st, opts, log)
			applyBinRetention(ctx, st, opts.Now(), log)
			for _, task := range opts.Tasks {
				if n, err := task.Run(ctx); err != nil {
					log.Warn("retention task", "task", task.Name, "err", err)
				} else if n > 0 {
					log.Info("retention task removed items", "task", task.Name, "removed", n)
				}
			}
		}
	}
}

// trimBins keeps at most keep requests in every bin.
func trimBins(ctx context.Context, st RetentionStore, keep int, log *slog.Logger) {
	if keep <= 0 {
		return
	}
	bins, err := st.ListBins(ctx)
	if err != nil {
		log.Warn("trim bins: list", "err", err)
		return
	}
	for _, b := range bins {
		n, err := st.TrimRequests(ctx, b.ID, keep)
		if err != nil {
			log.Warn("trim bin", "bin", b.ID, "err", err)
			continue
		}
		if n > 0 {
			log.Debug("trimmed bin", "bin", b.ID, "removed", n)
		}
	}
}
