package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// memStore is an in-memory schema.Alerts + History for unit tests.
type memStore struct {
	mu     sync.Mutex
	rules  map[string]*schema.AlertRule
	events []*schema.AlertEvent
	bins   []*schema.Bin
	reqs   []*schema.Request
}

func newMemStore() *memStore { return &memStore{rules: map[string]*schema.AlertRule{}} }

func (m *memStore) PutRule(_ context.Context, r *schema.AlertRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *r
	m.rules[r.ID] = &c
	return nil
}

func (m *memStore) GetRule(_ context.Context, id string) (*schema.AlertRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rules[id]
	if !ok {
		return nil, fmt.Errorf("rule %s: %w", id, schema.ErrNotFound)
	}
	c := *r
	return &c, nil
}

func (m *memStore) ListRules(context.Context) ([]*schema.AlertRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*schema.AlertRule
	for _, r := range m.rules {
		c := *r
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *schema.AlertRule) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memStore) DeleteRule(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[id]; !ok {
		return fmt.Errorf("rule %s: %w", id, schema.ErrNotFound)
	}
	delete(m.rules, id)
	return nil
}

func (m *memStore) AppendEvent(_ context.Context, e *schema.AlertEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.events {
		if x.ID == e.ID {
			return nil
		}
	}
	c := *e
	m.events = append(m.events, &c)
	return nil
}

func (m *memStore) ListEvents(_ context.Context, f schema.EventFilter) ([]*schema.AlertEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := slices.Clone(m.events)
	slices.SortFunc(evs, func(a, b *schema.AlertEvent) int { return -slices.Compare(a.ID[:], b.ID[:]) })
	lim := f.Limit
	if lim == 0 {
		lim = 100
	}
	var out []*schema.AlertEvent
	for _, e := range evs {
		if (f.RuleID != "" && e.RuleID != f.RuleID) || (f.BinID != "" && e.BinID != f.BinID) {
			continue
		}
		if f.Before != nil && slices.Compare(e.ID[:], f.Before[:]) >= 0 {
			continue
		}
		out = append(out, e)
		if len(out) == lim {
			break
		}
	}
	return out, nil
}

func (m *memStore) ListBins(context.Context) ([]*schema.Bin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.bins), nil
}

// ListRequests implements BinID, Since, Until, Before, After and Limit, which
// is all the engine uses.
func (m *memStore) ListRequests(_ context.Context, f schema.Filter) (schema.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := slices.Clone(m.reqs)
	cmp := func(a, b *schema.Request) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	}
	if f.After != nil {
		slices.SortFunc(all, cmp)
	} else {
		slices.SortFunc(all, func(a, b *schema.Request) int { return -cmp(a, b) })
	}
	lim := f.Limit
	if lim == 0 {
		lim = 50
	}
	var p schema.Page
	for _, r := range all {
		if r.BinID != f.BinID || (!f.Since.IsZero() && r.ReceivedAt.Before(f.Since)) || (!f.Until.IsZero() && !r.ReceivedAt.Before(f.Until)) {
			continue
		}
		same := func(c *schema.Cursor) bool { return schema.Truncate(r.ReceivedAt).Equal(c.ReceivedAt) && r.ID == c.ID }
		if f.After != nil && (f.After.Less(r.ReceivedAt, r.ID) || same(f.After)) {
			continue
		}
		if f.Before != nil && !f.Before.Less(r.ReceivedAt, r.ID) {
			continue
		}
		if len(p.Requests) == lim {
			p.Next = schema.CursorOf(p.Requests[len(p.Requests)-1])
			break
		}
		p.Requests = append(p.Requests, r)
	}
	return p, nil
}

func (m *memStore) addRequests(rs ...*schema.Request) {
	m.mu.Lock()
	m.reqs = append(m.reqs, rs...)
	m.mu.Unlock()
}

func (m *memStore) eventStates() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.events {
		out = append(out, e.State)
	}
	return out
}

// req builds a captured request for tests.
func req(bin string, at time.Time, status int, sig schema.SignatureStatus, ip string) *schema.Request {
	return &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: bin, ReceivedAt: at, Method: "POST", Path: "/",
		RemoteIP: ip, ResponseStatus: status, LatencyUS: 100, Signature: schema.Signature{Status: sig},
		Headers: []schema.Header{{Name: "User-Agent", Value: "Stripe/1.0"}}}
}

func mustV7() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func notifyURL(s string) notify.URL { return notify.NewURL(s) }

// decodeStrict decodes a body the way web does: once, unknown fields and
// trailing data refused.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %s", schema.ErrInvalid, jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: body: trailing data after the JSON object", schema.ErrInvalid)
	}
	return nil
}

// createJSON decodes body strictly and creates the rule.
func createJSON(ctx context.Context, s *Service, body []byte) (*Rule, error) {
	var in RuleInput
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	return s.CreateRule(ctx, in)
}

// updateJSON decodes a patch strictly and applies it.
func updateJSON(ctx context.Context, s *Service, id string, body []byte) (*Rule, error) {
	var p RulePatch
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	return s.UpdateRule(ctx, id, p)
}
