package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/alerts/kvstate"
	"github.com/hookscope/hookscope/lease"
	"github.com/hookscope/hookscope/schema"
)

// Cluster mode runs one alert evaluator at a time: the instance holding the
// alert lease (JetStream KV, package lease). It reads the shared alerts
// consumer of the capture log (so it sees every instance's captures) and
// keeps episode states in a second KV bucket, where the next leader finds
// them. Every other instance's engine is a follower: it only sends rule
// tests.
const (
	// alertLeaseBucket holds the lease key; its TTL is the lease's.
	alertLeaseBucket = "hookscope_alerts"
	alertLeaseKey    = "leader"
	// alertStateBucket holds the episode states (no TTL: an episode may
	// stay open for days).
	alertStateBucket = "hookscope_alert_states"
	// alertLeaseTTL: a dead leader is replaced after at most this plus a
	// second; a leader cut off from NATS stops evaluating 2s before it.
	alertLeaseTTL = 10 * time.Second
	// ruleChangedSubject carries the id of a rule created, changed or
	// deleted on some instance, so that the leader (wherever it runs)
	// reloads the rules at once. Core NATS, at most once: a lost message
	// is caught by the leader's periodic reload (ruleReloadEvery) and by
	// every new term, which loads the rules first.
	ruleChangedSubject = "hookscope.alerts.rules.changed"
	ruleReloadEvery    = time.Minute
)

// leaderElection runs lead for each term this instance wins, until ctx
// ends; lease.Lease implements it.
type leaderElection interface {
	Run(ctx context.Context, lead func(ctx context.Context)) error
}

// clusterAlerts is cluster mode's alert wiring.
type clusterAlerts struct {
	election leaderElection
	states   alerts.StateStore
	// kv is states' store, which also removes the states of deleted
	// rules (ruleBroadcast.DeleteRule, and sweepStates in every term).
	kv      *kvstate.Store
	nc      *nats.Conn
	log     *slog.Logger
	leading prometheus.Gauge

	stop context.CancelFunc
	done chan struct{}
}

// openClusterAlerts creates (or finds) the lease and state buckets.
func openClusterAlerts(ctx context.Context, nc *nats.Conn, replicas int, log *slog.Logger) (*clusterAlerts, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("alert lease: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	leaseKV, err := lease.CreateBucket(ctx, js, jetstream.KeyValueConfig{Bucket: alertLeaseBucket, TTL: alertLeaseTTL,
		History: 1, Replicas: replicas, Description: "hookscope: which instance evaluates alerts"})
	if err != nil {
		return nil, fmt.Errorf("create alert lease bucket: %w", err)
	}
	stateKV, err := lease.CreateBucket(ctx, js, jetstream.KeyValueConfig{Bucket: alertStateBucket,
		History: 1, Replicas: replicas, Description: "hookscope: alert episode states"})
	if err != nil {
		return nil, fmt.Errorf("create alert state bucket: %w", err)
	}
	kv := kvstate.New(stateKV, 0)
	return &clusterAlerts{
		election: lease.New(leaseKV, alertLeaseKey, lease.Options{TTL: alertLeaseTTL, Logger: log}),
		states:   kv,
		kv:       kv,
		nc:       nc,
		log:      log.With("component", "alert_lease"),
		leading: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "hookscope", Subsystem: "alerts", Name: "leader",
			Help: "1 while this instance holds the alert lease and evaluates alerts (cluster mode)."}),
		done: make(chan struct{}),
	}, nil
}

// ruleLister lists the alert rules that exist (the store).
type ruleLister interface {
	ListRules(ctx context.Context) ([]*schema.AlertRule, error)
}

// run contends for the lease in the background; each term evaluates with
// engine and feeds it from the alerts consumer (observe) until the term
// ends. Rule changes broadcast by any instance reload the engine's rules.
// Each term starts by sweeping the states of rules that no longer exist
// (deleted while no leader ran) and sweeps again with every periodic
// reload (a state the leader saved before it heard of a delete).
func (c *clusterAlerts) run(engine *alerts.Engine, rules ruleLister, observe func(ctx context.Context)) error {
	sub, err := c.nc.Subscribe(ruleChangedSubject, func(*nats.Msg) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := engine.LoadRules(ctx); err != nil {
			c.log.Warn("reload alert rules after a change", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to rule changes: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go func() {
		defer close(c.done)
		defer func() { _ = sub.Unsubscribe() }()
		_ = c.election.Run(ctx, func(term context.Context) {
			c.leading.Set(1)
			defer c.leading.Set(0)
			termDone := make(chan struct{})
			go func() { defer close(termDone); observe(term) }()
			go func() {
				c.sweepStates(term, rules)
				c.reloadRules(term, engine, rules)
			}()
			if err := engine.Lead(term); err != nil {
				c.log.Error("alert term", "err", err)
			}
			<-termDone
		})
	}()
	return nil
}

// reloadRules reloads the rules every ruleReloadEvery during a term, and
// sweeps the states of deleted rules.
func (c *clusterAlerts) reloadRules(ctx context.Context, engine *alerts.Engine, rules ruleLister) {
	t := time.NewTicker(ruleReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := engine.LoadRules(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("reload alert rules", "err", err)
			}
			c.sweepStates(ctx, rules)
		}
	}
}

// sweepStates removes the KV states of rules the store no longer has.
func (c *clusterAlerts) sweepStates(ctx context.Context, rules ruleLister) {
	n, err := c.kv.Sweep(ctx, func(ctx context.Context) ([]string, error) {
		list, err := rules.ListRules(ctx)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(list))
		for i, r := range list {
			ids[i] = r.ID
		}
		return ids, nil
	})
	if err != nil && ctx.Err() == nil {
		c.log.Warn("sweep the alert states of deleted rules", "err", err)
	} else if n > 0 {
		c.log.Info("removed the alert states of deleted rules", "keys", n)
	}
}

// close ends the current term (the engine stops evaluating) and releases
// the lease so that another instance takes over at once.
func (c *clusterAlerts) close() {
	if c.stop == nil {
		return
	}
	c.stop()
	<-c.done
	c.stop = nil
}

// ruleBroadcast is the alert service's store in cluster mode: after a rule
// is stored or deleted, every instance hears of it; a deleted rule's
// episode states leave the KV bucket.
type ruleBroadcast struct {
	alerts.Store
	nc     *nats.Conn
	states *kvstate.Store
	log    *slog.Logger
}

func (b ruleBroadcast) PutRule(ctx context.Context, r *schema.AlertRule) error {
	if err := b.Store.PutRule(ctx, r); err != nil {
		return err
	}
	b.changed(r.ID)
	return nil
}

func (b ruleBroadcast) DeleteRule(ctx context.Context, id string) error {
	if err := b.Store.DeleteRule(ctx, id); err != nil {
		return err
	}
	b.changed(id)
	// After the broadcast, so that the leader stops evaluating the rule; a
	// state it saves before it hears of the delete, or one left here by a
	// failure, goes at its next sweep. The rule is deleted either way.
	if n, err := b.states.DeleteRule(ctx, id); err != nil {
		b.log.Warn("delete the alert states of a deleted rule", "rule_id", id, "err", err)
	} else if n > 0 {
		b.log.Debug("deleted the alert states of a deleted rule", "rule_id", id, "keys", n)
	}
	return nil
}

func (b ruleBroadcast) changed(id string) {
	if err := b.nc.Publish(ruleChangedSubject, []byte(id)); err != nil {
		b.log.Warn("broadcast alert rule change", "rule_id", id, "err", err)
	}
}
