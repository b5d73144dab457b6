package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// Bulk replay (issue 17.6) through the real API on both stores, against a
// real local HTTP receiver.

type jobView struct {
	ID              string            `json:"id"`
	BinID           string            `json:"bin_id"`
	State           string            `json:"state"`
	Total           int64             `json:"total"`
	Sent            int64             `json:"sent"`
	Succeeded       int64             `json:"succeeded"`
	Failed          int64             `json:"failed"`
	Rate            float64           `json:"rate"`
	Params          map[string]string `json:"params"`
	Instance        string            `json:"instance"`
	CancelRequested bool              `json:"cancel_requested"`
	Error           string            `json:"error"`
}

// receiver is a real HTTP server counting what arrives, by X-Row.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	rows map[string]int
	n    int
}

func newReceiver(t *testing.T, status int) *receiver {
	rc := &receiver{rows: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.rows[r.Header.Get("X-Row")]++
		rc.n++
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() (n, distinct int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n, len(rc.rows)
}

func getJob(t *testing.T, a *testApp, id, token string) jobView {
	t.Helper()
	var j jobView
	doJSONAuth(t, "GET", a.base+"/api/v1/replays/"+id, token, nil, 200, &j)
	return j
}

// waitJob polls a job until it ends, returning the distinct sent counts it
// saw on the way (the progress).
func waitJob(t *testing.T, a *testApp, id, token string) (jobView, []int64) {
	t.Helper()
	var seen []int64
	deadline := time.Now().Add(3 * time.Minute)
	for {
		j := getJob(t, a, id, token)
		if len(seen) == 0 || seen[len(seen)-1] != j.Sent {
			seen = append(seen, j.Sent)
		}
		switch j.State {
		case "done", "canceled", "failed", "interrupted":
			return j, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 3 minutes: %+v", id, j.State, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBulkReplayEmbedded(t *testing.T) {
	testBulkReplay(t, startApp(t, t.TempDir(), allowPrivate))
}

func TestBulkReplayClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testBulkReplay(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t), "HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"}))
	})
}

