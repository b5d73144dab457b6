package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// crashRounds is how many times TestCrashUnderLoad kills hookscope.
const crashRounds = 10

// TestCrashUnderLoad is issue 14's proof on the embedded store: a real
// hookscope process (this test binary re-executed as TestCrashChild) under
// concurrent HTTP load is killed with SIGKILL, 10 times, restarted on the
// same data directory each time; after the last restart every request that
// was answered 2xx (by X-Hookscope-Request-Id) is stored exactly once. Both
// ack modes.
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	// ack=fast answers before the fsync: a crash of the process (not of
	// the machine) must lose nothing either, since the kernel has the bytes.
	for _, ack := range []string{"durable", "fast"} {
		t.Run("ack="+ack, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"HOOKSCOPE_ACK": ack}
			answered := crashRoundsUnderLoad(t, dir, env)
			a := startApp(t, dir, env)
			stored := map[uuid.UUID]int{}
			pollUntil(t, "every answered request stored", func() bool {
				clear(stored)
				f := schema.Filter{BinID: answered.bin, Limit: 1000}
				for {
					page, err := a.store.ListRequests(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Requests {
						stored[r.ID]++
					}
					if page.Next == nil {
						break
					}
					f.Before = page.Next
				}
				return answered.allIn(stored)
			})
			n, err := a.store.CountRequests(context.Background(), answered.bin)
			if err != nil {
				t.Fatal(err)
			}
			if int(n) != len(stored) {
				t.Fatalf("store counts %d requests, lists %d distinct ids", n, len(stored))
			}
			for id, c := range stored {
				if c != 1 {
					t.Fatalf("request %s listed %d times", id, c)
				}
			}
			t.Logf("%d rounds: %d answered 2xx, %d stored (the rest were in flight at a kill, never answered)", crashRounds, len(answered.ids), n)
		})
	}
}

// TestCrashUnderLoadClickHouse is TestCrashUnderLoad on ClickHouse: every
// answered id is in the table once (count() = uniqExact(id), no duplicate
// left for a merge to collapse).
func TestCrashUnderLoadClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		dsn := srv.Database(t)
		env := map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": dsn}
		dir := t.TempDir()
		answered := crashRoundsUnderLoad(t, dir, env)
		startApp(t, dir, env) // the last restart: its writer catches up on the log

		db := dsn[strings.LastIndex(dsn, "/")+1:]
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{strings.Split(dsn, "/")[2]}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var rows, distinct uint64
		pollUntil(t, "every answered request in ClickHouse", func() bool {
			stored, err := chStoredIDs(conn, db, answered.bin)
			if err != nil {
				t.Fatal(err)
			}
			return answered.allIn(stored)
		})
		if err := conn.QueryRow(context.Background(), "SELECT count(), uniqExact(id) FROM "+db+".requests WHERE bin_id = ?", answered.bin).Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		if rows != distinct {
			t.Fatalf("%d rows for %d distinct ids: duplicates", rows, distinct)
		}
		t.Logf("%d rounds: %d answered 2xx, %d rows in ClickHouse", crashRounds, len(answered.ids), rows)
	})
}

// chStoredIDs counts the rows of each request id of bin in db.requests.
func chStoredIDs(conn clickhouse.Conn, db, bin string) (map[uuid.UUID]int, error) {
	rs, err := conn.Query(context.Background(), "SELECT UUIDNumToString(id) FROM "+db+".requests WHERE bin_id = ?", bin)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	stored := map[uuid.UUID]int{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		stored[uuid.MustParse(id)]++
	}
	return stored, rs.Err()
}

// answeredSet is what the load saw answered 2xx, over every round.
type answeredSet struct {
	bin string
	ids map[uuid.UUID]bool
}

func (s *answeredSet) allIn(stored map[uuid.UUID]int) bool {
	for id := range s.ids {
		if stored[id] == 0 {
			return false
		}
	}
	return true
}

// crashRoundsUnderLoad runs crashRounds rounds of: start hookscope as a
// child process on dir, send concurrent captures until at least 150 of
// this round were answered, SIGKILL it while the load is still running.
func crashRoundsUnderLoad(t *testing.T, dir string, env map[string]string) *answeredSet {
	t.Helper()
	set := &answeredSet{ids: map[uuid.UUID]bool{}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	for round := range crashRounds {
		child, base, stderr := startCrashChild(t, dir, env, 0)
		if set.bin == "" {
			var b binResp
			doJSON(t, "POST", base+"/api/v1/bins", nil, 201, &b)
			set.bin = b.ID
		}
		var (
			mu      sync.Mutex
			killed  atomic.Bool
			inRound atomic.Int64
			wg      sync.WaitGroup
		)
		for w := range 8 {
			wg.Go(func() {
				for i := 0; !killed.Load(); i++ {
					resp, err := client.Post(base+"/h/"+set.bin+"/load", "application/json",
						strings.NewReader(fmt.Sprintf(`{"round":%d,"w":%d,"i":%d}`, round, w, i)))
					if err != nil {
						if !killed.Load() {
							t.Errorf("round %d: %v", round, err)
						}
						return
					}
					_, rerr := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					// Only a complete 2xx answer counts: a connection cut
					// mid-answer was never answered.
					if rerr == nil && resp.StatusCode/100 == 2 {
						id, err := uuid.Parse(resp.Header.Get("X-Hookscope-Request-Id"))
						if err != nil {
							t.Errorf("2xx without a request id: %v", err)
							return
						}
						mu.Lock()
						set.ids[id] = true
						mu.Unlock()
						inRound.Add(1)
					} else if rerr == nil && !killed.Load() {
						t.Errorf("round %d: status %d", round, resp.StatusCode)
						return
					}
				}
			})
		}
		pollUntil(t, "150 answers in this round", func() bool { return inRound.Load() >= 150 || t.Failed() })
		// SIGKILL with the load running: no shutdown, no flush.
		killed.Store(true)
		if err := child.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		child.Wait()
		wg.Wait()
		client.CloseIdleConnections()
		if t.Failed() {
			t.Fatalf("round %d; child stderr:\n%s", round, stderr.String())
		}
	}
	return set
}

// startCrashChild starts hookscope (TestCrashChild) on dir and a free port
// and waits until it serves. fsizeBlocks > 0 limits the size of every file
// it writes (ulimit -f, 512-byte blocks): a disk that fills up.
func startCrashChild(t *testing.T, dir string, env map[string]string, fsizeBlocks int) (*exec.Cmd, string, *lockedWriter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	if fsizeBlocks > 0 {
		// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
		child = exec.Command("sh", "-c", fmt.Sprintf(`ulimit -f %d && exec "$0" "$@"`, fsizeBlocks), os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	}
	child.Env = append(os.Environ(), "HOOKSCOPE_CRASH_CHILD=1", "HOOKSCOPE_ADDR="+addr, "HOOKSCOPE_DATA_DIR="+dir,
		"HOOKSCOPE_LOG_LEVEL=warn", "HOOKSCOPE_RATE_PER_IP=0")
	for k, v := range env {
		child.Env = append(child.Env, k+"="+v)
	}
	stderr := &lockedWriter{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	base := "http://" + addr
	pollUntil(t, "the child to serve", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return child, base, stderr
}

// lockedWriter collects a child's stderr, written by exec's goroutine.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pollUntil polls cond until it holds; the deadline is generous (a bound
// for polling on a shared machine, not a timed assertion).
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
