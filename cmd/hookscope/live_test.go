package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

type liveMsg struct {
	Type    string  `json:"type"`
	Request reqResp `json:"request"`
}

func dialLive(t *testing.T, a *testApp, bin, params string) *websocket.Conn {
	t.Helper()
	return dialLiveHdr(t, a, bin, params, nil)
}

func readLive(t *testing.T, c *websocket.Conn, n int) []liveMsg {
	t.Helper()
	return readLiveWithin(t, c, n, 10*time.Second)
}

// readLiveWithin is readLive with its own deadline for all n messages.
func readLiveWithin(t *testing.T, c *websocket.Conn, n int, d time.Duration) []liveMsg {
	t.Helper()
	var out []liveMsg
	_ = c.SetReadDeadline(time.Now().Add(d))
	for len(out) < n {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		var m liveMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("bad message %s: %v", b, err)
		}
		out = append(out, m)
	}
	return out
}

func postN(t *testing.T, a *testApp, bin, path string, n, from int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		resp, err := http.Post(a.base+"/h/"+bin+path, "application/json", strings.NewReader(fmt.Sprintf(`{"i":%d}`, from+i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Hookscope-Request-Id"))
	}
	return ids
}

func TestLiveFeedDeliversFiltersAndResumes(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir, nil)
	bin := a.newBin(t, nil)

	all := dialLive(t, a, bin.ID, "")
	onlyPut := dialLive(t, a, bin.ID, "method=PUT")
	// No pause: what the hub fans out once the handshake answered reaches
	// the feed (TestLiveFeedGetsWhatIsCapturedOnceOpen).

	start := time.Now()
	ids := postN(t, a, bin.ID, "/a", 3, 0)
	req, _ := http.NewRequest("PUT", a.base+"/h/"+bin.ID+"/put", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ids = append(ids, resp.Header.Get("X-Hookscope-Request-Id"))

	got := readLive(t, all, 4)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("live messages took %v", d)
	}
	for i, m := range got {
		if m.Type != "request" || m.Request.ID != ids[i] || m.Request.BodyPreview == nil {
			t.Fatalf("message %d: %+v, want request %s with body_preview", i, m, ids[i])
		}
	}
	if put := readLive(t, onlyPut, 1); put[0].Request.Method != "PUT" || put[0].Request.ID != ids[3] {
		t.Errorf("filtered feed got %+v", put[0].Request)
	}

	// Resume: the browser saw up to ids[1]; everything after it arrives
	// exactly once, then the live stream continues.
	resumed := dialLive(t, a, bin.ID, "after="+ids[1])
	more := postN(t, a, bin.ID, "/b", 2, 100)
	got = readLive(t, resumed, 4)
	want := []string{ids[2], ids[3], more[0], more[1]}
	for i := range want {
		if got[i].Request.ID != want[i] {
			t.Fatalf("resumed message %d = %s, want %s", i, got[i].Request.ID, want[i])
		}
	}

	// Restart the server; requests captured while the client was away come
	// first on reconnect with after=<last seen>, nothing twice.
	last := more[1]
	port := a.Addr()
	a.stop(t)
	b := startApp(t, dir, map[string]string{"HOOKSCOPE_ADDR": port})
	missed := postN(t, b, bin.ID, "/c", 3, 200)
	c := dialLive(t, b, bin.ID, "after="+last)
	got = readLive(t, c, 3)
	for i := range missed {
		if got[i].Request.ID != missed[i] {
			t.Fatalf("after restart message %d = %s, want %s", i, got[i].Request.ID, missed[i])
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, extra, err := c.ReadMessage(); err == nil {
		t.Fatalf("unexpected extra message %s", extra)
	}
}

func TestLiveFeedRejectsBadRequests(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/v1/bins/" + bin.ID + "/live", 426},            // not a websocket upgrade
		{"/api/v1/bins/" + bin.ID + "/live?after=nope", 400}, // bad cursor
		{"/api/v1/bins/" + bin.ID + "/live?status=6xx", 400}, // bad filter
		{"/api/v1/bins/does-not-exist/live", 404},
	} {
		resp, err := http.Get(a.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s = %d, want %d", c.path, resp.StatusCode, c.want)
		}
	}
}

// TestLiveFeedGetsWhatIsCapturedOnceOpen: a capture answered after the
// feed's websocket handshake completed reaches the feed, with no pause
// between the two. The handler subscribes to the hub some time after the
// 101 went out; what the hub fanned out in between is taken from its
// recent events (the mark taken before the handshake), so a client never
// has to guess when its feed is "really" open.
func TestLiveFeedGetsWhatIsCapturedOnceOpen(t *testing.T) {
	a := startApp(t, t.TempDir(), nil)
	bin := a.newBin(t, nil)
	for i := range 30 {
		c := dialLive(t, a, bin.ID, "")
		id := postN(t, a, bin.ID, fmt.Sprintf("/at-once/%d", i), 1, i)[0]
		if m := readLive(t, c, 1); m[0].Request.ID != id {
			t.Fatalf("feed %d: first message %+v, want request %s", i, m[0], id)
		}
		c.Close()
	}
}
