// Package bins is the bin service: create, read, update, delete, clear,
// share and token revocation, with every rule about a bin's settings
// (names, expiry, signature, custom responses, forwarding). It knows nothing
// of HTTP: web decodes the request once into an Input, calls the service,
// and maps its errors (schema sentinels; *FieldError for a bad setting) to a
// status in one place.
//
// Tokens are signed in web (the only package that imports the JWT library);
// the service keeps what they are checked against: a bin's token generation
// (schema.Bin.TokenGen), incremented by Revoke.
package bins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// Store is the storage the service needs (schema.Store satisfies it).
type Store interface {
	CreateBin(ctx context.Context, b *schema.Bin) error
	GetBin(ctx context.Context, id string) (*schema.Bin, error)
	UpdateBin(ctx context.Context, b *schema.Bin) error
	DeleteBin(ctx context.Context, id string) error
	DeleteRequests(ctx context.Context, binID string) error
}

// Invalidator drops cached copies of a bin after it changed. ingest's bin
// cache (ingest.Pipeline) implements it; cmd wires it.
type Invalidator interface {
	InvalidateBin(id string)
}

// FieldError is a bad bin setting: it wraps schema.ErrInvalid and its
// message, which names the field, is written for API users.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes a FieldError match schema.ErrInvalid.
func (e *FieldError) Unwrap() error { return schema.ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// DefaultExpiry of new bins (default 7 days).
	DefaultExpiry time.Duration
	// ValidateSignature checks signature settings (nil: accept any scheme).
	ValidateSignature func(*schema.SignatureConfig) error
	// DefaultShareTTL of a share link without expires_in (default 24h).
	DefaultShareTTL time.Duration
	Now             func() time.Time
}

// Service manages bins. Create with New.
type Service struct {
	store Store
	cache Invalidator
	opts  Options
	log   *slog.Logger

	// mu serialises read-modify-write of one instance's bins (PATCH,
	// revoke), so that two concurrent changes do not lose one another.
	mu sync.Mutex

	watchMu  sync.Mutex
	watchers map[string]map[chan struct{}]struct{}
}

// New builds the service. cache may be nil.
func New(store Store, cache Invalidator, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultExpiry == 0 {
		opts.DefaultExpiry = 7 * 24 * time.Hour
	}
	if opts.DefaultShareTTL <= 0 {
		opts.DefaultShareTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, cache: cache, opts: opts, log: opts.Logger.With("component", "bins"),
		watchers: make(map[string]map[chan struct{}]struct{})}
}

// ValidID reports whether id can name a bin (server-made ids are UUIDs;
// older or hand-made ones are short tokens of [A-Za-z0-9_-]).
func ValidID(id string) bool { return schema.ValidBinID(id) }

// Create validates in and stores a new bin (generation 0).
func (s *Service) Create(ctx context.Context, in *Input) (*schema.Bin, error) {
	now := schema.Truncate(s.opts.Now())
	b := &schema.Bin{ID: uuid.NewString(), CreatedAt: now}
	if err := s.apply(b, in, now, true); err != nil {
		return nil, err
	}
	if err := s.store.CreateBin(ctx, b); err != nil {
		return nil, fmt.Errorf("create bin: %w", err)
	}
	s.invalidate(b.ID)
	return b, nil
}

// Get returns a live bin: ErrNotFound for an unknown, malformed or expired id.
func (s *Service) Get(ctx context.Context, id string) (*schema.Bin, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("get bin: %w", schema.ErrNotFound)
	}
	b, err := s.store.GetBin(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get bin: %w", err)
	}
	if b.Expired(s.opts.Now()) {
		return nil, fmt.Errorf("get bin %s: expired: %w", id, schema.ErrNotFound)
	}
	return b, nil
}

// Update applies in to the bin (absent fields keep their value, null clears
// a setting) and stores it. Access watchers are told when privacy or expiry
// changed.
func (s *Service) Update(ctx context.Context, id string, in *Input) (*schema.Bin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	before := *b
	if err := s.apply(b, in, schema.Truncate(s.opts.Now()), false); err != nil {
		return nil, err
	}
	if err := s.store.UpdateBin(ctx, b); err != nil {
		return nil, fmt.Errorf("update bin: %w", err)
	}
	s.invalidate(b.ID)
	if before.Private != b.Private || !sameTime(before.ExpiresAt, b.ExpiresAt) {
		s.notify(b.ID)
	}
	return b, nil
}

// Delete removes the bin and its requests.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.store.DeleteBin(ctx, id); err != nil {
		return fmt.Errorf("delete bin: %w", err)
	}
	s.invalidate(id)
	s.notify(id)
	return nil
}

// Clear removes every request of the bin, keeping the bin.
func (s *Service) Clear(ctx context.Context, id string) error {
	if err := s.store.DeleteRequests(ctx, id); err != nil {
		return fmt.Errorf("clear requests: %w", err)
	}
	return nil
}

// Revoke moves the bin to the next token generation: every owner token and
// share link minted before is refused from now on. It returns the bin as
// stored; the caller mints the new owner token for b.TokenGen.
func (s *Service) Revoke(ctx context.Context, id string) (*schema.Bin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	b.TokenGen++
	if err := s.store.UpdateBin(ctx, b); err != nil {
		return nil, fmt.Errorf("revoke tokens: %w", err)
	}
	s.invalidate(b.ID)
	s.notify(b.ID)
	s.log.InfoContext(ctx, "bin tokens revoked", "bin", b.ID, "token_gen", b.TokenGen)
	return b, nil
}

// ShareTTL is the lifetime of a share link of b: expiresIn (nil: the
// default) capped so that the link ends with the bin.
func (s *Service) ShareTTL(b *schema.Bin, expiresIn *string) (time.Duration, error) {
	ttl := s.opts.DefaultShareTTL
	if expiresIn != nil {
		d, err := ParseExpiry(*expiresIn)
		if err != nil {
			return 0, err
		}
		ttl = d
	}
	if b.ExpiresAt != nil {
		left := b.ExpiresAt.Sub(s.opts.Now())
		if left <= 0 {
			return 0, fmt.Errorf("share bin %s: expired: %w", b.ID, schema.ErrNotFound)
		}
		ttl = min(ttl, left)
	}
	return ttl, nil
}

// Watch returns a channel that receives (without blocking the sender, so
// a burst coalesces into one signal) whenever the access to bin id may have
// changed: privacy, expiry, token generation, deletion. The caller re-reads
// the bin and decides; stop unregisters. Changes made by other instances
// sharing the store are not seen here (the feed's token-expiry timer and
// the bin's expiry still apply).
func (s *Service) Watch(id string) (c <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	s.watchMu.Lock()
	m := s.watchers[id]
	if m == nil {
		m = make(map[chan struct{}]struct{})
		s.watchers[id] = m
	}
	m[ch] = struct{}{}
	s.watchMu.Unlock()
	return ch, func() {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		if m := s.watchers[id]; m != nil {
			delete(m, ch)
			if len(m) == 0 {
				delete(s.watchers, id)
			}
		}
	}
}

func (s *Service) notify(id string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for ch := range s.watchers[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Changed tells the watchers of bin id that another instance sharing the
// store changed it (cluster mode broadcasts changes): they re-read the bin,
// as after a local change. The caller drops its own caches of the bin.
func (s *Service) Changed(id string) { s.notify(id) }

func (s *Service) invalidate(id string) {
	if s.cache != nil {
		s.cache.InvalidateBin(id)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// IsFieldError reports whether err carries a FieldError (for callers that
// want the field name).
func IsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
