// Package lease elects one leader among hookscope instances through a
// JetStream key-value bucket (cluster mode): the instance that holds the
// bucket's key is the leader, for as long as it keeps renewing it.
//
// The protocol is NATS's own compare-and-set, nothing home-made:
//
//   - acquire: Create(key) succeeds only when the key does not exist (or was
//     deleted); the value is this holder's unique id;
//   - renew: Update(key, revision) every Renew, on the revision this holder
//     wrote last; a wrong-revision answer means someone else holds it;
//   - expiry: the bucket's TTL (the stream's MaxAge) removes a key its holder
//     stopped renewing (a killed instance), after which another Create wins;
//   - release: on a clean stop the holder deletes the key on its revision,
//     so another instance takes over at its next attempt instead of after
//     the TTL.
//
// # Safety
//
// A holder counts its lease from the moment it sent the Create or Update
// that the server acknowledged: the server stamped the message after that,
// so the key cannot expire (and nobody else can win it) before sent+TTL. The
// holder ends its term (cancels the leader's context and waits for its
// function to return) at sent+TTL-Margin at the latest, whether or not NATS
// answers. So a leader cut off from NATS steps down before another can be
// elected; Margin is the time its function gets to stop.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KV is the part of a JetStream key-value bucket the lease uses;
// jetstream.KeyValue satisfies it. The bucket's TTL must equal Options.TTL.
type KV interface {
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
}

