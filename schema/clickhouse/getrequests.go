// GetRequests: the full rows of several ids of one bin in one query.

package clickhouse

import (
	"context"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// sqlGetRequests is followed by the WHERE clause and sqlGetRequestsTail.
const sqlGetRequests = `SELECT ` + requestColumns + ` FROM requests WHERE `

// sqlGetRequestsTail keeps one row per id: a row written twice (a retried
// batch the merge has not collapsed yet) is returned once.
const sqlGetRequestsTail = ` AND hex(id) IN ? LIMIT 1 BY id`

// GetRequests reads the full rows of ids in one query. The table's primary
// key is (bin_id, received_us, id) and it is partitioned by day of
// received_us: the ids' UUIDv7 times, padded by GetRequest's ±10 s and
// merged (schema.IDWindows), give the key ranges to read, so the query
// touches only the granules (and the days) the ids can be in. Ids not
// found there are looked for once more in the whole bin, as GetRequest
// does. The bin's tombstones are read once and forward updates are
// overlaid once, for all of them.
func (s *Store) GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error) {
	if len(ids) == 0 || len(ids) > schema.MaxGetRequests {
		return schema.FindByIDs(ids, 0, nil) // nothing to read, or ErrInvalid
	}
	base := &query{}
	base.add("bin_id = ?", binID)
	if err := s.tombstoneFilter(ctx, base, binID); err != nil {
		return nil, err
	}
	out, err := schema.FindByIDs(ids, 10*time.Second, func(windows []schema.TimeRange, ids []uuid.UUID, found map[uuid.UUID]*schema.Request) error {
		return s.getRequestsIn(ctx, base, windows, ids, found)
	})
	if err != nil {
		return nil, err
	}
	if err := s.overlayForwards(ctx, binID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// getRequestsIn adds the rows of ids received within windows (nil: anywhere
// in the bin) to found; base holds the bin and tombstone conditions.
func (s *Store) getRequestsIn(ctx context.Context, base *query, windows []schema.TimeRange, ids []uuid.UUID, found map[uuid.UUID]*schema.Request) error {
	q := &query{where: append([]string{}, base.where...), args: append([]any{}, base.args...)}
	if len(windows) > 0 {
		var ranges []string
		var args []any
		for _, w := range windows {
			ranges = append(ranges, "(received_us >= ? AND received_us < ?)")
			args = append(args, w.From.UnixMicro(), w.To.UnixMicro())
		}
		q.add("("+strings.Join(ranges, " OR ")+")", args...)
	}
	hex := make([]any, len(ids))
	for i, id := range ids {
		hex[i] = hexID(id)
	}
	rows, err := s.conn.Query(ctx, sqlGetRequests+q.sql()+sqlGetRequestsTail, append(q.args, clickhouse.GroupSet{Value: hex})...)
	if err != nil {
		return classify("get requests", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return classify("scan request", err)
		}
		found[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return classify("get requests", err)
	}
	return nil
}