// testBulkReplay: 1 000 stored requests (every 10th a POST) replayed at
// 250/s to a local receiver: a dry run counts and sends nothing; the job's
// progress advances; every request arrives exactly once; each replay is
// recorded in the bin with replay_of its original; a second job of the bin
// is refused while one runs; a slow job cancelled mid-way stops sending.
func testBulkReplay(t *testing.T, a *testApp) {
	const n = 1000
	bin := a.newBin(t, nil)
	fillRows(t, a.store, bin.ID, n, time.Now().Add(-time.Hour))
	rc := newReceiver(t, 204)
	base := a.base + "/api/v1/bins/" + bin.ID + "/replays"

	// Bad input: a 400 naming the parameter.
	for _, tc := range []struct {
		params string
		body   map[string]any
		param  string
	}{
		{"", map[string]any{}, "url"}, // no url, no forward target
		{"", map[string]any{"url": "ftp://x/"}, "url"},
		{"", map[string]any{"url": rc.URL, "rate": 100000}, "rate"},
		{"", map[string]any{"url": rc.URL, "rate": -1}, "rate"},
		{"?status=9xx", map[string]any{"url": rc.URL}, "status"},
		{"?limit=5", map[string]any{"url": rc.URL}, "limit"},
		{"?forward=lost", map[string]any{"url": rc.URL}, "forward"},
		{"", map[string]any{"url": rc.URL, "speed": 1}, "speed"},
	} {
		var e struct{ Error string }
		doJSONAuth(t, "POST", base+tc.params, bin.Token, tc.body, 400, &e)
		if !strings.Contains(e.Error, tc.param) {
			t.Fatalf("POST replays%s %v: error %q does not name %s", tc.params, tc.body, e.Error, tc.param)
		}
	}
	doJSONAuth(t, "POST", base, "", map[string]any{"url": rc.URL}, 401, nil) // owner token needed

	// Dry run: the count, nothing sent, nothing stored.
	var dry jobView
	doJSONAuth(t, "POST", base, bin.Token, map[string]any{"url": rc.URL, "dry_run": true}, 200, &dry)
	if dry.Total != n || dry.State != "dry_run" || dry.Sent != 0 {
		t.Fatalf("dry run = %+v; want total %d", dry, n)
	}
	doJSONAuth(t, "POST", base+"?method=POST", bin.Token, map[string]any{"url": rc.URL, "dry_run": true}, 200, &dry)
	if dry.Total != (n+100)/101 {
		t.Fatalf("dry run with method=POST = %d; want %d", dry.Total, (n+100)/101)
	}
	doJSONAuth(t, "POST", base+"?q=-method%3APOST", bin.Token, map[string]any{"url": rc.URL, "dry_run": true}, 200, &dry)
	if dry.Total != n-(n+100)/101 { // the list's search syntax: NOT method:POST
		t.Fatalf("dry run with q=-method:POST = %d; want %d", dry.Total, n-(n+100)/101)
	}
	doJSONAuth(t, "POST", base+"?forward=failed", bin.Token, map[string]any{"url": rc.URL, "dry_run": true}, 200, &dry)
	if dry.Total != 0 { // nothing was forwarded
		t.Fatalf("dry run with forward=failed = %d; want 0", dry.Total)
	}
	var list struct{ Jobs []jobView }
	doJSONAuth(t, "GET", base, bin.Token, nil, 200, &list)
	if got, _ := rc.count(); got != 0 || len(list.Jobs) != 0 {
		t.Fatalf("after dry runs: receiver got %d, %d jobs stored; want 0, 0", got, len(list.Jobs))
	}

	// The real job.
	var j jobView
	began := time.Now()
	doJSONAuth(t, "POST", base, bin.Token, map[string]any{"url": rc.URL + "/in", "rate": 250}, 202, &j)
	if j.Total != n || j.ID == "" {
		t.Fatalf("job = %+v", j)
	}
	// One job per bin at a time.
	var busy struct{ Error string }
	doJSONAuth(t, "POST", base, bin.Token, map[string]any{"url": rc.URL}, 429, &busy)
	final, seen := waitJob(t, a, j.ID, bin.Token)
	elapsed := time.Since(began)
	got, distinct := rc.count()
	t.Logf("replayed %d at 250/s in %s; progress seen: %v", final.Sent, elapsed.Round(time.Millisecond), seen)
	if final.State != "done" || final.Sent != n || final.Succeeded != n || final.Failed != 0 {
		t.Fatalf("job ended %+v; want done with %d sent and succeeded", final, n)
	}
	if got != n || distinct != n {
		t.Fatalf("receiver got %d requests (%d distinct rows); want %d each once", got, distinct, n)
	}
	if len(seen) < 3 {
		t.Fatalf("progress seen %v; want it to advance through intermediate values", seen)
	}
	// The limiter allows one request per 4 ms after the first: a lower
	// bound, never an upper one.
	if min := time.Duration(n-1) * time.Second / 250; elapsed < min*9/10 {
		t.Fatalf("1000 requests at 250/s took %s; the rate allows no less than %s", elapsed, min)
	}

	// Every replay is recorded and linked to its original.
	origIDs := map[string]bool{}
	replayOf := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for {
		origIDs, replayOf = map[string]bool{}, map[string]int{}
		next := ""
		for {
			var page struct {
				Requests []struct {
					ID       string `json:"id"`
					ReplayOf string `json:"replay_of"`
				} `json:"requests"`
				Next *string `json:"next"`
			}
			doJSONAuth(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests?limit=1000"+next, bin.Token, nil, 200, &page)
			for _, r := range page.Requests {
				if r.ReplayOf != "" {
					replayOf[r.ReplayOf]++
				} else {
					origIDs[r.ID] = true
				}
			}
			if page.Next == nil {
				break
			}
			next = "&before=" + *page.Next
		}
		if len(origIDs)+len(replayOf) >= 2*n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(origIDs) != n || len(replayOf) != n {
		t.Fatalf("bin holds %d originals and replays of %d of them; want %d and %d", len(origIDs), len(replayOf), n, n)
	}
	for id, k := range replayOf {
		if !origIDs[id] || k != 1 {
			t.Fatalf("replay_of %s: %d replays, original present %v; want 1 of a stored original", id, k, origIDs[id])
		}
	}

	// Cancel mid-way: a slow job, cancelled once it has sent a few.
	rc2 := newReceiver(t, 500)
	doJSONAuth(t, "POST", base, bin.Token, map[string]any{"url": rc2.URL, "rate": 20}, 202, &j)
	if j.Total != 2*n { // the first job's replays are older than this one
		t.Fatalf("second job total %d; want %d (originals and the first job's replays)", j.Total, 2*n)
	}
	for getJob(t, a, j.ID, bin.Token).Sent < 5 {
		time.Sleep(20 * time.Millisecond)
	}
	var canceled jobView
	doJSONAuth(t, "POST", a.base+"/api/v1/replays/"+j.ID+"/cancel", "", nil, 401, nil)
	doJSONAuth(t, "POST", a.base+"/api/v1/replays/"+j.ID+"/cancel", bin.Token, nil, 200, &canceled)
	if !canceled.CancelRequested {
		t.Fatalf("cancel answer %+v", canceled)
	}
	final, _ = waitJob(t, a, j.ID, bin.Token)
	got, _ = rc2.count()
	if final.State != "canceled" || final.Sent >= 100 || int64(got) != final.Sent || final.Failed != final.Sent {
		t.Fatalf("cancelled job %+v, receiver got %d; want canceled early with every sent request arrived (and failed: 500)", final, got)
	}
	doJSONAuth(t, "GET", a.base+"/api/v1/replays/"+uuid.NewString(), bin.Token, nil, 404, nil)
	doJSONAuth(t, "GET", a.base+"/api/v1/replays/not-a-uuid", bin.Token, nil, 404, nil)
}

// TestBulkReplaySSRF: without HOOKSCOPE_ALLOW_PRIVATE_TARGETS a job aimed
// at loopback is refused before it starts, like forwarding.
func TestBulkReplaySSRF(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil)
	fillRows(t, a.store, bin.ID, 3, time.Now().Add(-time.Hour))
	rc := newReceiver(t, 200)
	var e struct{ Error string }
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/replays", bin.Token, map[string]any{"url": rc.URL}, 400, &e)
	if !strings.Contains(e.Error, "url") || !strings.Contains(e.Error, "refused") {
		t.Fatalf("error %q; want url refused", e.Error)
	}
	if got, _ := rc.count(); got != 0 {
		t.Fatalf("receiver got %d", got)
	}
}

// TestBulkReplayRestart: a job whose process stopped is reported
// interrupted after a restart: by Close on a clean shutdown, and by
// Recover for a job the previous process never finished (a crash, made
// here by storing a running job of this instance).
func TestBulkReplayRestart(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, allowPrivate)
	bin := a.newBin(t, nil)
	fillRows(t, a.store, bin.ID, 100, time.Now().Add(-time.Hour))
	rc := newReceiver(t, 200)
	var j jobView
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/replays", bin.Token, map[string]any{"url": rc.URL, "rate": 5}, 202, &j)
	for getJob(t, a, j.ID, bin.Token).Sent < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	// A job "running" on this instance that no process runs: the crash case.
	crashed := &schema.ReplayJob{ID: uuid.Must(uuid.NewV7()), BinID: bin.ID, State: schema.ReplayRunning, Total: 50, Sent: 7,
		Rate: 1, Instance: j.Instance, CreatedAt: time.Now(), UpdatedAt: time.Now(), Heartbeat: time.Now(), Until: time.Now()}
	if err := a.store.PutReplayJob(context.Background(), crashed); err != nil {
		t.Fatal(err)
	}
	a.stop(t)
	a = startApp(t, dir, allowPrivate)
	for _, id := range []string{j.ID, crashed.ID.String()} {
		got := getJob(t, a, id, bin.Token)
		if got.State != "interrupted" || got.Sent == 0 || got.Sent >= got.Total {
			t.Fatalf("after restart job %s = %+v; want interrupted with its progress", id, got)
		}
	}
	n, _ := rc.count()
	if final := getJob(t, a, j.ID, bin.Token); int64(n) != final.Sent {
		t.Fatalf("receiver got %d; job says %d sent", n, final.Sent)
	}
}

