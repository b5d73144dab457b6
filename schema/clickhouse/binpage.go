// ListBinsPage: a page of bins read by the server.

package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// sqlBinsPage collapses each bin's versions to its newest with argMax and
// filters, orders and cuts the page after that, in HAVING: a condition on
// a mutable column (name, expiry, deleted) must never see an older
// version of a row, which FINAL with a WHERE does not promise (a non-key
// condition moved to PREWHERE runs before the collapse; see
// sqlSelectBins). expires_us is Nullable, and argMax skips NULLs, so its
// presence and its value are two aggregates. %s: the cursor and name
// conditions, on the aliases.
const sqlBinsPage = `SELECT id, argMax(name, version) AS b_name, argMax(created_us, version) AS b_created,
	argMax(isNull(expires_us), version) AS b_no_expiry, argMax(ifNull(expires_us, 0), version) AS b_expires,
	argMax(private, version) AS b_private, argMax(settings, version) AS b_settings,
	argMax(token_gen, version) AS b_token_gen, argMax(deleted, version) AS b_deleted
FROM bins
GROUP BY id
HAVING b_deleted = 0 AND (b_no_expiry = 1 OR b_expires > ?)%s
ORDER BY b_created DESC, id DESC
LIMIT ?`

const (
	// condBinsBefore: strictly after the cursor in (created, id) order,
	// descending. Args: created, created, id.
	condBinsBefore = ` AND (b_created < ? OR (b_created = ? AND id < ?))`
	// condBinsName: positionCaseInsensitive folds ASCII only, as the
	// contract says; the needle is not a pattern.
	condBinsName = ` AND positionCaseInsensitive(b_name, ?) > 0`
)

// ListBinsPage pages bins in the server. The bins table is ordered by id
// (its key), so each page aggregates the table once: bins are few next to
// requests, and only the page crosses to Go.
func (s *Store) ListBinsPage(ctx context.Context, q schema.BinListQuery) (schema.BinPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = schema.DefaultBinPage
	}
	limit = min(limit, schema.MaxBinPage)
	conds := ""
	args := []any{schema.Truncate(q.Now).UnixMicro()}
	if c := q.Before; c != nil {
		us := schema.Truncate(c.CreatedAt).UnixMicro()
		conds += condBinsBefore
		args = append(args, us, us, c.ID)
	}
	if q.Q != "" {
		conds += condBinsName
		args = append(args, q.Q)
	}
	args = append(args, uint64(limit+1))
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlBinsPage, conds), args...)
	if err != nil {
		return schema.BinPage{}, classify("list bins page", err)
	}
	defer rows.Close()
	page := schema.BinPage{Bins: make([]*schema.Bin, 0, min(limit, 64))}
	for rows.Next() {
		if len(page.Bins) == limit {
			page.Next = schema.BinCursorOf(page.Bins[limit-1])
			break
		}
		var (
			b                          schema.Bin
			createdUS, expiresUS       int64
			noExpiry, private, deleted uint8
			settings                   string
		)
		if err := rows.Scan(&b.ID, &b.Name, &createdUS, &noExpiry, &expiresUS, &private, &settings, &b.TokenGen, &deleted); err != nil {
			return schema.BinPage{}, classify("scan bin", err)
		}
		b.CreatedAt = time.UnixMicro(createdUS).UTC()
		if noExpiry == 0 {
			t := time.UnixMicro(expiresUS).UTC()
			b.ExpiresAt = &t
		}
		b.Private = private == 1
		if settings != "" {
			if err := json.Unmarshal([]byte(settings), &b.Settings); err != nil {
				return schema.BinPage{}, fmt.Errorf("bin %s settings: %w", b.ID, err)
			}
		}
		page.Bins = append(page.Bins, &b)
	}
	if err := rows.Err(); err != nil {
		return schema.BinPage{}, classify("list bins page", err)
	}
	return page, nil
}
