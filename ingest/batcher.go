package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Writer is the storage seam the batcher writes through: one call, one
// synchronous batch (schema.Writer satisfies it).
type Writer interface {
	WriteRequests(ctx context.Context, reqs []*schema.Request) error
}

// BatcherOptions configure a Batcher. Zero values take the defaults.
type BatcherOptions struct {
	Logger *slog.Logger
	// MaxBatch flushes a batch when it holds this many requests (default 5000).
	MaxBatch int
	// FlushInterval flushes a non-empty batch after this long (default 100ms).
	FlushInterval time.Duration
	// MaxQueueBytes bounds the memory of requests waiting in memory (body,
	// headers and the rest, see memSize; default 32 MiB: about 13 000 1 KB
	// deliveries, a second of full-speed capture; beyond it the spool takes
	// them).
	// Past it, captures go straight to the spool.
	MaxQueueBytes int64
	// QueueLen bounds how many requests wait in memory (default 65536).
	QueueLen int
	// WriteTimeout bounds one batch write (default 30s).
	WriteTimeout time.Duration
	// RetryInterval is how often a failing store is retried from the spool
	// (default 1s).
	RetryInterval time.Duration
	// Spool keeps batches the store could not take. Required.
	Spool *Spool
	// Metrics, when set, is updated as the batcher works.
	Metrics *Metrics
}

// Batcher moves captured requests from memory to the store in batches. When
// the store fails, batches go to the on-disk spool and are replayed in order
// once the store answers again; while the spool holds anything, new batches
// are appended behind it so order is kept.
type Batcher struct {
	w    Writer
	opts BatcherOptions
	log  *slog.Logger

	queue       chan *schema.Request
	queuedBytes atomic.Int64
	overflow    sync.Mutex // serialises direct-to-spool appends from the capture path

	flushReq chan chan struct{}
	done     chan struct{}
	// failedAt is when the store last refused a write or a replay (only
	// the run goroutine touches it).
	failedAt time.Time
	closed   atomic.Bool
	closeMu  sync.RWMutex
}

