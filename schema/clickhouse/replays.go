package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	sqlInsertReplayJob  = `INSERT INTO replay_jobs (id, bin_id, state, doc, version)`
	sqlSelectReplayJobs = `SELECT doc FROM replay_jobs FINAL`
	sqlInsertCancel     = `INSERT INTO replay_cancels (id, bin_id, at_us)`
	sqlSelectCancels    = `SELECT DISTINCT id FROM replay_cancels`
	maxReplayJobList    = 1000
	// maxReplayJobScan bounds the jobs read to filter by state.
	maxReplayJobScan = 100_000
	// sqlPurgeReplayJobs removes jobs (and, on replay_cancels, their
	// cancel requests) by id; %s is the table to alter.
	sqlPurgeReplayJobs = `ALTER TABLE %s DELETE WHERE id IN ?`
	// maxReplayJobPurge bounds the ids of one purge (the ALTER carries them
	// in its text, and max_query_size is 256 KiB); the rest go next time.
	maxReplayJobPurge = 1000
)

// PutReplayJob inserts a new version of the job; its version is the job's
// UpdatedAt in microseconds, so FINAL keeps the latest write (schema.ReplayJobs).
func (s *Store) PutReplayJob(ctx context.Context, j *schema.ReplayJob) error {
	if j == nil || j.ID == uuid.Nil || j.BinID == "" {
		return fmt.Errorf("put replay job: %w: id and bin required", schema.ErrInvalid)
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("put replay job: encode: %w", err)
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertReplayJob)
	if err != nil {
		return classify("prepare replay job insert", err)
	}
	defer batch.Abort()
	if err := batch.Append(j.ID.String(), j.BinID, j.State, string(doc), uint64(max(0, j.UpdatedAt.UnixMicro()))); err != nil {
		return fmt.Errorf("append replay job: %w", err)
	}
	if err := batch.Send(); err != nil {
		return classify("insert replay job", err)
	}
	return nil
}

func (s *Store) selectReplayJobs(ctx context.Context, where string, limit int, args ...any) ([]*schema.ReplayJob, error) {
	rows, err := s.conn.Query(ctx, sqlSelectReplayJobs+where+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, classify("select replay jobs", err)
	}
	defer rows.Close()
	out := []*schema.ReplayJob{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, classify("scan replay job", err)
		}
		var j schema.ReplayJob
		if err := json.Unmarshal([]byte(doc), &j); err != nil {
			return nil, fmt.Errorf("decode replay job: %w", err)
		}
		out = append(out, &j)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("select replay jobs", err)
	}
	return out, nil
}

// canceled returns the ids with a cancel request among jobs (of binID
// when it is set).
func (s *Store) canceled(ctx context.Context, binID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	where, args := ` WHERE id = ?`, []any{ids[0]}
	if len(ids) > 1 {
		where, args = ` WHERE bin_id = ?`, []any{binID}
		if binID == "" {
			where, args = "", nil
		}
	}
	rows, err := s.conn.Query(ctx, sqlSelectCancels+where, args...)
	if err != nil {
		return nil, classify("select replay cancels", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify("scan replay cancel", err)
		}
		out[id] = true
	}
	return out, classify("select replay cancels", rows.Err())
}

func (s *Store) markCanceled(ctx context.Context, binID string, jobs []*schema.ReplayJob) error {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID.String()
	}
	c, err := s.canceled(ctx, binID, ids)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.CancelRequested = c[j.ID.String()]
	}
	return nil
}

// GetReplayJob returns a job or ErrNotFound.
func (s *Store) GetReplayJob(ctx context.Context, id uuid.UUID) (*schema.ReplayJob, error) {
	jobs, err := s.selectReplayJobs(ctx, ` WHERE id = ?`, 1, id.String())
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("replay job %s: %w", id, schema.ErrNotFound)
	}
	if err := s.markCanceled(ctx, jobs[0].BinID, jobs); err != nil {
		return nil, err
	}
	return jobs[0], nil
}

