// ListBinsPage: a page of bins read by the server.

package clickhouse

import (
	"context"
	"fmt"

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
	if((argMax(isNull(expires_us), version) AS b_no_expiry) = 1, NULL, (argMax(ifNull(expires_us, 0), version) AS b_expires)) AS b_expires_or_null,
	argMax(private, version) AS b_private, argMax(settings, version) AS b_settings,
	argMax(deleted, version) AS b_deleted, argMax(token_gen, version) AS b_token_gen
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
	limit := q.PageLimit()
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
	// The columns are sqlSelectBins' (the newest version of each bin), so
	// the row decodes as every other bin read does.
	bins := make([]*schema.Bin, 0, min(limit+1, 64))
	for rows.Next() {
		b, err := scanBin(rows)
		if err != nil {
			return schema.BinPage{}, classify("scan bin", err)
		}
		bins = append(bins, &b.bin)
	}
	if err := rows.Err(); err != nil {
		return schema.BinPage{}, classify("list bins page", err)
	}
	return schema.NewBinPage(bins, limit), nil
}
