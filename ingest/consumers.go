package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
)

// The capture log's consumers. Capture appends every record to the log and
// answers once it is durable; these read it back, each at its own pace:
//
//   - the store writer (durable consumer "store"): batches into
//     Writer.WriteRequests, then commits the batch. Stores dedupe by id, so
//     a batch redelivered after a crash is stored once. While the store is
//     down its position falls behind and the log grows, up to its cap
//     (capture then answers 503).
//   - the alert observer (durable consumer "alerts"): hands every record
//     to the alert engine and commits at once.
//   - the live feed (a non-durable Reader from the tail): after a restart
//     it starts with what is captured next; a client resuming with after=
//     reads what it missed from the store, so replaying the log's history
//     into the hub would only send it twice.

// Writer is the storage seam the store writer writes through: one call, one
// synchronous batch, idempotent by request id (schema.Writer satisfies it).
type Writer interface {
	WriteRequests(ctx context.Context, reqs []*schema.Request) error
}

// Settler is implemented by a store where a write of a process that died
// may still be completing after the process is gone (ClickHouse finishes an
// INSERT whose data it received). The store writer calls Settle once before
// its first write, so that re-writing a batch the dead process had sent
// finds its rows and stores nothing twice.
type Settler interface {
	Settle(ctx context.Context) error
}

// Consumer names in the log. They are persisted: renaming one restarts it
// from its Start policy.
const (
	StoreConsumer  = "store"
	AlertsConsumer = "alerts"
)

// ConsumerOptions configure the log consumers. Zero values take the defaults.
type ConsumerOptions struct {
	Logger *slog.Logger
	// MaxBatch is the most records one store write takes (default 5000).
	MaxBatch int
	// FlushInterval is how long the store writer waits for a batch to fill
	// after its first record (default 100ms; records are durable in the log
	// meanwhile, this only trades store latency for fewer, larger writes).
	FlushInterval time.Duration
	// WriteTimeout bounds one batch write (default 30s).
	WriteTimeout time.Duration
	// RetryInterval is the first pause after a failed store write; it
	// doubles up to 5s (default 100ms).
	RetryInterval time.Duration
	Metrics       *Metrics
}

func (o *ConsumerOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 5000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 100 * time.Millisecond
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
}

// Consumers runs the store writer, the alert observer and the live feed
// over one log. Close stops them.
type Consumers struct {
	opts ConsumerOptions
	lg   *slog.Logger
	// run ends every loop; stop (a child of run) asks the store writer to
	// drain what the log holds and return.
	run, stop             context.Context
	cancelRun, cancelStop context.CancelFunc
	writerDone            chan struct{}
	wg                    sync.WaitGroup
}

// StartConsumers opens the consumers and starts reading. w is the store;
// obs (the alert engine) and pub (the live hub) may be nil.
func StartConsumers(ctx context.Context, l caplog.Log, w Writer, obs Observer, pub Publisher, opts ConsumerOptions) (*Consumers, error) {
	opts.defaults()
	c := &Consumers{opts: opts, lg: opts.Logger.With("component", "log_consumers"), writerDone: make(chan struct{})}
	c.run, c.cancelRun = context.WithCancel(context.Background())
	c.stop, c.cancelStop = context.WithCancel(c.run)
	var opened []interface{ Close() error }
	fail := func(err error) (*Consumers, error) {
		c.cancelRun()
		for _, o := range opened {
			o.Close()
		}
		return nil, err
	}
	store, err := l.Consumer(ctx, StoreConsumer, caplog.ConsumerOptions{Start: caplog.FromOldest()})
	if err != nil {
		return fail(fmt.Errorf("open store consumer: %w", err))
	}
	opened = append(opened, store)
	var ac caplog.Consumer
	if obs != nil {
		// A new alerts consumer starts at the tail: the engine recovers
		// its windows from the store's history when it starts.
		if ac, err = l.Consumer(ctx, AlertsConsumer, caplog.ConsumerOptions{Start: caplog.FromLatest()}); err != nil {
			return fail(fmt.Errorf("open alerts consumer: %w", err))
		}
		opened = append(opened, ac)
	}
	var rd caplog.Reader
	if pub != nil {
		if rd, err = l.Reader(ctx, caplog.FromLatest()); err != nil {
			return fail(fmt.Errorf("open live reader: %w", err))
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.writerDone)
		defer store.Close()
		c.runWriter(store, w)
	}()
	if ac != nil {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); defer ac.Close(); c.runObserver(c.run, ac, obs) }()
	}
	if rd != nil {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); defer rd.Close(); c.runLive(rd, pub) }()
	}
	return c, nil
}

