package schematest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

var replayTests = []testCase{
	{"ReplayJobs/PutGetList", testReplayJobPutGet},
	{"ReplayJobs/Cancel", testReplayJobCancel},
	{"ReplayJobs/Purge", testReplayJobPurge},
}

func newJob(t *testing.T, binID string, at time.Time) *schema.ReplayJob {
	return &schema.ReplayJob{
		ID: newV7(t), BinID: binID, Params: map[string]string{"method": "POST", "q": "a b"},
		URL: "http://example.test/x", Rate: 5, Until: schema.Truncate(at), State: schema.ReplayRunning,
		Total: 10, Instance: "i1", CreatedAt: schema.Truncate(at), UpdatedAt: schema.Truncate(at), Heartbeat: schema.Truncate(at),
	}
}

// testReplayJobPutGet: a job round-trips, the latest write wins (an older
// one is dropped), and lists filter by bin and state, newest first.
func testReplayJobPutGet(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin := uniqueID("rj")
	at := baseTime()
	j := newJob(t, bin, at)
	if err := s.PutReplayJob(ctx, j); err != nil {
		t.Fatalf("PutReplayJob: %v", err)
	}
	upd := *j
	upd.Sent, upd.Succeeded, upd.State = 10, 9, schema.ReplayDone
	upd.Failed = 1
	upd.UpdatedAt = at.Add(time.Second)
	fin := at.Add(time.Second)
	upd.Finished = &fin
	if err := s.PutReplayJob(ctx, &upd); err != nil {
		t.Fatalf("PutReplayJob update: %v", err)
	}
	stale := *j
	stale.Sent = 3
	if err := s.PutReplayJob(ctx, &stale); err != nil { // older UpdatedAt
		t.Fatalf("PutReplayJob stale: %v", err)
	}
	got, err := s.GetReplayJob(ctx, j.ID)
	if err != nil {
		t.Fatalf("GetReplayJob: %v", err)
	}
	if got.State != schema.ReplayDone || got.Sent != 10 || got.Succeeded != 9 || got.Failed != 1 || got.Params["q"] != "a b" ||
		got.URL != j.URL || got.Rate != 5 || !got.Until.Equal(j.Until) || got.Finished == nil || !got.Finished.Equal(fin) || got.CancelRequested {
		t.Fatalf("GetReplayJob = %+v; want the latest write", got)
	}
	if _, err := s.GetReplayJob(ctx, newV7(t)); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("GetReplayJob(unknown) = %v; want ErrNotFound", err)
	}

	j2 := newJob(t, bin, at.Add(time.Minute))
	other := newJob(t, uniqueID("rj"), at)
	for _, x := range []*schema.ReplayJob{j2, other} {
		if err := s.PutReplayJob(ctx, x); err != nil {
			t.Fatalf("PutReplayJob: %v", err)
		}
	}
	list, err := s.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: bin})
	if err != nil {
		t.Fatalf("ListReplayJobs: %v", err)
	}
	if ids := jobIDs(list); len(ids) != 2 || ids[0] != j2.ID || ids[1] != j.ID {
		t.Fatalf("ListReplayJobs(bin) = %v; want [%s %s]", ids, j2.ID, j.ID)
	}
	list, err = s.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: bin, State: schema.ReplayRunning})
	if err != nil {
		t.Fatalf("ListReplayJobs: %v", err)
	}
	if ids := jobIDs(list); len(ids) != 1 || ids[0] != j2.ID {
		t.Fatalf("ListReplayJobs(bin, running) = %v; want [%s]", ids, j2.ID)
	}
}

// testReplayJobCancel: a cancel request survives the runner's later
// progress writes; cancelling an unknown job is ErrNotFound.
func testReplayJobCancel(t *testing.T, s schema.Store) {
	ctx := t.Context()
	at := baseTime()
	j := newJob(t, uniqueID("rj"), at)
	if err := s.PutReplayJob(ctx, j); err != nil {
		t.Fatalf("PutReplayJob: %v", err)
	}
	if err := s.CancelReplayJob(ctx, j.ID); err != nil {
		t.Fatalf("CancelReplayJob: %v", err)
	}
	if err := s.CancelReplayJob(ctx, j.ID); err != nil {
		t.Fatalf("CancelReplayJob again: %v", err)
	}
	j.Sent, j.UpdatedAt = 4, at.Add(time.Second)
	if err := s.PutReplayJob(ctx, j); err != nil {
		t.Fatalf("PutReplayJob progress: %v", err)
	}
	got, err := s.GetReplayJob(ctx, j.ID)
	if err != nil {
		t.Fatalf("GetReplayJob: %v", err)
	}
	if !got.CancelRequested || got.Sent != 4 {
		t.Fatalf("after cancel and progress: cancel_requested %v sent %d; want true 4", got.CancelRequested, got.Sent)
	}
	list, err := s.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: j.BinID})
	if err != nil || len(list) != 1 || !list[0].CancelRequested {
		t.Fatalf("ListReplayJobs after cancel = %v, %v; want the job with cancel_requested", list, err)
	}
	if err := s.CancelReplayJob(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, schema.ErrNotFound) {
		t.Fatalf("CancelReplayJob(unknown) = %v; want ErrNotFound", err)
	}
}

