package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

func TestStep(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name      string
		phase     Phase
		since     int
		cond      bool
		now       int
		hold      time.Duration
		want      Phase
		wantSince int
		tr        Transition
	}{
		{"inactive stays", Inactive, 0, false, 5, 0, Inactive, 0, NoChange},
		{"inactive fires at once without for", Inactive, 0, true, 5, 0, Firing, 5, BecameFiring},
		{"inactive goes pending with for", Inactive, 0, true, 5, 10 * time.Second, Pending, 5, BecamePending},
		{"pending holds", Pending, 5, true, 10, 10 * time.Second, Pending, 5, NoChange},
		{"pending fires after for", Pending, 5, true, 15, 10 * time.Second, Firing, 15, BecameFiring},
		{"pending clears", Pending, 5, false, 10, 10 * time.Second, Inactive, 10, BecameInactive},
		{"firing stays", Firing, 5, true, 100, 0, Firing, 5, NoChange},
		{"firing resolves", Firing, 5, false, 100, 0, Resolved, 100, BecameResolved},
		{"resolved goes inactive", Resolved, 100, false, 101, 0, Inactive, 101, BecameInactive},
		{"resolved fires again", Resolved, 100, true, 101, 0, Firing, 101, BecameFiring},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, since, tr := Step(tt.phase, at(tt.since), tt.cond, at(tt.now), tt.hold)
			if p != tt.want || !since.Equal(at(tt.wantSince)) || tr != tt.tr {
				t.Errorf("Step = %s since %s tr %d, want %s since %s tr %d", p, since, tr, tt.want, at(tt.wantSince), tt.tr)
			}
		})
	}
}

func TestAnnounce(t *testing.T) {
	if !announce(time.Time{}, t0, time.Hour) {
		t.Error("first episode must be announced")
	}
	if announce(t0, t0.Add(59*time.Minute), time.Hour) {
		t.Error("episode within cooldown must not be announced")
	}
	if !announce(t0, t0.Add(time.Hour), time.Hour) {
		t.Error("episode after cooldown must be announced")
	}
}

// recNotifier records notifications; fail decides the outcome of call n.
type recNotifier struct {
	mu    sync.Mutex
	got   []*notify.Notification
	at    []time.Time
	dests []notify.URL
	fail  func(call int) (bool, error)
}

func (r *recNotifier) Notify(_ context.Context, dest notify.URL, n *notify.Notification) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Now())
	if r.fail != nil {
		if retry, err := r.fail(len(r.at)); err != nil {
			return retry, err
		}
	}
	c := *n
	r.got = append(r.got, &c)
	r.dests = append(r.dests, dest)
	return false, nil
}

func (r *recNotifier) states() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.got {
		out = append(out, n.State+":"+n.BinID)
	}
	return out
}

const secretURL = "https://hooks.slack.com/services/T000/B000/very-secret-token"

