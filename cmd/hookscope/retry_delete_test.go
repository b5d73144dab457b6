package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// fastRetry is a retry policy short enough for tests: three attempts,
// 300ms apart; slowRetry leaves a test 2s between the first attempt and
// the last, to act in between on a loaded machine.
var (
	fastRetry = map[string]any{"max_attempts": 3, "initial": "300ms", "max": "300ms"}
	slowRetry = map[string]any{"max_attempts": 3, "initial": "1s", "max": "1s"}
)

// witnessRetriesRan captures into a bin of its own that forwards to a
// target answering 500 with retry, and waits until that forward failed
// for good: at least two retry periods passed after the call, and
// retries ran in them, so a retry on the same policy of anything deleted
// before the call would have been sent by then.
func witnessRetriesRan(t *testing.T, a *testApp, retry map[string]any) {
	t.Helper()
	wt := newScripted(t, 500)
	wb := a.newBin(t, map[string]any{"forward": map[string]any{"url": wt.URL, "retry": retry}})
	w := captureID(t, a, wb.ID, "POST", nil, `{"witness":true}`)
	waitRecord(t, a, wb.ID, w, "the witness failed for good", func(f *schema.Forward) bool { return f.State == schema.ForwardFailed })
	if n, want := wt.hits(), retry["max_attempts"].(int); n != want {
		t.Fatalf("the witness target got %d requests, want %d: retries did not run", n, want)
	}
}

// journalHolds reports whether the forward journal file, replayed as the
// next start would read it, still holds an entry for id.
func journalHolds(t *testing.T, a *testApp, id string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.dir, "forward-inflight.jsonl"))
	if err != nil {
		t.Fatalf("read the forward journal: %v", err)
	}
	held := false
	for _, line := range strings.Split(string(b), "\n") {
		var l struct {
			Op string `json:"op"`
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.ID != id {
			continue
		}
		held = l.Op == "add"
	}
	return held
}

// TestEveryDeleteCancelsItsRetries: for each way of deleting through the
// API (one request, a delete by filter, clearing the bin, deleting the
// bin), a request whose forward failed and waits for its retry is deleted,
// and its target never hears of it again: the pending retry is gone from
// the timers and the journal, and while retries demonstrably keep running
// (a witness in another bin fails three times) the target gets nothing
// more and the request does not come back. The delete by filter removes
// only what it matches: a request it leaves keeps being retried. On the
// embedded store and on each ClickHouse server.
func TestEveryDeleteCancelsItsRetries(t *testing.T) {
	storeEnvs(t, func(t *testing.T, env map[string]string) { testEveryDeleteCancelsItsRetries(t, env) })
}

func testEveryDeleteCancelsItsRetries(t *testing.T, env map[string]string) {
	for _, tc := range []struct {
		name string
		// del deletes the request (POST) through the API; a PUT request
		// of the same bin may survive it.
		del func(t *testing.T, a *testApp, bin binResp, id string)
		// keepsPut: the PUT request survives and keeps being retried.
		keepsPut bool
	}{
		{"one request", func(t *testing.T, a *testApp, bin binResp, id string) {
			if code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, bearerHdr(bin.Token), ""); code != 204 {
				t.Fatalf("delete = %d %s", code, b)
			}
		}, true},
		{"by filter", func(t *testing.T, a *testApp, bin binResp, id string) {
			code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests?method=POST", bearerHdr(bin.Token), "")
			if code != 200 || !strings.Contains(string(b), `"deleted":1`) {
				t.Fatalf("delete by filter = %d %s", code, b)
			}
		}, true},
		{"all requests", func(t *testing.T, a *testApp, bin binResp, id string) {
			if code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests", bearerHdr(bin.Token), ""); code != 204 {
				t.Fatalf("clear = %d %s", code, b)
			}
		}, false},
		{"the bin", func(t *testing.T, a *testApp, bin binResp, id string) {
			if code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(bin.Token), ""); code != 204 {
				t.Fatalf("delete bin = %d %s", code, b)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, t.TempDir(), env)
			var mu sync.Mutex
			byMethod := map[string]int{}
			tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				byMethod[r.Method]++
				mu.Unlock()
				w.WriteHeader(500)
			})
			hits := func(m string) int { mu.Lock(); defer mu.Unlock(); return byMethod[m] }
			bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "retry": slowRetry}})
			id := captureID(t, a, bin.ID, "POST", nil, `{"n":1}`)
			put := captureID(t, a, bin.ID, "PUT", nil, `{"n":2}`)
			waitRecord(t, a, bin.ID, id, "POST retrying", func(f *schema.Forward) bool { return f.State == schema.ForwardRetrying })
			waitRecord(t, a, bin.ID, put, "PUT retrying", func(f *schema.Forward) bool { return f.State == schema.ForwardRetrying })

			tc.del(t, a, bin, id)
			before := hits("POST")
			if before >= 3 {
				t.Fatalf("the POST was tried %d times before the delete; nothing was left to cancel", before)
			}
			if journalHolds(t, a, id) {
				t.Errorf("the deleted request's retry is still in the forward journal")
			}
			if !tc.keepsPut {
				waitFor(t, "no pending retry", func() bool { return a.pipe.PendingRetries() == 0 })
			}
			witnessRetriesRan(t, a, slowRetry)
			if n := hits("POST"); n != before {
				t.Errorf("the target got %d more attempts of the deleted request", n-before)
			}
			if code, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, nil, ""); code != 404 {
				t.Errorf("the deleted request is back: %d", code)
			}
			if tc.keepsPut {
				// The request the delete left is retried to the end.
				r := waitRecord(t, a, bin.ID, put, "PUT failed for good", func(f *schema.Forward) bool { return f.State == schema.ForwardFailed })
				if len(r.Forward.Attempts) != 3 || hits("PUT") != 3 {
					t.Errorf("the request the delete left: %d attempts recorded, %d sent; want 3", len(r.Forward.Attempts), hits("PUT"))
				}
			} else if n := hits("PUT"); n >= 3 {
				t.Errorf("the PUT, deleted too, was tried %d times", n)
			}
		})
	}
}

