package kvstate_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/kvstate"
	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
)

// TestSaveLoad: on a real JetStream bucket, the newest state of each
// (rule, bin) of the asked rules comes back, with every field; other
// rules' states do not.
func TestSaveLoad(t *testing.T) {
	c := natstest.Start(t, 1)
	js := c.JetStream()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "states"})
	if err != nil {
		t.Fatal(err)
	}
	s := kvstate.New(kv, 0)
	if got, err := s.LoadStates(ctx, []string{"r1"}); err != nil || len(got) != 0 {
		t.Fatalf("empty bucket: %v %v", got, err)
	}
	at := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	firing := alerts.EpisodeState{RuleID: "r1", BinID: "bin-a", Phase: alerts.Firing, Since: at, EpisodeID: "ep1",
		StartedAt: at, Announced: true, LastAnnounced: at}
	for _, st := range []alerts.EpisodeState{
		{RuleID: "r1", BinID: "bin-a", Phase: alerts.Pending, Since: at.Add(-time.Minute)},
		firing,
		{RuleID: "r1", BinID: "bin_b", Phase: alerts.Inactive, Since: at, LastAnnounced: at.Add(-time.Hour)},
		{RuleID: "r2", BinID: "bin-a", Phase: alerts.Firing, Since: at},
	} {
		// A cancelled context does not stop a save (a term ending right
		// after a transition still hands its state over).
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.SaveState(cctx, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LoadStates(ctx, []string{"r1", "r3"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b alerts.EpisodeState) int { return len(a.BinID) - len(b.BinID) })
	if len(got) != 2 {
		t.Fatalf("got %+v, want r1's two states", got)
	}
	if a := got[0]; a.BinID != "bin-a" || a.Phase != firing.Phase || a.EpisodeID != "ep1" || !a.Announced ||
		!a.Since.Equal(at) || !a.StartedAt.Equal(at) || !a.LastAnnounced.Equal(at) {
		t.Errorf("bin-a: %+v, want %+v", a, firing)
	}
	if b := got[1]; b.BinID != "bin_b" || b.Phase != alerts.Inactive || !b.LastAnnounced.Equal(at.Add(-time.Hour)) {
		t.Errorf("bin_b: %+v", b)
	}
}

// TestDeleteRuleAndSweep: on a real JetStream bucket (history 1, like the
// app's), DeleteRule removes every state of one rule and nothing else;
// Sweep removes the states of rules that no longer exist (a rule deleted
// while no leader ran), and removes nothing when the rules cannot be
// listed. Afterwards the bucket's stream holds only the live states: no
// old revisions and no purge markers are left behind.
func TestDeleteRuleAndSweep(t *testing.T) {
	c := natstest.Start(t, 1)
	js := c.JetStream()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "states", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := kvstate.New(kv, 0)
	if n, err := s.Sweep(ctx, func(context.Context) ([]string, error) { return nil, nil }); err != nil || n != 0 {
		t.Fatalf("Sweep of an empty bucket = %d, %v", n, err)
	}
	at := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	for _, st := range []alerts.EpisodeState{
		{RuleID: "r1", BinID: "bin-a", Phase: alerts.Pending, Since: at},
		{RuleID: "r1", BinID: "bin-a", Phase: alerts.Firing, Since: at}, // a second revision
		{RuleID: "r1", BinID: "bin_b", Phase: alerts.Inactive, Since: at},
		{RuleID: "r10", BinID: "bin-a", Phase: alerts.Firing, Since: at}, // r1 is its prefix
		{RuleID: "r2", BinID: "bin-a", Phase: alerts.Firing, Since: at},
		{RuleID: "r3", BinID: "bin-c", Phase: alerts.Firing, Since: at},
	} {
		if err := s.SaveState(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	all := []string{"r1", "r10", "r2", "r3"}
	loaded := func() []string {
		t.Helper()
		got, err := s.LoadStates(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, st := range got {
			keys = append(keys, kvstate.Key(st.RuleID, st.BinID))
		}
		slices.Sort(keys)
		return keys
	}
	stored := func() uint64 {
		t.Helper()
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Values()
	}
	if n, err := s.DeleteRule(ctx, "r1"); err != nil || n != 2 {
		t.Fatalf("DeleteRule(r1) = %d, %v; want 2", n, err)
	}
	if got, want := loaded(), []string{"r10.bin-a", "r2.bin-a", "r3.bin-c"}; !slices.Equal(got, want) {
		t.Fatalf("after DeleteRule(r1): %v, want %v", got, want)
	}
	if n := stored(); n != 3 {
		t.Errorf("after DeleteRule the bucket's stream holds %d messages, want the 3 live states", n)
	}
	if n, err := s.DeleteRule(ctx, "r1"); err != nil || n != 0 {
		t.Fatalf("DeleteRule(r1) again = %d, %v; want 0", n, err)
	}
	if _, err := s.DeleteRule(ctx, "r1.>"); err == nil {
		t.Fatal("DeleteRule with a wildcard: no error")
	}

	// The rule list cannot be read: nothing goes.
	if _, err := s.Sweep(ctx, func(context.Context) ([]string, error) { return nil, errors.New("store down") }); err == nil {
		t.Fatal("Sweep with a failing rule list: no error")
	}
	if got := loaded(); len(got) != 3 {
		t.Fatalf("a failed sweep removed states: %v", got)
	}
	// r3 was deleted while no leader ran; r10 and r2 exist.
	n, err := s.Sweep(ctx, func(context.Context) ([]string, error) { return []string{"r10", "r2", "r4"}, nil })
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if got, want := loaded(), []string{"r10.bin-a", "r2.bin-a"}; !slices.Equal(got, want) {
		t.Fatalf("after Sweep: %v, want %v", got, want)
	}
	if n := stored(); n != 2 {
		t.Errorf("after Sweep the bucket's stream holds %d messages, want the 2 live states", n)
	}
	// A state saved again for a removed rule's key is stored as usual.
	if err := s.SaveState(ctx, alerts.EpisodeState{RuleID: "r1", BinID: "bin-a", Phase: alerts.Firing, Since: at}); err != nil {
		t.Fatal(err)
	}
	if got, want := loaded(), []string{"r1.bin-a", "r10.bin-a", "r2.bin-a"}; !slices.Equal(got, want) {
		t.Fatalf("after a new save: %v, want %v", got, want)
	}
}
