package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// alertsTests are the cases of schema.Alerts.
var alertsTests = []testCase{
	{"AlertRules", testAlertRules},
	{"AlertEvents", testAlertEvents},
}

// ---- alerts ----------------------------------------------------------------

func testAlertRules(t *testing.T, s schema.Store) {
	ctx := t.Context()
	now := schema.Truncate(time.Now())
	bin := newBin(t, s)
	r1 := &schema.AlertRule{ID: uniqueID("rule"), BinID: bin.ID, Doc: json.RawMessage(`{"name":"bad signatures","kind":"signature_failures","params":{"window":"10s"}}`),
		CreatedAt: now.Add(2 * time.Second), UpdatedAt: now.Add(2 * time.Second)}
	r2 := &schema.AlertRule{ID: uniqueID("rule"), BinID: "", Doc: json.RawMessage(`{"name":"global ✓"}`),
		CreatedAt: now.Add(1 * time.Second), UpdatedAt: now.Add(3 * time.Second)}
	for _, r := range []*schema.AlertRule{r1, r2} {
		if err := s.PutRule(ctx, r); err != nil {
			t.Fatalf("PutRule: %v", err)
		}
	}
	checkRule := func(got, want *schema.AlertRule) {
		t.Helper()
		if got.ID != want.ID || got.BinID != want.BinID || !bytes.Equal(got.Doc, want.Doc) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("rule\n got %+v (%s)\nwant %+v (%s)", got, got.Doc, want, want.Doc)
		}
	}
	got, err := s.GetRule(ctx, r1.ID)
	if err != nil {
		t.Fatalf("GetRule: %v", err)
	}
	checkRule(got, r1)

	// Replace.
	r1b := *r1
	r1b.Doc = json.RawMessage(`{"name":"renamed"}`)
	r1b.UpdatedAt = now.Add(time.Minute)
	if err := s.PutRule(ctx, &r1b); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRule(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkRule(got, &r1b)

	rules, err := s.ListRules(ctx)
	if err != nil {
		t.Fatalf("ListRules: %v", err)
	}
	var mine []string
	for i, r := range rules {
		if i > 0 && r.CreatedAt.Before(rules[i-1].CreatedAt) {
			t.Errorf("ListRules not ordered by CreatedAt at %d", i)
		}
		if r.ID == r1.ID || r.ID == r2.ID {
			mine = append(mine, r.ID)
		}
	}
	if want := []string{r2.ID, r1.ID}; !slices.Equal(mine, want) {
		t.Errorf("our rules in ListRules = %v, want %v (and exactly once each)", mine, want)
	}

	if err := s.DeleteRule(ctx, r1.ID); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	if _, err := s.GetRule(ctx, r1.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRule after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRule(ctx, r1.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("DeleteRule twice = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRule(ctx, uniqueID("norule")); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("GetRule(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRule(ctx, r2.ID); err != nil {
		t.Errorf("other rule gone: %v", err)
	}
}

func testAlertEvents(t *testing.T, s schema.Store) {
	ctx := t.Context()
	rule := &schema.AlertRule{ID: uniqueID("rule"), Doc: json.RawMessage(`{}`), CreatedAt: schema.Truncate(time.Now()), UpdatedAt: schema.Truncate(time.Now())}
	if err := s.PutRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	binA, binB := uniqueID("evbin"), uniqueID("evbin")
	var events []*schema.AlertEvent
	for i := range 15 {
		e := &schema.AlertEvent{ID: newV7(t), RuleID: rule.ID, BinID: []string{binA, binB}[i%2],
			State: []string{"firing", "resolved"}[i%2], At: baseTime().Add(time.Duration(i) * time.Second),
			Doc: json.RawMessage(fmt.Sprintf(`{"n":%d,"msg":"héllo"}`, i))}
		events = append(events, e)
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
	}
	// Appending the same id again stores it once.
	if err := s.AppendEvent(ctx, events[3]); err != nil {
		t.Fatalf("AppendEvent twice: %v", err)
	}
	newest := slices.Clone(events)
	sort.Slice(newest, func(i, j int) bool { return bytes.Compare(newest[i].ID[:], newest[j].ID[:]) > 0 })
	eventIDs := func(es []*schema.AlertEvent) []uuid.UUID {
		out := make([]uuid.UUID, len(es))
		for i, e := range es {
			out[i] = e.ID
		}
		return out
	}
	listEvents := func(f schema.EventFilter) []*schema.AlertEvent {
		t.Helper()
		es, err := s.ListEvents(ctx, f)
		if err != nil {
			t.Fatalf("ListEvents(%+v): %v", f, err)
		}
		return es
	}
	got := listEvents(schema.EventFilter{RuleID: rule.ID})
	equalIDs(t, "by rule", eventIDs(got), eventIDs(newest))
	byID := map[uuid.UUID]*schema.AlertEvent{}
	for _, e := range events {
		byID[e.ID] = e
	}
	for _, g := range got {
		w := byID[g.ID]
		if w == nil || g.RuleID != w.RuleID || g.BinID != w.BinID || g.State != w.State || !g.At.Equal(w.At) ||
			g.At.Location() != time.UTC || !bytes.Equal(g.Doc, w.Doc) {
			t.Errorf("event %s\n got %+v (%s)\nwant %+v", g.ID, g, g.Doc, w)
		}
	}
	var wantB []*schema.AlertEvent
	for _, e := range newest {
		if e.BinID == binB {
			wantB = append(wantB, e)
		}
	}
	equalIDs(t, "by bin", eventIDs(listEvents(schema.EventFilter{BinID: binB})), eventIDs(wantB))
	equalIDs(t, "by rule and bin", eventIDs(listEvents(schema.EventFilter{RuleID: rule.ID, BinID: binB})), eventIDs(wantB))
	equalIDs(t, "other rule", eventIDs(listEvents(schema.EventFilter{RuleID: uniqueID("norule")})), nil)

	// Before paging: no duplicates, no gaps.
	var paged []*schema.AlertEvent
	f := schema.EventFilter{RuleID: rule.ID, Limit: 4}
	for range 10 {
		page := listEvents(f)
		if len(page) > 4 {
			t.Fatalf("page of %d with limit 4", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		f.Before = &page[len(page)-1].ID
	}
	equalIDs(t, "paged", eventIDs(paged), eventIDs(newest))

	// Events outlive their rule.
	if err := s.DeleteRule(ctx, rule.ID); err != nil {
		t.Fatal(err)
	}
	if got := listEvents(schema.EventFilter{RuleID: rule.ID}); len(got) != 15 {
		t.Errorf("after DeleteRule: %d events, want 15", len(got))
	}

	// Limit 0 means 100.
	many := uniqueID("rule")
	var batch []*schema.AlertEvent
	for range 105 {
		e := &schema.AlertEvent{ID: newV7(t), RuleID: many, State: "firing", At: baseTime()}
		batch = append(batch, e)
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := listEvents(schema.EventFilter{RuleID: many}); len(got) != 100 {
		t.Errorf("default limit: %d events, want 100", len(got))
	}
}
