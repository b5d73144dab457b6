// Package ingest is the capture pipeline: it turns an incoming HTTP request
// (already copied out of the web framework's buffers) into a schema.Request,
// verifies its signature, decides the answer, and hands the record to the
// batcher, the live feed and the alert engine without waiting for any of them.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/ingest/signature"
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

// Incoming is one request as the web layer copied it. The pipeline takes
// ownership of every slice.
type Incoming struct {
	BinID         string
	Method        string
	Path          string
	Query         string
	Headers       []schema.Header
	RemoteIP      string
	ContentType   string
	Body          []byte
	BodySize      int64
	BodyTruncated bool
	// Aborted: the sender stopped mid-body; recorded marked, never answered.
	Aborted bool
	// PublicURL is the full URL the sender used, for schemes that sign it.
	PublicURL string
	// Start is when the web layer began handling the request.
	Start time.Time
}

// Response is what capture answers.
type Response struct {
	// RequestID is the recorded request's id (empty when not recorded).
	RequestID string
	Status    int
	Headers   []schema.Header
	Body      []byte
	Delay     time.Duration
}

// Options configure a Pipeline. Zero values take the defaults.
type Options struct {
	Logger    *slog.Logger
	Publisher Publisher
	Observers []Observer
	// BinCacheTTL bounds how long a bin lookup is reused (default 2s). The web
	// layer invalidates explicitly on change; the TTL covers other processes.
	BinCacheTTL time.Duration
	// Forwarder relays captures of bins with a forward setting (nil: no
	// forwarding). See capture_forward.go.
	Forwarder *forward.Forwarder
	// Journal keeps async forwards in flight on disk (nil: in memory only).
	Journal *Journal
	Now     func() time.Time
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

// Target is a bin prepared for capture: its settings plus what was parsed
// from them once (the signature verifier).
type Target struct {
	Bin      *schema.Bin
	verifier *signature.Verifier // nil: no scheme, or an unusable configuration
	sigErr   error
}

// Bin returns the capture target if the bin exists and has not expired,
// else ErrUnknownBin.
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

// NeedsPublicURL reports whether capture must fill Incoming.PublicURL: only
// the bin's signature scheme reads it, and most schemes do not.
func (t *Target) NeedsPublicURL() bool { return t.verifier != nil && t.verifier.NeedsURL() }

func newTarget(b *schema.Bin) *Target {
	t := &Target{Bin: b}
	if cfg := b.Settings.Signature; cfg != nil && cfg.Scheme != "" {
		t.verifier, t.sigErr = signature.New(cfg)
	}
	return t
}

// InvalidateBin drops a cached bin after it changed.
func (p *Pipeline) InvalidateBin(id string) { p.bins.invalidate(id) }

// NewID returns a UUIDv7 and the receive time to record with it. Both come
// out of one critical section so that (received_at, id) order and id order
// agree, and received_at is strictly increasing at microsecond precision:
// cursors and live-feed resumption rely on that.
func (p *Pipeline) NewID() (uuid.UUID, time.Time) {
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

// Capture records one request for bin and returns the record (owned by the
// pipeline's consumers: do not modify it) and the answer to send. It never
// waits for storage; ErrOverloaded means the request was NOT recorded.
func (p *Pipeline) Capture(ctx context.Context, t *Target, in *Incoming) (*schema.Request, Response, error) {
	bin := t.Bin
	id, at := p.NewID()
	r := &schema.Request{
		ID:            id,
		BinID:         bin.ID,
		ReceivedAt:    at,
		Method:        in.Method,
		Path:          in.Path,
		Query:         in.Query,
		Headers:       in.Headers,
		RemoteIP:      in.RemoteIP,
		ContentType:   in.ContentType,
		Body:          in.Body,
		BodySize:      in.BodySize,
		BodyTruncated: in.BodyTruncated,
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if in.Aborted {
		return p.recordAborted(r, in)
	}
	switch {
	case t.verifier != nil:
		res := t.verifier.Verify(signature.Input{Headers: in.Headers, Body: in.Body, URL: in.PublicURL, Now: at})
		r.Signature = res.Signature
		// The lag is kept for invalid verdicts too: a stale timestamp is
		// exactly what a user debugging retries wants to see.
		if !res.SignedAt.IsZero() {
			lag := at.Sub(res.SignedAt).Milliseconds()
			r.DeliveryLagMS = &lag
		}
	case t.sigErr != nil:
		r.Signature = schema.Signature{Scheme: bin.Settings.Signature.Scheme, Status: schema.SigUnchecked, Reason: "configuration error: " + t.sigErr.Error()}
	default:
		r.Signature = schema.Signature{Status: schema.SigUnchecked}
	}

	fc := p.forwardConfig(bin, in)
	if fc != nil {
		if loop := forwardLoop(fc, in); loop != nil {
			r.Forward, fc = loop, nil
		}
	}
	var resp Response
	if fc != nil && fc.Mode == forward.ModeProxy {
		resp = p.proxy(ctx, *fc, r)
	} else {
		resp = p.respond(bin, r)
	}
	if in.BodyTruncated {
		resp = jsonError(413, "body larger than the limit; recorded truncated", r.ID)
	}
	r.ResponseStatus = resp.Status
	r.LatencyUS = p.opts.Now().Sub(in.Start).Microseconds()
	if r.LatencyUS < 0 {
		r.LatencyUS = 0
	}

	if fc != nil && fc.Mode != forward.ModeProxy {
		if err := p.forwardAsync(*fc, r); err != nil {
			return nil, jsonError(503, "hookscope is overloaded; retry later", uuid.Nil), err
		}
		resp.RequestID = r.ID.String()
		return r, resp, nil
	}
	if err := p.Record(r); err != nil {
		return nil, jsonError(503, "hookscope is overloaded; retry later", uuid.Nil), err
	}
	resp.RequestID = r.ID.String()
	return r, resp, nil
}

// Record hands a finished record to the batcher, the live feed and the
// observers. ErrOverloaded means it was NOT recorded.
func (p *Pipeline) Record(r *schema.Request) error {
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

// respond picks the bin's configured answer for r.
func (p *Pipeline) respond(bin *schema.Bin, r *schema.Request) Response {
	cfg := bin.Settings.Response
	if cfg == nil {
		return defaultResponse(r.ID)
	}
	status, headers, body, delay := cfg.Status, cfg.Headers, cfg.Body, cfg.DelayMS
	for _, rule := range cfg.Rules {
		if rule.Method != "" && rule.Method != r.Method {
			continue
		}
		if rule.PathPrefix != "" && !hasPathPrefix(r.Path, rule.PathPrefix) {
			continue
		}
		status, headers, body, delay = rule.Status, rule.Headers, rule.Body, rule.DelayMS
		break
	}
	if status == 0 {
		status = 200
	}
	if body == "" && len(headers) == 0 && status == 200 && delay == 0 {
		return defaultResponse(r.ID)
	}
	out := Response{Status: status, Headers: headers, Body: []byte(body), Delay: time.Duration(delay) * time.Millisecond}
	return out
}

func hasPathPrefix(path, prefix string) bool {
	return len(path) >= len(prefix) && path[:len(prefix)] == prefix
}

// defaultResponse is {"ok":true,"request_id":"..."}, built without reflection
// because it is on every request's path.
func defaultResponse(id uuid.UUID) Response {
	b := make([]byte, 0, 64)
	b = append(b, `{"ok":true,"request_id":"`...)
	b = append(b, id.String()...)
	b = append(b, `"}`...)
	return Response{Status: 200, Headers: jsonHeaders, Body: b}
}

var jsonHeaders = []schema.Header{{Name: "Content-Type", Value: "application/json"}}

func jsonError(status int, msg string, id uuid.UUID) Response {
	b := make([]byte, 0, 96)
	b = append(b, `{"error":`...)
	b = strconv.AppendQuote(b, msg)
	if id != uuid.Nil {
		b = append(b, `,"request_id":"`...)
		b = append(b, id.String()...)
		b = append(b, '"')
	}
	b = append(b, '}')
	return Response{Status: status, Headers: jsonHeaders, Body: b}
}

// binCache remembers bin lookups for a short time, including misses, so a
// flood at an unknown bin id does not reach the store on every request.
// Concurrent misses of one id share a single store lookup (singleflight):
// when an entry expires under load, every connection capturing into that
// bin misses at once, and without sharing each of them asked the store (on
// ClickHouse a FINAL read of bins per connection, every TTL).
type binCache struct {
	src    BinSource
	ttl    time.Duration
	now    func() time.Time
	flight singleflight.Group

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
		// know, so deliveries go to the spool instead of being refused.
		if haveStale && stale.t != nil {
			return stale.t, nil
		}
		return nil, err // do not cache transient failures
	}
	var t *Target
	if err == nil {
		t = newTarget(b)
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
