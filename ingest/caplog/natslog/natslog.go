// Package natslog is the capture log on NATS JetStream (cluster mode): one
// stream, a subject per bin (<prefix>.<bin>), durable pull consumers shared
// by every instance, ordered consumers for the live feed. It implements
// caplog.Log and passes the same conformance suite (caplogtest) as disklog.
//
// Mapping of the caplog contract onto JetStream:
//
//   - Append publishes every entry asynchronously (many publishes in flight
//     over one connection, Nats-Msg-Id = request id so JetStream drops a
//     retried duplicate within its window) and returns once every PubAck
//     arrived: an acked message is stored on the stream's replicas.
//     No ack (NATS unreachable, no stream leader, ack timeout) is
//     caplog.ErrUnavailable; the stream at MaxBytes (DiscardNew) is
//     caplog.ErrFull.
//   - A Position is the stream sequence.
//   - Consumer(name) is the durable pull consumer <name> with explicit acks,
//     shared by every handle of every instance: each message goes to one
//     fetcher; Commit acks the batch (the last ack is a double ack, so Commit
//     returns once the server processed them all, in order on the one
//     connection). The persisted position is the consumer's ack floor.
//     Uncommitted messages come again after AckWait (a killed instance), or
//     at once when a handle is closed (its pending batches are nak'ed).
//   - Reader is an ordered consumer (ephemeral, no acks): the live feed of
//     every instance sees every capture in stream order.
//   - Retention: the stream keeps messages by limits (MaxAge, MaxBytes with
//     DiscardNew). Records every durable consumer has committed are purged
//     (up to the lowest ack floor) periodically and whenever the stream is
//     full, so a full stream takes appends again once the writers caught up.
//     Interest retention cannot be used: it drops what is appended before a
//     consumer exists, which the contract allows.
package natslog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/internal/jsplace"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var _ caplog.Log = (*Log)(nil)

