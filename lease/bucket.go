package lease

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CreateBucket creates (or updates) a KV bucket, retrying while the
// cluster cannot place it yet: a cluster that is still forming (no meta
// leader, a peer not yet seen online) answers "no suitable peers for
// placement" for a moment after start. Other errors, and ctx ending, are
// returned.
func CreateBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	for {
		kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		if err == nil {
			return kv, nil
		}
		var apiErr *jetstream.APIError
		retry := errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
			errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "no suitable peers")
		if !retry {
			return nil, fmt.Errorf("create bucket %s: %w", cfg.Bucket, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("create bucket %s: %w (last: %w)", cfg.Bucket, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
