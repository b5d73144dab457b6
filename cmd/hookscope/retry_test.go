package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// fwdRecord is a request's forward as the API shows it.
type fwdRecord struct {
	ID      string          `json:"id"`
	Method  string          `json:"method"`
	Forward *schema.Forward `json:"forward"`
}

// scripted is a local forward target that answers the i-th request with
// statuses[i] (the last one once they run out).
type scripted struct {
	*target
	mu       sync.Mutex
	statuses []int
	n        int
}

func newScripted(t *testing.T, statuses ...int) *scripted {
	s := &scripted{statuses: statuses}
	s.target = newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := s.statuses[min(s.n, len(s.statuses)-1)]
		s.n++
		s.mu.Unlock()
		w.WriteHeader(st)
	})
	return s
}

func (s *scripted) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *scripted) answer(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses, s.n = statuses, 0
}

func getRecord(t *testing.T, a *testApp, bin, id string) fwdRecord {
	t.Helper()
	var r fwdRecord
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, 200, &r)
	return r
}

// waitRecord polls the request until cond holds.
func waitRecord(t *testing.T, a *testApp, bin, id, what string, cond func(f *schema.Forward) bool) fwdRecord {
	t.Helper()
	var r fwdRecord
	waitFor(t, what, func() bool {
		code, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, "")
		if code != 200 {
			return false
		}
		r = fwdRecord{}
		return json.Unmarshal(b, &r) == nil && r.Forward != nil && cond(r.Forward)
	})
	return r
}

func statuses(f *schema.Forward) []int {
	var out []int
	for _, a := range f.Attempts {
		out = append(out, a.Status)
	}
	return out
}

