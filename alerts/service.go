package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// Service is what the HTTP layer calls for /api/v1/alerts, with values the
// HTTP layer decoded (strictly, once). Errors wrap schema.ErrNotFound or
// schema.ErrInvalid (with a message fit for the API user: it never contains
// a channel secret).
type Service struct {
	store  Store
	engine *Engine
	opt    ServiceOptions

	mu sync.Mutex // serialises the rules-per-bin count with the write
}

// Store is what the service keeps rules and reads events through.
// schema.Alerts implements it.
type Store interface {
	PutRule(ctx context.Context, r *schema.AlertRule) error
	GetRule(ctx context.Context, id string) (*schema.AlertRule, error)
	ListRules(ctx context.Context) ([]*schema.AlertRule, error)
	DeleteRule(ctx context.Context, id string) error
	ListEvents(ctx context.Context, f schema.EventFilter) ([]*schema.AlertEvent, error)
}

// BinLookup finds a bin; GetBin answers schema.ErrNotFound for none.
type BinLookup interface {
	GetBin(ctx context.Context, id string) (*schema.Bin, error)
}

// DefaultMaxRulesPerBin is the rules-per-bin cap when none is set.
const DefaultMaxRulesPerBin = 20

// ServiceOptions configures a Service; zero values take the defaults.
type ServiceOptions struct {
	Now func() time.Time // default time.Now
	// Bins, when set, makes a rule naming a bin name an existing one.
	Bins BinLookup
	// MaxRulesPerBin caps the rules of one bin (and, separately, the rules
	// for every bin). Default DefaultMaxRulesPerBin.
	MaxRulesPerBin int
	// Channels are the channel types this server can deliver to. nil: the
	// engine's notifiers when there is an engine, else every known type.
	Channels []string
}

// NewService returns a service storing rules in store and keeping engine in
// sync. engine may be nil (rules are stored but not evaluated).
func NewService(store Store, engine *Engine, opt ServiceOptions) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxRulesPerBin <= 0 {
		opt.MaxRulesPerBin = DefaultMaxRulesPerBin
	}
	if opt.Channels == nil && engine != nil {
		opt.Channels = engine.opt.Notifiers.Types()
	}
	if opt.Channels == nil {
		opt.Channels = ChannelTypes
	}
	return &Service{store: store, engine: engine, opt: opt}
}

// RuleInput is the create body: the Rule fields a client may set.
type RuleInput struct {
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

// Bin returns the bin the rule is for, "" for every bin.
func (in RuleInput) Bin() string {
	if in.BinID == nil {
		return ""
	}
	return *in.BinID
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

func (s *Service) checkBin(ctx context.Context, r *Rule) error {
	if s.opt.Bins == nil || r.BinID == nil {
		return nil
	}
	if _, err := s.opt.Bins.GetBin(ctx, *r.BinID); err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return fmt.Errorf("%w: bin_id: no bin %q", schema.ErrInvalid, *r.BinID)
		}
		return fmt.Errorf("check bin: %w", err)
	}
	return nil
}

// checkChannels refuses channel types this server has no notifier for.
func (s *Service) checkChannels(r *Rule) error {
	for i, c := range r.Channels {
		if !slices.Contains(s.opt.Channels, c.Type) {
			return fmt.Errorf("%w: channels[%d].type: %s is not configured on this server (available: %s)",
				schema.ErrInvalid, i, c.Type, strings.Join(s.opt.Channels, ", "))
		}
	}
	return nil
}

// checkCap refuses a rule that would give its bin more than MaxRulesPerBin
// rules. Call with s.mu held.
func (s *Service) checkCap(ctx context.Context, r *Rule) error {
	all, err := s.store.ListRules(ctx)
	if err != nil {
		return fmt.Errorf("count rules: %w", err)
	}
	n := 0
	for _, o := range all {
		if o.BinID == r.Bin() && o.ID != r.ID {
			n++
		}
	}
	if n >= s.opt.MaxRulesPerBin {
		what := "bin " + r.Bin()
		if r.Bin() == "" {
			what = "every bin"
		}
		return fmt.Errorf("%w: bin_id: %s already has %d alert rules, the most allowed (HOOKSCOPE_MAX_RULES_PER_BIN)",
			schema.ErrInvalid, what, n)
	}
	return nil
}