// NewBatcher starts a batcher writing to w. Call Close to drain it.
func NewBatcher(w Writer, opts BatcherOptions) (*Batcher, error) {
	if opts.Spool == nil {
		return nil, errors.New("batcher needs a spool")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 5000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = 32 << 20
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 65536
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	b := &Batcher{
		w:        w,
		opts:     opts,
		log:      opts.Logger.With("component", "batcher"),
		queue:    make(chan *schema.Request, opts.QueueLen),
		flushReq: make(chan chan struct{}),
		done:     make(chan struct{}),
	}
	go b.run()
	return b, nil
}

// Enqueue hands r to the batcher without waiting for storage. When memory is
// full it appends r to the spool synchronously (the disk, not the store);
// only when the spool is full too does it return ErrOverloaded.
func (b *Batcher) Enqueue(r *schema.Request) error {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed.Load() {
		return ErrOverloaded
	}
	size := memSize(r)
	if b.queuedBytes.Load()+size <= b.opts.MaxQueueBytes {
		select {
		case b.queue <- r:
			b.queuedBytes.Add(size)
			b.opts.Metrics.QueueDepth.Inc()
			return nil
		default:
		}
	}
	// Memory is full: the disk takes it, unless the spool is over its limit.
	if b.opts.Spool.Full() {
		b.opts.Metrics.Refused.Inc()
		return ErrOverloaded
	}
	b.overflow.Lock()
	err := b.opts.Spool.Append([]*schema.Request{r})
	b.overflow.Unlock()
	if err != nil {
		b.log.Error("spool append on overflow", "err", err)
		b.opts.Metrics.Refused.Inc()
		return ErrOverloaded
	}
	b.opts.Metrics.Overflowed.Inc()
	return nil
}

// memSize estimates the heap a queued request holds: its body, every
// string it carries (headers included: with ten headers they are a third of
// a 1 KB delivery) and the structs and slice headers around them. Counting
// the body alone let MaxQueueBytes hold twice the memory it names.
func memSize(r *schema.Request) int64 {
	n := len(r.Body) + len(r.BinID) + len(r.Method) + len(r.Path) + len(r.Query) +
		len(r.RemoteIP) + len(r.ContentType) + len(r.Signature.Scheme) + len(r.Signature.Reason)
	for _, h := range r.Headers {
		n += len(h.Name) + len(h.Value) + 32 // the schema.Header itself
	}
	return int64(n) + 512 // schema.Request, its slices and allocator rounding
}

// Flush blocks until everything enqueued before the call has been written
// to the store or the spool.
func (b *Batcher) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case b.flushReq <- ack:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting requests, writes what is queued (to the store, or
// to the spool when the store fails) and returns. The spool keeps whatever
// the store did not take, for the next start.
func (b *Batcher) Close(ctx context.Context) error {
	b.closeMu.Lock()
	if b.closed.Swap(true) {
		b.closeMu.Unlock()
		<-b.done
		return nil
	}
	close(b.queue)
	b.closeMu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain batcher: %w", ctx.Err())
	}
}

func (b *Batcher) run() {
	defer close(b.done)
	batch := make([]*schema.Request, 0, b.opts.MaxBatch)
	var batchBytes int64
	timer := time.NewTimer(b.opts.FlushInterval)
	defer timer.Stop()
	retry := time.NewTicker(b.opts.RetryInterval)
	defer retry.Stop()

	flush := func() {
		if len(batch) > 0 {
			b.write(batch)
			b.queuedBytes.Add(-batchBytes)
			b.opts.Metrics.QueueDepth.Sub(float64(len(batch)))
			clear(batch)
			batch = batch[:0]
			batchBytes = 0
		}
	}
	// Whatever a previous run left in the spool goes first.
	b.drainSpool()
	for {
		select {
		case r, ok := <-b.queue:
			if !ok {
				flush()
				b.drainSpool()
				return
			}
			batch = append(batch, r)
			batchBytes += memSize(r)
			if len(batch) >= b.opts.MaxBatch {
				flush()
			}
		case <-timer.C:
			flush()
			timer.Reset(b.opts.FlushInterval)
		case ack := <-b.flushReq:
			// Take what is already queued, then write it.
			for n := len(b.queue); n > 0; n-- {
				r := <-b.queue
				batch = append(batch, r)
				batchBytes += memSize(r)
				if len(batch) >= b.opts.MaxBatch {
					flush()
				}
			}
			flush()
			b.drainSpool()
			close(ack)
		case <-retry.C:
			b.drainSpool()
		}
	}
}

// write stores one batch, or spools it when the store fails or when the
// spool already holds older batches (order is kept).
func (b *Batcher) write(batch []*schema.Request) {
	m := b.opts.Metrics
	if !b.opts.Spool.Empty() && time.Since(b.failedAt) >= b.opts.RetryInterval {
		// Older requests wait in the spool (the memory queue overflowed, or
		// the store failed more than a retry interval ago). Replay them now
		// rather than at the next retry tick: until the spool is empty
		// every batch would take the slow way through it (encode, fsync,
		// read back, decode).
		b.drainSpool()
	}
	if b.opts.Spool.Empty() {
		err := b.writeStore(batch)
		if err == nil {
			return
		}
		b.failedAt = time.Now()
		b.log.Warn("store write failed; spooling batch", "rows", len(batch), "err", err)
	}
	b.overflow.Lock()
	err := b.opts.Spool.Append(batch)
	b.overflow.Unlock()
	if err != nil {
		// The disk failed too: nothing left but to keep retrying the store.
		b.log.Error("spool append failed; retrying store", "rows", len(batch), "err", err)
		m.SpoolErrors.Inc()
		for i := 0; b.writeStore(batch) != nil; i++ {
			time.Sleep(min(time.Duration(i+1)*100*time.Millisecond, 5*time.Second))
		}
	}
}

func (b *Batcher) writeStore(batch []*schema.Request) error {
	m := b.opts.Metrics
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.WriteTimeout)
	defer cancel()
	start := time.Now()
	err := b.w.WriteRequests(ctx, batch)
	m.observeFlush(len(batch), time.Since(start), err)
	return err
}

// drainSpool replays spooled batches in order until the spool is empty or
// the store fails.
func (b *Batcher) drainSpool() {
	if b.opts.Spool.Empty() {
		return
	}
	n, err := b.opts.Spool.Drain(func(batch []*schema.Request) error {
		return b.writeStore(batch)
	})
	if n > 0 {
		b.log.Info("replayed spooled requests", "rows", n)
	}
	if err != nil {
		b.failedAt = time.Now()
		b.log.Debug("spool replay stopped", "err", err)
	}
}
