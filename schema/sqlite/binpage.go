package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/schema"
)

// listBinsPageSQL pages bins newest first on bins_created (created_at, id),
// read backwards from the cursor: %s is the cursor and name conditions.
// lower() is SQLite's built-in, ASCII only (the contract's folding); instr
// has no wildcards.
const listBinsPageSQL = `SELECT ` + binCols + ` FROM bins
WHERE (expires_at IS NULL OR expires_at > ?)%s
ORDER BY created_at DESC, id DESC LIMIT ?`

const (
	binsBeforeCond = ` AND (created_at, id) < (?, ?)`
	binsNameCond   = ` AND instr(lower(name), ?) > 0`
)

// ListBinsPage reads one page (and one bin more, to know whether more
// follow) in the store.
func (s *Store) ListBinsPage(ctx context.Context, q schema.BinListQuery) (schema.BinPage, error) {
	limit := q.PageLimit()
	var conds strings.Builder
	args := []any{micros(q.Now)}
	if c := q.Before; c != nil {
		conds.WriteString(binsBeforeCond)
		args = append(args, micros(c.CreatedAt), c.ID)
	}
	if q.Q != "" {
		conds.WriteString(binsNameCond)
		args = append(args, schema.ASCIILower(q.Q))
	}
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, fmt.Sprintf(listBinsPageSQL, conds.String()), args...)
	if err != nil {
		return schema.BinPage{}, fmt.Errorf("list bins page: %w", wrapErr(err))
	}
	defer rows.Close()
	bins := make([]*schema.Bin, 0, min(limit+1, 64))
	for rows.Next() {
		b, err := scanBin(rows)
		if err != nil {
			return schema.BinPage{}, fmt.Errorf("list bins page: scan: %w", wrapErr(err))
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return schema.BinPage{}, fmt.Errorf("list bins page: %w", wrapErr(err))
	}
	return schema.NewBinPage(bins, limit), nil
}