func newTestEngine(t *testing.T, st *memStore, rec *recNotifier, logs *bytes.Buffer) (*Engine, *Service) {
	t.Helper()
	var h slog.Handler = slog.NewTextHandler(&bytes.Buffer{}, nil)
	if logs != nil {
		h = slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	e := New(st, st, Options{Logger: slog.New(h), PublicURL: "http://hookscope.test/",
		Notifiers: map[string]notify.Notifier{ChannelSlack: rec, ChannelWebhook: rec}})
	return e, NewService(st, e, ServiceOptions{})
}

func mustCreate(t *testing.T, s *Service, body string) *Rule {
	t.Helper()
	r, err := createJSON(t.Context(), s, []byte(body))
	if err != nil {
		t.Fatalf("create rule: %v", err)
	}
	return r
}

// drive observes n requests spread over d, built by mk.
func drive(e *Engine, n int, d time.Duration, mk func(i int) *schema.Request) {
	for i := range n {
		e.Observe(mk(i))
		time.Sleep(d / time.Duration(n))
	}
}

func TestEngineOneNotificationPerEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		mustCreate(t, svc, `{"name":"failures","bin_id":"b1","kind":"failure_spike",
			"params":{"window":"10s","min_count":5,"threshold":0.5},
			"channels":[{"type":"slack","url":"`+secretURL+`"}],"cooldown":"1m","enabled":true}`)

		// 40 s of failures: one episode, one firing notification.
		drive(e, 160, 40*time.Second, func(int) *schema.Request { return req("b1", time.Now(), 500, schema.SigValid, "192.0.2.1") })
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) {
			t.Fatalf("after burst: notifications %v, want one firing", got)
		}
		// Healthy traffic: resolves once the failures leave the 10 s window.
		drive(e, 80, 20*time.Second, func(int) *schema.Request { return req("b1", time.Now(), 200, schema.SigValid, "192.0.2.1") })
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1", "resolved:b1"}) {
			t.Fatalf("after recovery: notifications %v, want firing then resolved", got)
		}
		n := rec.got[0]
		if n.RuleName != "failures" || n.Observed < 0.5 || n.Threshold != 0.5 || len(n.Samples) == 0 ||
			n.TopSender == nil || n.TopSender.IP != "192.0.2.1" || n.BinURL != "http://hookscope.test/bins/b1" {
			t.Errorf("firing notification lacks what/where/how much: %+v", n)
		}
		if rec.got[1].EpisodeID != n.EpisodeID {
			t.Errorf("resolved episode %s != firing episode %s", rec.got[1].EpisodeID, n.EpisodeID)
		}
		if rec.dests[0].Reveal() != secretURL {
			t.Errorf("notifier got the wrong destination")
		}
		if got := st.eventStates(); !slices.Equal(got, []string{"firing", "resolved"}) {
			t.Errorf("stored events %v, want firing, resolved", got)
		}
		evs, err := svc.ListEvents(t.Context(), schema.EventFilter{})
		if err != nil || len(evs) != 2 || evs[0].State != "resolved" || evs[1].Summary == "" {
			t.Errorf("ListEvents = %+v, %v", evs, err)
		}
	})
}

func TestEngineCooldownSilencesFlapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		mustCreate(t, svc, `{"name":"sig","bin_id":null,"kind":"signature_failures",
			"params":{"window":"5s","min_count":3,"threshold":0.5},
			"channels":[{"type":"webhook","url":"https://example.test/hook"}],"cooldown":"2m"}`)
		bad := func(int) *schema.Request { return req("b1", time.Now(), 200, schema.SigInvalid, "192.0.2.1") }
		good := func(int) *schema.Request { return req("b1", time.Now(), 200, schema.SigValid, "192.0.2.1") }
		// Three flaps within the 2 m cooldown: only the first is announced.
		for range 3 {
			drive(e, 20, 5*time.Second, bad)
			drive(e, 20, 15*time.Second, good)
		}
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1", "resolved:b1"}) {
			t.Fatalf("notifications %v, want one firing and one resolved", got)
		}
		if s := e.Stats(); s.Firing != 3 || s.Suppressed != 2 {
			t.Errorf("stats %+v, want 3 episodes, 2 suppressed", s)
		}
		// After the cooldown, a new episode is announced again, on another
		// bin too (bin_id null watches every bin, each on its own).
		time.Sleep(2 * time.Minute)
		drive(e, 20, 5*time.Second, bad)
		drive(e, 20, 5*time.Second, func(int) *schema.Request { return req("b2", time.Now(), 200, schema.SigMissing, "192.0.2.9") })
		drive(e, 40, 20*time.Second, func(i int) *schema.Request {
			return req([]string{"b1", "b2"}[i%2], time.Now(), 200, schema.SigValid, "192.0.2.1")
		})
		synctest.Wait()
		want := []string{"firing:b1", "resolved:b1", "firing:b1", "firing:b2", "resolved:b1", "resolved:b2"}
		if got := rec.states(); !slices.Equal(got, want) {
			t.Errorf("notifications %v, want %v", got, want)
		}
	})
}

func TestEngineRetriesHonourRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{fail: func(call int) (bool, error) {
			switch call {
			case 1:
				return true, &notify.HTTPError{Status: 429, RetryAfter: 7 * time.Second}
			case 2:
				return true, &notify.HTTPError{Status: 503}
			}
			return false, nil
		}}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		mustCreate(t, svc, `{"name":"f","bin_id":"b1","kind":"failure_spike","params":{"window":"10s","min_count":2},
			"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		drive(e, 4, time.Second, func(int) *schema.Request { return req("b1", time.Now(), 500, "", "192.0.2.1") })
		time.Sleep(30 * time.Second)
		synctest.Wait()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		// Calls: firing (429), firing (503), firing (ok), then the resolved (ok).
		if len(rec.at) != 4 || len(rec.got) != 2 || rec.got[0].State != "firing" || rec.got[1].State != "resolved" {
			t.Fatalf("calls %d, delivered %d, want 4 calls delivering firing then resolved", len(rec.at), len(rec.got))
		}
		// Retry-After 7 s beats the 1 s initial backoff; then backoff doubled to 2 s.
		if d1, d2 := rec.at[1].Sub(rec.at[0]), rec.at[2].Sub(rec.at[1]); d1 != 7*time.Second || d2 != 2*time.Second {
			t.Errorf("waits %s and %s, want 7s (Retry-After) and 2s (backoff)", d1, d2)
		}
		if slices.Contains(st.eventStates(), StateNotifyFailed) {
			t.Errorf("a delivery that eventually succeeded was recorded as failed")
		}
	})
}

func TestEngineNotifyFailedRecordedWithoutURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		var logs bytes.Buffer
		rec := &recNotifier{fail: func(int) (bool, error) {
			// A careless receiver that echoes the URL back: it must be scrubbed.
			return true, &notify.HTTPError{Status: 500, Body: "no route to " + secretURL}
		}}
		e, svc := newTestEngine(t, st, rec, &logs)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, svc, `{"name":"f","bin_id":"b1","kind":"failure_spike","params":{"window":"10s","min_count":2},
			"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		drive(e, 4, time.Second, func(int) *schema.Request { return req("b1", time.Now(), 500, "", "192.0.2.1") })
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := st.eventStates(); !slices.Equal(got, []string{"firing", StateNotifyFailed, "resolved", StateNotifyFailed}) {
			t.Fatalf("events %v, want firing, notify_failed, resolved, notify_failed", got)
		}
		evs, _ := svc.ListEvents(context.Background(), schema.EventFilter{})
		i := slices.IndexFunc(evs, func(e *Event) bool { return e.State == StateNotifyFailed })
		f := evs[i]
		if f.State != StateNotifyFailed || f.Attempts != 5 || f.Channel != "slack" || !strings.Contains(f.Error, "500") || f.URLHint == "" {
			t.Errorf("notify_failed event %+v", f)
		}
		raw, _ := json.Marshal(evs)
		for name, s := range map[string]string{"events": string(raw), "logs": logs.String()} {
			if strings.Contains(s, "very-secret-token") || strings.Contains(s, "/services/T000") {
				t.Errorf("webhook URL leaked into %s: %s", name, s)
			}
		}
		if !strings.Contains(logs.String(), "notification failed") {
			t.Errorf("failure not logged: %s", logs.String())
		}
	})
}

