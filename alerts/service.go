package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// Service is what the HTTP layer calls for /api/v1/alerts. Errors wrap
// schema.ErrNotFound or schema.ErrInvalid (with a message fit for the API
// user: it never contains a channel URL).
type Service struct {
	store  schema.Alerts
	engine *Engine
	now    func() time.Time
}

// NewService returns a service storing rules in store and keeping engine in
// sync. engine may be nil (rules are stored but not evaluated).
func NewService(store schema.Alerts, engine *Engine, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, engine: engine, now: now}
}

// ruleInput is the create body: the Rule fields a client may set.
type ruleInput struct {
	Name     string    `json:"name"`
	BinID    *string   `json:"bin_id"`
	Kind     Kind      `json:"kind"`
	Severity string    `json:"severity"`
	Params   Params    `json:"params"`
	Channels []Channel `json:"channels"`
	Cooldown Duration  `json:"cooldown"`
	For      Duration  `json:"for"`
	Enabled  *bool     `json:"enabled"`
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %s", schema.ErrInvalid, jsonErr(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: body: trailing data after the JSON object", schema.ErrInvalid)
	}
	return nil
}

// jsonErr turns decoder errors into short messages without echoing values
// (a channel URL must never come back in an error).
func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case strings.Contains(err.Error(), "duration"):
		return err.Error()
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at offset %d", se.Offset)
	}
	return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// binLookup is implemented by stores that keep bins (both real ones do):
// when present, a rule naming a bin must name an existing one.
type binLookup interface {
	GetBin(ctx context.Context, id string) (*schema.Bin, error)
}

func (s *Service) checkBin(ctx context.Context, r *Rule) error {
	bl, ok := s.store.(binLookup)
	if !ok || r.BinID == nil {
		return nil
	}
	if _, err := bl.GetBin(ctx, *r.BinID); err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return fmt.Errorf("%w: bin_id: no bin %q", schema.ErrInvalid, *r.BinID)
		}
		return fmt.Errorf("check bin: %w", err)
	}
	return nil
}

func (s *Service) save(ctx context.Context, r *Rule) error {
	if err := s.checkBin(ctx, r); err != nil {
		return err
	}
	st, err := r.toStored()
	if err != nil {
		return err
	}
	if err := s.store.PutRule(ctx, st); err != nil {
		return fmt.Errorf("store rule %s: %w", r.ID, err)
	}
	if s.engine != nil {
		s.engine.SetRule(r)
	}
	return nil
}