// TestDeleteDuringRetryAttempt: the delete lands while a retry's attempt
// is at the target (the timer had fired, so there is nothing to stop).
// That attempt's outcome is dropped: no record of it brings the request
// back, and no further attempt follows.
func TestDeleteDuringRetryAttempt(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	var mu sync.Mutex
	n := 0
	inRetry, release := make(chan struct{}), make(chan struct{})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		if i == 2 {
			close(inRetry)
			<-release
		}
		w.WriteHeader(500)
	})
	hits := func() int { mu.Lock(); defer mu.Unlock(); return n }
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "retry": fastRetry}})
	id := captureID(t, a, bin.ID, "POST", nil, `{}`)
	waitRecord(t, a, bin.ID, id, "retrying", func(f *schema.Forward) bool { return f.State == schema.ForwardRetrying })
	<-inRetry
	if code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, bearerHdr(bin.Token), ""); code != 204 {
		t.Fatalf("delete = %d %s", code, b)
	}
	close(release)
	waitFor(t, "no pending retry", func() bool { return a.pipe.PendingRetries() == 0 })
	witnessRetriesRan(t, a, fastRetry)
	if got := hits(); got != 2 {
		t.Errorf("the target got %d attempts, want 2 (the first and the one the delete interrupted)", got)
	}
	if code, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, nil, ""); code != 404 {
		t.Errorf("the attempt's outcome stored the deleted request again: %d", code)
	}
	if journalHolds(t, a, id) {
		t.Errorf("the deleted request's retry is still in the forward journal")
	}
}

// TestRetryChecksItsRequestIsStored is the backstop: a delete that does
// not go through this instance's API (another instance sharing the store,
// here the store itself) leaves the retry scheduled; before it sends, the
// retry looks the request up and, once it had found it stored, takes its
// absence as a delete and stops. On the embedded store and on each
// ClickHouse server.
func TestRetryChecksItsRequestIsStored(t *testing.T) {
	storeEnvs(t, testRetryChecksItsRequestIsStored)
}

func testRetryChecksItsRequestIsStored(t *testing.T, env map[string]string) {
	a := startApp(t, t.TempDir(), env)
	tg := newScripted(t, 500)
	retry := map[string]any{"max_attempts": 4, "initial": "1s", "max": "1s"}
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "retry": retry}})
	id := captureID(t, a, bin.ID, "POST", nil, `{}`)
	// The second attempt (the first retry) found the request stored, and
	// its outcome is in the store: nothing in flight can store it again.
	waitRecord(t, a, bin.ID, id, "two attempts stored", func(f *schema.Forward) bool { return len(f.Attempts) >= 2 })
	if err := a.store.DeleteRequest(t.Context(), bin.ID, uuid.MustParse(id)); err != nil {
		t.Fatal(err)
	}
	before := tg.hits()
	if before >= 4 || a.pipe.PendingRetries() != 1 {
		t.Fatalf("%d attempts sent, %d retries pending at the delete: no retry left to stop", before, a.pipe.PendingRetries())
	}
	waitFor(t, "the retry dropped", func() bool { return a.pipe.PendingRetries() == 0 })
	witnessRetriesRan(t, a, retry)
	if n := tg.hits(); n != before {
		t.Errorf("the target got %d attempts after the delete: a retry sent a deleted request", n-before)
	}
	if code, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, nil, ""); code != 404 {
		t.Errorf("the deleted request is back: %d", code)
	}
	if journalHolds(t, a, id) {
		t.Errorf("the dropped retry is still in the forward journal")
	}
}
