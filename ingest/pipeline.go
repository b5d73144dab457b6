// Package ingest owns every capture flow: Capture (a delivery to a bin:
// lookup, signature verdict, forwarding, the answer, the record), Replay (a
// stored request sent again), the recovery of async forwards a crash
// interrupted, and retention. It hands finished records to the batcher, the
// live feed and the alert engine without waiting for any of them, and it
// imports no web framework: the web layer copies a request out of its
// buffers into an Incoming and writes back the Response.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// ErrUnknownBin is returned by Capture for a bin that does not exist or expired.
var ErrUnknownBin = errors.New("unknown or expired bin")

// ErrOverloaded is returned when the in-memory queue and the spool are both
// full: the caller answers 503 so the sender retries.
var ErrOverloaded = errors.New("capture queue and spool are full")

// Publisher receives every captured request as soon as it is recorded (the
// live feed). It must not block.
type Publisher interface {
	Publish(r *schema.Request)
}

// Observer receives every captured request (the alert engine). It must not block.
type Observer interface {
	Observe(r *schema.Request)
}

// BinSource looks bins up. The pipeline caches answers briefly.
type BinSource interface {
	GetBin(ctx context.Context, id string) (*schema.Bin, error)
}

// RequestSource reads stored requests (Replay's original).
type RequestSource interface {
	GetRequest(ctx context.Context, binID string, id uuid.UUID) (*schema.Request, error)
}

// Options configure a Pipeline. Zero values take the defaults.
type Options struct {
	Logger    *slog.Logger
	Publisher Publisher
	Observers []Observer
	// BinCacheTTL bounds how long a bin lookup is reused (default 2s). The web
	// layer invalidates explicitly on change; the TTL covers other processes.
	BinCacheTTL time.Duration
	// Forwarder relays captures of bins with a forward setting and sends
	// replays (nil: no forwarding, Replay returns ErrForwardingDisabled).
	Forwarder *forward.Forwarder
	// Journal keeps async forwards in flight on disk (nil: in memory only).
	Journal *Journal
	// Now is the pipeline's one clock: receive times, bin expiry and the
	// capture latency (start and end) all read it.
	Now func() time.Time
}

// Pipeline is the capture path. It is safe for concurrent use.
type Pipeline struct {
	bins    *binCache
	batcher *Batcher
	opts    Options
	log     *slog.Logger

	idMu   sync.Mutex
	lastAt time.Time
}

// NewPipeline wires a pipeline over a bin source and a running batcher.
func NewPipeline(bins BinSource, b *Batcher, opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BinCacheTTL == 0 {
		opts.BinCacheTTL = 2 * time.Second
	}
	return &Pipeline{
		bins:    newBinCache(bins, opts.BinCacheTTL, opts.Now),
		batcher: b,
		opts:    opts,
		log:     opts.Logger.With("component", "ingest"),
	}
}

// Bin returns the capture target if the bin exists and has not expired,
// else ErrUnknownBin. It reads the pipeline's short-lived cache, which is
// why authorisation checks on the capture-adjacent routes use it.
func (p *Pipeline) Bin(ctx context.Context, id string) (*Target, error) {
	t, err := p.bins.get(ctx, id)
	if err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return nil, ErrUnknownBin
		}
		return nil, fmt.Errorf("look up bin: %w", err)
	}
	if t.Bin.Expired(p.opts.Now()) {
		return nil, ErrUnknownBin
	}
	return t, nil
}

// InvalidateBin drops a cached bin after it changed.
func (p *Pipeline) InvalidateBin(id string) { p.bins.invalidate(id) }

// newID returns a UUIDv7 and the receive time to record with it. Both come
// out of one critical section so that (received_at, id) order and id order
// agree, and received_at is strictly increasing at microsecond precision:
// cursors and live-feed resumption rely on that.
func (p *Pipeline) newID() (uuid.UUID, time.Time) {
	p.idMu.Lock()
	defer p.idMu.Unlock()
	at := schema.Truncate(p.opts.Now())
	if !at.After(p.lastAt) {
		at = p.lastAt.Add(time.Microsecond)
	}
	p.lastAt = at
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		id = uuid.New()
	}
	return id, at
}

// record hands a finished record to the batcher, the live feed and the
// observers. ErrOverloaded means it was NOT recorded.
func (p *Pipeline) record(r *schema.Request) error {
	if err := p.batcher.Enqueue(r); err != nil {
		return err
	}
	if p.opts.Publisher != nil {
		p.opts.Publisher.Publish(r)
	}
	for _, o := range p.opts.Observers {
		o.Observe(r)
	}
	return nil
}
