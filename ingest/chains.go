package ingest

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// Retry chains (issue 17): a request whose (bin, delivery id) was seen
// before gets DuplicateOf (the first request's id) and, when the provider
// did not state it, its attempt number counted along the chain.
//
// Where: the store writer resolves them, batch by batch, just before
// WriteRequests. Capture's hot path stays untouched (the record is durable
// in the log, answered, and only then looked up), the lookup sees every
// request stored before in log order (the writer is the store's one
// writer of this process, and a batch's own earlier requests are counted
// from the batch itself), and a batch the writer retries or re-reads after
// a crash resolves the same way because the lookup reads only requests
// strictly older than each one (Before its cursor). The cost is one
// indexed lookup of ONE row per chain and batch: the newest older request
// of the chain already carries its attempt number and the chain's first id
// (its DuplicateOf, or itself), so a provider retrying one delivery id a
// million times (or a sender replaying it) costs the same as two attempts.
// The embedded store has a partial index on (bin_id, delivery_id);
// ClickHouse reads the bin's key range. The live feed shows a request
// before its chain is resolved: duplicate_of appears in the list, the
// record and /attempts.

// ChainReader is what the store writer reads chains through; a store that
// implements it (schema.Reader does) gets its chains resolved.
type ChainReader interface {
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
}

type chainKey struct{ bin, delivery string }

type chainState struct {
	first uuid.UUID
	n     int // requests of the chain so far
}

// resolveChains sets DuplicateOf and counted attempts on reqs (in log
// order). It changes reqs only when every lookup succeeded, so a retried
// batch resolves from scratch.
func resolveChains(ctx context.Context, rd ChainReader, reqs []*schema.Request) error {
	type change struct {
		dup     *uuid.UUID
		attempt int
	}
	var changes map[int]change
	seen := map[chainKey]*chainState{}
	for i, r := range reqs {
		if r.DeliveryID == "" || r.DuplicateOf != nil {
			continue
		}
		k := chainKey{r.BinID, r.DeliveryID}
		st, ok := seen[k]
		if !ok {
			page, err := rd.ListRequests(ctx, schema.Filter{BinID: r.BinID, DeliveryID: r.DeliveryID,
				Before: schema.CursorOf(r), Limit: 1})
			if err != nil {
				return fmt.Errorf("resolve retry chain: %w", err)
			}
			st = &chainState{first: r.ID}
			if len(page.Requests) > 0 {
				prev := page.Requests[0] // the newest older request of the chain
				st.first = prev.ID
				if prev.DuplicateOf != nil {
					st.first = *prev.DuplicateOf
				}
				st.n = max(prev.Attempt, 1)
			}
			seen[k] = st
		}
		c := change{attempt: r.Attempt}
		if st.n > 0 {
			first := st.first
			c.dup = &first
		}
		st.n++
		if c.attempt == 0 {
			c.attempt = st.n
		}
		if changes == nil {
			changes = map[int]change{}
		}
		changes[i] = c
	}
	for i, c := range changes {
		reqs[i].DuplicateOf, reqs[i].Attempt = c.dup, c.attempt
	}
	return nil
}
