// Deleting single requests and filtered sets (issue 17).

package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	// sqlDeleteWhereMutation: %s the table (Store.alterTable), %s the WHERE clause.
	sqlDeleteWhereMutation = `ALTER TABLE %s DELETE WHERE %s`
	// sqlMutationsPending counts the table's unfinished mutations.
	sqlMutationsPending = `SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0`
)

// mutationWait bounds how long a delete waits for its mutation.
const mutationWait = 30 * time.Second

// DeleteRequest removes one request of a bin.
func (s *Store) DeleteRequest(ctx context.Context, binID string, id uuid.UUID) error {
	if _, err := s.GetRequest(ctx, binID, id); err != nil {
		return fmt.Errorf("delete request: %w", err)
	}
	q, err := s.binQuery(ctx, &schema.Filter{BinID: binID})
	if err != nil {
		return err
	}
	q.add("id = UUIDStringToNum(?)", id.String())
	return s.deleteWhere(ctx, q)
}

// DeleteMatching removes the bin's requests matching f's match fields.
//
// Unlike clearing a bin (a tombstone row hides everything at once), a
// filtered set cannot be described by one tombstone key range: it is an
// ALTER TABLE ... DELETE with the list's WHERE clause, and the call waits
// until the server finished it (on a single server: the mutation is done
// when system.mutations says so; on a cluster the ON CLUSTER statement is
// queued on every shard and this waits for the local one only).
// The 5-minute rollups (stats) keep counting what was deleted, as for a
// trim that lies in the rollup range.
func (s *Store) DeleteMatching(ctx context.Context, f schema.Filter) (int64, error) {
	if f.BinID == "" || !f.HasMatch() {
		return 0, fmt.Errorf("delete matching: %w: a bin and a filter are required", schema.ErrInvalid)
	}
	f.Before, f.After = nil, nil
	q, err := s.binQuery(ctx, &f)
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountRequests+q.sql(), q.args...).Scan(&n); err != nil {
		return 0, classify("delete matching: count", err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.deleteWhere(ctx, q); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// deleteWhere queues the mutation and waits for it.
func (s *Store) deleteWhere(ctx context.Context, q *query) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlDeleteWhereMutation, s.alterTable("requests"), q.sql()), q.args...); err != nil {
		return classify("delete: mutation", err)
	}
	// A mutation the server cannot finish (a failing one queued before
	// ours holds ours back) must not hold the API call forever.
	ctx, cancel := context.WithTimeout(ctx, mutationWait)
	defer cancel()
	table := "requests"
	if s.opts.Cluster != "" {
		table = "requests_local"
	}
	pause := 5 * time.Millisecond
	for {
		var pending uint64
		if err := s.conn.QueryRow(ctx, sqlMutationsPending, s.database, table).Scan(&pending); err != nil {
			return classify("delete: wait for mutation", err)
		}
		if pending == 0 {
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("delete: wait for mutation: %w: %w", schema.ErrUnavailable, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 200*time.Millisecond)
	}
}
