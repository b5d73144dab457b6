// Package jsplace creates JetStream assets (streams, KV buckets) on a
// cluster that may still be forming.
package jsplace

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Create calls create until it succeeds, fails for a reason that waiting
// does not cure, or ctx ends. A cluster that is still forming (no meta
// leader yet, a peer not yet seen online) refuses placement for a moment
// after start: "no suitable peers", no responders, a timeout. The last
// error is returned when ctx ends.
func Create[T any](ctx context.Context, create func(context.Context) (T, error)) (T, error) {
	for {
		v, err := create(ctx)
		if err == nil || !transient(ctx, err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func transient(ctx context.Context, err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil ||
		errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "no suitable peers")
}