// ListReplayJobs returns jobs matching f, newest first.
func (s *Store) ListReplayJobs(ctx context.Context, f schema.ReplayJobFilter) ([]*schema.ReplayJob, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxReplayJobList)
	// Only the key-like bin_id (the same in every version of a job) is
	// filtered in SQL: a condition on state could be applied before FINAL
	// picks the latest version (moved to PREWHERE), and return an old
	// "running" version of a job that is done. State is checked in Go,
	// over every job of the selection (the table is small).
	where, args := ` WHERE 1 = 1`, []any{}
	if f.BinID != "" {
		where += ` AND bin_id = ?`
		args = append(args, f.BinID)
	}
	sqlLimit := limit
	if f.State != "" {
		sqlLimit = maxReplayJobScan
	}
	jobs, err := s.selectReplayJobs(ctx, where, sqlLimit, args...)
	if err != nil {
		return nil, err
	}
	if f.State != "" {
		kept := jobs[:0]
		for _, j := range jobs {
			if j.State == f.State && len(kept) < limit {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	if err := s.markCanceled(ctx, f.BinID, jobs); err != nil {
		return nil, err
	}
	return jobs, nil
}

// CancelReplayJob records a cancel request; ErrNotFound for an unknown job.
func (s *Store) CancelReplayJob(ctx context.Context, id uuid.UUID) error {
	jobs, err := s.selectReplayJobs(ctx, ` WHERE id = ?`, 1, id.String())
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		return fmt.Errorf("cancel replay job %s: %w", id, schema.ErrNotFound)
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertCancel)
	if err != nil {
		return classify("prepare replay cancel insert", err)
	}
	defer batch.Abort()
	if err := batch.Append(id.String(), jobs[0].BinID, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("append replay cancel: %w", err)
	}
	return classify("insert replay cancel", batch.Send())
}

// PurgeReplayJobs removes ended jobs last updated before endedBefore, and
// ended jobs of deleted bins, with their cancel requests (schema.ReplayJobs):
// the jobs are read with FINAL and chosen in Go (state is not filtered in
// SQL, see ListReplayJobs), then one mutation per table deletes them in the
// background. Ids already queued by this process are not queued again
// while the mutation runs.
func (s *Store) PurgeReplayJobs(ctx context.Context, endedBefore time.Time) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	bins, err := s.listBinRows(ctx)
	if err != nil {
		return 0, err
	}
	live := make(map[string]bool, len(bins))
	for _, b := range bins {
		if !b.deleted {
			live[b.bin.ID] = true
		}
	}
	jobs, err := s.selectReplayJobs(ctx, "", maxReplayJobScan)
	if err != nil {
		return 0, err
	}
	if s.replayPurged == nil {
		s.replayPurged = map[uuid.UUID]bool{}
	}
	var ids []any
	seen := make(map[uuid.UUID]bool, len(jobs))
	for _, j := range jobs {
		seen[j.ID] = true
		if !j.Ended() || s.replayPurged[j.ID] || len(ids) == maxReplayJobPurge {
			continue
		}
		if j.UpdatedAt.Before(endedBefore) || !live[j.BinID] {
			ids = append(ids, j.ID.String())
		}
	}
	// Forget the ids the server has removed meanwhile.
	for id := range s.replayPurged {
		if !seen[id] {
			delete(s.replayPurged, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// Cancel requests first: a failure between the two leaves a job
	// without its cancel request (it has ended: nothing reads it), never a
	// cancel request without its job.
	for _, table := range []string{"replay_cancels", "replay_jobs"} {
		if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlPurgeReplayJobs, s.alterTable(table)),
			clickhouse.GroupSet{Value: ids}); err != nil {
			return 0, classify("queue the deletion of replay jobs from "+table, err)
		}
	}
	for _, id := range ids {
		s.replayPurged[uuid.MustParse(id.(string))] = true
	}
	return int64(len(ids)), nil
}