// Close stops the consumers. The store writer first writes what the log
// holds, until ctx ends or the store fails; whatever it does not write
// stays in the log for the next start (nothing is lost either way).
func (c *Consumers) Close(ctx context.Context) error {
	c.cancelStop()
	select {
	case <-c.writerDone:
	case <-ctx.Done():
	}
	c.cancelRun()
	c.wg.Wait()
	return nil
}

// runWriter moves records from the log to the store: fetch a batch (up to
// MaxBatch; when the first fetch returns fewer, after letting it fill for
// FlushInterval), write it until the store takes it, commit.
func (c *Consumers) runWriter(cons caplog.Consumer, w Writer) {
	if st, ok := w.(Settler); ok {
		for err := st.Settle(c.run); err != nil; err = st.Settle(c.run) {
			if c.run.Err() != nil {
				return
			}
			// The store is unreachable: nothing of ours can be completing
			// there either once it answers; retry until it does.
			c.lg.Warn("wait for the store's running writes", "err", err)
			if c.stop.Err() != nil || !c.sleep(c.opts.RetryInterval) {
				return
			}
		}
	}
	for {
		batches, n := c.fetchBatch(cons)
		if n == 0 {
			if c.run.Err() != nil || c.stop.Err() != nil {
				return // closed, or drained after Close
			}
			continue
		}
		reqs := make([]*schema.Request, 0, n)
		for _, b := range batches {
			reqs = append(reqs, c.decode(b, caplog.DecodeRequestOwned)...)
		}
		if !c.write(w, reqs) {
			return // closed while the store was failing: the log keeps the batch
		}
		if !c.writeUpdates(w, batches) { // forward updates: forward_updates.go
			return
		}
		if err := commitAll(cons, batches, c.opts.WriteTimeout); err != nil {
			// Not fatal: the batches come again after a restart and the
			// store dedupes them by id.
			c.lg.Warn("commit store position", "err", err)
		}
	}
}

// fetchBatch returns the next batches for the store writer and their
// record count (0 when closed, or when draining and the log is empty).
func (c *Consumers) fetchBatch(cons caplog.Consumer) ([]caplog.Batch, int) {
	first := c.stop
	if c.stop.Err() != nil { // draining after Close: stop at the first idle moment
		var cancel context.CancelFunc
		first, cancel = context.WithTimeout(c.run, 50*time.Millisecond)
		defer cancel()
	}
	b, err := cons.Fetch(first, c.opts.MaxBatch)
	if len(b.Records) == 0 {
		if err != nil && first.Err() == nil && c.run.Err() == nil {
			c.lg.Warn("fetch from capture log", "err", err)
			c.sleep(c.opts.RetryInterval)
		}
		return nil, 0
	}
	batches, n := []caplog.Batch{b}, len(b.Records)
	if n < c.opts.MaxBatch && c.stop.Err() == nil {
		// Let the batch fill, then take what came in one go: fetching
		// while it fills woke the writer (a lock, a read, a decode) on
		// every group commit. The pause ends early on Close: the batch is
		// written at once.
		sleepUnless(c.opts.FlushInterval, c.stop.Done())
	}
	// What is there now: a fetch that finds nothing waits drainWait at most.
	drain, cancel := context.WithTimeout(c.run, drainWait)
	defer cancel()
	for n < c.opts.MaxBatch {
		b, err := cons.Fetch(drain, c.opts.MaxBatch-n)
		if len(b.Records) > 0 {
			batches = append(batches, b)
			n += len(b.Records)
		}
		if err != nil {
			break
		}
	}
	return batches, n
}

// drainWait bounds the fetch that ends a batch: records are either there
// already or belong to the next batch.
const drainWait = time.Millisecond

// write stores reqs, retrying with backoff until the store takes them; it
// returns false only when the consumers are closed meanwhile.
func (c *Consumers) write(w Writer, reqs []*schema.Request) bool {
	m := c.opts.Metrics
	pause := c.opts.RetryInterval
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(c.run, c.opts.WriteTimeout)
		start := time.Now()
		var err error
		if rd, ok := w.(ChainReader); ok {
			err = resolveChains(wctx, rd, reqs) // see chains.go
		}
		if err == nil {
			err = w.WriteRequests(wctx, reqs)
		}
		cancel()
		m.observeFlush(len(reqs), time.Since(start), err)
		if err == nil {
			if attempt > 0 {
				c.lg.Info("store writes again; caught up on the failed batch", "rows", len(reqs), "attempts", attempt+1)
			}
			return true
		}
		if attempt == 0 || attempt%50 == 0 {
			c.lg.Warn("store write failed; the log keeps the batch and the writer retries", "rows", len(reqs), "attempt", attempt+1, "err", err)
		}
		if c.stop.Err() != nil {
			return false // closing with the store failing: the log keeps it for the next start
		}
		if !c.sleep(pause) {
			return false
		}
		pause = min(pause*2, 5*time.Second)
	}
}

