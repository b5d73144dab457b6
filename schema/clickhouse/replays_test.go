package clickhouse

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// TestPurgeReplayJobsRemovesRows: a purged job's rows (every version) and
// its cancel requests leave the disk through the mutations PurgeReplayJobs
// queues (the conformance suite sees only that the job is gone), and a
// kept job keeps its rows.
func TestPurgeReplayJobsRemovesRows(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		ctx := t.Context()
		now := schema.Truncate(time.Now())
		put := func(at time.Time) uuid.UUID {
			j := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: "rp-none", State: schema.ReplayRunning, CreatedAt: at, UpdatedAt: at}
			if err := s.PutReplayJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			if err := s.CancelReplayJob(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			j.State, j.UpdatedAt = schema.ReplayCanceled, at.Add(time.Second)
			if err := s.PutReplayJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			return j.ID
		}
		// The bin does not exist: a job of a deleted bin.
		gone := put(now)
		rows := func(table string, id uuid.UUID) uint64 {
			var n uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE id = ?", id.String()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Two versions of the job, unless a merge already replaced one.
		if rows("replay_jobs", gone) == 0 || rows("replay_cancels", gone) != 1 {
			t.Fatalf("before the purge: %d job rows, %d cancel rows; want 1-2 and 1", rows("replay_jobs", gone), rows("replay_cancels", gone))
		}
		if n, err := s.PurgeReplayJobs(ctx, now.Add(-time.Hour)); err != nil || n < 1 {
			t.Fatalf("PurgeReplayJobs = %d, %v", n, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for rows("replay_jobs", gone) != 0 || rows("replay_cancels", gone) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("after the purge: %d job rows, %d cancel rows left", rows("replay_jobs", gone), rows("replay_cancels", gone))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Gone from the disk: this process forgets it, and a new purge
		// finds nothing.
		if n, err := s.PurgeReplayJobs(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("PurgeReplayJobs again = %d, %v; want 0", n, err)
		}
		if len(s.replayPurged) != 0 {
			t.Errorf("the store still remembers %d purged jobs", len(s.replayPurged))
		}
	})
}
