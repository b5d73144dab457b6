// Forward outcomes: the fwd_state and fwd_detail columns of a request, the
// forward_updates table of later outcomes (retries, redeliveries), the
// overlay of those on reads and the forward= filter.

package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	// sqlDeleteForwardUpdatesMutation removes the updates of deleted or
	// cleared bins written up to then (%s: the table to alter).
	sqlDeleteForwardUpdatesMutation = `ALTER TABLE %s DELETE WHERE bin_id IN ? AND updated_us <= ?`
	// sqlCountOldForwardUpdates and sqlDropOldForwardUpdates: retention
	// (Options.MaxAge) of the updates written before a cut (Unix µs).
	sqlCountOldForwardUpdates = `SELECT count() FROM forward_updates WHERE updated_us < ?`
	sqlDropOldForwardUpdates  = `ALTER TABLE %s DELETE WHERE updated_us < ?`
	sqlInsertForwardUpdates   = `INSERT INTO forward_updates (bin_id, id, version, state, doc, updated_us)`
	// sqlForwardUpdates reads the newest update of some requests of a bin.
	sqlForwardUpdates = `SELECT id, max(version), argMax(doc, version) FROM forward_updates
	WHERE bin_id = ? AND hex(id) IN ? GROUP BY id`
	// condForwardState is forward=: a request whose newest update has the
	// state, or one without updates whose own state is it. %[1]s is the
	// updates table the shard reads (its local table on a cluster: the
	// bin's updates are on the shard of its requests).
	condForwardState = `(id IN (SELECT id FROM %[1]s WHERE bin_id = ? GROUP BY id HAVING argMax(state, version) = ?)
	OR (has_forward = 1 AND fwd_state = ? AND id NOT IN (SELECT id FROM %[1]s WHERE bin_id = ?)))`
)

// forwardColumns are the fwd_state and fwd_detail values of a forward.
func forwardColumns(f *schema.Forward) (string, string, error) {
	if f == nil {
		return "", "", nil
	}
	state := string(f.StateOf())
	if f.State == "" && len(f.Attempts) == 0 && f.NextAt == nil && f.Skipped == "" {
		return state, "", nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return "", "", fmt.Errorf("encode forward: %w", err)
	}
	return state, string(b), nil
}

// scanForwardDetail completes f (read from the fwd_* columns) from its
// fwd_detail JSON, when there is one.
func scanForwardDetail(f *schema.Forward, detail string) error {
	if detail == "" {
		return nil
	}
	var d schema.Forward
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		return fmt.Errorf("decode fwd_detail: %w", err)
	}
	*f = d
	return nil
}

// UpdateForwards inserts ups into forward_updates in one batch; reads
// overlay the newest one (see schema.ForwardUpdater). An update of a
// request that is not stored is kept but never read.
func (s *Store) UpdateForwards(ctx context.Context, ups []schema.ForwardUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertForwardUpdates)
	if err != nil {
		return classify("prepare forward updates", err)
	}
	defer batch.Abort()
	now := s.opts.Now().UnixMicro()
	for _, u := range ups {
		if u.BinID == "" || u.ID == uuid.Nil {
			return fmt.Errorf("update forwards: %w: an update needs a bin id and an id", schema.ErrInvalid)
		}
		doc, err := json.Marshal(&u.Forward)
		if err != nil {
			return fmt.Errorf("update forwards: encode forward: %w", err)
		}
		if err := batch.Append(u.BinID, u.ID, u.Forward.Version(), string(u.Forward.StateOf()), string(doc), now); err != nil {
			return fmt.Errorf("update forwards: append: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify("send forward updates", err)
	}
	return nil
}

// overlayForwards replaces the forward of each of reqs (all of binID) by
// its newest update when that has more attempts.
func (s *Store) overlayForwards(ctx context.Context, binID string, reqs []*schema.Request) error {
	if len(reqs) == 0 {
		return nil
	}
	ids := make([]any, len(reqs))
	byID := make(map[uuid.UUID]*schema.Request, len(reqs))
	for i, r := range reqs {
		ids[i] = hexID(r.ID)
		byID[r.ID] = r
	}
	rows, err := s.conn.Query(ctx, sqlForwardUpdates, binID, clickhouse.GroupSet{Value: ids})
	if err != nil {
		return classify("read forward updates", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id      uuid.UUID
			version int64
			doc     string
		)
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return classify("scan forward update", err)
		}
		r := byID[id]
		if r == nil || (r.Forward != nil && r.Forward.Version() >= version) {
			continue
		}
		var f schema.Forward
		if err := json.Unmarshal([]byte(doc), &f); err != nil {
			return fmt.Errorf("decode forward update of %s: %w", id, err)
		}
		r.Forward = &f
	}
	if err := rows.Err(); err != nil {
		return classify("read forward updates", err)
	}
	return nil
}

// forwardFilter adds forward= to q.
func (s *Store) forwardFilter(q *query, f *schema.Filter) {
	table := s.env.local("forward_updates")
	st := string(f.Forward)
	q.add(fmt.Sprintf(condForwardState, table), f.BinID, st, st, f.BinID)
}
