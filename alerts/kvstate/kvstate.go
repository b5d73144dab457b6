// Package kvstate keeps the alert engine's episode states in a JetStream
// key-value bucket (cluster mode): the evaluator saves every transition,
// and the instance that takes over the alert lease loads them, so an open
// episode is neither announced twice nor left without its resolve, and a
// cooldown outlives the evaluator that started it.
//
// One key per (rule, bin): "<rule id>.<bin id>" (both use characters valid
// in a key), the value is the JSON of alerts.EpisodeState. States of a
// deleted rule stay in the bucket (a few hundred bytes each) and are never
// loaded again.
package kvstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
