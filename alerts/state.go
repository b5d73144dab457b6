package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// Phase is where an alert of one rule on one bin stands.
//
//	inactive ──cond──▶ pending ──cond held for `for`──▶ firing ──!cond──▶ resolved
//	    ▲                 │ !cond                                              │
//	    └─────────────────┘◀──────────────────────── !cond ────────────────────┘
//	resolved ──cond──▶ pending (a new episode)
//
// With for = 0 a true condition passes through pending to firing in one
// evaluation. Entering firing starts an episode; the episode is announced
// unless the previous announced firing of the same rule and bin is younger
// than the rule's cooldown, in which case the whole episode (firing and
// resolved) stays silent. So every announced episode gets exactly one firing
// and one resolved notification.
type Phase int

const (
	Inactive Phase = iota
	Pending
	Firing
	Resolved
)

func (p Phase) String() string {
	switch p {
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	case Resolved:
		return "resolved"
	}
	return "inactive"
}

// Transition is what a step changed.
type Transition int

const (
	NoChange Transition = iota
	BecamePending
	BecameFiring
	BecameResolved
	BecameInactive // a pending condition cleared before firing
)

// Step is the pure state machine: given the current phase and when it was
// entered, whether the condition holds at now, and the rule's `for`, it
// returns the next phase, when that phase was entered, and the transition
// (the last one when two happen at once: inactive → pending → firing).
func Step(p Phase, since time.Time, cond bool, now time.Time, hold time.Duration) (Phase, time.Time, Transition) {
	switch p {
	case Inactive, Resolved:
		if !cond {
			if p == Resolved {
				return Inactive, now, BecameInactive
			}
			return p, since, NoChange
		}
		if hold <= 0 {
			return Firing, now, BecameFiring
		}
		return Pending, now, BecamePending
	case Pending:
		if !cond {
			return Inactive, now, BecameInactive
		}
		if now.Sub(since) >= hold {
			return Firing, now, BecameFiring
		}
		return Pending, since, NoChange
	case Firing:
		if !cond {
			return Resolved, now, BecameResolved
		}
		return Firing, since, NoChange
	}
	return Inactive, now, NoChange
}

// announce is the pure dedup decision on entering firing: announce unless an
// announced firing happened less than cooldown ago.
func announce(lastAnnounced time.Time, now time.Time, cooldown time.Duration) bool {
	return lastAnnounced.IsZero() || now.Sub(lastAnnounced) >= cooldown
}

// EpisodeState is the serialisable part of one (rule, bin) alert: what an
// evaluator taking over (after a restart, or from another instance) needs so
// that it neither announces an episode twice nor loses its resolve. The
// detector's learned baseline is not part of it: it is rebuilt from history.
type EpisodeState struct {
	RuleID        string    `json:"rule_id"`
	BinID         string    `json:"bin_id"`
	Phase         Phase     `json:"phase"`
	Since         time.Time `json:"since"`
	EpisodeID     string    `json:"episode_id,omitempty"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	Announced     bool      `json:"announced"`
	LastAnnounced time.Time `json:"last_announced,omitzero"`
}

// StateStore keeps episode states across restarts and evaluator handovers.
// LoadStates returns the states of the given rules (an empty result is
// fine: every alert then starts inactive); SaveState is called on every
// transition, from the evaluating goroutine, and should be quick.
type StateStore interface {
	LoadStates(ctx context.Context, ruleIDs []string) ([]EpisodeState, error)
	SaveState(ctx context.Context, s EpisodeState) error
}

// EventStates is the default StateStore: the firing and resolved events the
// dispatcher records already say which episodes are open, so SaveState has
// nothing to add and LoadStates marks (rule, bin) whose newest such event is
// "firing" as firing and announced.
type EventStates struct {
	Events  EventLog
	Timeout time.Duration // per store call; 0: none
}

// LoadStates implements StateStore.
func (s EventStates) LoadStates(ctx context.Context, ruleIDs []string) ([]EpisodeState, error) {
	var out []EpisodeState
	var errs []error
	for _, id := range ruleIDs {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if s.Timeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, s.Timeout)
		}
		evs, err := s.Events.ListEvents(sctx, schema.EventFilter{RuleID: id, Limit: 200})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", id, err))
			continue
		}
		done := map[string]bool{}
		for _, ev := range evs { // newest first
			if ev.State != notify.StateFiring && ev.State != notify.StateResolved {
				continue
			}
			if done[ev.BinID] {
				continue
			}
			done[ev.BinID] = true
			if ev.State != notify.StateFiring {
				continue
			}
			var d EventDoc
			_ = json.Unmarshal(ev.Doc, &d)
			out = append(out, EpisodeState{RuleID: id, BinID: ev.BinID, Phase: Firing, Since: ev.At,
				EpisodeID: d.EpisodeID, StartedAt: ev.At, Announced: true, LastAnnounced: ev.At})
		}
	}
	return out, errors.Join(errs...)
}

// SaveState implements StateStore: the events are the record.
func (EventStates) SaveState(context.Context, EpisodeState) error { return nil }

// alertState is the evaluator's view of one (rule, bin): the serialisable
// episode plus the detector it evaluates with.
type alertState struct {
	EpisodeState
	det       detector
	ruleStamp time.Time // UpdatedAt of the rule the detector was built from
	last      Finding
}

func stateFrom(s EpisodeState) *alertState { return &alertState{EpisodeState: s} }

type key struct{ rule, bin string }

// MarshalText writes the phase's name, so stored states read well.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a phase name.
func (p *Phase) UnmarshalText(b []byte) error {
	for _, q := range []Phase{Inactive, Pending, Firing, Resolved} {
		if q.String() == string(b) {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("unknown alert phase %q", b)
}