// Options configure Open. Zero values take the defaults.
type Options struct {
	// Stream is the JetStream stream name. Default "HOOKSCOPE_CAPTURE".
	Stream string
	// Subject is the subject prefix; a bin's records go to <Subject>.<bin>.
	// Default "hookscope.cap".
	Subject string
	// Replicas of the stream (1..5). Default 1; 3 for production.
	Replicas int
	// MaxAge drops records older than this even if not consumed. Default 7 days.
	MaxAge time.Duration
	// MaxBytes caps the stream; past it Append fails with ErrFull until
	// the durable consumers commit and the committed part is purged.
	// Default 1 GiB.
	MaxBytes int64
	// MaxRecord bounds one entry's Data. Default 8 MiB (the NATS default
	// max_payload is 1 MiB: raise the server's max_payload to match).
	MaxRecord int
	// AckTimeout bounds the wait for one PubAck. Default 5 s.
	AckTimeout time.Duration
	// AckWait is how long a fetched, uncommitted message waits before
	// JetStream delivers it again (to any instance). Default 30 s.
	AckWait time.Duration
	// MaxAckPending bounds fetched, uncommitted messages per consumer.
	// Default 20000.
	MaxAckPending int
	// MaxInflight bounds publishes awaiting their ack on this connection.
	// Default 16384.
	MaxInflight int
	// TrimInterval is how often committed records are purged. Default 10 s.
	TrimInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = "HOOKSCOPE_CAPTURE"
	}
	if o.Subject == "" {
		o.Subject = "hookscope.cap"
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = 8 << 20
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 20000
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 16384
	}
	if o.TrimInterval <= 0 {
		o.TrimInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Log is the JetStream capture log. Safe for concurrent use.
type Log struct {
	opts   Options
	nc     *nats.Conn
	ownNC  bool
	js     jetstream.JetStream
	stream jetstream.Stream
	log    *slog.Logger

	mu        sync.Mutex
	closed    bool
	consumers map[*consumer]struct{}
	readers   map[*reader]struct{}
	done      chan struct{}
	wg        sync.WaitGroup

	trimMu   sync.Mutex
	lastTrim time.Time
}

func unavailable(step string, err error) error {
	return fmt.Errorf("%w: %s: %w", caplog.ErrUnavailable, step, err)
}

// Connect dials NATS with the options cluster mode wants: reconnect
// forever, and no reconnect buffer, so that a publish while disconnected
// fails at once (capture answers 503) instead of waiting for its ack timeout.
func Connect(urls string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.Name("hookscope"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(-1),
	}
	nc, err := nats.Connect(urls, append(base, opts...)...)
	if err != nil {
		return nil, unavailable("connect to nats", err)
	}
	return nc, nil
}

// Open creates or updates the stream on the connection nc and returns the
// log. Close closes nc too (the log owns it).
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if opts.Replicas > 5 {
		return nil, fmt.Errorf("replicas %d: want 1..5: %w", opts.Replicas, caplog.ErrInvalid)
	}
	// A record larger than the server's max_payload could never be
	// published: refuse it as invalid rather than as an outage.
	if mp := int(nc.MaxPayload()); mp > 0 && opts.MaxRecord > mp-4096 {
		opts.Logger.Warn("NATS max_payload is below the record limit: larger captures are refused; raise max_payload on the servers", "component", "natslog", "max_payload", mp, "record_limit", opts.MaxRecord)
		opts.MaxRecord = max(mp-4096, 1024)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(opts.MaxInflight),
		jetstream.WithPublishAsyncTimeout(opts.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	cfg := jetstream.StreamConfig{
		Name:       opts.Stream,
		Subjects:   []string{opts.Subject + ".>"},
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardNew,
		MaxAge:     opts.MaxAge,
		MaxBytes:   opts.MaxBytes,
		MaxMsgSize: int32(min(opts.MaxRecord+4096, 1<<30)),
		Storage:    jetstream.FileStorage,
		Replicas:   opts.Replicas,
		Duplicates: 2 * time.Minute,
	}
	s, err := jsplace.Create(ctx, func(ctx context.Context) (jetstream.Stream, error) { return js.CreateOrUpdateStream(ctx, cfg) })
	if err != nil {
		return nil, unavailable("create stream "+opts.Stream, err)
	}
	l := &Log{
		opts: opts, nc: nc, ownNC: true, js: js, stream: s,
		log:       opts.Logger.With("component", "natslog"),
		consumers: map[*consumer]struct{}{},
		readers:   map[*reader]struct{}{},
		done:      make(chan struct{}),
	}
	l.wg.Go(l.trimLoop)
	return l, nil
}

func (l *Log) subject(key string) string { return l.opts.Subject + "." + key }

func (l *Log) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Append implements caplog.Appender.
func (l *Log) Append(ctx context.Context, entries ...caplog.Entry) error {
	for _, e := range entries {
		if !caplog.ValidKey(e.Key) {
			return fmt.Errorf("append: key %q: %w", e.Key, caplog.ErrInvalid)
		}
		if len(e.Data) > l.opts.MaxRecord {
			return fmt.Errorf("append: %d bytes over the %d-byte record limit: %w", len(e.Data), l.opts.MaxRecord, caplog.ErrInvalid)
		}
	}
	if l.isClosed() {
		return caplog.ErrClosed
	}
	if len(entries) == 0 {
		return nil
	}
	err := l.publish(ctx, entries)
	if errors.Is(err, caplog.ErrFull) && l.trim(ctx, true) {
		// Room was freed: try once more. Entries acked by the first try
		// come again with the same Nats-Msg-Id and are dropped as
		// duplicates.
		err = l.publish(ctx, entries)
	}
	return err
}

func (l *Log) publish(ctx context.Context, entries []caplog.Entry) error {
	futs := make([]jetstream.PubAckFuture, 0, len(entries))
	var pubErr error
	for _, e := range entries {
		m := nats.NewMsg(l.subject(e.Key))
		// nats copies Data into its write buffer: the caller may reuse it.
		m.Data = e.Data
		f, err := l.js.PublishMsgAsync(m, jetstream.WithMsgID(e.ID.String()), jetstream.WithExpectStream(l.opts.Stream))
		if err != nil {
			pubErr = err
			break
		}
		futs = append(futs, f)
	}
	var acked int
	var firstErr error
	for _, f := range futs {
		select {
		case <-f.Ok():
			acked++
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return caplog.ErrClosed
		}
	}
	if firstErr == nil {
		firstErr = pubErr
	}
	if firstErr == nil {
		return nil
	}
	if isFull(firstErr) {
		if acked == 0 {
			return fmt.Errorf("append: %w: %w", caplog.ErrFull, firstErr)
		}
		// Part of the call is stored: ambiguous, not "nothing written".
		return unavailable(fmt.Sprintf("append (%d of %d stored, then full)", acked, len(entries)), firstErr)
	}
	if errors.Is(firstErr, nats.ErrConnectionClosed) && l.isClosed() {
		return caplog.ErrClosed
	}
	return unavailable("append", firstErr)
}

func isFull(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		d := apiErr.Description
		return strings.Contains(d, "maximum bytes exceeded") || strings.Contains(d, "maximum messages exceeded")
	}
	return false
}

// trimLoop purges committed records every TrimInterval.
func (l *Log) trimLoop() {
	t := time.NewTicker(l.opts.TrimInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.AckTimeout)
			l.trim(ctx, false)
			cancel()
		}
	}
}

