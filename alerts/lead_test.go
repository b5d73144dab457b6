package alerts

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// TestFollowerEvaluatesOnlyInATerm: an engine started as a follower
// evaluates nothing until Lead; a term evaluates (one firing); when the
// term's context ends evaluation stops at once and Lead returns; the next
// term continues the open episode from the StateStore (no second firing)
// and resolves it; Close ends a running term.
func TestFollowerEvaluatesOnlyInATerm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		rec := &recNotifier{}
		kv := &kvStates{}
		e := New(st, st, Options{States: kv, Notifiers: Notifiers{ChannelSlack: rec}})
		if err := e.StartFollower(t.Context()); err != nil {
			t.Fatal(err)
		}
		svc := NewService(st, e, ServiceOptions{})
		mustCreate(t, svc, `{"name":"f","bin_id":"b1","kind":"failure_spike",
			"params":{"window":"30s","min_count":5},"channels":[{"type":"slack","url":"`+secretURL+`"}]}`)
		failing := func(int) *schema.Request {
			r := req("b1", time.Now(), 500, "", "192.0.2.1")
			st.addRequests(r) // the store's history, which a term recovers from
			return r
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if e.Leading() || e.Stats().Evaluations != 0 {
			t.Fatalf("a follower evaluated: leading %v, %d evaluations", e.Leading(), e.Stats().Evaluations)
		}

		term := func() (context.CancelFunc, chan error) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- e.Lead(ctx) }()
			return cancel, done
		}
		end, done := term()
		drive(e, 20, 10*time.Second, failing)
		synctest.Wait()
		if !e.Leading() || !slices.Equal(rec.states(), []string{"firing:b1"}) {
			t.Fatalf("first term: leading %v, notifications %v, want one firing", e.Leading(), rec.states())
		}
		end()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		evals := e.Stats().Evaluations
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if e.Leading() || e.Stats().Evaluations != evals {
			t.Fatalf("after the term: leading %v, evaluations %d → %d", e.Leading(), evals, e.Stats().Evaluations)
		}

		// A second term (as after a handover): the episode goes on from
		// the saved state, then resolves once.
		_, done = term()
		drive(e, 10, 5*time.Second, failing)
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1"}) {
			t.Fatalf("second term, still failing: %v, want no second firing", got)
		}
		drive(e, 60, 40*time.Second, func(int) *schema.Request { return req("b1", time.Now(), 200, "", "192.0.2.1") })
		synctest.Wait()
		if got := rec.states(); !slices.Equal(got, []string{"firing:b1", "resolved:b1"}) {
			t.Fatalf("second term, recovered: %v, want the resolve", got)
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if e.Leading() {
			t.Error("leading after Close")
		}
		// A term after Close ends at once.
		if err := e.Lead(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLeadNeedsFollower: an engine started with Start evaluates on its own;
// Lead refuses it.
func TestLeadNeedsFollower(t *testing.T) {
	st := newMemStore()
	e := New(st, st, Options{})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	if !e.Leading() {
		t.Error("a started engine does not report leading")
	}
	if err := e.Lead(t.Context()); !errors.Is(err, ErrNotFollower) {
		t.Fatalf("Lead on a started engine: %v", err)
	}
}
