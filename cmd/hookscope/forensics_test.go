package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/event/eventtest"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// Delivery forensics (issue 17 items 1, 2 and 7) through the real API, on
// both stores: event types and delivery ids of every provider's documented
// example, the event_type/delivery_id filters and by_event_type, a retry
// chain of three attempts, and single and filtered delete.

func TestForensicsEmbedded(t *testing.T) {
	testForensics(t, startApp(t, t.TempDir(), nil))
}

func TestForensicsClickHouse(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		testForensics(t, startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": srv.Database(t)}))
	})
}

type forensicReq struct {
	ID          string    `json:"id"`
	ReceivedAt  time.Time `json:"received_at"`
	EventType   string    `json:"event_type"`
	DeliveryID  string    `json:"delivery_id"`
	Attempt     int       `json:"attempt"`
	DuplicateOf *string   `json:"duplicate_of"`
	IntervalMS  *int64    `json:"interval_ms"`
}

// sendRaw captures one request with exactly these headers and returns the
// recorded id.
func sendRaw(t *testing.T, a *testApp, bin, method, path, rawQuery string, hdr [][2]string, body []byte) string {
	t.Helper()
	u := a.base + "/h/" + bin + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hdr {
		req.Header.Add(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Hookscope-Request-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("capture %s %s = %d (id %q)", method, u, resp.StatusCode, id)
	}
	return id
}

// getForensic reads one request, waiting for the store writer.
func getForensic(t *testing.T, a *testApp, bin, id string) forensicReq {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests/"+id, nil, "")
		if status == 200 {
			var r forensicReq
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		if status != 404 || time.Now().After(deadline) {
			t.Fatalf("GET request %s = %d %s", id, status, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listForensic(t *testing.T, a *testApp, bin string, params url.Values) []forensicReq {
	t.Helper()
	var l struct {
		Requests []forensicReq `json:"requests"`
	}
	params.Set("limit", "1000")
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin+"/requests?"+params.Encode(), nil, 200, &l)
	return l.Requests
}

func testForensics(t *testing.T, a *testApp) {
	t.Run("documented examples", func(t *testing.T) { testEventExamples(t, a) })
	t.Run("retry chain of three", func(t *testing.T) { testRetryChain(t, a) })
	t.Run("delete", func(t *testing.T) { testDelete(t, a) })
}

func testEventExamples(t *testing.T, a *testApp) {
	bin := a.newBin(t, map[string]any{"name": "providers"})
	type sent struct {
		ex          eventtest.Example
		id          string
		attempt     int
		duplicateOf string
	}
	var all []sent
	firstOf := map[string]string{}
	seen := map[string]int{}
	for i, ex := range eventtest.Examples {
		var hdr [][2]string
		for _, h := range ex.Req.Headers {
			hdr = append(hdr, [2]string{h.Name, h.Value})
		}
		method := ex.Req.Method
		if method == "" {
			method = "POST"
		}
		id := sendRaw(t, a, bin.ID, method, fmt.Sprintf("/ex%d", i), ex.Req.Query, hdr, ex.Req.Body)
		s := sent{ex: ex, id: id, attempt: ex.Want.Attempt}
		if d := ex.Want.DeliveryID; d != "" {
			seen[d]++
			if seen[d] == 1 {
				firstOf[d] = id
			} else {
				s.duplicateOf = firstOf[d]
			}
			if s.attempt == 0 {
				s.attempt = seen[d] // counted along the chain
			}
		}
		all = append(all, s)
	}
	types := map[string]int64{}
	for _, s := range all {
		r := getForensic(t, a, bin.ID, s.id)
		w := s.ex.Want
		dup := ""
		if r.DuplicateOf != nil {
			dup = *r.DuplicateOf
		}
		if r.EventType != w.Type || r.DeliveryID != w.DeliveryID || r.Attempt != s.attempt || dup != s.duplicateOf {
			t.Errorf("%s (%s): got event_type %q delivery_id %q attempt %d duplicate_of %q, want %q %q %d %q",
				s.ex.Name, s.ex.Source, r.EventType, r.DeliveryID, r.Attempt, dup, w.Type, w.DeliveryID, s.attempt, s.duplicateOf)
		}
		types[w.Type]++
	}

	// Filters: every event type and delivery id selects exactly its requests.
	for _, s := range all {
		w := s.ex.Want
		if w.Type != "" {
			got := listForensic(t, a, bin.ID, url.Values{"event_type": {w.Type}})
			if int64(len(got)) != types[w.Type] {
				t.Errorf("event_type=%s lists %d, want %d", w.Type, len(got), types[w.Type])
			}
			for _, r := range got {
				if r.EventType != w.Type {
					t.Errorf("event_type=%s listed %q", w.Type, r.EventType)
				}
			}
		}
		if w.DeliveryID != "" {
			got := listForensic(t, a, bin.ID, url.Values{"delivery_id": {w.DeliveryID}})
			if len(got) != seen[w.DeliveryID] {
				t.Errorf("delivery_id=%s lists %d, want %d", w.DeliveryID, len(got), seen[w.DeliveryID])
			}
		}
	}
	if got := listForensic(t, a, bin.ID, url.Values{"event_type": {"no.such.event"}}); len(got) != 0 {
		t.Errorf("unknown event type lists %d", len(got))
	}
	// Stats: by_event_type counts every request by its type.
	var st struct {
		Total       int64            `json:"total"`
		ByEventType map[string]int64 `json:"by_event_type"`
	}
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/stats", nil, 200, &st)
	if st.Total != int64(len(all)) || len(st.ByEventType) != len(types) {
		t.Errorf("stats total %d by_event_type %v, want %d %v", st.Total, st.ByEventType, len(all), types)
	}
	for k, n := range types {
		if st.ByEventType[k] != n {
			t.Errorf("by_event_type[%q] = %d, want %d", k, st.ByEventType[k], n)
		}
	}
	// Bad filter values are a 400 naming the parameter.
	long := string(bytes.Repeat([]byte("x"), 300))
	for _, p := range []string{"event_type", "delivery_id"} {
		status, _, b := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests?"+p+"="+long, nil, "")
		if status != 400 || !bytes.Contains(b, []byte(p)) {
			t.Errorf("%s of 300 bytes = %d %s, want 400 naming it", p, status, b)
		}
	}
}

func testRetryChain(t *testing.T, a *testApp) {
	bin := a.newBin(t, map[string]any{"name": "retries"})
	// GitHub redelivers with the same X-GitHub-Delivery and says nothing
	// about the attempt: hookscope counts it.
	hdr := [][2]string{{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}, {"Content-Type", "application/json"}}
	body := []byte(`{"ref":"refs/heads/main"}`)
	other := sendRaw(t, a, bin.ID, "POST", "/gh", "", [][2]string{{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "another"}}, body)
	var ids []string
	for range 3 {
		ids = append(ids, sendRaw(t, a, bin.ID, "POST", "/gh", "", hdr, body))
		time.Sleep(20 * time.Millisecond) // distinct, visible intervals between attempts
	}
	var chain struct {
		DeliveryID string        `json:"delivery_id"`
		Truncated  bool          `json:"truncated"`
		Attempts   []forensicReq `json:"attempts"`
	}
	getForensic(t, a, bin.ID, ids[2]) // written
	for _, from := range []string{ids[0], ids[2]} {
		doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+from+"/attempts", nil, 200, &chain)
		if chain.DeliveryID != hdr[1][1] || chain.Truncated || len(chain.Attempts) != 3 {
			t.Fatalf("chain from %s: %+v", from, chain)
		}
		for i, at := range chain.Attempts {
			if at.ID != ids[i] || at.Attempt != i+1 || at.EventType != "push" {
				t.Errorf("attempt %d: %+v, want id %s attempt %d", i, at, ids[i], i+1)
			}
			if i == 0 {
				if at.DuplicateOf != nil || at.IntervalMS != nil {
					t.Errorf("first attempt: duplicate_of %v interval %v, want null", at.DuplicateOf, at.IntervalMS)
				}
				continue
			}
			want := at.ReceivedAt.Sub(chain.Attempts[i-1].ReceivedAt).Milliseconds()
			if at.DuplicateOf == nil || *at.DuplicateOf != ids[0] || at.IntervalMS == nil || *at.IntervalMS != want || want < 20 {
				t.Errorf("attempt %d: duplicate_of %v interval %v, want %s and %d ms (>= 20)", i, at.DuplicateOf, at.IntervalMS, ids[0], want)
			}
		}
	}
	// A request of another delivery is a chain of its own.
	doJSON(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+other+"/attempts", nil, 200, &chain)
	if len(chain.Attempts) != 1 || chain.Attempts[0].ID != other || chain.Attempts[0].Attempt != 1 {
		t.Errorf("unrelated delivery's chain: %+v", chain)
	}
	// Unknown id, and another bin's request, are 404.
	status, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests/0190a5d0-0000-7000-8000-000000000000/attempts", nil, "")
	if status != 404 {
		t.Errorf("attempts of an unknown id = %d, want 404", status)
	}
}

func testDelete(t *testing.T, a *testApp) {
	bin := a.newBin(t, map[string]any{"name": "deletes"})
	owner := bearerHdr(bin.Token)
	base := a.base + "/api/v1/bins/" + bin.ID + "/requests"
	var ids []string
	for i := range 6 {
		typ := "invoice.paid"
		if i%2 == 1 {
			typ = "charge.failed"
		}
		ids = append(ids, sendRaw(t, a, bin.ID, "POST", "/s", "", [][2]string{{"Content-Type", "application/json"}, {"Stripe-Signature", "t=1686089970,v1=00"}},
			[]byte(fmt.Sprintf(`{"id":"evt_%d","object":"event","type":%q}`, i, typ))))
	}
	a.waitCount(t, bin.ID, 6)

	// One request: the owner token is needed.
	if status, _, b := call(t, "DELETE", base+"/"+ids[0], nil, ""); status != 401 {
		t.Fatalf("DELETE one without a token = %d %s, want 401", status, b)
	}
	if status, _, b := call(t, "DELETE", base+"/"+ids[0], owner, ""); status != 204 {
		t.Fatalf("DELETE one = %d %s, want 204", status, b)
	}
	if status, _, _ := call(t, "GET", base+"/"+ids[0], nil, ""); status != 404 {
		t.Errorf("deleted request reads %d, want 404", status)
	}
	if status, _, _ := call(t, "DELETE", base+"/"+ids[0], owner, ""); status != 404 {
		t.Errorf("deleting it again = %d, want 404", status)
	}
	if status, _, _ := call(t, "DELETE", base+"/not-a-uuid", owner, ""); status != 404 {
		t.Errorf("deleting a malformed id = %d, want 404", status)
	}
	if got := listForensic(t, a, bin.ID, url.Values{}); len(got) != 5 {
		t.Fatalf("after one delete the bin lists %d, want 5", len(got))
	}

	// By filter: the list's filters; paging parameters are refused.
	if status, _, b := call(t, "DELETE", base+"?event_type=charge.failed&limit=1", owner, ""); status != 400 || !bytes.Contains(b, []byte("limit")) {
		t.Errorf("DELETE with limit = %d %s, want 400 naming limit", status, b)
	}
	if status, _, _ := call(t, "DELETE", base+"?event_type=charge.failed", nil, ""); status != 401 {
		t.Errorf("DELETE by filter without a token = %d, want 401", status)
	}
	status, _, b := call(t, "DELETE", base+"?event_type=charge.failed", owner, "")
	var del struct {
		Deleted int64 `json:"deleted"`
	}
	if status != 200 || json.Unmarshal(b, &del) != nil || del.Deleted != 3 {
		t.Fatalf("DELETE ?event_type=charge.failed = %d %s, want 200 deleted 3", status, b)
	}
	left := listForensic(t, a, bin.ID, url.Values{})
	if len(left) != 2 {
		t.Fatalf("after the filtered delete the bin lists %d, want 2", len(left))
	}
	for _, r := range left {
		if r.EventType != "invoice.paid" || r.ID == ids[0] {
			t.Errorf("left %+v", r)
		}
	}
	status, _, b = call(t, "DELETE", base+"?delivery_id=evt_2", owner, "")
	if status != 200 || json.Unmarshal(b, &del) != nil || del.Deleted != 1 {
		t.Fatalf("DELETE ?delivery_id=evt_2 = %d %s, want deleted 1", status, b)
	}
	status, _, b = call(t, "DELETE", base+"?method=PUT", owner, "")
	if status != 200 || json.Unmarshal(b, &del) != nil || del.Deleted != 0 {
		t.Fatalf("DELETE ?method=PUT = %d %s, want deleted 0", status, b)
	}

	// The unfiltered clear still needs the owner token, and clears.
	if status, _, _ := call(t, "DELETE", base, nil, ""); status != 401 {
		t.Errorf("clear without a token = %d, want 401", status)
	}
	if got := listForensic(t, a, bin.ID, url.Values{}); len(got) != 1 {
		t.Fatalf("before the clear the bin lists %d, want 1", len(got))
	}
	if status, _, b := call(t, "DELETE", base, owner, ""); status != 204 {
		t.Fatalf("clear = %d %s, want 204", status, b)
	}
	if got := listForensic(t, a, bin.ID, url.Values{}); len(got) != 0 {
		t.Errorf("after the clear the bin lists %d", len(got))
	}
}

// TestForensicsReplayKeepsTheEvent: a replay is another delivery of the
// same event: it carries the original's event type and delivery id and
// joins its chain.
func TestForensicsReplayKeepsTheEvent(t *testing.T) {
	eachStore(t, allowPrivate, func(t *testing.T, a *testApp) {
		tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
		bin := a.newBin(t, nil)
		orig := sendRaw(t, a, bin.ID, "POST", "/gh", "", [][2]string{{"X-GitHub-Event", "issues"}, {"X-GitHub-Delivery", "del-1"}}, []byte(`{"action":"opened"}`))
		getForensic(t, a, bin.ID, orig)
		var rep struct {
			ID string `json:"id"`
		}
		doJSONAuth(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/requests/"+orig+"/replay", bin.Token, map[string]any{"url": tg.URL}, 201, &rep)
		r := getForensic(t, a, bin.ID, rep.ID)
		if r.EventType != "issues.opened" || r.DeliveryID != "del-1" || r.DuplicateOf == nil || *r.DuplicateOf != orig || r.Attempt != 2 {
			t.Fatalf("replay record %+v, want issues.opened del-1 duplicate_of %s attempt 2", r, orig)
		}
	})
}
