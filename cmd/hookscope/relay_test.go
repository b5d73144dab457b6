package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer safe for a command goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runClient runs a client command until the test ends.
func runClient(t *testing.T, args ...string) (stdout, stderr *syncBuffer) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(string) string { return "" }, stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v\nstderr: %s", args[0], err, stderr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop", args[0])
		}
	})
	return stdout, stderr
}

func TestTailCommand(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true}, 201, &bin)
	out, errOut := runClient(t, "tail", bin.URL, "-token", bin.Token)
	waitFor(t, "tail to connect", func() bool { return strings.Contains(errOut.String(), "connected") })
	call(t, "POST", a.base+"/h/"+bin.ID+"/stripe/events?x=1", nil, strings.Repeat("a", 1500))
	call(t, "DELETE", a.base+"/h/"+bin.ID+"/thing", nil, "")
	waitFor(t, "two lines", func() bool { return strings.Count(out.String(), "\n") == 2 })
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, want := range [][]string{{"POST", "/stripe/events?x=1", "200", "1.5kB", "unchecked"}, {"DELETE", "/thing", "200", "0B"}} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %q lacks %q", lines[i], w)
			}
		}
	}
	// Without the token, tail says why and stops.
	var o, e bytes.Buffer
	err := run(context.Background(), []string{"tail", bin.URL}, func(string) string { return "" }, &o, &e)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("tail without token: %v", err)
	}
}

// TestForwardCommandAcrossRestart relays a bin to a local receiver while
// the server restarts on the same port and data dir: every request
// captured, before, while the client is disconnected, and after, reaches
// the receiver exactly once, in order.
func TestForwardCommandAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	addr := a.Addr()
	bin := a.newBin(t, nil)
	// A request from before the relay started is not replayed.
	call(t, "POST", a.base+"/h/"+bin.ID+"/old", nil, "old")
	a.waitCount(t, bin.ID, 1)

	var mu sync.Mutex
	var got []string // X-Seq values in arrival order
	var bodies []string
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("X-Seq")+" "+r.Method+" "+r.URL.RequestURI())
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer local.Close()
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}

	out, errOut := runClient(t, "forward", bin.URL, "-to", local.URL+"/webhooks")
	waitFor(t, "forward to connect", func() bool { return strings.Contains(errOut.String(), "connected") })

	send := func(from, to int) {
		for i := from; i < to; i++ {
			s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID+fmt.Sprintf("/e/%d?n=%d", i, i), map[string]string{"X-Seq": fmt.Sprint(i)}, fmt.Sprintf(`{"n":%d}`, i))
			if s != 200 {
				t.Fatalf("capture %d: %d", i, s)
			}
		}
	}
	send(0, 5)
	waitFor(t, "5 relayed", func() bool { return len(received()) == 5 })

	// Restart: the client is disconnected; requests captured right after
	// the restart (before it reconnects) come through the after= backlog.
	a.stop(t)
	a = startApp(t, dir, map[string]string{"HOOKSCOPE_ADDR": addr})
	send(5, 12)
	waitFor(t, "12 relayed", func() bool { return len(received()) == 12 })
	send(12, 15)
	waitFor(t, "15 relayed", func() bool { return len(received()) == 15 })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up

	gotNow := received()
	if len(gotNow) != 15 {
		t.Fatalf("received %d requests, want 15: %v", len(gotNow), gotNow)
	}
	for i, g := range gotNow {
		if want := fmt.Sprintf("%d POST /webhooks/e/%d?n=%d", i, i, i); g != want {
			t.Errorf("delivery %d = %q, want %q", i, g, want)
		}
		if bodies[i] != fmt.Sprintf(`{"n":%d}`, i) {
			t.Errorf("body %d = %q", i, bodies[i])
		}
	}
	if !strings.Contains(errOut.String(), "reconnecting") {
		t.Errorf("the client never saw the disconnect:\n%s", errOut)
	}
	if n := strings.Count(out.String(), "-> 204"); n != 15 {
		t.Errorf("printed %d deliveries, want 15:\n%s", n, out)
	}
}
