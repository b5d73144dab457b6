package alerts

import "time"

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
