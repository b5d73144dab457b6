package natslog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// waitChunk bounds one blocking pull request; Fetch issues another until
// its context ends, so an abandoned request holds at most one message.
const waitChunk = 2 * time.Second

// commitWait bounds the wait for the server's reply to a Commit's acks.
const commitWait = 2 * time.Second

// consumer is one handle of a durable pull consumer.
type consumer struct {
	l    *Log
	name string
	jc   jetstream.Consumer
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	pending map[*batchToken]struct{}
	// stash holds messages that reached a pull request its Fetch had
	// abandoned (ctx ended); the next Fetch returns them first, so that
	// one handle still sees its records in order. drained is closed once
	// the abandoned request ended.
	stash   []jetstream.Msg
	drained chan struct{}
}

// batchToken is Batch.Token: the messages to ack, and the handle that
// fetched them (a batch of another handle, or of a closed one, is refused).
type batchToken struct {
	c    *consumer
	msgs []jetstream.Msg
}

func (c *consumer) mapErr(step string, err error) error {
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		c.shut(false)
		return fmt.Errorf("%s: consumer %s deleted: %w", step, c.name, caplog.ErrClosed)
	}
	if c.isClosed() {
		return caplog.ErrClosed
	}
	return unavailable(step, err)
}

func (c *consumer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Fetch implements caplog.Consumer: what is available at once (no wait),
// otherwise one blocking pull for the first message and a no-wait top-up.
func (c *consumer) Fetch(ctx context.Context, max int) (caplog.Batch, error) {
	if max < 1 {
		return caplog.Batch{}, fmt.Errorf("fetch max %d: %w", max, caplog.ErrInvalid)
	}
	for {
		if c.isClosed() {
			return caplog.Batch{}, caplog.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return caplog.Batch{}, err
		}
		c.mu.Lock()
		drained := c.drained
		c.mu.Unlock()
		if drained != nil {
			select {
			case <-drained:
			case <-ctx.Done():
				return caplog.Batch{}, ctx.Err()
			case <-c.done:
				return caplog.Batch{}, caplog.ErrClosed
			}
		}
		c.mu.Lock()
		n := min(len(c.stash), max)
		stashed := c.stash[:n:n]
		c.stash = c.stash[n:]
		c.mu.Unlock()
		if n > 0 {
			if b, ok := c.batch(stashed); ok {
				return b, nil
			}
			continue
		}
		msgs, err := c.fetchNoWait(max)
		if transient(err) {
			if err := c.pause(ctx); err != nil {
				return caplog.Batch{}, err
			}
			continue
		}
		if err != nil {
			return caplog.Batch{}, err
		}
		if len(msgs) == 0 {
			first, err := c.waitOne(ctx)
			if transient(err) {
				if err := c.pause(ctx); err != nil {
					return caplog.Batch{}, err
				}
				continue
			}
			if err != nil {
				return caplog.Batch{}, err
			}
			if first == nil {
				continue // the pull request expired empty
			}
			msgs = append(msgs, first)
			if max > 1 {
				more, err := c.fetchNoWait(max - 1)
				if err != nil {
					c.nak(msgs)
					return caplog.Batch{}, err
				}
				msgs = append(msgs, more...)
			}
		}
		b, ok := c.batch(msgs)
		if ok {
			return b, nil
		}
	}
}

// transient: the consumer has no leader reachable right now (just created
// in a cluster, a leader election, a reconnect). Fetch waits it out: it
// promises to block until data, not to fail on the way.
func transient(err error) bool {
	return err != nil && (errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected))
}

func (c *consumer) pause(ctx context.Context) error {
	select {
	case <-time.After(50 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return caplog.ErrClosed
	}
}

func (c *consumer) fetchNoWait(max int) ([]jetstream.Msg, error) {
	mb, err := c.jc.FetchNoWait(max)
	if err != nil {
		return nil, c.mapErr("fetch", err)
	}
	var msgs []jetstream.Msg
	for m := range mb.Messages() {
		msgs = append(msgs, m)
	}
	if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		c.nak(msgs)
		return nil, c.mapErr("fetch", err)
	}
	return msgs, nil
}

