package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

type liveAlertMsg struct {
	Type  string `json:"type"`
	Alert struct {
		ID     string `json:"id"`
		RuleID string `json:"rule_id"`
		BinID  string `json:"bin_id"`
		State  string `json:"state"`
		Title  string `json:"title"`
	} `json:"alert"`
}

// readAlert reads frames until an alert frame arrives (request frames are
// skipped) or the deadline passes.
func readAlert(t *testing.T, c wsConn, d time.Duration) liveAlertMsg {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("no alert frame: %v", err)
		}
		var m liveAlertMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("bad frame %s: %v", b, err)
		}
		if m.Type == "alert" {
			return m
		}
	}
}

// testRuleOn creates a rule of bin on a with a Slack stand-in channel and
// asks for its test notification: the engine records a "test" event of the
// bin at once.
func testRuleOn(t *testing.T, a *testApp, bin binResp, slack *slackStandIn) string {
	t.Helper()
	var rule struct {
		ID string `json:"id"`
	}
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules", bin.Token, map[string]any{"name": "pushed", "bin_id": bin.ID, "kind": "failure_spike",
		"channels": []any{map[string]any{"type": "slack", "url": slack.URL + "/services/T1/B1/SLACKSECRET"}}}, 201, &rule)
	doJSONAuth(t, "POST", a.base+"/api/v1/alerts/rules/"+rule.ID+"/test", bin.Token, map[string]any{}, 200, nil)
	return rule.ID
}

// TestLiveAlertFrames: a recorded alert event reaches the live feeds of its
// bin as an {"type":"alert"} frame, whatever their request filter (and an
// only=alerts feed), and never the feeds of another bin.
func TestLiveAlertFrames(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_ALLOW_PRIVATE_TARGETS": "true", "HOOKSCOPE_PUBLIC_URL": "http://hookscope.example"})
	slack := newSlackStandIn(t)
	mine, other := a.newBin(t, nil), a.newBin(t, nil)
	filtered := dialLive(t, a, mine.ID, "method=PUT")
	onlyAlerts := dialLive(t, a, mine.ID, "only=alerts")
	others := dialLive(t, a, other.ID, "")
	waitLiveRegistered()
	postN(t, a, mine.ID, "/post", 1, 0) // a POST: not for the PUT feed, nor the alerts-only one
	rule := testRuleOn(t, a, mine, slack)
	for name, c := range map[string]wsConn{"filtered": filtered, "only=alerts": onlyAlerts} {
		m := readAlert(t, c, 10*time.Second)
		if m.Alert.BinID != mine.ID || m.Alert.RuleID != rule || m.Alert.State != "test" || m.Alert.ID == "" {
			t.Errorf("%s feed: alert frame %+v, want the test event of rule %s on bin %s", name, m.Alert, rule, mine.ID)
		}
		expectNoMore(t, c)
	}
	expectNoMore(t, others)
	// The events API shows the same event.
	var evs struct {
		Events []struct{ ID, State string } `json:"events"`
	}
	doJSON(t, "GET", a.base+"/api/v1/alerts/events?bin_id="+mine.ID, nil, 200, &evs)
	if len(evs.Events) != 1 || evs.Events[0].State != "test" {
		t.Errorf("events API: %+v", evs.Events)
	}
	// only= takes one value.
	doJSON(t, "GET", a.base+"/api/v1/bins/"+mine.ID+"/live?only=requests", nil, 400, nil)
}

// TestClusterLiveAlertFrames: an alert event recorded on instance A reaches
// a viewer of the bin on instance B (NATS subject hookscope.alerts.events),
// once, and not a viewer of another bin.
func TestClusterLiveAlertFrames(t *testing.T) {
	ns := natstest.Start(t, 3)
	srv := chtest.Start(t)
	env := clusterEnv(t, ns, srv.Database(t))
	env["HOOKSCOPE_ALLOW_PRIVATE_TARGETS"] = "true"
	env["HOOKSCOPE_PUBLIC_URL"] = "http://hookscope.example"
	a := startApp(t, t.TempDir(), env)
	b := startApp(t, t.TempDir(), env)
	slack := newSlackStandIn(t)
	mine, other := a.newBin(t, nil), a.newBin(t, nil)
	onB := dialLive(t, b, mine.ID, "only=alerts")
	otherOnB := dialLive(t, b, other.ID, "")
	onA := dialLive(t, a, mine.ID, "")
	waitLiveRegistered()
	rule := testRuleOn(t, a, mine, slack)
	for name, c := range map[string]wsConn{"B": onB, "A": onA} {
		m := readAlert(t, c, 10*time.Second)
		if m.Alert.BinID != mine.ID || m.Alert.RuleID != rule || m.Alert.State != "test" {
			t.Errorf("viewer on %s: alert frame %+v", name, m.Alert)
		}
		expectNoMore(t, c)
	}
	expectNoMore(t, otherOnB)
}
