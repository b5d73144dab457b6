package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest"
)

// TestCrashChild is the hookscope process the crash tests start and kill
// (startCrashChild); it only runs as their child.
func TestCrashChild(t *testing.T) {
	if os.Getenv("HOOKSCOPE_CRASH_CHILD") == "" {
		t.Skip("helper process of the crash tests")
	}
	_ = run(context.Background(), []string{"serve"}, os.Getenv, os.Stdout, os.Stderr)
}

// TestAsyncForwardSurvivesCrash: requests answered while their async
// forward is in flight are on disk (the forward journal); after a kill -9
// the next start records them, with an error saying the forward was
// interrupted.
func TestAsyncForwardSurvivesCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	var arrived atomic.Int32
	release := make(chan struct{})
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer tg.Close()
	defer close(release)

	child, base, stderr := startCrashChild(t, dir, map[string]string{
		"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_FLUSH_INTERVAL": "5ms"}, 0)
	child1 := &testApp{base: base}
	bin := child1.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL, "mode": "async", "timeout": "60s"}})
	var ids []string
	for i := 0; i < 3; i++ {
		s, h, _ := call(t, "POST", base+"/h/"+bin.ID, map[string]string{"X-N": string(rune('0' + i))}, "payload")
		if s != 200 {
			t.Fatalf("capture: %d", s)
		}
		ids = append(ids, h.Get("X-Hookscope-Request-Id"))
	}
	waitFor(t, "3 forwards in flight", func() bool { return arrived.Load() == 3 })
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	child.Wait()

	a := startApp(t, dir, allowPrivate)
	a.waitCount(t, bin.ID, 3)
	for _, id := range ids {
		r := a.get(t, bin.ID, id)
		if r.Forward == nil || r.Forward.Error != ingest.JournalInterrupted || r.Forward.URL != tg.URL || r.ResponseStatus != 200 || r.Body.Data != "payload" {
			t.Errorf("recovered record %s: forward %+v status %d body %+v", id, r.Forward, r.ResponseStatus, r.Body)
		}
	}
	// Recovered once: a second restart adds nothing.
	a.stop(t)
	a = startApp(t, dir, allowPrivate)
	time.Sleep(100 * time.Millisecond)
	a.waitCount(t, bin.ID, 3)
	if t.Failed() {
		t.Logf("child stderr:\n%s", stderr.String())
	}
}
