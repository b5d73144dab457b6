package forward

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/netguard"
	"github.com/hookscope/hookscope/schema"
)

func TestTargetURL(t *testing.T) {
	tests := []struct {
		base, path, query, want string
		err                     bool
	}{
		{"http://x/hooks", "/", "", "http://x/hooks", false},
		{"http://x/hooks", "/a/b", "", "http://x/hooks/a/b", false},
		{"http://x/hooks/", "/a", "q=1", "http://x/hooks/a?q=1", false},
		{"http://x", "/a", "", "http://x/a", false},
		{"http://x/?k=v", "/a", "q=1&q=2", "http://x/a?k=v&q=1&q=2", false},
		{"http://x/base", "/a%2Fb/c%20d", "", "http://x/base/a%2Fb/c%20d", false}, // escapes kept as sent
		{"ftp://x", "/", "", "", true},
		{"http://", "/", "", "", true},
		{"not a url", "/", "", "", true},
	}
	for _, tt := range tests {
		got, err := TargetURL(tt.base, &schema.Request{Path: tt.path, Query: tt.query})
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("TargetURL(%q, %q, %q) = %q, %v; want %q", tt.base, tt.path, tt.query, got, err, tt.want)
		}
	}
}

func TestCopyHeaders(t *testing.T) {
	h := http.Header{}
	CopyHeaders(h, []schema.Header{
		{Name: "X-Dup", Value: "1"}, {Name: "Host", Value: "evil"}, {Name: "Content-Length", Value: "9"}, {Name: "Connection", Value: "keep-alive, X-Conn-Listed"},
		{Name: "X-Conn-Listed", Value: "drop"}, {Name: "Keep-Alive", Value: "timeout=5"}, {Name: "Transfer-Encoding", Value: "chunked"}, {Name: "TE", Value: "trailers"},
		{Name: "Upgrade", Value: "websocket"}, {Name: "Proxy-Authorization", Value: "secret"}, {Name: "x-lower-case", Value: "kept"}, {Name: "X-Dup", Value: "2"},
	})
	want := map[string][]string{"X-Dup": {"1", "2"}, "x-lower-case": {"kept"}}
	if fmt.Sprint(map[string][]string(h)) != fmt.Sprint(want) {
		t.Errorf("copied %v, want %v", h, want)
	}
}

func TestFailed(t *testing.T) {
	for _, tt := range []struct {
		fw   *schema.Forward
		want bool
	}{
		{nil, false},
		{&schema.Forward{Status: 200}, false},
		{&schema.Forward{Status: 299}, false},
		{&schema.Forward{Status: 302}, true},
		{&schema.Forward{Status: 500}, true},
		{&schema.Forward{Error: "timeout after 1s"}, true},
	} {
		if got := Failed(tt.fw); got != tt.want {
			t.Errorf("Failed(%+v) = %v", tt.fw, got)
		}
	}
}

// TestSubmitQueueFullAndClose: a saturated pool refuses at once, and Close
// with an expired context cancels in-flight forwards, whose callbacks
// still run.
func TestSubmitQueueFullAndClose(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	f := New(Options{Client: netguard.New(netguard.Options{AllowPrivate: true}).Client(), Workers: 1, QueueLen: 1})
	var done atomic.Int32
	var errs atomic.Int32
	cb := func(fw schema.Forward) {
		done.Add(1)
		if fw.Error != "" {
			errs.Add(1)
		}
	}
	cfg := schema.ForwardConfig{URL: srv.URL, Timeout: "30s"}
	r := &schema.Request{Method: "POST", Path: "/"}
	if err := f.Submit(cfg, r, cb); err != nil {
		t.Fatal(err)
	}
	// Wait for the worker to pick the first job, then fill the queue.
	deadline := time.Now().Add(5 * time.Second)
	for f.Pending() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := f.Submit(cfg, r, cb); err != nil {
		t.Fatal(err)
	}
	if err := f.Submit(cfg, r, cb); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third submit: %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.Close(ctx); err == nil {
		t.Fatal("Close returned nil while forwards were blocked")
	}
	if done.Load() != 2 || errs.Load() != 2 {
		t.Fatalf("callbacks %d (errors %d), want 2 and 2", done.Load(), errs.Load())
	}
	if err := f.Submit(cfg, r, cb); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

// TestSendRecordsLatency: the latency of a forward reaches the result (a
// deferred assignment to a local once left it at 0 for every forward). The
// clock is injected: each reading is 7ms after the previous one.
func TestSendRecordsLatency(t *testing.T) {
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }))
	defer tg.Close()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(7 * time.Millisecond)
		return now
	}
	f := New(Options{Client: netguard.New(netguard.Options{AllowPrivate: true}).Client(), Now: clock})
	defer f.Close(context.Background())
	for _, keep := range []bool{false, true} {
		res := f.Send(context.Background(), tg.URL, time.Second, &schema.Request{Method: "POST", Body: []byte("x")}, ModeProxy, keep)
		if res.Forward.Status != 201 || res.Forward.LatencyUS < 7000 {
			t.Fatalf("keepAnswer=%v: status %d latency %dus, want 201 and >= 7000us", keep, res.Forward.Status, res.Forward.LatencyUS)
		}
	}
	// A failed forward has a latency too.
	res := f.Send(context.Background(), "http://127.0.0.1:1/", time.Second, &schema.Request{Method: "GET"}, ModeAsync, false)
	if res.Forward.Error == "" || res.Forward.LatencyUS < 7000 {
		t.Fatalf("failed forward: %+v", res.Forward)
	}
}
