package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// TestClickHouseBackendServesTheAPI runs the app on ClickHouse: the same API
// answers as the embedded store (the store-level conformance suite covers
// every query in depth; this proves the wiring).
func TestClickHouseBackendServesTheAPI(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)})
		bin := a.newBin(t, map[string]any{"name": "ch"})
		for i := range 5 {
			resp, err := http.Post(a.base+"/h/"+bin.ID+"/e", "application/json", strings.NewReader(fmt.Sprintf(`{"i":%d,"needle":%v}`, i, i == 3)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		l := a.waitCount(t, bin.ID, 5)
		var full reqResp
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+l.Requests[0].ID, nil, 200, &full)
		if full.Body == nil || full.Body.Data != `{"i":4,"needle":false}` {
			t.Errorf("newest body %+v", full.Body)
		}
		if q := a.list(t, bin.ID, "q=NEEDLE%22:TRUE"); len(q.Requests) != 1 {
			t.Errorf("q search on ClickHouse found %d", len(q.Requests))
		}
		var st struct {
			Total int64 `json:"total"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/stats", nil, 200, &st)
		if st.Total != 5 {
			t.Errorf("stats total %d", st.Total)
		}
	})
}

// TestClickHouseOutageLosesNothing is issue 3's fault test: with load
// running, ClickHouse is killed (SIGKILL), capture goes on (the store
// writer's position falls behind in the capture log), ClickHouse comes back,
// and every request answered 2xx is in ClickHouse exactly once.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: skipped in -short mode")
	}
	chtest.EachOwn(t, func(t *testing.T, srv *chtest.Server) {
		dsn := srv.DSN("hookscope_fault")
		a := startApp(t, t.TempDir(), map[string]string{
			"HOOKSCOPE_CLICKHOUSE_URL": dsn,
			"HOOKSCOPE_FLUSH_INTERVAL": "20ms",
		})
		bin := a.newBin(t, nil)

		load := startLoad(t, a.base, bin.ID)
		count := load.count
		time.Sleep(700 * time.Millisecond)
		beforeKill := count()
		srv.Kill()
		time.Sleep(1500 * time.Millisecond)
		duringOutage := count() - beforeKill
		if d := metricValue(t, a.base, "hookscope_writer_queue_depth"); d == 0 {
			t.Error("the store writer is not behind during the outage")
		}
		srv.Restart(t)
		time.Sleep(700 * time.Millisecond)
		answered, refused := load.finish()
		total := len(answered)
		t.Logf("answered 2xx: %d (%d during the outage), refused: %d", total, duringOutage, refused)
		if duringOutage == 0 {
			t.Fatal("capture stopped while ClickHouse was down")
		}
		if refused != 0 {
			t.Errorf("%d requests refused; the capture log should have taken them", refused)
		}

		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{strings.Split(dsn, "/")[2]}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var rows, distinct uint64
			row := conn.QueryRow(context.Background(),
				"SELECT count(), uniqExact(id) FROM hookscope_fault.requests WHERE bin_id = ?", bin.ID)
			if err := row.Scan(&rows, &distinct); err != nil {
				t.Fatal(err)
			}
			if int(distinct) == total {
				if rows != distinct {
					t.Fatalf("%d rows for %d distinct ids: duplicates", rows, distinct)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ClickHouse has %d distinct requests, %d were answered 2xx", distinct, total)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// And every answered id is among them.
		rows, err := conn.Query(context.Background(), "SELECT UUIDNumToString(id) FROM hookscope_fault.requests WHERE bin_id = ?", bin.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			stored[id] = true
		}
		rows.Close()
		for id := range answered {
			if !stored[id] {
				t.Fatalf("answered request %s is not in ClickHouse", id)
			}
		}
		pollUntil(t, "the writer to catch up", func() bool { return metricValue(t, a.base, "hookscope_writer_queue_depth") == 0 })
	})
}

// loadGen posts to a bin from 4 workers until finished and records the id
// of every request answered 2xx.
type loadGen struct {
	mu       sync.Mutex
	answered map[string]bool
	refused  atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, base, binID string) *loadGen {
	l := &loadGen{answered: map[string]bool{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Post(base+"/h/"+binID+"/load", "application/json", strings.NewReader(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					l.mu.Lock()
					l.answered[resp.Header.Get("X-Hookscope-Request-Id")] = true
					l.mu.Unlock()
				} else {
					l.refused.Add(1)
				}
			}
		}()
	}
	return l
}

// count is how many requests were answered 2xx so far.
func (l *loadGen) count() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.answered) }

// finish stops the workers and returns the ids answered 2xx and how many
// requests were refused.
func (l *loadGen) finish() (map[string]bool, int64) {
	close(l.stop)
	l.wg.Wait()
	return l.answered, l.refused.Load()
}
