package replays

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

// Two managers on one real store stand for two instances behind a load
// balancer; the replayer is the edge (the API tests in cmd/hookscope send
// for real).

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func fill(t *testing.T, st *sqlite.Store, bin string, n int) {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	var reqs []*schema.Request
	for i := 0; i < n; i++ {
		reqs = append(reqs, &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: bin, ReceivedAt: schema.Truncate(base.Add(time.Duration(i) * time.Millisecond)),
			Method: "POST", Path: "/", Body: []byte("x"), BodySize: 1, ResponseStatus: 200})
	}
	if err := st.WriteRequests(t.Context(), reqs); err != nil {
		t.Fatal(err)
	}
}

type counter struct{ n atomic.Int64 }

func (c *counter) replay(ctx context.Context, orig *schema.Request, url, ip string) (*schema.Request, error) {
	c.n.Add(1)
	return &schema.Request{Forward: &schema.Forward{Status: 200}}, nil
}

func wait(t *testing.T, m *Manager, id uuid.UUID, cond func(*schema.ReplayJob) bool) *schema.ReplayJob {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := m.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v: condition not met in 30s", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func bin(id string) *schema.Bin { return &schema.Bin{ID: id} }

// TestCancelFromAnotherInstance: B cancels A's job through the store; A
// stops within its progress interval and stores the job canceled.
func TestCancelFromAnotherInstance(t *testing.T) {
	st := openStore(t)
	fill(t, st, "b1", 200)
	var sent counter
	a := New(st, sent.replay, Options{Instance: "a", ProgressEvery: 20 * time.Millisecond})
	b := New(st, nil, Options{Instance: "b"})
	j, err := a.Create(t.Context(), Input{Bin: bin("b1"), URL: "http://t.example/", Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, b, j.ID, func(j *schema.ReplayJob) bool { return j.Sent >= 3 })
	// B refuses a second job of the bin while A's runs (per-bin limit
	// across instances, through the store).
	if _, err := b.Create(t.Context(), Input{Bin: bin("b1"), URL: "http://t.example/"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second job of the bin on B = %v; want ErrBusy", err)
	}
	if _, err := b.Cancel(t.Context(), j.ID); err != nil {
		t.Fatal(err)
	}
	got := wait(t, b, j.ID, (*schema.ReplayJob).Ended)
	if got.State != schema.ReplayCanceled || got.Sent >= 200 || got.Sent != sent.n.Load() {
		t.Fatalf("job after B's cancel = %+v (replayer called %d); want canceled early, sent = calls", got, sent.n.Load())
	}
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestStaleJobReadAsInterrupted: a running job whose runner stopped
// writing (its instance died) reads as interrupted on any instance once
// its heartbeat is older than StaleAfter, and Recover on its own instance
// marks it at once.
func TestStaleJobReadAsInterrupted(t *testing.T) {
	st := openStore(t)
	now := time.Now().UTC()
	old := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: "b", State: schema.ReplayRunning, Instance: "dead", Total: 9, Sent: 4,
		CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Minute), Heartbeat: now.Add(-time.Minute)}
	mine := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: "b", State: schema.ReplayRunning, Instance: "me", Total: 9, Sent: 2,
		CreatedAt: now, UpdatedAt: now, Heartbeat: now}
	fresh := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: "b", State: schema.ReplayRunning, Instance: "alive", Total: 9, Sent: 1,
		CreatedAt: now, UpdatedAt: now, Heartbeat: now}
	for _, j := range []*schema.ReplayJob{old, mine, fresh} {
		if err := st.PutReplayJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	m := New(st, nil, Options{Instance: "me", StaleAfter: 30 * time.Second})
	if err := m.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		j    *schema.ReplayJob
		want string
	}{{old, schema.ReplayInterrupted}, {mine, schema.ReplayInterrupted}, {fresh, schema.ReplayRunning}} {
		got, err := st.GetReplayJob(t.Context(), tc.j.ID)
		if err != nil || got.State != tc.want || got.Sent != tc.j.Sent {
			t.Fatalf("job of %s after Recover = %+v, %v; want %s with its progress", tc.j.Instance, got, err, tc.want)
		}
	}
}

// TestCreateValidates: rate and url are bounded, the list's filter parser
// refuses bad filters, a bin without a forward target needs a url, the
// URL check is applied, a dry run stores nothing.
func TestCreateValidates(t *testing.T) {
	st := openStore(t)
	fill(t, st, "b", 5)
	refuse := errors.New("blocked")
	m := New(st, nil, Options{CheckURL: func(_ context.Context, u string) error {
		if u == "http://10.0.0.1/" {
			return refuse
		}
		return nil
	}})
	for _, tc := range []struct {
		in    Input
		param string
	}{
		{Input{Bin: bin("b"), URL: "http://t/", Rate: 501}, "rate"},
		{Input{Bin: bin("b"), URL: "http://t/", Rate: 0.01}, "rate"},
		{Input{Bin: bin("b"), URL: "gopher://t/"}, "url"},
		{Input{Bin: bin("b"), URL: "http://10.0.0.1/"}, "url"},
		{Input{Bin: bin("b"), URL: "http://t/", Params: map[string]string{"status": "700"}}, "status"},
		{Input{Bin: bin("b"), URL: "http://t/", Params: map[string]string{"since": "2099-01-01T00:00:00Z"}}, "since"},
	} {
		_, err := m.Create(t.Context(), tc.in)
		var pe *query.ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("Create(%+v) = %v; want a %s error", tc.in, err, tc.param)
		}
	}
	if _, err := m.Create(t.Context(), Input{Bin: bin("b")}); !errors.Is(err, ErrNoTarget) {
		t.Errorf("Create without url or target = %v; want ErrNoTarget", err)
	}
	withTarget := &schema.Bin{ID: "b", Settings: schema.BinSettings{Forward: &schema.ForwardConfig{URL: "http://t/"}}}
	j, err := m.Create(t.Context(), Input{Bin: withTarget, DryRun: true, Params: map[string]string{"method": "post"}})
	if err != nil || j.State != "dry_run" || j.Total != 5 {
		t.Fatalf("dry run = %+v, %v; want 5 matches", j, err)
	}
	if js, _ := st.ListReplayJobs(t.Context(), schema.ReplayJobFilter{BinID: "b"}); len(js) != 0 {
		t.Fatalf("dry run stored %d jobs", len(js))
	}
}

