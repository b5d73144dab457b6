package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/hookscope/hookscope/schema"
)

const sqlInsertBin = `INSERT INTO bins (id, name, created_us, expires_us, private, settings, deleted, version, token_gen)`

// Bins are read with FINAL and a filter on the key only: the deleted flag is
// checked in Go, because moving a non-key condition to PREWHERE before FINAL
// (which 18.16 does on its own) could resurrect an older version of a row.
const sqlSelectBins = `SELECT id, name, created_us, expires_us, private, settings, deleted, token_gen FROM bins FINAL`

type binRow struct {
	bin     schema.Bin
	deleted bool
}

func scanBin(row scanner) (*binRow, error) {
	var (
		b                schema.Bin
		createdUS        int64
		expiresUS        *int64
		private, deleted uint8
		settings         string
	)
	if err := row.Scan(&b.ID, &b.Name, &createdUS, &expiresUS, &private, &settings, &deleted, &b.TokenGen); err != nil {
		return nil, err
	}
	b.CreatedAt = time.UnixMicro(createdUS).UTC()
	if expiresUS != nil {
		t := time.UnixMicro(*expiresUS).UTC()
		b.ExpiresAt = &t
	}
	b.Private = private == 1
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &b.Settings); err != nil {
			return nil, fmt.Errorf("bin %s settings: %w", b.ID, err)
		}
	}
	return &binRow{bin: b, deleted: deleted == 1}, nil
}

// getBin returns the bin (deleted or not) or nil when there is no row.
func (s *Store) getBin(ctx context.Context, id string) (*binRow, error) {
	rows, err := s.conn.Query(ctx, sqlSelectBins+` WHERE id = ?`, id)
	if err != nil {
		return nil, classify("get bin", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, classify("get bin", err)
		}
		return nil, nil
	}
	b, err := scanBin(rows)
	if err != nil {
		return nil, classify("scan bin", err)
	}
	return b, nil
}

func (s *Store) putBin(ctx context.Context, b *schema.Bin, deleted bool) error {
	settings, err := json.Marshal(b.Settings)
	if err != nil {
		return fmt.Errorf("marshal bin settings: %w", err)
	}
	var expires *int64
	if b.ExpiresAt != nil {
		us := schema.Truncate(*b.ExpiresAt).UnixMicro()
		expires = &us
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertBin)
	if err != nil {
		return classify("prepare bin insert", err)
	}
	defer batch.Abort()
	if err := batch.Append(b.ID, b.Name, schema.Truncate(b.CreatedAt).UnixMicro(), expires,
		boolByte(b.Private), string(settings), boolByte(deleted), uint64(s.tick()), b.TokenGen); err != nil {
		return fmt.Errorf("append bin: %w", err)
	}
	if err := batch.Send(); err != nil {
		return classify("insert bin", err)
	}
	return nil
}

// CreateBin stores a new bin, or ErrConflict when the id is taken. A deleted
// bin's id may be used again: its old requests stay hidden by the tombstone
// DeleteBin wrote.
func (s *Store) CreateBin(ctx context.Context, b *schema.Bin) error {
	if b == nil || b.ID == "" {
		return fmt.Errorf("create bin: %w: id required", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.getBin(ctx, b.ID)
	if err != nil {
		return err
	}
	if old != nil && !old.deleted {
		return fmt.Errorf("create bin %s: %w", b.ID, schema.ErrConflict)
	}
	return s.putBin(ctx, b, false)
}

// GetBin returns a bin or ErrNotFound.
func (s *Store) GetBin(ctx context.Context, id string) (*schema.Bin, error) {
	b, err := s.getBin(ctx, id)
	if err != nil {
		return nil, err
	}
	if b == nil || b.deleted {
		return nil, fmt.Errorf("bin %s: %w", id, schema.ErrNotFound)
	}
	return &b.bin, nil
}

// UpdateBin replaces name, expiry, privacy, settings and token generation,
// keeping CreatedAt.
func (s *Store) UpdateBin(ctx context.Context, b *schema.Bin) error {
	if b == nil || b.ID == "" {
		return fmt.Errorf("update bin: %w: id required", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.getBin(ctx, b.ID)
	if err != nil {
		return err
	}
	if old == nil || old.deleted {
		return fmt.Errorf("update bin %s: %w", b.ID, schema.ErrNotFound)
	}
	nb := *b
	nb.CreatedAt = old.bin.CreatedAt
	return s.putBin(ctx, &nb, false)
}

// DeleteBin marks the bin deleted and deletes its requests (see
// DeleteRequests).
func (s *Store) DeleteBin(ctx context.Context, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.getBin(ctx, id)
	if err != nil {
		return err
	}
	if old == nil || old.deleted {
		return fmt.Errorf("delete bin %s: %w", id, schema.ErrNotFound)
	}
	if err := s.deleteRequestsLocked(ctx, []string{id}); err != nil {
		return err
	}
	return s.putBin(ctx, &old.bin, true)
}

// ListBins returns every bin, newest first.
func (s *Store) ListBins(ctx context.Context) ([]*schema.Bin, error) {
	all, err := s.listBinRows(ctx)
	if err != nil {
		return nil, err
	}
	out := []*schema.Bin{}
	for _, b := range all {
		if !b.deleted {
			out = append(out, &b.bin)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

func (s *Store) listBinRows(ctx context.Context) ([]*binRow, error) {
	rows, err := s.conn.Query(ctx, sqlSelectBins)
	if err != nil {
		return nil, classify("list bins", err)
	}
	defer rows.Close()
	var out []*binRow
	for rows.Next() {
		b, err := scanBin(rows)
		if err != nil {
			return nil, classify("scan bin", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("list bins", err)
	}
	return out, nil
}