func listIDs(t *testing.T, a *testApp, bin, params string) []string {
	t.Helper()
	var l struct {
		Requests []fwdRecord `json:"requests"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests?"+params, nil, 200, &l)
	var ids []string
	for _, r := range l.Requests {
		ids = append(ids, r.ID)
	}
	return ids
}

func captureID(t *testing.T, a *testApp, bin, method string, hdr map[string]string, body string) string {
	t.Helper()
	code, _, b := call(t, method, a.base+"/h/"+bin+"/orders", hdr, body)
	var out struct {
		RequestID string `json:"request_id"`
	}
	if code != 200 || json.Unmarshal(b, &out) != nil || out.RequestID == "" {
		t.Fatalf("capture = %d %s", code, b)
	}
	return out.RequestID
}

// storeEnvs runs fn on the embedded store and on each ClickHouse server
// kind (18.16 and 26.7 when its launcher is installed).
func storeEnvs(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true"})
	})
	t.Run("clickhouse", func(t *testing.T) {
		if testing.Short() {
			t.Skip("ClickHouse: skipped in -short mode")
		}
		chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
			fn(t, map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)})
		})
	})
}

// TestForwardRetriedAcrossRestart is issue 18's proof: a target answering
// 500, 500, then 200 gets the capture delivered on the third attempt,
// with hookscope stopped and started again (same data dir) while the
// forward waits for its retry. Every attempt is on the record with its
// status, the target got exactly three requests (none lost, none doubled
// by the restart), and forward= finds the request in each state.
func TestForwardRetriedAcrossRestart(t *testing.T) {
	storeEnvs(t, func(t *testing.T, env map[string]string) {
		dir := t.TempDir()
		tg := newScripted(t, 500, 500, 200)
		a := startApp(t, dir, env)
		bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL,
			"retry": map[string]any{"max_attempts": 5, "initial": "1s", "max": "1s"}}})
		id := captureID(t, a, bin.ID, "POST", nil, `{"order":1}`)

		// Stop as soon as the target saw the first attempt: shutdown stops
		// the retry timers before anything else, and an attempt in flight
		// is recorded (retrying, its schedule in the journal) before the
		// log closes. The store may lag behind the attempts, so the
		// receiver, not the record, says where the forward is.
		waitFor(t, "the first attempt", func() bool { return tg.hits() >= 1 })
		a.stop(t)
		if n := tg.hits(); n != 1 {
			t.Fatalf("the target got %d requests before the restart; the restart was not between attempts", n)
		}
		before := tg.hits()
		journal, err := os.ReadFile(filepath.Join(dir, "forward-inflight.jsonl"))
		if err != nil || !strings.Contains(string(journal), id) {
			t.Fatalf("the pending retry is not in the journal while stopped: %v", err)
		}
		a = startApp(t, dir, env)

		r := waitRecord(t, a, bin.ID, id, "delivery on the third attempt", func(f *schema.Forward) bool {
			return f.State == schema.ForwardDelivered
		})
		if got := statuses(r.Forward); len(got) != 3 || got[0] != 500 || got[1] != 500 || got[2] != 200 {
			t.Errorf("attempts %v, want [500 500 200]", got)
		}
		if r.Forward.Status != 200 || r.Forward.NextAt != nil || r.Forward.Error != "" {
			t.Errorf("final forward %+v", r.Forward)
		}
		for i, at := range r.Forward.Attempts {
			if i > 0 && !at.At.After(r.Forward.Attempts[i-1].At) {
				t.Errorf("attempt %d at %v is not after the previous one", i, at.At)
			}
		}
		if n := tg.hits(); n != 3 {
			t.Errorf("the target got %d requests (%d before the restart), want exactly 3", n, before)
		}
		if n := a.pipe.PendingRetries(); n != 0 {
			t.Errorf("%d retries still pending after delivery", n)
		}
		if ids := listIDs(t, a, bin.ID, "forward=delivered"); len(ids) != 1 || ids[0] != id {
			t.Errorf("forward=delivered lists %v", ids)
		}
		for _, st := range []string{"retrying", "failed", "skipped"} {
			if ids := listIDs(t, a, bin.ID, "forward="+st); len(ids) != 0 {
				t.Errorf("forward=%s lists %v", st, ids)
			}
		}
		var c struct {
			Count int64 `json:"count"`
		}
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/count?forward=delivered", nil, 200, &c)
		if c.Count != 1 {
			t.Errorf("count?forward=delivered = %d", c.Count)
		}
	})
}

// TestForwardFailedThenRedelivered: attempts run out (failed), the target
// recovers, redeliver sends it once more on the same record (delivered);
// a forward still retrying cannot be redelivered (409), only the owner
// may redeliver, and forward= is checked.
func TestForwardFailedThenRedelivered(t *testing.T) {
	storeEnvs(t, func(t *testing.T, env map[string]string) {
		tg := newScripted(t, 503)
		a := startApp(t, t.TempDir(), env)
		bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL,
			"retry": map[string]any{"max_attempts": 2, "initial": "50ms", "max": "100ms"}}})
		id := captureID(t, a, bin.ID, "POST", nil, `{"order":2}`)
		r := waitRecord(t, a, bin.ID, id, "failed after two attempts", func(f *schema.Forward) bool { return f.State == schema.ForwardFailed })
		if got := statuses(r.Forward); len(got) != 2 || got[0] != 503 || got[1] != 503 {
			t.Fatalf("attempts %v, want [503 503]", got)
		}
		if ids := listIDs(t, a, bin.ID, "forward=failed"); len(ids) != 1 || ids[0] != id {
			t.Errorf("forward=failed lists %v", ids)
		}
		url := a.base + "/api/v1/bins/" + bin.ID + "/requests/" + id + "/redeliver"
		if code, _, _ := call(t, "POST", url, nil, ""); code != 401 && code != 403 {
			t.Errorf("redeliver without a token = %d", code)
		}
		if code, _, b := call(t, "POST", url+"?x=1", bearerHdr(bin.Token), ""); code != 400 {
			t.Errorf("redeliver with an unknown parameter = %d %s", code, b)
		}
		tg.answer(201)
		var out struct {
			ID      string          `json:"id"`
			Forward *schema.Forward `json:"forward"`
		}
		doJSONAuth(t, "POST", url, bin.Token, nil, 200, &out)
		if out.ID != id || out.Forward == nil || out.Forward.State != schema.ForwardDelivered || out.Forward.Status != 201 {
			t.Fatalf("redeliver answered %+v", out.Forward)
		}
		r = waitRecord(t, a, bin.ID, id, "the redelivery on the record", func(f *schema.Forward) bool { return f.State == schema.ForwardDelivered })
		if got := statuses(r.Forward); len(got) != 3 || got[2] != 201 {
			t.Errorf("attempts after redeliver %v, want [503 503 201]", got)
		}
		if ids := listIDs(t, a, bin.ID, "forward=delivered"); len(ids) != 1 || ids[0] != id {
			t.Errorf("forward=delivered lists %v", ids)
		}
		if ids := listIDs(t, a, bin.ID, "forward=failed"); len(ids) != 0 {
			t.Errorf("forward=failed still lists %v", ids)
		}
		// One record, not a new request per attempt.
		if ids := listIDs(t, a, bin.ID, ""); len(ids) != 1 {
			t.Errorf("the bin lists %d requests", len(ids))
		}

		// While retrying: 409.
		tg.answer(500)
		slow := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL,
			"retry": map[string]any{"max_attempts": 3, "initial": "1h"}}})
		id2 := captureID(t, a, slow.ID, "POST", nil, `{}`)
		r2 := waitRecord(t, a, slow.ID, id2, "retrying", func(f *schema.Forward) bool { return f.State == schema.ForwardRetrying })
		if len(r2.Forward.Attempts) != 1 || r2.Forward.NextAt == nil || !r2.Forward.NextAt.After(r2.Forward.Attempts[0].At.Add(30*time.Minute)) {
			t.Errorf("retrying forward %+v", r2.Forward)
		}
		if ids := listIDs(t, a, slow.ID, "forward=retrying"); len(ids) != 1 || ids[0] != id2 {
			t.Errorf("forward=retrying lists %v", ids)
		}
		code, _, b := call(t, "POST", a.base+"/api/v1/bins/"+slow.ID+"/requests/"+id2+"/redeliver", bearerHdr(slow.Token), "")
		if code != 409 {
			t.Errorf("redeliver while retrying = %d %s", code, b)
		}
		// A bin without a forward target: 400 naming it.
		plain := a.newBin(t, nil)
		id3 := captureID(t, a, plain.ID, "POST", nil, `{}`)
		a.waitCount(t, plain.ID, 1)
		code, _, b = call(t, "POST", a.base+"/api/v1/bins/"+plain.ID+"/requests/"+id3+"/redeliver", bearerHdr(plain.Token), "")
		if code != 400 || !strings.Contains(string(b), "forward") {
			t.Errorf("redeliver without a target = %d %s", code, b)
		}
	})
}

// TestFilteredForwarding: only the captures matching the bin's forward
// filter reach the target; the others are recorded as skipped with the
// reason, and are not failures.
func TestFilteredForwarding(t *testing.T) {
	tg := newScripted(t, 200)
	a := startApp(t, t.TempDir(), allowPrivate)
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL,
		"filter": "method=POST&header=X-Env:prod&q=lemon"}})
	match := captureID(t, a, bin.ID, "POST", map[string]string{"X-Env": "prod"}, `{"lemon":3}`)
	wrongMethod := captureID(t, a, bin.ID, "PUT", map[string]string{"X-Env": "prod"}, `{"lemon":4}`)
	wrongHeader := captureID(t, a, bin.ID, "POST", map[string]string{"X-Env": "dev"}, `{"lemon":5}`)
	wrongBody := captureID(t, a, bin.ID, "POST", map[string]string{"X-Env": "prod"}, `{"ping":1}`)
	r := waitRecord(t, a, bin.ID, match, "the match delivered", func(f *schema.Forward) bool { return f.State == schema.ForwardDelivered })
	if len(r.Forward.Attempts) != 1 {
		t.Errorf("match attempts %+v", r.Forward.Attempts)
	}
	for _, id := range []string{wrongMethod, wrongHeader, wrongBody} {
		r := waitRecord(t, a, bin.ID, id, "a skipped record", func(f *schema.Forward) bool { return f.State != "" })
		if r.Forward.State != schema.ForwardSkipped || !strings.HasPrefix(r.Forward.Skipped, "forward filter: ") || r.Forward.Error != "" || len(r.Forward.Attempts) != 0 {
			t.Errorf("%s: forward %+v, want skipped with a reason", r.Method, r.Forward)
		}
	}
	if r := getRecord(t, a, bin.ID, wrongHeader); !strings.Contains(r.Forward.Skipped, "X-Env: prod") {
		t.Errorf("header reason %q", r.Forward.Skipped)
	}
	if n := tg.hits(); n != 1 {
		t.Errorf("the target got %d requests, want only the match", n)
	}
	if ids := listIDs(t, a, bin.ID, "forward=skipped"); len(ids) != 3 {
		t.Errorf("forward=skipped lists %d", len(ids))
	}
	if ids := listIDs(t, a, bin.ID, "forward=failed"); len(ids) != 0 {
		t.Errorf("skipped captures count as failed: %v", ids)
	}
}

// TestForwardSettingsValidated: retry and filter are checked and bounded;
// errors name the field.
func TestForwardSettingsValidated(t *testing.T) {
	a := startApp(t, t.TempDir(), allowPrivate)
	for _, tc := range []struct {
		fwd  map[string]any
		want string
	}{
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"max_attempts": 21}}, "retry.max_attempts"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"max_attempts": -1}}, "retry.max_attempts"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"initial": "1ms"}}, "retry.initial"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"initial": "soon"}}, "retry.initial"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"max": "48h"}}, "retry.max"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"initial": "10s", "max": "1s"}}, "retry.max"},
		{map[string]any{"url": "http://x.example", "retry": map[string]any{"max_attempts": 2, "extra": 1}}, "unknown field"},
		{map[string]any{"url": "http://x.example", "mode": "proxy", "retry": map[string]any{"max_attempts": 2}}, "async forwarding only"},
		{map[string]any{"url": "http://x.example", "filter": "status=500"}, `unknown parameter \"status\"`},
		{map[string]any{"url": "http://x.example", "filter": "signature=maybe"}, "signature"},
		{map[string]any{"url": "http://x.example", "filter": "method=POST&method=PUT"}, "twice"},
		{map[string]any{"url": "http://x.example", "filter": strings.Repeat("q=a&", 600)}, "at most 2048 bytes"},
	} {
		b, _ := json.Marshal(map[string]any{"forward": tc.fwd})
		code, _, body := call(t, "POST", a.base+"/api/v1/bins", nil, string(b))
		if code != 400 || !strings.Contains(string(body), tc.want) {
			t.Errorf("forward %v = %d %s, want 400 naming %q", tc.fwd, code, body, tc.want)
		}
	}
	// A valid one round-trips with its defaults left as given.
	var out struct {
		Settings struct {
			Forward schema.ForwardConfig `json:"forward"`
		} `json:"settings"`
	}
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"forward": map[string]any{"url": "http://x.example",
		"retry": map[string]any{"max_attempts": 5, "initial": "10s", "max": "1h"}, "filter": "event_type=push"}}, 201, &out)
	if f := out.Settings.Forward; f.Retry == nil || f.Retry.MaxAttempts != 5 || f.Retry.Initial != "10s" || f.Filter != "event_type=push" {
		t.Errorf("settings %+v", f)
	}
}