// trim purges the stream below the lowest ack floor of its durable
// consumers and reports whether it purged anything. With urgent (a full
// stream), it runs at most every 50 ms per Log, so that a burst of refused
// appends does not turn into a burst of consumer listings. Every instance
// may trim; a purge below the first sequence is a no-op.
func (l *Log) trim(ctx context.Context, urgent bool) bool {
	l.trimMu.Lock()
	defer l.trimMu.Unlock()
	if urgent && time.Since(l.lastTrim) < 50*time.Millisecond {
		return false
	}
	l.lastTrim = time.Now()
	floor := uint64(0)
	found := false
	lister := l.stream.ListConsumers(ctx)
	for ci := range lister.Info() {
		if ci.Config.Durable == "" {
			continue // ordered readers do not hold retention
		}
		if !found || ci.AckFloor.Stream < floor {
			floor = ci.AckFloor.Stream
		}
		found = true
	}
	if err := lister.Err(); err != nil {
		l.log.Warn("trim: list consumers", "err", err)
		return false
	}
	if !found || floor == 0 {
		return false
	}
	info, err := l.stream.Info(ctx)
	if err != nil {
		l.log.Warn("trim: stream info", "err", err)
		return false
	}
	if info.State.Msgs == 0 || info.State.FirstSeq > floor {
		return false
	}
	if err := l.stream.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
		l.log.Warn("trim: purge", "err", err, "below", floor+1)
		return false
	}
	return true
}

// Consumer implements caplog.Log.
func (l *Log) Consumer(ctx context.Context, name string, opts caplog.ConsumerOptions) (caplog.Consumer, error) {
	if !caplog.ValidKey(name) {
		return nil, fmt.Errorf("consumer name %q: %w", name, caplog.ErrInvalid)
	}
	if l.isClosed() {
		return nil, caplog.ErrClosed
	}
	jc, err := l.stream.Consumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cfg := jetstream.ConsumerConfig{
			Durable:       name,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       l.opts.AckWait,
			MaxAckPending: l.opts.MaxAckPending,
			MaxDeliver:    -1,
			FilterSubject: l.opts.Subject + ".>",
		}
		start, serr := l.resolveLatest(ctx, opts.Start)
		if serr != nil {
			return nil, serr
		}
		if err := applyStart(&cfg.DeliverPolicy, &cfg.OptStartSeq, &cfg.OptStartTime, start); err != nil {
			return nil, err
		}
		jc, err = l.stream.CreateConsumer(ctx, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			jc, err = l.stream.Consumer(ctx, name) // another instance won the race
		}
	}
	if err != nil {
		return nil, unavailable("open consumer "+name, err)
	}
	c := &consumer{l: l, name: name, jc: jc, done: make(chan struct{}), pending: map[*batchToken]struct{}{}}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, caplog.ErrClosed
	}
	l.consumers[c] = struct{}{}
	return c, nil
}

// resolveLatest turns StartLatest into "after the stream's last sequence",
// read from the stream leader: DeliverNew would take the last sequence of
// whichever replica hosts the consumer, and a follower that has not yet
// applied the latest acknowledged appends would deliver them as "new".
func (l *Log) resolveLatest(ctx context.Context, s caplog.Start) (caplog.Start, error) {
	if s.Policy != caplog.StartLatest {
		return s, nil
	}
	info, err := l.stream.Info(ctx)
	if err != nil {
		return s, unavailable("stream info", err)
	}
	return caplog.After(caplog.Position(info.State.LastSeq)), nil
}

func applyStart(p *jetstream.DeliverPolicy, seq *uint64, at **time.Time, s caplog.Start) error {
	switch s.Policy {
	case caplog.StartOldest:
		*p = jetstream.DeliverAllPolicy
	case caplog.StartLatest:
		*p = jetstream.DeliverNewPolicy
	case caplog.StartAfter:
		*p = jetstream.DeliverByStartSequencePolicy
		*seq = uint64(s.After) + 1
	case caplog.StartTime:
		*p = jetstream.DeliverByStartTimePolicy
		t := s.Time.UTC()
		*at = &t
	default:
		return fmt.Errorf("start policy %d: %w", s.Policy, caplog.ErrInvalid)
	}
	return nil
}

