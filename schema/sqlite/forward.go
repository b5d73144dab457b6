package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hookscope/hookscope/schema"
)

// updateForwardSQL replaces a request's forward when the update has more
// attempts than the stored one (schema.Forward.Version): updates repeated
// or arriving out of order change nothing.
const updateForwardSQL = `UPDATE requests SET forward = ?
WHERE id = ? AND bin_id = ? AND coalesce(json_array_length(forward, '$.attempts'), 0) < ?`

// UpdateForwards applies ups in one transaction.
func (s *Store) UpdateForwards(ctx context.Context, ups []schema.ForwardUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update forwards: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()
	for _, u := range ups {
		b, err := json.Marshal(&u.Forward)
		if err != nil {
			return fmt.Errorf("update forwards: encode forward: %w", err)
		}
		if _, err := tx.ExecContext(ctx, updateForwardSQL, b, u.ID[:], u.BinID, u.Forward.Version()); err != nil {
			return fmt.Errorf("update forwards: %w", wrapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update forwards: commit: %w", wrapErr(err))
	}
	return nil
}