// TestBulkReplayTwoInstancesClickHouse: two instances on one ClickHouse
// database, as behind a load balancer: a job started on A is reported by
// B, cancelled through B, and A stops sending; B refuses a second job of
// the bin while A's runs.
func TestBulkReplayTwoInstancesClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		env := map[string]string{
			"HOOKSCOPE_CLICKHOUSE_URL":        srv.Database(t),
			"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true",
			"HOOKSCOPE_JWT_SECRET":            "replays-test-secret-0123456789abcdef",
		}
		a := startApp(t, t.TempDir(), env)
		b := startApp(t, t.TempDir(), env)
		bin := a.newBin(t, nil)
		fillRows(t, a.store, bin.ID, 200, time.Now().Add(-time.Hour))
		rc := newReceiver(t, 200)
		var j jobView
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/replays", bin.Token, map[string]any{"url": rc.URL, "rate": 10}, 202, &j)
		deadline := time.Now().Add(time.Minute)
		for getJob(t, b, j.ID, bin.Token).Sent < 3 {
			if time.Now().After(deadline) {
				t.Fatal("B never saw A's job progress")
			}
			time.Sleep(50 * time.Millisecond)
		}
		doJSONAuth(t, "POST", b.base+"/api/v1/bins/"+bin.ID+"/replays", bin.Token, map[string]any{"url": rc.URL}, 429, nil)
		var c jobView
		doJSONAuth(t, "POST", b.base+"/api/v1/replays/"+j.ID+"/cancel", bin.Token, nil, 200, &c)
		final, _ := waitJob(t, b, j.ID, bin.Token)
		got, _ := rc.count()
		if final.State != "canceled" || final.Sent >= 200 || int64(got) != final.Sent || final.Instance != j.Instance {
			t.Fatalf("job after B's cancel = %+v, receiver got %d; want canceled by A (instance %s) with every sent request arrived", final, got, j.Instance)
		}
		if fromA := getJob(t, a, j.ID, bin.Token); fromA.State != "canceled" || fromA.Sent != final.Sent {
			t.Fatalf("A reports %+v; B %+v", fromA, final)
		}
	})
}