// DeleteConsumer implements caplog.Log.
func (l *Log) DeleteConsumer(ctx context.Context, name string) error {
	if !caplog.ValidKey(name) {
		return fmt.Errorf("consumer name %q: %w", name, caplog.ErrInvalid)
	}
	l.mu.Lock()
	var mine []*consumer
	for c := range l.consumers {
		if c.name == name {
			mine = append(mine, c)
		}
	}
	l.mu.Unlock()
	for _, c := range mine {
		c.shut(false)
	}
	err := l.stream.DeleteConsumer(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return unavailable("delete consumer "+name, err)
	}
	return nil
}

// Reader implements caplog.Log.
func (l *Log) Reader(ctx context.Context, start caplog.Start) (caplog.Reader, error) {
	if l.isClosed() {
		return nil, caplog.ErrClosed
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{l.opts.Subject + ".>"}}
	start, err := l.resolveLatest(ctx, start)
	if err != nil {
		return nil, err
	}
	if err := applyStart(&cfg.DeliverPolicy, &cfg.OptStartSeq, &cfg.OptStartTime, start); err != nil {
		return nil, err
	}
	oc, err := l.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, unavailable("open reader", err)
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, unavailable("open reader", err)
	}
	r := &reader{l: l, it: it, ch: make(chan jetstream.Msg, 256), done: make(chan struct{})}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		it.Stop()
		return nil, caplog.ErrClosed
	}
	l.readers[r] = struct{}{}
	l.mu.Unlock()
	go r.pump()
	// When the stream already holds records past the start, wait for the
	// first one to arrive, so that a Reader is ready when it is returned:
	// a cluster may take a moment to start delivering to a new ordered
	// consumer, and a caller polling "is there anything?" must not read
	// that moment as an empty log.
	if start.Policy == caplog.StartOldest || start.Policy == caplog.StartAfter {
		if info, err := l.stream.Info(ctx); err == nil && info.State.Msgs > 0 && info.State.LastSeq > uint64(start.After) {
			select {
			case m := <-r.ch:
				r.head = m
			case <-ctx.Done():
			case <-time.After(l.opts.AckTimeout):
			}
		}
	}
	return r, nil
}

// Close implements caplog.Log.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	cs := make([]*consumer, 0, len(l.consumers))
	for c := range l.consumers {
		cs = append(cs, c)
	}
	rs := make([]*reader, 0, len(l.readers))
	for r := range l.readers {
		rs = append(rs, r)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.shut(true)
	}
	for _, r := range rs {
		_ = r.Close()
	}
	close(l.done)
	l.wg.Wait()
	if l.ownNC {
		// Flush first so that naks of closed handles reach the server.
		_ = l.nc.FlushTimeout(time.Second)
		l.nc.Close()
	}
	return nil
}

// record turns a delivered message into a caplog.Record.
func (l *Log) record(m jetstream.Msg) (caplog.Record, error) {
	md, err := m.Metadata()
	if err != nil {
		return caplog.Record{}, fmt.Errorf("message metadata: %w", err)
	}
	key := strings.TrimPrefix(m.Subject(), l.opts.Subject+".")
	id, err := uuid.Parse(m.Headers().Get(jetstream.MsgIDHeader))
	if err != nil {
		return caplog.Record{}, fmt.Errorf("message %d: Nats-Msg-Id: %w", md.Sequence.Stream, err)
	}
	return caplog.Record{
		Entry:    caplog.Entry{Key: key, ID: id, Data: m.Data()},
		Position: caplog.Position(md.Sequence.Stream),
		Time:     md.Timestamp.UTC(),
	}, nil
}

// Pending is how many records the durable consumer name has not committed
// (not yet delivered plus delivered and unacknowledged), across instances.
func (l *Log) Pending(ctx context.Context, name string) (uint64, error) {
	c, err := l.stream.Consumer(ctx, name)
	if err != nil {
		return 0, unavailable("consumer info "+name, err)
	}
	ci := c.CachedInfo()
	return ci.NumPending + uint64(ci.NumAckPending), nil
}

// Conn is the log's NATS connection, for cluster-wide signals that are not
// capture records (bin changes). The Log owns and closes it.
func (l *Log) Conn() *nats.Conn { return l.nc }
