package kvstate_test

import (
	"context"
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