func (s *Service) save(ctx context.Context, r *Rule) error {
	if err := s.checkChannels(r); err != nil {
		return err
	}
	if err := s.checkBin(ctx, r); err != nil {
		return err
	}
	st, err := r.toStored()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkCap(ctx, r); err != nil {
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

// CreateRule defaults, validates and stores a new rule.
func (s *Service) CreateRule(ctx context.Context, in RuleInput) (*Rule, error) {
	now := s.opt.Now().UTC()
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
	now := s.opt.Now().UTC()
	for _, r := range rules {
		r.ID = uuid.Must(uuid.NewV7()).String()
		r.CreatedAt, r.UpdatedAt = now, now
		r.Normalize()
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	// All or nothing as far as the cap goes: refuse a batch that cannot fit
	// before storing any of it.
	if len(rules) > 0 {
		probe := *rules[0]
		all, err := s.store.ListRules(ctx)
		if err != nil {
			return nil, fmt.Errorf("count rules: %w", err)
		}
		n := 0
		for _, o := range all {
			if o.BinID == probe.Bin() {
				n++
			}
		}
		if n+len(rules) > s.opt.MaxRulesPerBin {
			return nil, fmt.Errorf("%w: bin_id: %d more alert rules would exceed the %d allowed (HOOKSCOPE_MAX_RULES_PER_BIN)",
				schema.ErrInvalid, len(rules), s.opt.MaxRulesPerBin)
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

// Opt is one field of a merge patch: Set when the body had the key, Null
// when its value was null, V the decoded value otherwise.
type Opt[T any] struct {
	Set, Null bool
	V         T
}

// UnmarshalJSON records presence and null.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(bytes.TrimSpace(b)) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// ParamsPatch is the params member of a patch: keys merge one by one and a
// null value removes a key (it then takes the kind's default).
type ParamsPatch struct {
	Set    bool
	Fields map[string]json.RawMessage
}

// UnmarshalJSON accepts an object of known params keys.
func (p *ParamsPatch) UnmarshalJSON(b []byte) error {
	p.Set = true
	if err := json.Unmarshal(b, &p.Fields); err != nil || p.Fields == nil {
		return errors.New("params: must be an object")
	}
	for k := range p.Fields {
		if !paramKeys[k] {
			return fmt.Errorf("params: unknown field %q", k)
		}
	}
	return nil
}

// RulePatch is a PATCH body (JSON merge patch). The HTTP layer decodes it
// with unknown fields refused, so it holds only what a client may change.
type RulePatch struct {
	Name     Opt[string]    `json:"name"`
	BinID    Opt[string]    `json:"bin_id"` // null: every bin
	Kind     Opt[Kind]      `json:"kind"`
	Severity Opt[string]    `json:"severity"`
	Params   ParamsPatch    `json:"params"`
	Channels Opt[[]Channel] `json:"channels"` // null: none
	Cooldown Opt[Duration]  `json:"cooldown"` // null: the default
	For      Opt[Duration]  `json:"for"`      // null: 0
	Enabled  Opt[bool]      `json:"enabled"`
}

// Bin returns the bin the patch moves the rule to: ok is false when the
// patch leaves bin_id alone, bin "" means every bin.
func (p RulePatch) Bin() (bin string, ok bool) {
	if !p.BinID.Set {
		return "", false
	}
	if p.BinID.Null {
		return "", true
	}
	return p.BinID.V, true
}

// UpdateRule applies a merge patch: fields present replace the stored ones
// (null keeps name, kind, severity and enabled); params merge key by key. A
// channel given without "url" keeps the secret of the existing channel at
// the same position if its type is the same, so clients can edit a rule
// they only know by url_hint.
func (s *Service) UpdateRule(ctx context.Context, id string, p RulePatch) (*Rule, error) {
	cur, err := s.GetRule(ctx, id)
	if err != nil {
		return nil, err
	}
	next := *cur
	set := func(o *Opt[string], dst *string) {
		if o.Set && !o.Null {
			*dst = o.V
		}
	}
	set(&p.Name, &next.Name)
	if p.Kind.Set && !p.Kind.Null {
		next.Kind = p.Kind.V
	}
	if p.Severity.Set && !p.Severity.Null {
		next.Severity = severity(p.Severity.V)
	}
	if p.Enabled.Set && !p.Enabled.Null {
		next.Enabled = p.Enabled.V
	}
	if p.Cooldown.Set {
		next.Cooldown = p.Cooldown.V // zero when null: Normalize puts the default
	}
	if p.For.Set {
		next.For = p.For.V
	}
	if b, ok := p.Bin(); ok {
		next.BinID = nil
		if !p.BinID.Null {
			next.BinID = &b
		}
	}
	var raw json.RawMessage
	if p.Params.Set {
		raw, _ = json.Marshal(p.Params.Fields)
		merged, err := mergeParams(cur.Params, raw)
		if err != nil {
			return nil, err
		}
		next.Params = merged
	}
	if p.Channels.Set {
		chans := p.Channels.V
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
		merged, err := mergeInto(common, raw)
		if err != nil {
			return nil, err
		}
		next.Params = merged
	}
	next.UpdatedAt = s.opt.Now().UTC()
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
		e, err := ViewEvent(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ViewEvent is the API's view of a stored event (the events list and the
// live feed's alert frames show the same).
func ViewEvent(ev *schema.AlertEvent) (*Event, error) {
	e := &Event{ID: ev.ID, RuleID: ev.RuleID, BinID: ev.BinID, State: ev.State, At: ev.At}
	if len(ev.Doc) > 0 {
		if err := json.Unmarshal(ev.Doc, &e.EventDoc); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", ev.ID, err)
		}
	}
	return e, nil
}
