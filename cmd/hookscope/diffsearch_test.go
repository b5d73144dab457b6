package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// The search language and the request diff (issue 17 items 3 and 4)
// through the real API, on both stores: every operator and field on
// captured requests, malformed queries, and JSON, text and binary diffs.

func TestDiffSearchEmbedded(t *testing.T) {
	testDiffSearch(t, startApp(t, t.TempDir(), nil))
}

func TestDiffSearchClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testDiffSearch(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)}))
	})
}

func testDiffSearch(t *testing.T, a *testApp) {
	bin := a.newBin(t, map[string]any{"name": "forensics"}).ID
	ct := func(v string) [2]string { return [2]string{"Content-Type", v} }
	gh := func(ev string) [2]string { return [2]string{"X-GitHub-Event", ev} }
	opened := sendRaw(t, a, bin, "POST", "/gh", "", [][2]string{ct("application/json"), gh("pull_request"), {"X-GitHub-Delivery", "d-1"}},
		[]byte(`{"action":"opened","pull_request":{"number":7,"title":"Fix it"},"sender":{"login":"octo"}}`))
	closed := sendRaw(t, a, bin, "POST", "/gh", "", [][2]string{ct("application/json"), gh("pull_request"), {"X-GitHub-Delivery", "d-2"}},
		[]byte("{\n  \"action\": \"closed\",\n  \"pull_request\": {\"number\": 8, \"title\": \"Fix it\"}\n}"))
	stripe := sendRaw(t, a, bin, "PUT", "/stripe/events", "live=1", [][2]string{ct("application/json")},
		[]byte(`{"id":"evt_1","type":"charge.refunded","data":{"object":{"amount":2000,"paid":false}}}`))
	textA := sendRaw(t, a, bin, "POST", "/notes", "", [][2]string{ct("text/plain")}, []byte("alpha\nbeta\ngamma\n"))
	textB := sendRaw(t, a, bin, "POST", "/notes", "", [][2]string{ct("text/plain")}, []byte("alpha\nBETA\ngamma\n"))
	blob := sendRaw(t, a, bin, "POST", "/blob", "", [][2]string{ct("application/octet-stream")}, []byte{0, 1, 2, 0xff})
	all := []string{blob, textB, textA, stripe, closed, opened} // newest first
	a.waitCount(t, bin, len(all))

	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"fix", []string{closed, opened}},
		{`"pull_request"`, []string{closed, opened}},
		{"method:put", []string{stripe}},
		{"status:2xx", all},
		{"status:500", nil},
		{"ip:127.0.0.1", all},
		{"path:/STRIPE", []string{stripe}},
		{"event_type:pull_request.opened", []string{opened}},
		{"delivery_id:d-2", []string{closed}},
		{"signature:unchecked", all},
		{"header:X-GitHub-Event=pull_request", []string{closed, opened}},
		{"header:x-github-delivery", []string{closed, opened}},
		{"body.action:closed", []string{closed}},
		{"body.pull_request.number:7", []string{opened}},
		{`body.pull_request.title:"fix it"`, []string{closed, opened}},
		{"body.data.object.paid:false", []string{stripe}},
		{"body.data.object.amount:2000 AND live=1", []string{stripe}},
		{"path:/notes OR path:/blob", []string{blob, textB, textA}},
		{"NOT path:/gh -path:/notes", []string{blob, stripe}},
		{"(body.action:opened OR method:put) -body.type:charge.refunded", []string{opened}},
	} {
		got := listForensic(t, a, bin, url.Values{"q": {tc.q}})
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("q=%s: got %v, want %v", tc.q, ids, tc.want)
		}
	}
	for _, q := range []string{"(fix", "fix)", "status:9xx", `header:A="b`, "NOT", "body.a..b:1"} {
		status, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests?q="+url.QueryEscape(q), nil, "")
		if status != 400 || !strings.Contains(string(b), `parameter \"q\": syntax error at position`) {
			t.Errorf("q=%s = %d %s, want a 400 naming the position", q, status, b)
		}
	}

	type entry struct {
		Name     string `json:"name"`
		Op       string `json:"op"`
		From, To any
	}
	var d struct {
		Fields  map[string]struct{ From, To any } `json:"fields"`
		Headers []entry                           `json:"headers"`
		Query   []entry                           `json:"query"`
		Body    struct {
			Kind  string  `json:"kind"`
			JSON  []entry `json:"json"`
			Lines []struct {
				Op    string   `json:"op"`
				Lines []string `json:"lines"`
			} `json:"lines"`
			FirstDifference *int `json:"first_difference"`
		} `json:"body"`
	}
	diff := func(id, against string) {
		t.Helper()
		d.Body.JSON, d.Body.Lines, d.Headers, d.Query = nil, nil, nil, nil
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id+"/diff?against="+against, nil, 200, &d)
	}
	diff(closed, opened)
	var js []string
	for _, e := range d.Body.JSON {
		js = append(js, e.Op+" "+e.Name)
	}
	if d.Body.Kind != "json" || strings.Join(js, ", ") != "changed $.action, changed $.pull_request.number, removed $.sender" {
		t.Errorf("json diff = %s %v", d.Body.Kind, js)
	}
	if f := d.Fields["event_type"]; f.From != "pull_request.opened" || f.To != "pull_request.closed" {
		t.Errorf("event_type change = %v", d.Fields)
	}
	var hs []string
	for _, h := range d.Headers {
		hs = append(hs, h.Op+" "+h.Name)
	}
	if !slices.Contains(hs, "changed X-Github-Delivery") && !slices.Contains(hs, "changed X-GitHub-Delivery") {
		t.Errorf("headers = %v, want the delivery id changed", hs)
	}
	diff(stripe, closed)
	if len(d.Query) != 1 || d.Query[0].Name != "live" || d.Query[0].Op != "added" || d.Fields["method"].To != "PUT" {
		t.Errorf("query/method changes = %+v %+v", d.Query, d.Fields)
	}
	diff(textB, textA)
	var ls []string
	for _, l := range d.Body.Lines {
		ls = append(ls, l.Op+":"+strings.Join(l.Lines, "|"))
	}
	if d.Body.Kind != "text" || strings.Join(ls, " ") != "equal:alpha delete:beta insert:BETA equal:gamma" {
		t.Errorf("text diff = %s %v", d.Body.Kind, ls)
	}
	diff(blob, textA)
	if d.Body.Kind != "binary" || d.Body.FirstDifference == nil || *d.Body.FirstDifference != 0 {
		t.Errorf("binary diff = %+v", d.Body)
	}
	other := a.newBin(t, map[string]any{}).ID
	if status, _, b := call(t, "GET", a.base+"/api/v1/bins/"+other+"/requests/"+opened+"/diff?against="+closed, nil, ""); status != 404 {
		t.Errorf("diff through another bin = %d %s, want 404", status, b)
	}
}
