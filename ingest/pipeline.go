// Package ingest owns every capture flow: Capture (a delivery to a bin:
// lookup, signature verdict, forwarding, the answer, the record), Replay (a
// stored request sent again), the recovery of async forwards a crash
// interrupted, and retention. A capture is answered once its record is
// durable in the capture log (ingest/caplog); the store writer, the live
// feed and the alert engine read the log at their own pace (consumers.go),
// so none of them is waited for. It imports no web framework: the web layer
// copies a request out of its buffers into an Incoming and writes back the
// Response.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
)

// ErrUnknownBin is returned by Capture for a bin that does not exist or expired.
var ErrUnknownBin = errors.New("unknown or expired bin")

// ErrOverloaded is returned when the capture log refused a record (it is
// at its size cap because the store writer fell behind, or the disk failed):
// nothing was answered 2xx, the caller answers 503 so the sender retries.
// It wraps the log's error (caplog.ErrFull or caplog.ErrUnavailable).
var ErrOverloaded = errors.New("capture log refused the request")

// Publisher receives every captured request as soon as it is recorded (the
// live feed), as its capture log record: the bin and EncodeRequest's bytes,
// handed over. It decodes what it needs (most bins are watched by nobody,
// and decoding every record for them cost ~4 µs of capture CPU). It must
// not block.
type Publisher interface {
	PublishRecord(bin string, data []byte)
}

// Observer receives every captured request (the alert engine), metadata
// only: Body is nil (BodySize says how large it was), since decoding the
// body for a consumer that never reads it cost capture CPU. It must not block.
type Observer interface {
	Observe(r *schema.Request)
}

// BinSource looks bins up. The pipeline caches answers briefly.
type BinSource interface {
	GetBin(ctx context.Context, id string) (*schema.Bin, error)
}

// RequestSource reads stored requests (a forward retry's check that its
// request is still stored, and which of a bin's retried requests a delete
// removed). GetRequest returns schema.ErrNotFound for one that is not;
// GetRequests (at most schema.MaxGetRequests ids) leaves those out.
type RequestSource interface {
	GetRequest(ctx context.Context, binID string, id uuid.UUID) (*schema.Request, error)
	GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error)
}

// Options configure a Pipeline. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Metrics, when set, counts refused captures and the writer's backlog.
	Metrics *Metrics
	// BinCacheTTL bounds how long a bin lookup is reused (default 2s). The web
	// layer invalidates explicitly on change; the TTL covers other processes.
	BinCacheTTL time.Duration
	// Forwarder relays captures of bins with a forward setting and sends
	// replays (nil: no forwarding, Replay returns ErrForwardingDisabled).
	Forwarder *forward.Forwarder
	// Journal keeps async forwards in flight on disk until their record is
	// in the log (nil: in memory only; a crash loses them).
	Journal *Journal
	// Now is the pipeline's one clock: receive times, bin expiry and the
	// capture latency (start and end) all read it.
	Now func() time.Time
	// AppendTimeout bounds how long a capture waits for the log (default
	// 10s): a disk that hangs answers 503 instead of holding every
	// connection.
	AppendTimeout time.Duration
	// RedactHeaders are replaced in every record before it is stored, on
	// top of each bin's redact setting (cmd sets DefaultRedactHeaders
	// unless configured otherwise; nil: none).
	RedactHeaders []string
	// MaxRetryBytes bounds the bodies held in memory for pending forward
	// retries (default DefaultMaxRetryBytes); past it a failed forward is
	// recorded failed instead of retried.
	MaxRetryBytes int64
	// Requests reads stored requests: a forward retry checks before it
	// sends that its request was not deleted, and DeleteRequests finds
	// what a delete by filter removed. Default: the BinSource, when it
	// reads requests too (the store); nil: no such check.
	Requests RequestSource
}

// Pipeline is the capture path. It is safe for concurrent use.
type Pipeline struct {
	bins    *binCache
	log     caplog.Appender
	metrics *Metrics
	opts    Options
	lg      *slog.Logger
	retry   *retrier // forwarding.go
	// appendBound bounds record's wait for the log: AppendTimeout, up to
	// 100 ms late, one timer per 100 ms instead of one per capture.
	appendBound sharedDeadline

	idMu   sync.Mutex
	lastAt time.Time
}

// NewPipeline wires a pipeline over a bin source and the capture log.
func NewPipeline(bins BinSource, l caplog.Appender, opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BinCacheTTL == 0 {
		opts.BinCacheTTL = 2 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.AppendTimeout <= 0 {
		opts.AppendTimeout = 10 * time.Second
	}
	if opts.MaxRetryBytes <= 0 {
		opts.MaxRetryBytes = DefaultMaxRetryBytes
	}
	if opts.Requests == nil {
		if rs, ok := bins.(RequestSource); ok {
			opts.Requests = rs
		}
	}
	cache := newBinCache(bins, opts.BinCacheTTL, opts.Now)
	cache.redactHeaders = opts.RedactHeaders
	p := &Pipeline{
		bins:    cache,
		log:     l,
		metrics: opts.Metrics,
		opts:    opts,
		lg:      opts.Logger.With("component", "ingest"),
	}
	p.appendBound = sharedDeadline{d: opts.AppendTimeout, slot: 100 * time.Millisecond}
	p.retry = newRetrier(p, opts.MaxRetryBytes)
	return p
}

// bin returns the capture target if the bin exists and has not expired,
// else ErrUnknownBin, from the pipeline's short-lived cache.
func (p *Pipeline) bin(ctx context.Context, id string) (*Target, error) {
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

// record appends a finished record to the capture log and returns once it
// is durable (in fast ack mode: written to the OS). The store writer, the
// live feed and the alert engine read it from there. An error wraps
// ErrOverloaded: the record may or may not reach the log (an fsync that
// failed after the write), so the caller answers 503 and the sender retries
// under a new id; never a 2xx for what is not durable.
func (p *Pipeline) record(ctx context.Context, r *schema.Request) error {
	bp := entryBufs.Get().(*[]byte)
	e, err := caplog.RequestEntry(*bp, r)
	if err != nil {
		entryBufs.Put(bp)
		return fmt.Errorf("encode record: %w", err)
	}
	if ctx.Done() == nil { // capture's: nothing cancels it but the bound
		err = p.log.Append(p.appendBound.ctx(), e)
	} else {
		actx, cancel := context.WithTimeout(ctx, p.opts.AppendTimeout)
		err = p.log.Append(actx, e)
		cancel()
	}
	if cap(e.Data) <= maxPooledEntry { // the log keeps no reference to Data
		*bp = e.Data[:0]
		entryBufs.Put(bp)
	}
	if err != nil {
		reason := "unavailable"
		if errors.Is(err, caplog.ErrFull) {
			reason = "full"
		} else if !errors.Is(err, caplog.ErrUnavailable) {
			// A timeout (a hung disk), a closed log: answered as
			// unavailable, which is what they are to the sender.
			err = fmt.Errorf("%w: %w", caplog.ErrUnavailable, err)
		}
		p.metrics.Refused.WithLabelValues(reason).Inc()
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	p.metrics.appended.Add(1)
	return nil
}

// maxPooledEntry: encode buffers up to this size are reused; a rare 10 MiB
// body's buffer is left to the GC rather than pinned in the pool.
const maxPooledEntry = 64 << 10

var entryBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
