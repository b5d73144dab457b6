package alerts

import (
	"context"
	"log/slog"
	"testing"
)

// An earlier part of shutdown may use up the caller's deadline; closing an
// idle dispatcher on an expired context must still succeed (a CI flake:
// "notifications still pending" with nothing pending).
func TestDispatcherCloseExpiredContextNothingPending(t *testing.T) {
	for range 50 {
		opt := &Options{}
		opt.defaults()
		d := newDispatcher(nil, opt, slog.New(slog.DiscardHandler))
		d.start(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.close(ctx); err != nil {
			t.Fatalf("close on an expired context with nothing pending: %v", err)
		}
	}
}