// waitOne waits for one message (nil when the pull request expired). If ctx
// or the handle ends first, a message the server still sends to the
// abandoned request is nak'ed so that it is delivered again at once.
func (c *consumer) waitOne(ctx context.Context) (jetstream.Msg, error) {
	// A short deadline (the store writer's linger) bounds the pull request
	// too, so that few requests outlive their caller.
	wait := waitChunk
	if d, ok := ctx.Deadline(); ok {
		wait = max(min(wait, time.Until(d)-5*time.Millisecond), 10*time.Millisecond)
	}
	mb, err := c.jc.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, c.mapErr("fetch", err)
	}
	select {
	case m, ok := <-mb.Messages():
		if ok {
			return m, nil
		}
		if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return nil, c.mapErr("fetch", err)
		}
		return nil, nil
	case <-ctx.Done():
		c.abandon(mb)
		return nil, ctx.Err()
	case <-c.done:
		c.abandon(mb)
		return nil, caplog.ErrClosed
	}
}

// abandon stashes what still reaches an abandoned pull request (nak'ed
// instead once the handle is closed).
func (c *consumer) abandon(mb jetstream.MessageBatch) {
	done := make(chan struct{})
	c.mu.Lock()
	prev := c.drained
	c.drained = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		for m := range mb.Messages() {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				_ = m.Nak()
				continue
			}
			c.stash = append(c.stash, m)
			c.mu.Unlock()
		}
	}()
}

func (c *consumer) nak(msgs []jetstream.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}

// batch decodes msgs into a Batch owned by this handle. A message that is
// not a capture record (no valid Nats-Msg-Id) is terminated and logged: it
// would otherwise come back forever. ok is false when nothing was left.
func (c *consumer) batch(msgs []jetstream.Msg) (caplog.Batch, bool) {
	tok := &batchToken{c: c, msgs: make([]jetstream.Msg, 0, len(msgs))}
	recs := make([]caplog.Record, 0, len(msgs))
	for _, m := range msgs {
		r, err := c.l.record(m)
		if err != nil {
			c.l.log.Error("drop a message that is not a capture record", "consumer", c.name, "subject", m.Subject(), "err", err)
			_ = m.Term()
			continue
		}
		recs = append(recs, r)
		tok.msgs = append(tok.msgs, m)
	}
	if len(recs) == 0 {
		return caplog.Batch{}, false
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.pending[tok] = struct{}{}
	}
	c.mu.Unlock()
	if closed {
		c.nak(tok.msgs)
		return caplog.Batch{}, false
	}
	return caplog.Batch{Records: recs, Token: tok}, true
}

// Commit implements caplog.Consumer: acks every message of b; the last ack
// is a double ack, answered once the server processed it, and the server
// processes one connection's acks of one consumer in order.
func (c *consumer) Commit(ctx context.Context, b caplog.Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	tok, ok := b.Token.(*batchToken)
	if !ok || tok.c != c {
		return fmt.Errorf("commit: a batch this handle did not fetch: %w", caplog.ErrInvalid)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return caplog.ErrClosed
	}
	if _, ok := c.pending[tok]; !ok {
		c.mu.Unlock()
		return fmt.Errorf("commit: batch already committed: %w", caplog.ErrInvalid)
	}
	delete(c.pending, tok)
	c.mu.Unlock()
	n := len(tok.msgs)
	for _, m := range tok.msgs[:n-1] {
		if err := m.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return c.mapErr("commit", err)
		}
	}
	// An ack sent while the consumer's raft group elects a leader is
	// lost and its reply never comes: bound the wait (the batch is then
	// delivered again, and consumers dedupe).
	actx, cancel := context.WithTimeout(ctx, commitWait)
	defer cancel()
	if err := tok.msgs[n-1].DoubleAck(actx); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.mapErr("commit", err)
	}
	return nil
}

// Position implements caplog.Consumer: the consumer's ack floor.
func (c *consumer) Position(ctx context.Context) (caplog.Position, error) {
	if c.isClosed() {
		return 0, caplog.ErrClosed
	}
	info, err := c.jc.Info(ctx)
	if err != nil {
		return 0, c.mapErr("consumer info", err)
	}
	return caplog.Position(info.AckFloor.Stream), nil
}

// Close implements caplog.Consumer.
func (c *consumer) Close() error {
	c.shut(true)
	return nil
}

// shut closes the handle; with nak, its uncommitted batches are nak'ed so
// that another handle gets them now rather than after AckWait.
func (c *consumer) shut(nak bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	pending := c.pending
	c.pending = nil
	stash := c.stash
	c.stash = nil
	c.mu.Unlock()
	c.nak(stash)
	if nak {
		for tok := range pending {
			c.nak(tok.msgs)
		}
		_ = c.l.nc.FlushTimeout(time.Second)
	}
	c.l.mu.Lock()
	delete(c.l.consumers, c)
	c.l.mu.Unlock()
}
