package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// TestPurgeReplayJobsRemovesCancels: the cancel request of a purged job
// leaves replay_cancels with it (the conformance suite cannot see that
// table), and a kept job keeps its own.
func TestPurgeReplayJobsRemovesCancels(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hookscope.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateBin(ctx, &schema.Bin{ID: "b", Name: "b", CreatedAt: schema.Truncate(time.Now())}); err != nil {
		t.Fatal(err)
	}
	now := schema.Truncate(time.Now())
	put := func(state string, at time.Time) uuid.UUID {
		j := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: "b", State: schema.ReplayRunning, CreatedAt: at, UpdatedAt: at}
		if err := s.PutReplayJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := s.CancelReplayJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		j.State, j.UpdatedAt = state, at.Add(time.Second)
		if err := s.PutReplayJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	old := put(schema.ReplayCanceled, now.Add(-48*time.Hour))
	kept := put(schema.ReplayCanceled, now)
	if n, err := s.PurgeReplayJobs(ctx, now.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PurgeReplayJobs = %d, %v; want 1", n, err)
	}
	cancels := func(id uuid.UUID) int {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM replay_cancels WHERE id = ?`, id[:]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if cancels(old) != 0 || cancels(kept) != 1 {
		t.Fatalf("cancel rows: purged job %d, kept job %d; want 0 and 1", cancels(old), cancels(kept))
	}
}
