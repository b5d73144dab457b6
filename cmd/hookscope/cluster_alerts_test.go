package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/kvstate"
	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
	"github.com/hookscope/hookscope/lease"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// clusterAlertEnv is clusterEnv plus what the Slack stand-in needs: links
// to the public URL it checks, and loopback allowed for notifiers.
func clusterAlertEnv(t *testing.T, ns *natstest.Cluster, dsn string) map[string]string {
	env := clusterEnv(t, ns, dsn)
	env["HOOKSCOPE_PUBLIC_URL"] = "http://hookscope.example"
	env["HOOKSCOPE_ALLOW_PRIVATE_TARGETS"] = "true"
	return env
}

// leaderOf waits until exactly one of the in-process instances holds the
// alert lease and returns it and the others.
func leaderOf(t *testing.T, apps ...*testApp) (*testApp, []*testApp) {
	t.Helper()
	var leader *testApp
	var rest []*testApp
	pollUntil(t, "one alert leader", func() bool {
		leader, rest = nil, nil
		n := 0
		for _, a := range apps {
			if a.engine.Leading() {
				leader = a
				n++
			} else {
				rest = append(rest, a)
			}
		}
		return n == 1
	})
	return leader, rest
}

// failureRule creates a failure_spike rule on bin through instance a.
func failureRule(t *testing.T, a *testApp, bin binResp, name, slackURL, window string, minCount int, cooldown string) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": name, "bin_id": bin.ID, "kind": "failure_spike",
		"params": map[string]any{"window": window, "min_count": minCount, "threshold": 0.5}, "cooldown": cooldown,
		"channels": []any{map[string]any{"type": "slack", "url": slackURL + "/services/T1/B1/SLACKSECRET"}}}, 201, &out)
	return out.ID
}

// waitTitles polls until the rule's Slack messages are want, and fails if
// they ever go past it (a duplicate).
func waitTitles(t *testing.T, slack *slackStandIn, rule string, want ...string) {
	t.Helper()
	pollUntil(t, fmt.Sprintf("%s: Slack messages %v", rule, want), func() bool {
		got := slack.titles(rule)
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("%s: Slack messages %v, want %v", rule, got, want)
		}
		return len(got) == len(want)
	})
}

// TestClusterAlertsOneEvaluator: two instances on one NATS cluster and one
// ClickHouse. Exactly one holds the alert lease and evaluates; the other
// never does. A rule created and then changed on the follower is what the
// leader evaluates (min_count 100 would never fire on 16 requests; the
// change to 10 must reach the leader). 16 failures split 8/8 over the two
// instances, which no instance alone would alert on, give exactly one
// firing and one resolved Slack message (issue 15: before, none). When the
// leader stops cleanly it releases the lease and the other takes over.
func TestClusterAlertsOneEvaluator(t *testing.T) {
	ns := natstest.Start(t, 3)
	srv := chtest.Start(t)
	env := clusterAlertEnv(t, ns, srv.Database(t))
	apps := []*testApp{startApp(t, t.TempDir(), env), startApp(t, t.TempDir(), env)}
	leader, rest := leaderOf(t, apps...)
	follower := rest[0]
	slack := newSlackStandIn(t)

	bin := follower.newBin(t, map[string]any{"response": map[string]any{"status": 500}})
	id := failureRule(t, follower, bin, "split", slack.URL, "3s", 100, "1s")
	doJSONAuth(t, "PATCH", follower.base+"/api/v1/alerts/rules/"+id, bin.Token, map[string]any{"params": map[string]any{"min_count": 10}}, 200, nil)
	for i := range 8 {
		postN(t, apps[0], bin.ID, "/a", 1, i)
		postN(t, apps[1], bin.ID, "/b", 1, i)
	}
	waitTitles(t, slack, "split", "Firing", "Resolved:")
	var evs struct {
		Events []struct {
			State string `json:"state"`
		} `json:"events"`
	}
	// Every event of the rule, recorded by whichever instance: the
	// firing and the resolve, once each.
	doJSONAuth(t, "GET", follower.base+"/api/v1/alerts/events?rule_id="+id, bin.Token, nil, 200, &evs)
	var states []string
	for _, e := range evs.Events {
		states = append(states, e.State)
	}
	if !slices.Equal(states, []string{"resolved", "firing"}) {
		t.Errorf("events %v, want one firing and one resolved", states)
	}
	if !leader.engine.Leading() || follower.engine.Leading() {
		t.Fatal("the leadership moved during the test")
	}
	if n := follower.engine.Stats().Evaluations; n != 0 {
		t.Errorf("the follower evaluated %d times", n)
	}
	if leader.engine.Stats().Observed < 16 {
		t.Errorf("the leader observed %d captures, want all 16", leader.engine.Stats().Observed)
	}
	slack.mu.Lock()
	if len(slack.bad) > 0 {
		t.Errorf("messages not in Slack's shape: %v", slack.bad)
	}
	slack.mu.Unlock()

	// A clean stop releases the lease (deletes its key) rather than
	// leaving it to expire: right after Shutdown the key no longer names
	// the old leader, and the follower takes over.
	old := leader.clusterAlerts.election.(*lease.Lease).Holder()
	stopped := time.Now()
	leader.stop(t)
	if holder := leaseHolder(t, ns); holder == old {
		t.Errorf("after a clean stop the lease key still names the stopped instance %s: not released", old)
	}
	pollUntil(t, "the follower to take over", follower.engine.Leading)
	t.Logf("the follower leads %s after the leader's clean stop began", time.Since(stopped).Round(time.Millisecond))
}

