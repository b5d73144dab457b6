package alerts

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// input is one observation for one bin, as Observe queues it.
type input struct {
	bin string
	o   Obs
}

// binBuf is one bin's observations, oldest first.
type binBuf struct {
	obs  []Obs
	last time.Time // wall time of the last observation
}

// windows is the first stage: per-bin observation buffers the detectors
// read, rebuilt from history at start. Owned by the engine's run goroutine
// (recover runs before it starts).
type windows struct {
	hist History
	opt  *Options
	log  *slog.Logger

	bins      map[string]*binBuf
	recovered map[uuid.UUID]struct{} // replayed ids still expected live
	recEnd    time.Time

	recoveredN, trimmed atomic.Int64
}

func newWindows(hist History, opt *Options, log *slog.Logger) *windows {
	return &windows{hist: hist, opt: opt, log: log, bins: map[string]*binBuf{}}
}

// obs returns the bin's observations (nil when none); the caller must not
// keep the slice past the next ingest.
func (w *windows) obs(bin string) []Obs {
	if b := w.bins[bin]; b != nil {
		return b.obs
	}
	return nil
}

// binIDs returns the bins that have a buffer, sorted.
func (w *windows) binIDs() []string {
	out := make([]string, 0, len(w.bins))
	for b := range w.bins {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// recover replays recent requests of the bins the rules watch.
func (w *windows) recover(ctx context.Context, rules []*Rule) {
	now := w.opt.Now()
	w.recEnd = now
	lookback := map[string]time.Duration{} // bin -> lookback; "" = every bin
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		d, err := newDetector(r)
		if err != nil {
			continue
		}
		lb := min(d.lookback()+r.Params.Window.D(), w.opt.MaxRecovery)
		lookback[r.Bin()] = max(lookback[r.Bin()], lb)
	}
	if len(lookback) == 0 {
		return
	}
	var bins []string
	if _, all := lookback[""]; all {
		sctx, cancel := context.WithTimeout(ctx, w.opt.StoreTimeout)
		bs, err := w.hist.ListBins(sctx)
		cancel()
		if err != nil {
			w.log.Warn("recover: list bins", "err", err)
		}
		for _, b := range bs {
			if !b.Expired(now) {
				bins = append(bins, b.ID)
			}
		}
	}
	for b := range lookback {
		if b != "" && !slices.Contains(bins, b) {
			bins = append(bins, b)
		}
	}
	w.recovered = map[uuid.UUID]struct{}{}
	for _, bin := range bins {
		lb := max(lookback[bin], lookback[""])
		since := now.Add(-lb)
		// Newest first, so a bin with more than MaxObsPerBin keeps its
		// most recent requests.
		var got []*schema.Request
		f := schema.Filter{BinID: bin, Since: since, Until: now, Limit: 1000}
		for len(got) < w.opt.MaxObsPerBin {
			sctx, cancel := context.WithTimeout(ctx, w.opt.StoreTimeout)
			page, err := w.hist.ListRequests(sctx, f)
			cancel()
			if err != nil {
				w.log.Warn("recover: list requests", "bin_id", bin, "err", err)
				break
			}
			got = append(got, page.Requests...)
			if page.Next == nil || len(page.Requests) == 0 {
				break
			}
			f.Before = page.Next
		}
		if len(got) > w.opt.MaxObsPerBin {
			got = got[:w.opt.MaxObsPerBin]
		}
		buf := &binBuf{obs: make([]Obs, 0, len(got))}
		for i := len(got) - 1; i >= 0; i-- {
			r := got[i]
			buf.add(ObsOf(r))
			if !r.ReceivedAt.Before(now.Add(-time.Minute)) {
				w.recovered[r.ID] = struct{}{}
			}
		}
		w.recoveredN.Add(int64(len(got)))
		if len(buf.obs) > 0 {
			buf.last = now
			w.bins[bin] = buf
		}
	}
}

func (b *binBuf) add(o Obs) {
	n := len(b.obs)
	if n == 0 || !o.At.Before(b.obs[n-1].At) {
		b.obs = append(b.obs, o)
		return
	}
	i, _ := slices.BinarySearchFunc(b.obs, o.At, func(x Obs, t time.Time) int {
		if x.At.After(t) {
			return 1
		}
		return -1
	})
	b.obs = slices.Insert(b.obs, i, o)
}

// ingest adds one observation, skipping live duplicates of replayed ones.
func (w *windows) ingest(in input) {
	if w.recovered != nil {
		if _, dup := w.recovered[in.o.ID]; dup {
			return
		}
		if in.o.At.After(w.recEnd.Add(time.Minute)) {
			w.recovered = nil
		}
	}
	b := w.bins[in.bin]
	if b == nil {
		b = &binBuf{}
		w.bins[in.bin] = b
	}
	b.add(in.o)
	b.last = w.opt.Now()
	if over := len(b.obs) - w.opt.MaxObsPerBin; over > 0 {
		// Drop the oldest tenth at once: one copy per MaxObsPerBin/10
		// observations instead of one per observation.
		b.obs = slices.Delete(b.obs, 0, over+w.opt.MaxObsPerBin/10)
		w.trimmed.Add(int64(over + w.opt.MaxObsPerBin/10))
	}
}

// prune forgets observations older than keep and bins idle for BinIdle.
func (w *windows) prune(now time.Time, keep time.Duration) {
	cut := now.Add(-keep)
	for bin, b := range w.bins {
		i, _ := slices.BinarySearchFunc(b.obs, cut, func(x Obs, t time.Time) int {
			if x.At.After(t) {
				return 1
			}
			return -1
		})
		if i > 0 {
			b.obs = slices.Delete(b.obs, 0, i)
		}
		if len(b.obs) == 0 && now.Sub(b.last) > w.opt.BinIdle {
			delete(w.bins, bin)
		}
	}
}
