package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hookscope/hookscope/schema"
)

const (
	binCols      = `id, name, created_at, expires_at, private, settings, token_gen`
	insertBinSQL = `INSERT INTO bins (` + binCols + `) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
	getBinSQL    = `SELECT ` + binCols + ` FROM bins WHERE id = ?`
	listBinsSQL  = `SELECT ` + binCols + ` FROM bins ORDER BY created_at DESC, id DESC`
	updateBinSQL = `UPDATE bins SET name = ?, expires_at = ?, private = ?, settings = ?, token_gen = ? WHERE id = ?`
)

func binArgs(b *schema.Bin) (expires any, settings []byte, err error) {
	if b.ExpiresAt != nil {
		expires = micros(*b.ExpiresAt)
	}
	settings, err = json.Marshal(b.Settings)
	if err != nil {
		return nil, nil, fmt.Errorf("encode settings: %w", err)
	}
	return expires, settings, nil
}

// CreateBin inserts b; ErrConflict when the id exists.
func (s *Store) CreateBin(ctx context.Context, b *schema.Bin) error {
	if b == nil || b.ID == "" {
		return fmt.Errorf("create bin: %w: empty id", schema.ErrInvalid)
	}
	expires, settings, err := binArgs(b)
	if err != nil {
		return fmt.Errorf("create bin: %w", err)
	}
	res, err := s.w.ExecContext(ctx, insertBinSQL, b.ID, b.Name, micros(b.CreatedAt), expires, b.Private, settings, int64(b.TokenGen))
	if err != nil {
		return fmt.Errorf("create bin: %w", wrapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create bin: rows affected: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create bin %q: %w", b.ID, schema.ErrConflict)
	}
	return nil
}

func scanBin(sc rowScanner) (*schema.Bin, error) {
	var (
		b        schema.Bin
		created  int64
		expires  sql.NullInt64
		settings []byte
		gen      int64
	)
	if err := sc.Scan(&b.ID, &b.Name, &created, &expires, &b.Private, &settings, &gen); err != nil {
		return nil, err
	}
	b.CreatedAt = fromMicros(created)
	b.TokenGen = uint64(gen)
	if expires.Valid {
		t := fromMicros(expires.Int64)
		b.ExpiresAt = &t
	}
	if err := json.Unmarshal(settings, &b.Settings); err != nil {
		return nil, fmt.Errorf("decode settings: %w", err)
	}
	return &b, nil
}

// GetBin returns a bin or ErrNotFound.
func (s *Store) GetBin(ctx context.Context, id string) (*schema.Bin, error) {
	b, err := scanBin(s.r.QueryRowContext(ctx, getBinSQL, id))
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("get bin %q: %w", id, schema.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get bin %q: %w", id, wrapErr(err))
	}
	return b, nil
}

// UpdateBin replaces name, expiry, privacy, settings and token generation.
func (s *Store) UpdateBin(ctx context.Context, b *schema.Bin) error {
	if b == nil || b.ID == "" {
		return fmt.Errorf("update bin: %w: empty id", schema.ErrInvalid)
	}
	expires, settings, err := binArgs(b)
	if err != nil {
		return fmt.Errorf("update bin: %w", err)
	}
	res, err := s.w.ExecContext(ctx, updateBinSQL, b.Name, expires, b.Private, settings, int64(b.TokenGen), b.ID)
	if err != nil {
		return fmt.Errorf("update bin: %w", wrapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update bin: rows affected: %w", err)
	} else if n == 0 {
		return fmt.Errorf("update bin %q: %w", b.ID, schema.ErrNotFound)
	}
	return nil
}

// DeleteBin removes the bin and its requests in one transaction.
func (s *Store) DeleteBin(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete bin: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM bins WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete bin: %w", wrapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete bin: rows affected: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete bin %q: %w", id, schema.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, deleteRequestsSQL, id); err != nil {
		return fmt.Errorf("delete bin: requests: %w", wrapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete bin: commit: %w", wrapErr(err))
	}
	return nil
}

// ListBins returns every bin, newest first.
func (s *Store) ListBins(ctx context.Context) ([]*schema.Bin, error) {
	rows, err := s.r.QueryContext(ctx, listBinsSQL)
	if err != nil {
		return nil, fmt.Errorf("list bins: %w", wrapErr(err))
	}
	defer rows.Close()
	bins := []*schema.Bin{}
	for rows.Next() {
		b, err := scanBin(rows)
		if err != nil {
			return nil, fmt.Errorf("list bins: scan: %w", wrapErr(err))
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bins: %w", wrapErr(err))
	}
	return bins, nil
}