// Options configure a Lease. Zero values take the defaults.
type Options struct {
	// TTL is the bucket's TTL: how long a key lives after its last write.
	// Default 10s. A dead leader is replaced after at most TTL+Retry.
	TTL time.Duration
	// Renew is how often the leader renews. Default TTL/3.
	Renew time.Duration
	// Margin is how long before the key could expire the leader ends its
	// term when it could not renew. Default TTL/5.
	Margin time.Duration
	// Retry is how often a follower tries to acquire. Default TTL/10.
	Retry time.Duration
	// Holder identifies this instance in the key's value; it must be
	// unique among the contenders. Default: host name plus a random suffix.
	Holder string
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	if o.Renew <= 0 {
		o.Renew = o.TTL / 3
	}
	if o.Margin <= 0 {
		o.Margin = o.TTL / 5
	}
	if o.Retry <= 0 {
		o.Retry = o.TTL / 10
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		var b [6]byte
		_, _ = rand.Read(b[:])
		o.Holder = host + "-" + hex.EncodeToString(b[:])
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Lease is one contender for the key. Run it once.
type Lease struct {
	kv     KV
	key    string
	opt    Options
	log    *slog.Logger
	leader atomic.Bool
	terms  atomic.Int64
}

// New returns a contender for key in kv.
func New(kv KV, key string, opt Options) *Lease {
	opt.defaults()
	return &Lease{kv: kv, key: key, opt: opt, log: opt.Logger.With("component", "lease", "key", key, "holder", opt.Holder)}
}

// Holder is this contender's id (the key's value while it leads).
func (l *Lease) Holder() string { return l.opt.Holder }

// Leader reports whether this contender is in a term now.
func (l *Lease) Leader() bool { return l.leader.Load() }

// Terms counts the terms this contender has started.
func (l *Lease) Terms() int64 { return l.terms.Load() }

// Run contends for the key until ctx ends. Each time it wins, it calls lead
// with a context that is cancelled when the term ends (the lease was lost,
// could not be renewed in time, or ctx ended), and waits for lead to return
// before it contends again. lead must return promptly once its context is
// done: within Margin. When ctx ends during a term, Run releases the key
// after lead returned. Run returns ctx's error.
func (l *Lease) Run(ctx context.Context, lead func(ctx context.Context)) error {
	for {
		if rev, sent, ok := l.acquire(ctx); ok {
			l.term(ctx, rev, sent, lead)
		}
		// After a term too: a leader whose function returned on its own
		// leaves the others a chance.
		if !sleep(ctx, l.opt.Retry) {
			return ctx.Err()
		}
	}
}

// acquire tries once to take the key: it returns the revision written and
// when the write was sent.
func (l *Lease) acquire(ctx context.Context) (uint64, time.Time, bool) {
	cctx, cancel := context.WithTimeout(ctx, l.opt.Renew)
	defer cancel()
	sent := time.Now()
	rev, err := l.kv.Create(cctx, l.key, []byte(l.opt.Holder))
	if err == nil {
		return rev, sent, true
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		if ctx.Err() == nil {
			l.log.Debug("acquire lease", "err", err)
		}
		return 0, time.Time{}, false
	}
	// The key may be ours: a Create whose answer we missed (a timeout, a
	// reconnect that flushed a buffered request). Take it over by
	// rewriting it on its revision, which also restamps it.
	return l.reclaim(cctx)
}

// reclaim rewrites the key when its value is this holder's id.
func (l *Lease) reclaim(ctx context.Context) (uint64, time.Time, bool) {
	e, err := l.kv.Get(ctx, l.key)
	if err != nil || string(e.Value()) != l.opt.Holder {
		return 0, time.Time{}, false
	}
	sent := time.Now()
	rev, err := l.kv.Update(ctx, l.key, []byte(l.opt.Holder), e.Revision())
	if err != nil {
		return 0, time.Time{}, false
	}
	return rev, sent, true
}

// term runs lead while the lease holds: it renews every Renew and ends the
// term when the key was taken over, or when sent+TTL-Margin passes without
// a successful renewal.
func (l *Lease) term(ctx context.Context, rev uint64, sent time.Time, lead func(context.Context)) {
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	l.leader.Store(true)
	l.terms.Add(1)
	l.log.Info("leading")
	go func() { defer close(done); lead(tctx) }()
	end := func(reason string) {
		cancel()
		<-done
		l.leader.Store(false)
		l.log.Info("stepped down", "reason", reason)
	}
	renew := time.NewTimer(l.opt.Renew)
	defer renew.Stop()
	for {
		deadline := time.NewTimer(time.Until(sent.Add(l.opt.TTL - l.opt.Margin)))
		select {
		case <-ctx.Done():
			deadline.Stop()
			end("stopping")
			l.release(rev)
			return
		case <-done:
			// lead returned on its own: give the key up for another.
			deadline.Stop()
			end("leader function returned")
			l.release(rev)
			return
		case <-deadline.C:
			end("lease not renewed in time")
			return
		case <-renew.C:
			deadline.Stop()
		}
		nrev, nsent, err := l.renew(ctx, rev, sent)
		switch {
		case err == nil:
			rev, sent = nrev, nsent
			renew.Reset(l.opt.Renew)
		case errors.Is(err, errLost):
			end("lease taken over")
			return
		default:
			if ctx.Err() == nil {
				l.log.Warn("renew lease", "err", err, "steps_down_in", time.Until(sent.Add(l.opt.TTL-l.opt.Margin)).Round(time.Millisecond))
			}
			// Try again soon, still before the deadline.
			renew.Reset(min(l.opt.Renew, max(l.opt.Margin/4, 10*time.Millisecond)))
		}
	}
}

// errLost: the key holds another holder's value (or is gone and retaken).
var errLost = errors.New("lease lost")

// renew rewrites the key on rev; the attempt is bounded by the term's
// deadline.
func (l *Lease) renew(ctx context.Context, rev uint64, sent time.Time) (uint64, time.Time, error) {
	rctx, cancel := context.WithDeadline(ctx, sent.Add(l.opt.TTL-l.opt.Margin))
	defer cancel()
	now := time.Now()
	nrev, err := l.kv.Update(rctx, l.key, []byte(l.opt.Holder), rev)
	if err == nil {
		return nrev, now, nil
	}
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		return 0, time.Time{}, fmt.Errorf("update: %w", err)
	}
	// Someone wrote the key since our revision: ours (an update whose
	// answer we missed) or another holder's (we lost it).
	nrev, nsent, ok := l.reclaim(rctx)
	if !ok {
		return 0, time.Time{}, errLost
	}
	return nrev, nsent, nil
}

// release deletes the key on the revision we wrote last (if someone else
// holds it meanwhile, the delete fails and changes nothing).
func (l *Lease) release(rev uint64) {
	// At least 2 s: a slow NATS would otherwise leave the key to expire,
	// and the next leader waits out the TTL (CI saw it under load).
	ctx, cancel := context.WithTimeout(context.Background(), max(l.opt.Renew, 2*time.Second))
	defer cancel()
	if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev)); err != nil {
		l.log.Debug("release lease", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
