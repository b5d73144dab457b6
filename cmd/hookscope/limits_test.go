package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		bins       []int // which bin each request goes to
		wantStatus []int
		reason     string
		msg        string
		refused    []int64 // refused_count per bin
	}{
		{
			name: "per bin", env: map[string]string{"HOOKSCOPE_RATE_PER_BIN": "3"},
			bins:       []int{0, 0, 0, 0, 0, 1},
			wantStatus: []int{200, 200, 200, 429, 429, 200},
			reason:     "rate_bin", msg: "rate limit for this bin", refused: []int64{2, 0},
		},
		{
			name: "per IP", env: map[string]string{"HOOKSCOPE_RATE_PER_IP": "2"},
			bins:       []int{0, 1, 1, 0},
			wantStatus: []int{200, 200, 429, 429},
			reason:     "rate_ip", msg: "rate limit for your address", refused: []int64{1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startApp(t, t.TempDir(), tt.env)
			bins := []string{a.newBin(t, nil).ID, a.newBin(t, nil).ID}
			accepted := make([]int, 2)
			for i, bi := range tt.bins {
				s, h, b := call(t, "POST", a.base+"/h/"+bins[bi], nil, "x")
				if s != tt.wantStatus[i] {
					t.Fatalf("request %d: %d %s, want %d", i, s, b, tt.wantStatus[i])
				}
				if s == 200 {
					accepted[bi]++
					continue
				}
				if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("Retry-After %q", h.Get("Retry-After"))
				}
				if !strings.Contains(string(b), tt.msg) || !strings.HasPrefix(string(b), `{"error":`) {
					t.Errorf("429 body %s", b)
				}
			}
			var total int64
			for bi, id := range bins {
				a.waitCount(t, id, accepted[bi]) // refused requests are not recorded
				var got struct {
					RefusedCount *int64 `json:"refused_count"`
				}
				doJSON(t, "GET", a.base+"/api/v1/bins/"+id, nil, 200, &got)
				if got.RefusedCount == nil || *got.RefusedCount != tt.refused[bi] {
					t.Errorf("bin %d refused_count %v, want %d", bi, got.RefusedCount, tt.refused[bi])
				}
				total += tt.refused[bi]
			}
			_, _, metrics := call(t, "GET", a.base+"/metrics", nil, "")
			if want := fmt.Sprintf(`hookscope_capture_limited_total{reason=%q} %d`, tt.reason, total); !strings.Contains(string(metrics), want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

func TestHeaderLimits(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_HEADERS": "20", "HOOKSCOPE_MAX_HEADER_BYTES": "8192"})
	bin := a.newBin(t, nil)
	headers := func(n, size int) string {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, "X-H%d: %s\r\n", i, strings.Repeat("v", size))
		}
		return sb.String()
	}
	tests := []struct {
		name   string
		extra  string
		status int
	}{
		{"within limits", headers(15, 10), 200},
		{"too many headers", headers(25, 10), 431},
		{"headers too large", headers(5, 3000), 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := fmt.Sprintf("POST /h/%s HTTP/1.1\r\nHost: x\r\n%sContent-Length: 2\r\n\r\nhi", bin.ID, tt.extra)
			resp := rawRequest(t, a.Addr(), []byte(raw))
			if resp.StatusCode != tt.status {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d %s, want %d", resp.StatusCode, b, tt.status)
			}
		})
	}
	a.waitCount(t, bin.ID, 1)
	var got struct {
		RefusedCount int64 `json:"refused_count"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID, nil, 200, &got)
	if got.RefusedCount != 1 { // the oversize block is refused by fasthttp before we know the bin
		t.Errorf("refused_count %d, want 1", got.RefusedCount)
	}
}

// TestSlowloris: a client that sends its headers a byte at a time is cut
// off after the read timeout, and a normal client is served meanwhile.
func TestSlowloris(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_READ_TIMEOUT": "1s"})
	bin := a.newBin(t, nil)
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	head := fmt.Sprintf("POST /h/%s HTTP/1.1\r\nHost: x\r\nX-Slow: %s", bin.ID, strings.Repeat("a", 200))
	closed := make(chan time.Duration, 1)
	go func() {
		// The server closes the connection (possibly after a 408): reading
		// returns once it did.
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- time.Since(start)
	}()
	for i := 0; i < len(head); i++ {
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			break // the server hung up
		}
		select {
		case <-closed:
			i = len(head)
			closed <- time.Since(start)
		case <-time.After(50 * time.Millisecond):
		}
		// A normal request is served while the slow one trickles.
		if i == 5 {
			if s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, "fast"); s != 200 {
				t.Errorf("normal request during slowloris: %d", s)
			}
		}
	}
	select {
	case d := <-closed:
		if d > 5*time.Second {
			t.Fatalf("slow connection lived %v with a 1s read timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow connection was never closed")
	}
	a.waitCount(t, bin.ID, 1) // only the normal request
}

// TestSlowBody: a client that sends its body a byte at a time is cut off
// by the same read timeout.
func TestSlowBody(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_READ_TIMEOUT": "1s"})
	bin := a.newBin(t, nil)
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "POST /h/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", bin.ID); err != nil {
		t.Fatal(err)
	}
	var lived time.Duration
	for time.Since(start) < 10*time.Second {
		if _, err := conn.Write([]byte("x")); err != nil {
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var b [1]byte
		if _, err := conn.Read(b[:]); err != nil && !isTimeout(err) {
			break // closed by the server (possibly after an answer)
		}
	}
	lived = time.Since(start)
	if lived > 5*time.Second {
		t.Fatalf("slow body connection lived %v with a 1s read timeout", lived)
	}
	// A body the sender never finished is not a delivery: nothing recorded.
	time.Sleep(200 * time.Millisecond)
	if l := a.list(t, bin.ID, ""); len(l.Requests) != 0 {
		t.Fatalf("recorded %d requests from an unfinished body", len(l.Requests))
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestMaxRequestsPerBin(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_MAX_REQUESTS_PER_BIN": "5", "HOOKSCOPE_PURGE_INTERVAL": "50ms"})
	bin := a.newBin(t, nil)
	var ids []string
	for i := 0; i < 12; i++ {
		_, h, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/"+strconv.Itoa(i), nil, "x")
		ids = append(ids, h.Get("X-Hookscope-Request-Id"))
	}
	// The janitor trims on its own schedule while batches land, so a list may
	// briefly hold five older requests; wait for the settled state: the
	// newest five, newest first.
	want := fmt.Sprint(ids[len(ids)-1], ids[len(ids)-2], ids[len(ids)-3], ids[len(ids)-4], ids[len(ids)-5])
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := a.list(t, bin.ID, "limit=100")
		var got []any
		for _, r := range l.Requests {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got...) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kept %v, want the newest five %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+ids[0], nil, ""); s != http.StatusNotFound {
		t.Errorf("oldest request still readable: %d", s)
	}
}