func TestReplayJobRetentionEmbedded(t *testing.T) {
	testReplayJobRetention(t, startApp(t, t.TempDir(), map[string]string{
		"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_PURGE_INTERVAL": "100ms"}))
}

func TestReplayJobRetentionClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testReplayJobRetention(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t),
			"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_PURGE_INTERVAL": "100ms"}))
	})
}

// testReplayJobRetention: the app's retention sweep (every purge interval)
// removes the jobs of a deleted bin: one that had ended, and one that was
// running when its bin went, once it has ended (it is never seen removed
// while running). A job that ended in a live bin stays (the default
// retention is 7 days; its age limit is tested in package replays and the
// store suite).
func testReplayJobRetention(t *testing.T, a *testApp) {
	ctx := t.Context()
	rc := newReceiver(t, 200)
	start := func(bin binResp, rate float64) uuid.UUID {
		fillRows(t, a.store, bin.ID, 40, time.Now().Add(-time.Hour))
		var j jobView
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/replays", bin.Token, map[string]any{"url": rc.URL, "rate": rate}, 202, &j)
		return uuid.MustParse(j.ID)
	}
	live, gone := a.newBin(t, nil), a.newBin(t, nil)
	kept := start(live, 500)
	if j, _ := waitJob(t, a, kept.String(), live.Token); j.State != "done" {
		t.Fatalf("job of the live bin: %+v", j)
	}
	ended := start(gone, 500)
	if j, _ := waitJob(t, a, ended.String(), gone.Token); j.State != "done" {
		t.Fatalf("job of the bin to delete: %+v", j)
	}
	gone2 := a.newBin(t, nil)
	running := start(gone2, 2) // 40 requests at 2/s: runs for 20 s
	for getJob(t, a, running.String(), gone2.Token).Sent < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+gone.ID, gone.Token, nil, 204, nil)
	doJSONAuth(t, "DELETE", a.base+"/api/v1/bins/"+gone2.ID, gone2.Token, nil, 204, nil)

	deadline := time.Now().Add(time.Minute)
	removed := map[uuid.UUID]bool{}
	lastState := map[uuid.UUID]string{}
	for len(removed) < 2 {
		for _, id := range []uuid.UUID{ended, running} {
			if removed[id] {
				continue
			}
			j, err := a.store.GetReplayJob(ctx, id)
			switch {
			case errors.Is(err, schema.ErrNotFound):
				if s := lastState[id]; s == schema.ReplayRunning || s == schema.ReplayQueued {
					t.Fatalf("job %s was removed while %s", id, s)
				}
				removed[id] = true
			case err != nil:
				t.Fatal(err)
			default:
				lastState[id] = j.State
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs of deleted bins still stored after a minute: removed %v, last states %v", removed, lastState)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lastState[running] == "" {
		t.Fatalf("the running job was never seen before its removal")
	}
	t.Logf("the running job of the deleted bin was last seen %s before its removal", lastState[running])
	j, err := a.store.GetReplayJob(ctx, kept)
	if err != nil || j.State != schema.ReplayDone {
		t.Fatalf("the ended job of a live bin: %+v, %v; want it kept", j, err)
	}
}
