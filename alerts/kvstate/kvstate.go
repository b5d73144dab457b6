// Package kvstate keeps the alert engine's episode states in a JetStream
// key-value bucket (cluster mode): the evaluator saves every transition,
// and the instance that takes over the alert lease loads them, so an open
// episode is neither announced twice nor left without its resolve, and a
// cooldown outlives the evaluator that started it.
//
// One key per (rule, bin): "<rule id>.<bin id>" (both use characters valid
// in a key), the value is the JSON of alerts.EpisodeState. The states of a
// deleted rule are removed with it (DeleteRule) and, for a rule deleted
// while no leader ran or a state saved by a leader that had not yet heard
// of the delete, by Sweep, which each alert leader runs at the start of its
// term and with every rule reload.
package kvstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookscope/hookscope/alerts"
)

var _ alerts.StateStore = (*Store)(nil)

// KV is the part of a JetStream key-value bucket the store uses;
// jetstream.KeyValue satisfies it.
type KV interface {
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
	ListKeysFiltered(ctx context.Context, filters ...string) (jetstream.KeyLister, error)
	Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
	PurgeDeletes(ctx context.Context, opts ...jetstream.KVPurgeOpt) error
}

// Store is an alerts.StateStore on a KV bucket.
type Store struct {
	kv      KV
	timeout time.Duration
}

// New returns a store on kv; timeout bounds each call (default 5s).
func New(kv KV, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Store{kv: kv, timeout: timeout}
}

// Key is the bucket key of a (rule, bin) state.
func Key(ruleID, binID string) string { return ruleID + "." + binID }

// SaveState implements alerts.StateStore. The write is not cut short when
// ctx is cancelled (a term ending right after a transition): the state of
// a decided notification must reach the next evaluator.
func (s *Store) SaveState(ctx context.Context, st alerts.EpisodeState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode alert state: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	if _, err := s.kv.Put(ctx, Key(st.RuleID, st.BinID), b); err != nil {
		return fmt.Errorf("save alert state %s: %w", Key(st.RuleID, st.BinID), err)
	}
	return nil
}

// LoadStates implements alerts.StateStore: the newest state of every
// (rule, bin) of the given rules.
func (s *Store) LoadStates(ctx context.Context, ruleIDs []string) ([]alerts.EpisodeState, error) {
	want := make(map[string]bool, len(ruleIDs))
	for _, id := range ruleIDs {
		want[id] = true
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("load alert states: %w", err)
	}
	defer w.Stop()
	var out []alerts.EpisodeState
	var errs []error
	for {
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("load alert states: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return out, errors.New("load alert states: watcher closed")
			}
			if e == nil { // every current value delivered
				return out, errors.Join(errs...)
			}
			var st alerts.EpisodeState
			if err := json.Unmarshal(e.Value(), &st); err != nil {
				errs = append(errs, fmt.Errorf("alert state %s: %w", e.Key(), err))
				continue
			}
			if want[st.RuleID] && Key(st.RuleID, st.BinID) == e.Key() {
				out = append(out, st)
			}
		}
	}
}

// DeleteRule removes every state of a rule (its keys and their history)
// and returns how many keys it removed.
func (s *Store) DeleteRule(ctx context.Context, ruleID string) (int, error) {
	if ruleID == "" || strings.ContainsAny(ruleID, ".*> ") {
		return 0, fmt.Errorf("delete alert states: invalid rule id %q", ruleID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys, err := s.keys(ctx, ruleID+".>")
	if err != nil {
		return 0, fmt.Errorf("delete alert states of rule %s: %w", ruleID, err)
	}
	return s.purge(ctx, keys)
}

// Sweep removes the states of every rule that does not exist. rules lists
// the rules that do; it is called after the keys are listed, so a rule
// created meanwhile (whose states can only be saved once it is stored) is
// in it. It returns how many keys it removed.
func (s *Store) Sweep(ctx context.Context, rules func(ctx context.Context) ([]string, error)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys, err := s.keys(ctx, ">")
	if err != nil {
		return 0, fmt.Errorf("sweep alert states: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ids, err := rules(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep alert states: list rules: %w", err)
	}
	live := make(map[string]bool, len(ids))
	for _, id := range ids {
		live[id] = true
	}
	var dead []string
	for _, k := range keys {
		rule, _, _ := strings.Cut(k, ".")
		if !live[rule] {
			dead = append(dead, k)
		}
	}
	return s.purge(ctx, dead)
}

// keys lists the keys matching filter (deleted ones excluded).
func (s *Store) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := s.kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer l.Stop()
	var out []string
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list keys: %w", ctx.Err())
		case k, ok := <-l.Keys():
			if !ok {
				return out, nil
			}
			if !seen[k] { // a lister may repeat a key written meanwhile
				seen[k] = true
				out = append(out, k)
			}
		}
	}
}

// purge removes keys with their history, then the purge markers that
// would otherwise stay in the bucket, one per removed key, forever.
func (s *Store) purge(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	for i, k := range keys {
		if err := s.kv.Purge(ctx, k); err != nil {
			return i, fmt.Errorf("purge alert state %s: %w", k, err)
		}
	}
	if err := s.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(-1)); err != nil {
		return len(keys), fmt.Errorf("drop purge markers: %w", err)
	}
	return len(keys), nil
}
