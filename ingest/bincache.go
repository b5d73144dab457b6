package ingest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// Target is a bin prepared for capture: its settings plus what was parsed
// from them once (the signature verifier).
type Target struct {
	Bin      *schema.Bin
	verifier *signature.Verifier // nil: no scheme, or an unusable configuration
	sigErr   error
	enforce  *enforcement    // nil: every delivery is accepted
	redact   *redactor       // nil: nothing to redact
	fwd      *forward.Filter // the forward filter (nil: forward everything)
}

// NeedsPublicURL reports whether capture must know the URL the sender used:
// only the bin's signature scheme reads it, and most schemes do not.
func (t *Target) NeedsPublicURL() bool { return t.verifier != nil && t.verifier.NeedsURL() }

func newTarget(b *schema.Bin, redactHeaders []string) *Target {
	t := &Target{Bin: b, enforce: newEnforcement(b), redact: newRedactor(redactHeaders, b.Settings.Redact)}
	if cfg := b.Settings.Signature; cfg != nil && cfg.Scheme != "" {
		t.verifier, t.sigErr = signature.New(cfg)
	}
	if fc := b.Settings.Forward; fc != nil {
		// Validated when the bin was saved; one that no longer parses
		// forwards everything rather than nothing.
		t.fwd, _ = forward.ParseFilter(fc.Filter)
	}
	return t
}

// binCache remembers bin lookups for a short time, including misses, so a
// flood at an unknown bin id does not reach the store on every request.
// Concurrent misses of one id share a single store lookup (singleflight):
// when an entry expires under load, every connection capturing into that
// bin misses at once, and without sharing each of them asked the store (on
// ClickHouse a FINAL read of bins per connection, every TTL).
type binCache struct {
	src BinSource
	ttl time.Duration
	// redactHeaders is the server-wide redaction list (Options.RedactHeaders).
	redactHeaders []string
	now           func() time.Time
	flight        singleflight.Group

	mu sync.RWMutex
	m  map[string]binEntry
	// epoch counts invalidations: a lookup that spans one may predate the
	// change, so its answer goes to its callers but is not cached.
	epoch uint64
}

type binEntry struct {
	t   *Target
	err error
	at  time.Time
}

func newBinCache(src BinSource, ttl time.Duration, now func() time.Time) *binCache {
	return &binCache{src: src, ttl: ttl, now: now, m: make(map[string]binEntry)}
}

func (c *binCache) get(ctx context.Context, id string) (*Target, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.t, e.err
	}
	// The key outlives this call (in the cache, or in the flight when the
	// caller gives up): clone it, since callers may pass strings that alias
	// a reused request buffer (Fiber's c.Query, c.Params).
	key := strings.Clone(id)
	ch := c.flight.DoChan(key, func() (any, error) { return c.lookup(ctx, key, e, ok, now) })
	select {
	case r := <-ch:
		t, _ := r.Val.(*Target)
		return t, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lookup asks the store for id and caches the answer; stale is the expired
// entry, if any.
func (c *binCache) lookup(ctx context.Context, id string, stale binEntry, haveStale bool, now time.Time) (*Target, error) {
	c.mu.RLock()
	epoch := c.epoch
	c.mu.RUnlock()
	b, err := c.src.GetBin(ctx, id)
	if err != nil && !errors.Is(err, schema.ErrNotFound) {
		// The store is failing (ClickHouse down): keep capturing for bins we
		// know, so deliveries wait in the capture log instead of being refused.
		if haveStale && stale.t != nil {
			return stale.t, nil
		}
		return nil, err // do not cache transient failures
	}
	var t *Target
	if err == nil {
		t = newTarget(b, c.redactHeaders)
	}
	c.mu.Lock()
	if c.epoch == epoch {
		if len(c.m) > 100_000 { // bound memory under a flood of random ids
			clear(c.m)
		}
		c.m[id] = binEntry{t: t, err: err, at: now}
	}
	c.mu.Unlock()
	return t, err
}

func (c *binCache) invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.epoch++
	c.mu.Unlock()
	c.flight.Forget(id) // later misses start a fresh lookup
}