// sleep pauses the store writer for d unless Close asks it to stop (a
// failing store is not retried while closing).
func (c *Consumers) sleep(d time.Duration) bool { return sleepUnless(d, c.stop.Done()) }

func sleepUnless(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// runObserver hands every record to the alert engine. Observe only updates
// in-memory windows, so it commits at most every observerCommitEvery (each
// commit persists the log's positions with an fdatasync): after a crash up to
// that much is observed again, which can only make a rate rule fire sooner.
func (c *Consumers) runObserver(run context.Context, cons caplog.Consumer, obs Observer) {
	var pending []caplog.Batch
	last := time.Now()
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := commitAll(cons, pending, c.opts.WriteTimeout); err != nil && run.Err() == nil {
			c.lg.Warn("commit alerts position", "err", err)
		}
		pending, last = pending[:0], time.Now()
	}
	defer flush()
	for {
		ctx, cancel := run, context.CancelFunc(func() {})
		if len(pending) > 0 { // do not leave them uncommitted while idle
			ctx, cancel = context.WithTimeout(run, observerCommitEvery)
		}
		b, err := cons.Fetch(ctx, observerBatch)
		cancel()
		// The engine reads metadata only: the body is not even copied.
		for _, r := range c.decode(b, caplog.DecodeRequestMeta) {
			obs.Observe(r)
		}
		if len(b.Records) > 0 {
			b.DropData() // decoded: only the commit is left to do
			pending = append(pending, b)
		}
		if n := len(b.Records); n > 0 && n < observerBatch {
			// Let records gather rather than wake on every group commit;
			// alert windows are seconds long.
			sleepUnless(observerLinger, run.Done())
		}
		if time.Since(last) >= observerCommitEvery || errors.Is(err, context.DeadlineExceeded) {
			flush()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			if run.Err() != nil || errors.Is(err, caplog.ErrClosed) {
				return
			}
			c.lg.Warn("fetch for alerts", "err", err)
			sleepUnless(c.opts.RetryInterval, run.Done())
		}
	}
}

// observerCommitEvery bounds how often the alerts consumer persists its
// position.
const observerCommitEvery = time.Second

// observerBatch and observerLinger: the alerts consumer takes up to
// observerBatch records per fetch, and after a smaller batch pauses
// observerLinger so that the next one gathers more.
const (
	observerBatch  = 1024
	observerLinger = 20 * time.Millisecond
)

// liveBatch is the most records the live feed takes per read. It does not
// pause between reads like the other consumers: a 2ms pause saved ~1 us of
// CPU per capture but added its length to every live message's latency
// (the harness's live p50 at 2000 req/s went from 3.0 to 4.0 ms).
const liveBatch = 1024

// commitAll commits batches newest first: the consumer's position only
// moves once the oldest is committed, so the log persists its positions
// (one fdatasync) once for all of them instead of once per batch.
func commitAll(cons caplog.Consumer, batches []caplog.Batch, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for i := len(batches) - 1; i >= 0; i-- {
		if err := cons.Commit(ctx, batches[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runLive publishes every record to the live feed.
func (c *Consumers) runLive(rd caplog.Reader, pub Publisher) {
	for {
		recs, err := rd.Next(c.run, liveBatch)
		for _, rec := range recs {
			if !caplog.IsUpdate(rec.Data) { // forward updates are for the store writer only
				pub.PublishRecord(rec.Key, rec.Data)
			}
		}
		if err != nil {
			if c.run.Err() != nil || errors.Is(err, caplog.ErrClosed) {
				return
			}
			c.lg.Warn("read for the live feed", "err", err)
			sleepUnless(c.opts.RetryInterval, c.run.Done())
		}
	}
}

// decode turns a batch into requests with dec (each consumer owns the
// records it fetched, so the store writer and the live feed decode bodies
// in place and the alerts consumer skips them); a record that does not
// decode (it passed the log's checksum, so it is a bug, not a torn write)
// is logged, counted and skipped rather than blocking the consumer forever.
func (c *Consumers) decode(b caplog.Batch, dec func([]byte) (*schema.Request, error)) []*schema.Request {
	out := make([]*schema.Request, 0, len(b.Records))
	for _, rec := range b.Records {
		if caplog.IsUpdate(rec.Data) {
			continue // a forward update, for the store writer only (writeUpdates)
		}
		r, err := dec(rec.Data)
		if err != nil {
			c.opts.Metrics.Undecodable.Inc()
			c.lg.Error("skip undecodable log record", "position", rec.Position, "request_id", rec.ID, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out
}
