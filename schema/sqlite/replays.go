package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	// A write older than the stored job is dropped (the WHERE of the
	// upsert), so a late progress write cannot undo a final state.
	putReplaySQL = `INSERT INTO replay_jobs (id, bin_id, state, updated_at, doc) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET bin_id = excluded.bin_id, state = excluded.state,
    updated_at = excluded.updated_at, doc = excluded.doc
WHERE excluded.updated_at >= replay_jobs.updated_at`
	replayCols      = `j.doc, c.id IS NOT NULL`
	replayFrom      = ` FROM replay_jobs j LEFT JOIN replay_cancels c ON c.id = j.id`
	getReplaySQL    = `SELECT ` + replayCols + replayFrom + ` WHERE j.id = ?`
	listReplaySQL   = `SELECT ` + replayCols + replayFrom + ` WHERE (? = '' OR j.bin_id = ?) AND (? = '' OR j.state = ?) ORDER BY j.id DESC LIMIT ?`
	cancelReplaySQL = `INSERT INTO replay_cancels (id, at) SELECT id, ? FROM replay_jobs WHERE id = ? ON CONFLICT (id) DO NOTHING`
	replayExistsSQL = `SELECT 1 FROM replay_jobs WHERE id = ?`
	// purgeReplaySQL removes ended jobs that are old or whose bin is gone;
	// the cancel requests of jobs no longer there go after them.
	purgeReplaySQL = `DELETE FROM replay_jobs WHERE state IN (?, ?, ?, ?)
    AND (updated_at < ? OR NOT EXISTS (SELECT 1 FROM bins b WHERE b.id = replay_jobs.bin_id))`
	purgeReplayCancelsSQL = `DELETE FROM replay_cancels WHERE NOT EXISTS (SELECT 1 FROM replay_jobs j WHERE j.id = replay_cancels.id)`
	maxReplayJobList      = 1000
)

// PutReplayJob creates or replaces a job (schema.ReplayJobs).
func (s *Store) PutReplayJob(ctx context.Context, j *schema.ReplayJob) error {
	if j == nil || j.ID == uuid.Nil || j.BinID == "" {
		return fmt.Errorf("put replay job: %w: id and bin required", schema.ErrInvalid)
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("put replay job: encode: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, putReplaySQL, j.ID[:], j.BinID, j.State, micros(j.UpdatedAt), doc); err != nil {
		return fmt.Errorf("put replay job: %w", wrapErr(err))
	}
	return nil
}

func scanReplayJob(sc rowScanner) (*schema.ReplayJob, error) {
	var (
		doc      []byte
		canceled bool
	)
	if err := sc.Scan(&doc, &canceled); err != nil {
		return nil, err
	}
	var j schema.ReplayJob
	if err := json.Unmarshal(doc, &j); err != nil {
		return nil, fmt.Errorf("decode replay job: %w", err)
	}
	j.CancelRequested = canceled
	return &j, nil
}

// GetReplayJob returns a job or ErrNotFound.
func (s *Store) GetReplayJob(ctx context.Context, id uuid.UUID) (*schema.ReplayJob, error) {
	j, err := scanReplayJob(s.r.QueryRowContext(ctx, getReplaySQL, id[:]))
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("get replay job %s: %w", id, schema.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get replay job %s: %w", id, wrapErr(err))
	}
	return j, nil
}

// ListReplayJobs returns jobs matching f, newest first.
func (s *Store) ListReplayJobs(ctx context.Context, f schema.ReplayJobFilter) ([]*schema.ReplayJob, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxReplayJobList)
	rows, err := s.r.QueryContext(ctx, listReplaySQL, f.BinID, f.BinID, f.State, f.State, limit)
	if err != nil {
		return nil, fmt.Errorf("list replay jobs: %w", wrapErr(err))
	}
	defer rows.Close()
	out := []*schema.ReplayJob{}
	for rows.Next() {
		j, err := scanReplayJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list replay jobs: %w", wrapErr(err))
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list replay jobs: %w", wrapErr(err))
	}
	return out, nil
}

// CancelReplayJob records a cancel request; ErrNotFound for an unknown job.
func (s *Store) CancelReplayJob(ctx context.Context, id uuid.UUID) error {
	var one int
	if err := s.r.QueryRowContext(ctx, replayExistsSQL, id[:]).Scan(&one); err == sql.ErrNoRows {
		return fmt.Errorf("cancel replay job %s: %w", id, schema.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("cancel replay job %s: %w", id, wrapErr(err))
	}
	if _, err := s.w.ExecContext(ctx, cancelReplaySQL, micros(s.now()), id[:]); err != nil {
		return fmt.Errorf("cancel replay job %s: %w", id, wrapErr(err))
	}
	return nil
}

// PurgeReplayJobs removes ended jobs last updated before endedBefore, and
// ended jobs of deleted bins, with their cancel requests (schema.ReplayJobs).
func (s *Store) PurgeReplayJobs(ctx context.Context, endedBefore time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge replay jobs: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, purgeReplaySQL, schema.ReplayDone, schema.ReplayFailed, schema.ReplayCanceled,
		schema.ReplayInterrupted, micros(endedBefore))
	if err != nil {
		return 0, fmt.Errorf("purge replay jobs: %w", wrapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge replay jobs: rows affected: %w", err)
	}
	if _, err := tx.ExecContext(ctx, purgeReplayCancelsSQL); err != nil {
		return 0, fmt.Errorf("purge replay jobs: cancels: %w", wrapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge replay jobs: commit: %w", wrapErr(err))
	}
	return n, nil
}