func TestObserveNeverBlocks(t *testing.T) {
	st := newMemStore()
	e := New(st, st, Options{QueueSize: 10})
	done := make(chan struct{})
	go func() {
		for range 1000 {
			e.Observe(req("b1", time.Now(), 200, "", "192.0.2.1"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe blocked on a full queue")
	}
	if s := e.Stats(); s.Observed != 10 || s.Dropped != 990 {
		t.Errorf("stats %+v, want 10 queued and 990 dropped", s)
	}
}

func TestEngineRecoversFromHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := newMemStore()
		st.bins = []*schema.Bin{{ID: "b1"}, {ID: "b2"}}
		now := time.Now()
		// b1: failures over the last 20 s, captured before the restart.
		// b2: the same, and the alert was already announced before.
		for i := range 40 {
			at := now.Add(-20*time.Second + time.Duration(i)*500*time.Millisecond)
			st.addRequests(req("b1", at, 500, "", "192.0.2.1"), req("b2", at, 500, "", "192.0.2.2"))
		}
		svc0 := NewService(st, nil, ServiceOptions{})
		r := mustCreate(t, svc0, `{"name":"f","bin_id":null,"kind":"failure_spike","params":{"window":"30s","min_count":5},
			"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		doc, _ := json.Marshal(EventDoc{Notification: &notify.Notification{State: "firing", EpisodeID: "ep-before"}})
		if err := st.AppendEvent(ctx, &schema.AlertEvent{ID: mustV7(), RuleID: r.ID, BinID: "b2", State: "firing", At: now.Add(-5 * time.Second), Doc: doc}); err != nil {
			t.Fatal(err)
		}
		rec := &recNotifier{}
		e, _ := newTestEngine(t, st, rec, nil)
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		if got := e.Stats().RecoveredRequests; got != 80 {
			t.Errorf("recovered %d requests, want 80", got)
		}
		// A live duplicate of a recovered request is not counted twice.
		st.mu.Lock()
		dup := *st.reqs[len(st.reqs)-1]
		st.mu.Unlock()
		e.Observe(&dup)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) {
			t.Fatalf("after restart: %v, want b1 firing from history and b2 not re-announced", got)
		}
		drive(e, 60, 40*time.Second, func(i int) *schema.Request {
			return req([]string{"b1", "b2"}[i%2], time.Now(), 200, "", "192.0.2.1")
		})
		synctest.Wait()
		got := rec.states()
		slices.Sort(got)
		if want := []string{"firing:b1", "resolved:b1", "resolved:b2"}; !slices.Equal(got, want) {
			t.Fatalf("notifications %v, want %v", got, want)
		}
		for _, n := range rec.got {
			if n.BinID == "b2" && n.EpisodeID != "ep-before" {
				t.Errorf("b2 resolved episode %q, want the restored ep-before", n.EpisodeID)
			}
		}
	})
}

func TestEngineTestRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		r := mustCreate(t, svc, `{"name":"f","bin_id":"b1","kind":"latency_spike",
			"channels":[{"type":"slack","url":"`+secretURL+`"},{"type":"webhook","url":"https://example.test/x"}]}`)
		res, err := svc.TestRule(t.Context(), r.ID)
		if err != nil || len(res) != 2 || !res[0].OK || !res[1].OK {
			t.Fatalf("TestRule = %+v, %v", res, err)
		}
		if got := rec.states(); !slices.Equal(got, []string{"test:b1", "test:b1"}) {
			t.Errorf("notifications %v", got)
		}
		if _, err := svc.TestRule(t.Context(), "nope"); !errors.Is(err, schema.ErrNotFound) {
			t.Errorf("unknown rule: %v, want ErrNotFound", err)
		}
		r2 := mustCreate(t, svc, `{"name":"quiet","kind":"failure_spike"}`)
		if _, err := svc.TestRule(t.Context(), r2.ID); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("rule without channels: %v, want ErrInvalid", err)
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	st := newMemStore()
	e := New(st, st, Options{QueueSize: 1 << 20})
	r := req("b1", time.Now(), 200, schema.SigValid, "192.0.2.1")
	r.Headers = append(r.Headers, schema.Header{Name: "Content-Type", Value: "application/json"}, schema.Header{Name: "Stripe-Signature", Value: "t=1,v1=abc"})
	b.ReportAllocs()
	for b.Loop() {
		e.Observe(r)
		if len(e.in) == cap(e.in) {
			b.StopTimer()
			for len(e.in) > 0 {
				<-e.in
			}
			b.StartTimer()
		}
	}
}

// BenchmarkEvaluate: one evaluation round of the five default rules on a bin
// holding 10 minutes of traffic at 10 requests/s.
func BenchmarkEvaluate(b *testing.B) {
	st := newMemStore()
	e := New(st, st, Options{})
	for _, r := range DefaultRules("b1") {
		r.ID = r.Name
		e.SetRule(r)
	}
	obs := generate(1, t0, 10*time.Minute, traffic{Rate: 10, FailP: 0.03, SigInvalid: 0.01, IPs: normal.IPs, FwdMedMS: 80}, nil)
	e.win.bins["b1"] = &binBuf{obs: obs, last: t0}
	now := t0.Add(10 * time.Minute)
	e.opt.Now = func() time.Time { return now }
	b.ReportAllocs()
	for b.Loop() {
		e.evaluate(context.Background())
	}
}

// TestCloseDrainsNotifications: Close lets queued notifications and their
// retries finish while its context allows.
func TestCloseDrainsNotifications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{fail: func(call int) (bool, error) {
			if call == 1 {
				return true, &notify.HTTPError{Status: 503}
			}
			return false, nil
		}}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, svc, `{"name":"f","bin_id":"b1","kind":"failure_spike","params":{"window":"10s","min_count":2},
			"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		drive(e, 4, time.Second, func(int) *schema.Request { return req("b1", time.Now(), 500, "", "192.0.2.1") })
		time.Sleep(1100 * time.Millisecond) // evaluated, first attempt failed, retry pending
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) {
			t.Errorf("delivered %v, want the firing after its retry", got)
		}
		if got := st.eventStates(); !slices.Equal(got, []string{"firing"}) {
			t.Errorf("events %v", got)
		}
	})
}

// TestTestRuleDoesNotWaitLong: a test notification gives up after two
// attempts and short waits, whatever Retry-After says.
func TestTestRuleDoesNotWaitLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{fail: func(int) (bool, error) {
			return true, &notify.HTTPError{Status: 429, RetryAfter: time.Hour}
		}}
		e, svc := newTestEngine(t, st, rec, nil)
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer e.Close(context.Background())
		r := mustCreate(t, svc, `{"name":"f","kind":"failure_spike","channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		start := time.Now()
		res, err := svc.TestRule(t.Context(), r.ID)
		if err != nil || len(res) != 1 || res[0].OK || !strings.Contains(res[0].Error, "429") || strings.Contains(res[0].Error, "very-secret") {
			t.Fatalf("TestRule = %+v, %v", res, err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("took %s, want 2s (one capped wait)", d)
		}
		if got := st.eventStates(); !slices.Equal(got, []string{"test", StateNotifyFailed}) {
			t.Errorf("events %v", got)
		}
	})
}

// BenchmarkIngestAtCap: taking observations for a bin whose buffer is full.
func BenchmarkIngestAtCap(b *testing.B) {
	st := newMemStore()
	e := New(st, st, Options{MaxObsPerBin: 100_000})
	at := t0
	for range 100_000 {
		at = at.Add(time.Millisecond)
		e.win.ingest(input{bin: "b1", o: Obs{At: at}})
	}
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Millisecond)
		e.win.ingest(input{bin: "b1", o: Obs{At: at}})
	}
	if n := len(e.win.bins["b1"].obs); n > 100_000 {
		b.Fatalf("buffer grew to %d", n)
	}
}

// TestRecoverKeepsNewest: a bin with more history than MaxObsPerBin
// recovers its newest requests, in time order.
func TestRecoverKeepsNewest(t *testing.T) {
	st := newMemStore()
	now := time.Now().UTC()
	var reqs []*schema.Request
	for i := range 120 {
		reqs = append(reqs, req("b1", now.Add(-time.Duration(120-i)*time.Second), 200, "", "192.0.2.1"))
	}
	st.addRequests(reqs...)
	e := New(st, st, Options{MaxObsPerBin: 50, Now: func() time.Time { return now }})
	r := defaultsFor(KindFailureSpike)
	r.ID, r.BinID = "r1", nil // every bin: recovery lists the bins
	st.bins = []*schema.Bin{{ID: "b1"}}
	e.SetRule(r)
	e.win.recover(t.Context(), e.snapshot())
	b := e.win.bins["b1"]
	if b == nil || len(b.obs) != 50 {
		t.Fatalf("recovered %v observations, want 50", b)
	}
	if !b.obs[0].At.Equal(reqs[70].ReceivedAt) || !b.obs[49].At.Equal(reqs[119].ReceivedAt) {
		t.Errorf("recovered %s..%s, want the newest 50 (%s..%s)", b.obs[0].At, b.obs[49].At, reqs[70].ReceivedAt, reqs[119].ReceivedAt)
	}
	if n := e.Stats().RecoveredRequests; n != 50 {
		t.Errorf("RecoveredRequests = %d", n)
	}
}

// kvStates is a StateStore as a shared key-value store would keep it: one
// JSON document per (rule, bin), so nothing survives that does not
// serialise.
type kvStates struct {
	mu    sync.Mutex
	docs  map[string][]byte
	saves int
}

func (k *kvStates) LoadStates(_ context.Context, ruleIDs []string) ([]EpisodeState, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []EpisodeState
	for _, doc := range k.docs {
		var s EpisodeState
		if err := json.Unmarshal(doc, &s); err != nil {
			return nil, err
		}
		if slices.Contains(ruleIDs, s.RuleID) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (k *kvStates) SaveState(_ context.Context, s EpisodeState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.docs == nil {
		k.docs = map[string][]byte{}
	}
	k.docs[s.RuleID+"/"+s.BinID] = b
	k.saves++
	return nil
}

// splitStore reads rules from one store and keeps events in another.
type splitStore struct {
	rules *memStore
	EventLog
}

func (s splitStore) ListRules(ctx context.Context) ([]*schema.AlertRule, error) {
	return s.rules.ListRules(ctx)
}

// TestEngineHandoverThroughStateStore: an evaluator that takes over from
// another (here: a second engine on a fresh event log, sharing only the
// StateStore and the history) neither announces the open episode again nor
// loses its resolve, which carries the first evaluator's episode id.
func TestEngineHandoverThroughStateStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kv := &kvStates{}
		rules := newMemStore() // the rules, shared
		rec := &recNotifier{}
		mk := func(events *memStore) *Engine {
			return New(splitStore{rules: rules, EventLog: events}, rules, Options{States: kv, Notifiers: Notifiers{ChannelSlack: rec}})
		}
		eventsA := newMemStore()
		a := mk(eventsA)
		if err := a.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, NewService(rules, a, ServiceOptions{}), `{"name":"f","bin_id":"b1","kind":"failure_spike",
			"params":{"window":"30s","min_count":5},"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		failing := func(int) *schema.Request {
			r := req("b1", time.Now(), 500, "", "192.0.2.1")
			rules.addRequests(r) // the history a successor recovers from
			return r
		}
		drive(a, 20, 10*time.Second, failing)
		synctest.Wait()
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) || kv.saves == 0 {
			t.Fatalf("first evaluator: %v (saves %d), want one firing saved", got, kv.saves)
		}
		episode := rec.got[0].EpisodeID

		b := mk(newMemStore()) // no events to restore from: only the StateStore
		if err := b.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer b.Close(context.Background())
		drive(b, 10, 5*time.Second, failing) // still failing: no second firing
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) {
			t.Fatalf("after handover: %v, want no second firing", got)
		}
		drive(b, 60, 40*time.Second, func(int) *schema.Request { return req("b1", time.Now(), 200, "", "192.0.2.1") })
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1", "resolved:b1"}) {
			t.Fatalf("after recovery: %v, want the resolve", got)
		}
		if rec.got[1].EpisodeID != episode {
			t.Errorf("resolved episode %s, want the first evaluator's %s", rec.got[1].EpisodeID, episode)
		}
	})
}