// CreateRule decodes, defaults, validates and stores a new rule.
func (s *Service) CreateRule(ctx context.Context, body []byte) (*Rule, error) {
	var in ruleInput
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	var raw struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &raw)
	if err := checkParamKeys(raw.Params); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &Rule{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, BinID: in.BinID, Kind: in.Kind,
		Severity: severity(in.Severity), Params: in.Params, Channels: in.Channels, Cooldown: in.Cooldown,
		For: in.For, Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now}
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := s.save(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// CreateRules stores prepared rules (e.g. DefaultRules) after validation.
func (s *Service) CreateRules(ctx context.Context, rules []*Rule) ([]*Rule, error) {
	now := s.now().UTC()
	for _, r := range rules {
		r.ID = uuid.Must(uuid.NewV7()).String()
		r.CreatedAt, r.UpdatedAt = now, now
		r.Normalize()
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	for _, r := range rules {
		if err := s.save(ctx, r); err != nil {
			return nil, err
		}
	}
	return rules, nil
}

// EnableDefaults is the one toggle: it creates DefaultRules(binID) sending to
// the given channels.
func (s *Service) EnableDefaults(ctx context.Context, binID string, channels []Channel) ([]*Rule, error) {
	if binID == "" {
		return nil, fmt.Errorf("%w: bin_id is required", schema.ErrInvalid)
	}
	return s.CreateRules(ctx, DefaultRules(binID, channels...))
}

func severity(s string) notify.Severity { return notify.Severity(s) }

// GetRule returns one rule.
func (s *Service) GetRule(ctx context.Context, id string) (*Rule, error) {
	st, err := s.store.GetRule(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get rule: %w", err)
	}
	return fromStored(st)
}

// ListRules returns every rule, oldest first.
func (s *Service) ListRules(ctx context.Context) ([]*Rule, error) {
	sts, err := s.store.ListRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	out := make([]*Rule, 0, len(sts))
	for _, st := range sts {
		r, err := fromStored(st)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// UpdateRule applies a JSON merge patch: fields present replace the stored
// ones; params merge key by key (null removes a kind-specific key, which then
// takes its default). A channel given without "url" keeps the URL of the
// existing channel at the same position if its type is the same, so clients
// can edit a rule they only know by url_hint.
func (s *Service) UpdateRule(ctx context.Context, id string, patch []byte) (*Rule, error) {
	cur, err := s.GetRule(ctx, id)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(patch, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: body: must be a JSON object", schema.ErrInvalid)
	}
	allowed := map[string]bool{"name": true, "bin_id": true, "kind": true, "severity": true, "params": true,
		"channels": true, "cooldown": true, "for": true, "enabled": true}
	for k := range top {
		if !allowed[k] {
			return nil, fmt.Errorf("%w: body: unknown field %q", schema.ErrInvalid, k)
		}
	}
	next := *cur
	field := func(name string, v any) error {
		raw, ok := top[name]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%w: %s: %s", schema.ErrInvalid, name, jsonErr(err))
		}
		return nil
	}
	var sev string
	for name, v := range map[string]any{"name": &next.Name, "kind": &next.Kind, "severity": &sev,
		"cooldown": &next.Cooldown, "for": &next.For, "enabled": &next.Enabled} {
		if err := field(name, v); err != nil {
			return nil, err
		}
	}
	if _, ok := top["severity"]; ok {
		next.Severity = severity(sev)
	}
	if raw, ok := top["bin_id"]; ok {
		next.BinID = nil
		if string(raw) != "null" {
			var b string
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("%w: bin_id: must be a string or null", schema.ErrInvalid)
			}
			next.BinID = &b
		}
	}
	if raw, ok := top["params"]; ok {
		merged, err := mergeParams(cur.Params, raw)
		if err != nil {
			return nil, err
		}
		next.Params = merged
	}
	if raw, ok := top["channels"]; ok {
		var chans []Channel
		if err := json.Unmarshal(raw, &chans); err != nil {
			return nil, fmt.Errorf("%w: channels: %s", schema.ErrInvalid, jsonErr(err))
		}
		for i := range chans {
			if chans[i].URL.IsZero() && i < len(cur.Channels) && cur.Channels[i].Type == chans[i].Type {
				chans[i].URL = cur.Channels[i].URL
			}
		}
		next.Channels = chans
	}
	if next.Kind != cur.Kind {
		// A different kind means different params: keep only the common
		// ones; the rest take the new kind's defaults unless patched.
		common := map[string]json.RawMessage{}
		common["window"], _ = json.Marshal(next.Params.Window)
		common["min_count"], _ = json.Marshal(next.Params.MinCount)
		merged, err := mergeInto(common, top["params"])
		if err != nil {
			return nil, err
		}
		next.Params = merged
	}
	next.UpdatedAt = s.now().UTC()
	if !next.UpdatedAt.After(cur.UpdatedAt) {
		next.UpdatedAt = cur.UpdatedAt.Add(time.Microsecond)
	}
	next.Normalize()
	if err := next.Validate(); err != nil {
		return nil, err
	}
	if err := s.save(ctx, &next); err != nil {
		return nil, err
	}
	return &next, nil
}

// checkParamKeys rejects unknown keys in a params object.
func checkParamKeys(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%w: params: must be an object", schema.ErrInvalid)
	}
	for k := range m {
		if !paramKeys[k] {
			return fmt.Errorf("%w: params: unknown field %q", schema.ErrInvalid, k)
		}
	}
	return nil
}

func mergeParams(cur Params, raw json.RawMessage) (Params, error) {
	base, _ := json.Marshal(cur)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return cur, fmt.Errorf("merge params: %w", err)
	}
	return mergeInto(m, raw)
}

// mergeInto applies the params patch raw (nil: none) over m and decodes.
func mergeInto(m map[string]json.RawMessage, raw json.RawMessage) (Params, error) {
	var p map[string]json.RawMessage
	if raw != nil {
		if err := json.Unmarshal(raw, &p); err != nil || p == nil {
			return Params{}, fmt.Errorf("%w: params: must be an object", schema.ErrInvalid)
		}
		if err := checkParamKeys(raw); err != nil {
			return Params{}, err
		}
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	var out Params
	if err := json.Unmarshal(b, &out); err != nil {
		return Params{}, fmt.Errorf("%w: params: %s", schema.ErrInvalid, jsonErr(err))
	}
	return out, nil
}

// DeleteRule removes a rule; its events stay.
func (s *Service) DeleteRule(ctx context.Context, id string) error {
	if err := s.store.DeleteRule(ctx, id); err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	if s.engine != nil {
		s.engine.RemoveRule(id)
	}
	return nil
}

// TestRule sends a sample notification to every channel of the rule.
func (s *Service) TestRule(ctx context.Context, id string) ([]ChannelResult, error) {
	r, err := s.GetRule(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.engine == nil {
		return nil, fmt.Errorf("test rule: %w: alert engine not running", schema.ErrUnavailable)
	}
	s.engine.SetRule(r) // the stored version is the truth
	return s.engine.TestRule(ctx, id)
}

// Event is an alert event as the API shows it: the stored event with its
// document spread out.
type Event struct {
	ID     uuid.UUID `json:"id"`
	RuleID string    `json:"rule_id"`
	BinID  string    `json:"bin_id"`
	State  string    `json:"state"`
	At     time.Time `json:"at"`
	EventDoc
}

// ListEvents returns events newest first. Limit 0 means 100; at most 1000.
func (s *Service) ListEvents(ctx context.Context, f schema.EventFilter) ([]*Event, error) {
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, fmt.Errorf("%w: limit: must be between 1 and 1000", schema.ErrInvalid)
	}
	evs, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]*Event, 0, len(evs))
	for _, ev := range evs {
		e := &Event{ID: ev.ID, RuleID: ev.RuleID, BinID: ev.BinID, State: ev.State, At: ev.At}
		if len(ev.Doc) > 0 {
			if err := json.Unmarshal(ev.Doc, &e.EventDoc); err != nil {
				return nil, fmt.Errorf("decode event %s: %w", ev.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}
