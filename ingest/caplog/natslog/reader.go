package natslog

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/nats-io/nats.go/jetstream"
)

// reader is an ordered consumer: ephemeral, unacknowledged, gap-free (the
// client recreates it after a missed sequence or heartbeat, from the last
// sequence it delivered).
type reader struct {
	l    *Log
	it   jetstream.MessagesContext
	ch   chan jetstream.Msg
	done chan struct{}
	once sync.Once
}

// pump moves messages from the iterator to ch until the reader closes.
func (r *reader) pump() {
	for {
		m, err := r.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			r.l.log.Warn("reader: next", "err", err)
			select {
			case <-r.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case r.ch <- m:
		case <-r.done:
			return
		}
	}
}

// Next implements caplog.Reader.
func (r *reader) Next(ctx context.Context, max int) ([]caplog.Record, error) {
	if max < 1 {
		return nil, caplog.ErrInvalid
	}
	var recs []caplog.Record
	add := func(m jetstream.Msg) {
		rec, err := r.l.record(m)
		if err != nil {
			r.l.log.Error("reader: skip a message that is not a capture record", "subject", m.Subject(), "err", err)
			return
		}
		recs = append(recs, rec)
	}
	for len(recs) == 0 {
		select {
		case m := <-r.ch:
			add(m)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.done:
			return nil, caplog.ErrClosed
		}
		for len(recs) < max {
			select {
			case m := <-r.ch:
				add(m)
				continue
			default:
			}
			break
		}
	}
	return recs, nil
}

// Close implements caplog.Reader.
func (r *reader) Close() error {
	r.once.Do(func() {
		close(r.done)
		r.it.Stop()
		r.l.mu.Lock()
		delete(r.l.readers, r)
		r.l.mu.Unlock()
	})
	return nil
}
