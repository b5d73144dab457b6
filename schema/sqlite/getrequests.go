package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// getRequestsSQL reads full rows of one bin by id, on requests_bin_time:
// %[1]s is the ranges of the bin to search (getRequestsRange, joined by OR:
// SQLite searches the index once per range; each range names the bin, so
// the planner cannot prefer a scan of the whole bin), or getRequestsBin
// for the whole bin; %[2]s is the placeholders of the ids.
const getRequestsSQL = `SELECT ` + requestCols + `, body FROM requests
WHERE (%[1]s) AND id IN (%[2]s)`

const (
	getRequestsRange = `(bin_id = ? AND received_at >= ? AND received_at < ?)`
	getRequestsBin   = `bin_id = ?`
)

// getRequestsPad is GetRequest's window: how far a captured request's
// received_at can be from its id's time.
const getRequestsPad = 2 * time.Second

// GetRequests reads the full requests of ids in one query: the index is
// searched only around the times the ids carry (IDWindows, GetRequest's
// ±2 s each, merged), so a page of ids costs about what the rows of its
// time span cost, and scattered ids cost no more than as many single
// lookups. Ids it does not find there (deleted, or minted apart from their
// capture) are looked for once more in the whole bin.
func (s *Store) GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error) {
	return schema.FindByIDs(ids, getRequestsPad, func(windows []schema.TimeRange, ids []uuid.UUID, found map[uuid.UUID]*schema.Request) error {
		return s.getRequestsIn(ctx, binID, windows, ids, found)
	})
}

// getRequestsSQLFor is getRequestsSQL for w ranges (0: the whole bin) and
// n ids.
func getRequestsSQLFor(w, n int) string {
	ranges := getRequestsBin
	if w > 0 {
		ranges = strings.Repeat(getRequestsRange+" OR ", w-1) + getRequestsRange
	}
	return fmt.Sprintf(getRequestsSQL, ranges, strings.TrimSuffix(strings.Repeat("?,", n), ","))
}

// getRequestsIn adds the rows of ids within windows (nil: anywhere in the
// bin) to found.
func (s *Store) getRequestsIn(ctx context.Context, binID string, windows []schema.TimeRange, ids []uuid.UUID, found map[uuid.UUID]*schema.Request) error {
	args := make([]any, 0, 1+3*len(windows)+len(ids))
	if len(windows) == 0 {
		args = append(args, binID)
	}
	for _, w := range windows {
		args = append(args, binID, micros(w.From), micros(w.To))
	}
	for _, id := range ids {
		args = append(args, id[:])
	}
	rows, err := s.r.QueryContext(ctx, getRequestsSQLFor(len(windows), len(ids)), args...)
	if err != nil {
		return fmt.Errorf("get requests: query: %w", wrapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return fmt.Errorf("get requests: scan: %w", wrapErr(err))
		}
		found[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("get requests: rows: %w", wrapErr(err))
	}
	return nil
}
