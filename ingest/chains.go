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
// indexed list query per request carrying a delivery id (the embedded
// store has a partial index on (bin_id, delivery_id); ClickHouse reads the
// bin's key range). The live feed shows a request before its chain is
// resolved: duplicate_of appears in the list, the record and /attempts.

// ChainReader is what the store writer reads chains through; a store that
// implements it (schema.Reader does) gets its chains resolved.
type ChainReader interface {
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
}

// maxChainLookup bounds one lookup: attempts past it are numbered as if the
// chain had that many.
const maxChainLookup = 1000

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
				Before: schema.CursorOf(r), Limit: maxChainLookup})
			if err != nil {
				return fmt.Errorf("resolve retry chain: %w", err)
			}
			st = &chainState{first: r.ID}
			if older := page.Requests; len(older) > 0 {
				oldest := older[len(older)-1]
				st.first = oldest.ID
				if oldest.DuplicateOf != nil && page.Next != nil {
					st.first = *oldest.DuplicateOf // a chain longer than one page
				}
				st.n = len(older)
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