// testReplayJobPurge: PurgeReplayJobs removes the jobs that ended before the
// cut-off (done, canceled with its cancel request, interrupted) and the
// ended jobs of a deleted bin whatever their age; it keeps jobs that ended
// after the cut-off, and every job that has not ended (running, queued),
// however old, also in the deleted bin. A backend may remove lazily: the
// removed jobs must be gone within 30s.
func testReplayJobPurge(t *testing.T, s schema.Store) {
	ctx := t.Context()
	binA, binB := newBin(t, s), newBin(t, s)
	at := baseTime()
	cut := at.Add(-7 * 24 * time.Hour)
	job := func(bin *schema.Bin, state string, updated time.Time) *schema.ReplayJob {
		j := newJob(t, bin.ID, updated.Add(-time.Hour))
		if err := s.PutReplayJob(ctx, j); err != nil {
			t.Fatalf("PutReplayJob: %v", err)
		}
		if state == schema.ReplayCanceled {
			if err := s.CancelReplayJob(ctx, j.ID); err != nil {
				t.Fatalf("CancelReplayJob: %v", err)
			}
		}
		j.State, j.UpdatedAt, j.Heartbeat = state, schema.Truncate(updated), schema.Truncate(updated)
		if j.Ended() {
			fin := j.UpdatedAt
			j.Finished = &fin
		}
		if err := s.PutReplayJob(ctx, j); err != nil {
			t.Fatalf("PutReplayJob: %v", err)
		}
		return j
	}
	gone := []*schema.ReplayJob{
		job(binA, schema.ReplayDone, cut.Add(-time.Hour)),
		job(binA, schema.ReplayCanceled, cut.Add(-time.Minute)),
		job(binA, schema.ReplayInterrupted, cut.Add(-48*time.Hour)),
		job(binB, schema.ReplayDone, at), // recent, but its bin is deleted below
		job(binB, schema.ReplayFailed, at),
	}
	kept := []*schema.ReplayJob{
		job(binA, schema.ReplayFailed, cut.Add(time.Minute)),
		job(binA, schema.ReplayRunning, cut.Add(-48*time.Hour)),
		job(binA, schema.ReplayQueued, cut.Add(-time.Hour)),
		job(binB, schema.ReplayRunning, at),
	}
	if err := s.DeleteBin(ctx, binB.ID); err != nil {
		t.Fatalf("DeleteBin: %v", err)
	}
	// Earlier cases leave ended jobs of bins they never created: they go too.
	n, err := s.PurgeReplayJobs(ctx, cut)
	if err != nil {
		t.Fatalf("PurgeReplayJobs: %v", err)
	}
	if n < int64(len(gone)) {
		t.Fatalf("PurgeReplayJobs = %d; want at least %d", n, len(gone))
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, j := range gone {
		for {
			_, err := s.GetReplayJob(ctx, j.ID)
			if errors.Is(err, schema.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatalf("GetReplayJob(%s): %v", j.State, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %s job of bin %s updated %s is still there after the purge", j.State, j.BinID, j.UpdatedAt)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := s.CancelReplayJob(ctx, j.ID); !errors.Is(err, schema.ErrNotFound) {
			t.Fatalf("CancelReplayJob(purged %s job) = %v; want ErrNotFound", j.State, err)
		}
	}
	for _, j := range kept {
		got, err := s.GetReplayJob(ctx, j.ID)
		if err != nil || got.State != j.State || !got.UpdatedAt.Equal(j.UpdatedAt) {
			t.Fatalf("the %s job of bin %s updated %s after the purge: %+v, %v; want it kept", j.State, j.BinID, j.UpdatedAt, got, err)
		}
	}
	list, err := s.ListReplayJobs(ctx, schema.ReplayJobFilter{BinID: binA.ID})
	if err != nil || len(list) != 3 {
		t.Fatalf("ListReplayJobs(bin) after the purge = %v, %v; want the 3 kept jobs", jobIDs(list), err)
	}
	if n, err := s.PurgeReplayJobs(ctx, cut); err != nil || n != 0 {
		t.Fatalf("PurgeReplayJobs again = %d, %v; want 0", n, err)
	}
}

func jobIDs(js []*schema.ReplayJob) []uuid.UUID {
	out := make([]uuid.UUID, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}
