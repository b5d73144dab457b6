package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/schema"
)

// redactedRetryBin is a bin that redacts a header and a body path and
// forwards to tg with retries 1s apart (long enough to stop the app
// between attempts); body and hdr carry the secrets.
func redactedRetryBin(t *testing.T, a *testApp, url string) (bin binResp, hdr map[string]string, body string) {
	t.Helper()
	bin = a.newBin(t, map[string]any{
		"redact":  map[string]any{"headers": []string{"X-Shop-Token"}, "body_paths": []string{"card.number"}},
		"forward": map[string]any{"url": url, "retry": map[string]any{"max_attempts": 3, "initial": "1s", "max": "1s"}},
	})
	hdr = map[string]string{"Authorization": "Bearer SECRETBEARER", "X-Shop-Token": "SECRETSHOP", "Content-Type": "application/json"}
	body = `{"card":{"number":"4242424242424242","exp":"12/30"},"amount":5}`
	return bin, hdr, body
}

// stoppedBeforeRetry starts the app on dir, captures into a
// redactedRetryBin forwarding to tg, and stops the app once tg got the
// first attempt (the retry waits in the journal).
func stoppedBeforeRetry(t *testing.T, dir string, tg *target) (a *testApp, bin binResp, id string, hdr map[string]string, body string) {
	t.Helper()
	a = startApp(t, dir, allowPrivate)
	bin, hdr, body = redactedRetryBin(t, a, tg.URL)
	id = captureID(t, a, bin.ID, "POST", hdr, body)
	waitFor(t, "the first attempt", func() bool { got, _ := tg.requests(); return len(got) >= 1 })
	a.stop(t)
	return a, bin, id, hdr, body
}

// statusTarget answers its i-th request with statuses[i] (the last once
// they run out) and keeps every request.
func statusTarget(t *testing.T, statuses ...int) *target {
	var mu sync.Mutex
	n := 0
	return newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := statuses[min(n, len(statuses)-1)]
		n++
		mu.Unlock()
		w.WriteHeader(st)
	})
}

// TestRedactedCaptureRetriedAcrossRestartSendsTheOriginal: a bin redacts
// a header and a body path; the first attempt of its forward sends the
// request as it arrived and fails; hookscope stops and starts again (same
// data dir) before the retry; the retry, read back from the forward
// journal, sends byte for byte the same body and the same secret headers
// as the first attempt, while the record stays redacted. Once delivered,
// no file in the data dir holds a secret any more (the journal entry,
// which held the original only for the retry, is gone).
func TestRedactedCaptureRetriedAcrossRestartSendsTheOriginal(t *testing.T) {
	dir := t.TempDir()
	tg := statusTarget(t, 500, 200)
	a, bin, id, hdr, body := stoppedBeforeRetry(t, dir, tg)
	if got, _ := tg.requests(); len(got) != 1 {
		t.Fatalf("the target got %d requests before the restart, want 1", len(got))
	}
	if !journalHolds(t, a, id) {
		t.Fatal("the pending retry is not in the journal while stopped")
	}
	// The journal's JSON holds bodies in base64: the secrets as they
	// would be found on disk.
	secrets := []string{"4242424242424242", base64.StdEncoding.EncodeToString([]byte(body)), "SECRETBEARER", "SECRETSHOP"}
	if !journalContains(t, dir, secrets[1]) || !journalContains(t, dir, "SECRETBEARER") {
		t.Fatal("the journal does not hold the request as it arrived while its retry waits")
	}

	a = startApp(t, dir, allowPrivate)
	r := waitRecord(t, a, bin.ID, id, "delivered on the retry", func(f *schema.Forward) bool { return f.State == schema.ForwardDelivered })
	if got := statuses(r.Forward); len(got) != 2 || got[0] != 500 || got[1] != 200 {
		t.Errorf("attempts %v, want [500 200]", got)
	}
	reqs, bodies := tg.requests()
	if len(reqs) != 2 {
		t.Fatalf("the target got %d requests, want 2", len(reqs))
	}
	for i, b := range bodies {
		if string(b) != body {
			t.Errorf("attempt %d sent body %s, want the body as it arrived %s", i+1, b, body)
		}
		for _, h := range []string{"Authorization", "X-Shop-Token"} {
			if got := reqs[i].Header.Get(h); got != hdr[h] {
				t.Errorf("attempt %d sent %s %q, want %q", i+1, h, got, hdr[h])
			}
		}
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("first attempt and retry sent different bodies:\n %s\n %s", bodies[0], bodies[1])
	}

	// The record is as redacted as ever.
	ctl := a.getControl(t, bin.ID, id)
	if strings.Contains(ctl.Body.Data, "4242424242424242") || ctl.Redacted == nil {
		t.Errorf("the stored record lost its redaction: %s %+v", ctl.Body.Data, ctl.Redacted)
	}
	for _, h := range ctl.Headers {
		if (h[0] == "Authorization" || h[0] == "X-Shop-Token") && h[1] != "[redacted]" {
			t.Errorf("stored header %s = %q", h[0], h[1])
		}
	}

	// The original left the journal with the delivery.
	a.stop(t)
	assertNoSecretOnDisk(t, dir, secrets...)
}

func journalContains(t *testing.T, dir, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "forward-inflight.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(s))
}

// assertNoSecretOnDisk fails when any file under dir holds a secret.
func assertNoSecretOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk data dir: %v (%d files)", err, files)
	}
}

// TestRedactedRetryWithoutTheOriginalFails: a journal entry that lacks the
// request as it arrived (here rewritten as a version before this one wrote
// it) cannot be retried with the same bytes; after the restart the retry
// does not send the redacted record in its place: the forward fails,
// saying why, and the target never sees a redacted request.
func TestRedactedRetryWithoutTheOriginalFails(t *testing.T) {
	dir := t.TempDir()
	tg := statusTarget(t, 500, 200)
	a, bin, id, _, _ := stoppedBeforeRetry(t, dir, tg)

	path := filepath.Join(dir, "forward-inflight.jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	stripped := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("journal line %s: %v", sc.Bytes(), err)
		}
		if _, ok := l["orig"]; ok {
			delete(l, "orig")
			stripped++
		}
		b, _ := json.Marshal(l)
		out.Write(append(b, '\n'))
	}
	if stripped == 0 {
		t.Fatalf("no journal line held the original: %s", raw)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	a = startApp(t, dir, allowPrivate)
	r := waitRecord(t, a, bin.ID, id, "the forward failed", func(f *schema.Forward) bool { return f.State == schema.ForwardFailed })
	if r.Forward.Error != ingest.ErrOriginalLost {
		t.Errorf("forward error %q, want %q", r.Forward.Error, ingest.ErrOriginalLost)
	}
	if n := a.pipe.PendingRetries(); n != 0 {
		t.Errorf("%d retries pending", n)
	}
	if got, _ := tg.requests(); len(got) != 1 {
		t.Errorf("the target got %d requests, want only the first attempt", len(got))
	}
}