// leaseHolder is the alert lease key's value ("" when there is none).
func leaseHolder(t *testing.T, ns *natstest.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	kv, err := ns.JetStream().KeyValue(ctx, alertLeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, alertLeaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(e.Value())
}

// metricsLeader reads hookscope_alerts_leader from an instance's /metrics.
func metricsLeader(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\nhookscope_alerts_leader 1\n")
}

// TestClusterAlertLeaderKilled: the leader is a child process killed with
// SIGKILL (no release of the lease) while an episode it announced is open.
// The survivor takes over within 15s (the lease's 10s TTL plus its retry),
// continues the episode from the states in JetStream KV and sends its
// resolve (one firing, one resolved in all); the episode's 1h cooldown
// survives too (a new episode on that rule stays silent), while a rule
// whose first episode starts after the takeover notifies once.
func TestClusterAlertLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	ns := natstest.Start(t, 3)
	srv := chtest.Start(t)
	env := clusterAlertEnv(t, ns, srv.Database(t))
	child, childBase, stderr := startCrashChild(t, t.TempDir(), env, 0)
	pollUntil(t, "the child to lead", func() bool { return metricsLeader(t, childBase) })
	b := startApp(t, t.TempDir(), env)
	if b.engine.Leading() {
		t.Fatal("two leaders")
	}
	slack := newSlackStandIn(t)
	bin1 := b.newBin(t, map[string]any{"response": map[string]any{"status": 500}})
	bin2 := b.newBin(t, map[string]any{"response": map[string]any{"status": 500}})
	// A 10s window: the episode is still open when the leader dies.
	failureRule(t, b, bin1, "handover", slack.URL, "10s", 5, "1h")
	failureRule(t, b, bin2, "after takeover", slack.URL, "3s", 5, "1s")
	child1 := &testApp{base: childBase}
	for i := range 3 {
		postN(t, child1, bin1.ID, "/c", 1, i)
		postN(t, b, bin1.ID, "/b", 1, i)
	}
	waitTitles(t, slack, "handover", "Firing")

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()
	deadline := killed.Add(15 * time.Second)
	for !b.engine.Leading() {
		if time.Now().After(deadline) {
			t.Fatalf("no takeover within 15s of the kill; child stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the survivor leads %s after the kill", time.Since(killed).Round(time.Millisecond))
	// The open episode resolves on the new leader: one resolve, no
	// second firing.
	waitTitles(t, slack, "handover", "Firing", "Resolved:")
	// Failures on both bins: bin2's first episode notifies; bin1's new
	// episode is within the 1h cooldown the dead leader started.
	for i := range 6 {
		postN(t, b, bin1.ID, "/again", 1, i)
		postN(t, b, bin2.ID, "/new", 1, i)
	}
	waitTitles(t, slack, "after takeover", "Firing", "Resolved:")
	if got := slack.titles("handover"); !slices.Equal(got, []string{"Firing", "Resolved:"}) {
		t.Errorf("handover: %v after a second episode within its cooldown, want it silent", got)
	}
	if st := b.engine.Stats(); st.Suppressed != 1 {
		t.Errorf("the new leader suppressed %d episodes, want 1 (bin1's second, within cooldown)", st.Suppressed)
	}
}

// TestClusterAlertStatesOfDeletedRules: in cluster mode a rule deleted
// through the API takes its episode states out of the JetStream KV bucket
// (and only its own), and a new leader's term starts by sweeping the
// states of rules that no longer exist (here a rule deleted while no
// leader ran, written straight to the bucket); a live rule's state stays.
func TestClusterAlertStatesOfDeletedRules(t *testing.T) {
	ns := natstest.Start(t, 1)
	srv := chtest.Start(t)
	env := clusterAlertEnv(t, ns, srv.Database(t))
	a := startApp(t, t.TempDir(), env)
	leaderOf(t, a)
	slack := newSlackStandIn(t)
	bin := a.newBin(t, nil)
	kept := failureRule(t, a, bin, "kept", slack.URL, "1m", 100, "1s")
	deleted := failureRule(t, a, bin, "deleted", slack.URL, "1m", 100, "1s")
	ghost := uuid.NewString() // a rule deleted while no leader ran

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	kv, err := ns.JetStream().KeyValue(ctx, alertStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	states := kvstate.New(kv, 0)
	for _, rule := range []string{kept, deleted, ghost} {
		for _, b := range []string{bin.ID, "other-bin"} {
			if err := states.SaveState(ctx, alerts.EpisodeState{RuleID: rule, BinID: b, Phase: alerts.Firing, Since: time.Now().UTC()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	has := func(rule string) int {
		t.Helper()
		n := 0
		for _, b := range []string{bin.ID, "other-bin"} {
			_, err := kv.Get(ctx, kvstate.Key(rule, b))
			switch {
			case err == nil:
				n++
			case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
			default:
				t.Fatal(err)
			}
		}
		return n
	}
	doJSONAuth(t, "DELETE", a.base+"/api/v1/alerts/rules/"+deleted, bin.Token, nil, 204, nil)
	if n := has(deleted); n != 0 {
		t.Fatalf("the deleted rule keeps %d states in KV", n)
	}
	if has(kept) != 2 || has(ghost) != 2 {
		t.Fatalf("deleting one rule removed other rules' states: kept %d, ghost %d", has(kept), has(ghost))
	}

	// A new leader sweeps at the start of its term.
	a.stop(t)
	b := startApp(t, t.TempDir(), env)
	pollUntil(t, "the new instance to lead", b.engine.Leading)
	pollUntil(t, "the new leader to sweep the states of the rule that no longer exists", func() bool { return has(ghost) == 0 })
	if n := has(kept); n != 2 {
		t.Fatalf("the live rule has %d states after the sweep, want 2", n)
	}
}