// TestSlowSendKeepsHeartbeat: while one send hangs (a slow target), the
// runner's heartbeat goes on, so another instance keeps reading the job as
// running rather than taking it for dead.
func TestSlowSendKeepsHeartbeat(t *testing.T) {
	st := openStore(t)
	fill(t, st, "b", 2)
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	slow := func(ctx context.Context, orig *schema.Request, url, ip string) (*schema.Request, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &schema.Request{Forward: &schema.Forward{Status: 204}}, nil
	}
	// The heartbeat is 100 times shorter than the stale age (the
	// defaults: 60 times), so a loaded machine's
	// scheduling delays do not make the test flaky.
	a := New(st, slow, Options{Instance: "a", ProgressEvery: 20 * time.Millisecond, StaleAfter: 2 * time.Second})
	b := New(st, nil, Options{Instance: "b", StaleAfter: 2 * time.Second})
	j, err := a.Create(t.Context(), Input{Bin: bin("b"), URL: "http://t.example/", Rate: 500})
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	// Longer than a stale period with the send stuck: B must see a live
	// job each time.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		got, err := b.Get(t.Context(), j.ID)
		if err != nil || got.State != schema.ReplayRunning {
			t.Fatalf("B reads %+v, %v during a slow send; want running", got, err)
		}
	}
	close(release)
	got := wait(t, b, j.ID, (*schema.ReplayJob).Ended)
	if got.State != schema.ReplayDone || got.Succeeded != 2 {
		t.Fatalf("job = %+v; want done with 2 succeeded", got)
	}
}

// TestPurge: on a real store, Purge removes the jobs that ended more than
// Retention ago and the ended jobs of a deleted bin; it keeps a job that
// ended recently, the job this manager runs, and another instance's job
// with a fresh heartbeat; a job whose runner died long ago (stale
// heartbeat, still "running") is marked interrupted, not removed: it
// ages out from then.
func TestPurge(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	for _, id := range []string{"live", "gone"} {
		if err := st.CreateBin(ctx, &schema.Bin{ID: id, Name: id, CreatedAt: schema.Truncate(time.Now())}); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, st, "live", 50)
	release := make(chan struct{})
	m := New(st, func(ctx context.Context, orig *schema.Request, url, ip string) (*schema.Request, error) {
		<-release // the job stays running
		return &schema.Request{Forward: &schema.Forward{Status: 200}}, nil
	}, Options{Instance: "a", Retention: 24 * time.Hour, ProgressEvery: 20 * time.Millisecond})
	defer func() {
		close(release) // before Close, which waits for the runner
		m.Close(context.Background())
	}()
	mine, err := m.Create(ctx, Input{Bin: bin("live"), URL: "http://t.example/", Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, m, mine.ID, func(j *schema.ReplayJob) bool { return j.State == schema.ReplayRunning })
	now := schema.Truncate(time.Now())
	put := func(binID, state, instance string, updated time.Time) *schema.ReplayJob {
		j := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: binID, State: state, Instance: instance, Total: 5, Rate: 1,
			CreatedAt: updated, UpdatedAt: updated, Heartbeat: updated, Until: updated}
		if j.Ended() {
			j.Finished = &updated
		}
		if err := st.PutReplayJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	old := put("live", schema.ReplayDone, "b", now.Add(-48*time.Hour))
	oldFailed := put("live", schema.ReplayFailed, "b", now.Add(-25*time.Hour))
	recent := put("live", schema.ReplayCanceled, "b", now.Add(-23*time.Hour))
	orphan := put("gone", schema.ReplayDone, "b", now.Add(-time.Minute))
	dead := put("live", schema.ReplayRunning, "b", now.Add(-48*time.Hour))
	alive := put("live", schema.ReplayQueued, "b", now)
	if err := st.DeleteBin(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	n, err := m.Purge(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3 (two old, one of the deleted bin)", n, err)
	}
	for _, j := range []*schema.ReplayJob{old, oldFailed, orphan} {
		if _, err := st.GetReplayJob(ctx, j.ID); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("the %s job of %s updated %s: %v; want removed", j.State, j.BinID, j.UpdatedAt, err)
		}
	}
	for _, want := range []struct {
		id    uuid.UUID
		state string
	}{{recent.ID, schema.ReplayCanceled}, {mine.ID, schema.ReplayRunning}, {alive.ID, schema.ReplayQueued}, {dead.ID, schema.ReplayInterrupted}} {
		got, err := st.GetReplayJob(ctx, want.id)
		if err != nil || got.State != want.state {
			t.Errorf("job %s after Purge: %+v, %v; want kept as %s", want.id, got, err, want.state)
		}
	}
	if n, err := m.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge again = %d, %v; want 0 (the interrupted job ended just now)", n, err)
	}
}
