package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestForwardSkipsReplays: a replay (the server re-sending a request on the
// owner's demand) reaches the live feed marked replay_of; `hookscope
// forward` does not deliver it a second time unless -include-replays. The
// banner names the bin without the share link's token.
func TestForwardSkipsReplays(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	bin := a.newBin(t, nil)
	var share struct{ URL, Token string }
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", bin.Token, nil, 201, &share)

	type receiver struct {
		mu    sync.Mutex
		paths []string
	}
	listen := func() (*receiver, string) {
		r := &receiver{}
		tg := newTarget(t, func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			r.paths = append(r.paths, req.URL.Path)
			r.mu.Unlock()
			w.WriteHeader(204)
		})
		return r, tg.URL
	}
	count := func(r *receiver) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.paths) }
	plain, plainURL := listen()
	all, allURL := listen()
	replayTarget, replayURL := listen()

	out, errOut := runClient(t, "forward", share.URL, "-to", plainURL)
	outAll, errAll := runClient(t, "forward", share.URL, "-to", allURL, "-include-replays")
	waitFor(t, "both forwards to connect", func() bool {
		return strings.Contains(errOut.String(), "connected") && strings.Contains(errAll.String(), "connected")
	})
	for _, banner := range []string{errOut.String(), errAll.String()} {
		if strings.Contains(banner, share.Token) {
			t.Errorf("forward printed the share token:\n%s", banner)
		}
		if !strings.Contains(banner, "token=REDACTED") {
			t.Errorf("banner does not show the redacted bin URL:\n%s", banner)
		}
	}

	_, h, _ := call(t, "POST", a.base+"/h/"+bin.ID+"/orig", nil, `{"n":1}`)
	orig := h.Get("X-Hookscope-Request-Id")
	waitFor(t, "the capture delivered by both", func() bool { return count(plain) == 1 && count(all) == 1 })
	a.waitCount(t, bin.ID, 1)
	var rep struct {
		ID       string `json:"id"`
		ReplayOf string `json:"replay_of"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, map[string]any{"url": replayURL + "/again"}, 201, &rep)
	if count(replayTarget) != 1 {
		t.Fatalf("replay target got %d", count(replayTarget))
	}
	waitFor(t, "-include-replays to deliver the replay", func() bool { return count(all) == 2 })
	waitFor(t, "the default forward to report the skip", func() bool { return strings.Contains(out.String(), "skipped") })
	if n := count(plain); n != 1 {
		t.Errorf("the default forward delivered %d requests, want 1 (the replay skipped)", n)
	}
	if !strings.Contains(out.String(), orig) {
		t.Errorf("skip line does not name the original:\n%s", out)
	}
	if strings.Contains(outAll.String(), "skipped") {
		t.Errorf("-include-replays skipped something:\n%s", outAll)
	}
	// The request views mark the replay too.
	var full struct {
		ReplayOf string `json:"replay_of"`
	}
	doJSONAuth(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+rep.ID, bin.Token, nil, 200, &full)
	if full.ReplayOf != orig {
		t.Errorf("replay record's replay_of = %q, want %q", full.ReplayOf, orig)
	}
}

// TestMigrateHelp: `hookscope migrate --help` describes migrate, not serve.
func TestMigrateHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"migrate", "--help"}, func(string) string { return "" }, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("migrate --help: %v", err)
	}
	help := out.String() + errOut.String()
	if !strings.Contains(help, "Usage: hookscope migrate [flags]") || !strings.Contains(help, "migrations") {
		t.Errorf("migrate --help printed:\n%s", help)
	}
	if strings.Contains(help, "[serve|migrate") || strings.Contains(help, "Serve flags") {
		t.Errorf("migrate --help printed serve's usage:\n%s", help)
	}
}