// TestRetryingForwardFailuresFireFailureSpike: with retries on, a target
// that keeps failing still fires failure_spike (each capture's first
// attempt is recorded as a failure, as without retries).
func TestRetryingForwardFailuresFireFailureSpike(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_PUBLIC_URL": "http://hookscope.example"})
	slack := newSlackStandIn(t)
	broken := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": broken.URL,
		"retry": map[string]any{"max_attempts": 3, "initial": "50ms", "max": "50ms"}}})
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "retried failures", "bin_id": bin.ID, "kind": "failure_spike",
		"params":   map[string]any{"window": "2s", "min_count": 3, "threshold": 0.5},
		"channels": []any{map[string]any{"type": "slack", "url": slack.URL + "/services/T1/B1/SLACKSECRET"}}}, 201, nil)
	for range 6 {
		if s, _, _ := call(t, "POST", a.base+"/h/"+bin.ID, nil, `{}`); s != 200 {
			t.Fatalf("sender got %d", s)
		}
	}
	waitFor(t, "a firing failure_spike", func() bool { return len(slack.titles("retried failures")) >= 1 })
	// Updates are not new captures: the bin still holds six requests.
	a.waitCount(t, bin.ID, 6)
}

// TestDeletedRequestIsNotRetried: deleting a request that waits for a
// retry cancels the retry, so no later outcome stores it again and the
// target is not called again.
func TestDeletedRequestIsNotRetried(t *testing.T) {
	tg := newScripted(t, 500)
	a := startApp(t, t.TempDir(), allowPrivate)
	bin := a.newBin(t, map[string]any{"forward": map[string]any{"url": tg.URL,
		"retry": map[string]any{"max_attempts": 3, "initial": "300ms", "max": "300ms"}}})
	id := captureID(t, a, bin.ID, "POST", nil, `{}`)
	waitRecord(t, a, bin.ID, id, "retrying", func(f *schema.Forward) bool { return f.State == schema.ForwardRetrying })
	if code, _, b := call(t, "DELETE", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, bearerHdr(bin.Token), ""); code != 204 {
		t.Fatalf("delete = %d %s", code, b)
	}
	hits := tg.hits()
	waitFor(t, "no pending retry", func() bool { return a.pipe.PendingRetries() == 0 })
	// Two more retry periods pass: nothing comes back.
	other := captureID(t, a, bin.ID, "POST", nil, `{}`) // a witness that retries still run
	waitRecord(t, a, bin.ID, other, "the witness failed for good", func(f *schema.Forward) bool { return f.State == schema.ForwardFailed })
	if n := tg.hits(); n != hits+3 {
		t.Errorf("target hits %d after the delete, want only the witness's 3", n-hits)
	}
	if code, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+id, nil, ""); code != 404 {
		t.Errorf("the deleted request is back: %d", code)
	}
}
