package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/frontend"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/ingest/netguard"
	"github.com/hookscope/hookscope/replays"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
	"github.com/hookscope/hookscope/web"
	"github.com/hookscope/hookscope/web/live"
	"github.com/hookscope/hookscope/web/wire"
)

// App is a running hookscope: tests start one on 127.0.0.1:0 with a temp
// data dir. Only this package wires concrete parts together.
type App struct {
	cfg   Config
	log   *slog.Logger
	store schema.Store
	// clog is the capture log: capture appends, the consumers (store
	// writer, alerts, live) read it back.
	clog      caplog.Log
	consumers *ingest.Consumers
	hub       *live.Hub
	engine    *alerts.Engine
	// clusterAlerts runs the engine's terms under the alert lease
	// (cluster mode; nil otherwise).
	clusterAlerts *clusterAlerts
	server        *web.Server
	ln            net.Listener

	// outbound is the SSRF-guarded client for every request to a
	// user-supplied URL (forwarding, replay, alert notifiers).
	outbound  *http.Client
	forwarder *forward.Forwarder
	pipe      *ingest.Pipeline
	journal   *ingest.Journal
	replays   *replays.Manager

	clock clock

	stopJanitor context.CancelFunc
	wg          sync.WaitGroup
	served      chan error
}

// embeddedSync is SQLite's synchronous setting for an ack mode. The store
// writer commits its log position after the store's commit: with
// ack=durable the store must keep what it committed through a power loss
// too, or the log would skip rows SQLite rolled back (NORMAL fsyncs only at
// checkpoints). FULL costs one fsync per batch, not per request. ack=fast
// promises less (its own loss window) and keeps NORMAL.
func embeddedSync(ack string) string {
	if ack == ackFast {
		return "NORMAL"
	}
	return "FULL"
}

// openStore picks ClickHouse when configured, else the embedded store.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (schema.Store, error) {
	if cfg.ClickHouseURL != "" {
		return openClickHouse(ctx, cfg, log)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "hookscope.db"), sqlite.Options{Logger: log, Synchronous: embeddedSync(cfg.Ack)})
	if err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	return st, nil
}

// NewApp opens the store and wires every part; Start begins serving.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, served: make(chan error, 1)}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.store = st
	fail := func(err error) (*App, error) {
		a.closeParts(context.Background())
		return nil, err
	}

	opened, err := openLog(ctx, cfg, log)
	if err != nil {
		return fail(err)
	}
	a.clog = opened.log
	metrics := ingest.NewMetrics()
	a.hub = live.New(live.Options{Logger: log, Encode: wire.EncodeLive, Decode: caplog.DecodeRequestOwned, EncodeAlert: web.EncodeLiveAlert})
	if opened.nc != nil {
		// Alert events recorded on any instance reach this one's live feeds.
		if _, err := subscribeAlertEvents(opened.nc, a.hub, log); err != nil {
			return fail(fmt.Errorf("subscribe to alert events: %w", err))
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.Register(reg, opened.backlog); err != nil {
		return fail(fmt.Errorf("register metrics: %w", err))
	}
	if opened.collector != nil {
		reg.MustRegister(opened.collector)
	}
	reg.MustRegister(a.hub.Collectors()...)

	key, err := jwtKey(cfg)
	if err != nil {
		return fail(err)
	}
	// Every outbound request (forward, replay, alert notifiers) goes
	// through the SSRF guard.
	a.outbound = netguard.New(netguard.Options{AllowPrivate: cfg.Access.AllowPrivateTargets}).Client()
	// Async forwards in flight when the previous process died are recorded
	// (with an error saying so) by the pipeline, before anything new is
	// captured.
	// The data dir holds the journal in every mode (cluster mode with
	// ClickHouse keeps nothing else there, so nothing created it yet).
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fail(fmt.Errorf("create data dir: %w", err))
	}
	journal, recovered, err := ingest.OpenJournal(filepath.Join(cfg.DataDir, "forward-inflight.jsonl"), ingest.JournalOptions{Sync: cfg.Ack == ackDurable})
	if err != nil {
		return fail(err)
	}
	a.journal = journal
	a.forwarder = forward.New(forward.Options{Logger: log, Client: a.outbound, Workers: cfg.Access.ForwardWorkers, Now: a.clock.Now})

	// The alert engine watches every capture and recovers its windows from
	// history at start, through the same store.
	notifiers, err := alertNotifiers(cfg.Alerts, a.outbound)
	if err != nil {
		return fail(err)
	}
	engineOpts := alerts.Options{Logger: log, PublicURL: linkBase(cfg), Now: a.clock.Now, Notifiers: notifiers,
		OnEvent: alertEventSink(opened.nc, a.hub, log)}
	if opened.nc != nil {
		// Cluster mode: one evaluator at a time, under the alert lease;
		// episode states live in JetStream KV for the next leader.
		if a.clusterAlerts, err = openClusterAlerts(ctx, opened.nc, cfg.NATS.Replicas, log); err != nil {
			return fail(err)
		}
		engineOpts.States = a.clusterAlerts.states
		reg.MustRegister(a.clusterAlerts.leading)
	}
	a.engine = alerts.New(st, st, engineOpts)
	if a.clusterAlerts != nil {
		err = a.engine.StartFollower(ctx)
	} else {
		err = a.engine.Start(ctx)
	}
	if err != nil {
		return fail(fmt.Errorf("start alert engine: %w", err))
	}
	reg.MustRegister(a.engine.Collectors()...)

	pipe := ingest.NewPipeline(st, a.clog, ingest.Options{
		Logger:    log,
		Metrics:   metrics,
		Forwarder: a.forwarder,
		Journal:   a.journal,
		Now:       a.clock.Now,

		RedactHeaders: cfg.RedactHeaders,
	})
	if err := pipe.RecoverForwards(ctx, recovered); err != nil {
		return fail(err)
	}
	// Forward retries the previous process had scheduled resume (their
	// schedule is in the journal).
	a.pipe = pipe
	pipe.StartRetries()
	// An older version's spool (answered requests its store had not taken)
	// moves into the log once; the store writer takes it from there.
	if n, err := ingest.MigrateSpool(ctx, filepath.Join(cfg.DataDir, "spool"), a.clog, log); err != nil {
		return fail(err)
	} else if n > 0 {
		log.Warn("moved the previous version's spool into the capture log", "requests", n)
	}
	// The consumers read the log from their persisted positions: the store
	// writer catches up on whatever the previous process answered and did
	// not store yet.
	// In cluster mode the alerts consumer is read only by the lease
	// holder, term by term (below), not by every instance.
	var observer ingest.Observer = a.engine
	if a.clusterAlerts != nil {
		observer = nil
	}
	a.consumers, err = ingest.StartConsumers(ctx, a.clog, st, observer, a.hub, ingest.ConsumerOptions{
		Logger: log, MaxBatch: cfg.BatchSize, FlushInterval: flushInterval(cfg), Metrics: metrics,
	})
	if err != nil {
		return fail(fmt.Errorf("start log consumers: %w", err))
	}
	var ruleStore alerts.Store = st
	if a.clusterAlerts != nil {
		ruleStore = ruleBroadcast{Store: st, nc: opened.nc, states: a.clusterAlerts.kv, log: log}
		if err := a.clusterAlerts.run(a.engine, st, func(term context.Context) {
			a.consumers.ObserveAlerts(term, a.clog, a.engine)
		}); err != nil {
			return fail(err)
		}
	}
	var binCache bins.Invalidator = pipe
	if opened.nc != nil {
		binCache = binBroadcast{local: pipe, nc: opened.nc, log: log}
	}
	binSvc := bins.New(st, binCache, bins.Options{
		Logger:            log,
		DefaultExpiry:     cfg.DefaultExpiry,
		ValidateSignature: validateSignature,
		Now:               a.clock.Now,
	})
	if opened.nc != nil {
		// Bin changes made on other instances reach this one's cache and
		// live feeds at once (the sub ends with the log's connection).
		if _, err := subscribeBinChanges(opened.nc, pipe, binSvc, log); err != nil {
			return fail(fmt.Errorf("subscribe to bin changes: %w", err))
		}
	}
	if a.replays, err = newReplays(cfg, st, pipe, log, &a.clock); err != nil {
		return fail(err)
	}
	if err := a.replays.Recover(ctx); err != nil {
		return fail(err)
	}
	a.server = web.New(web.Deps{
		Replays:    a.replays,
		Store:      st,
		Bins:       binSvc,
		Pipeline:   pipe,
		Hub:        a.hub,
		Frontend:   frontend.Dist(),
		Gatherer:   reg,
		Alerts:     alerts.NewService(ruleStore, a.engine, alerts.ServiceOptions{Now: a.clock.Now, Bins: st, MaxRulesPerBin: cfg.Alerts.MaxRulesPerBin}),
		SecretHint: secretHint,
	}, web.Options{
		Logger:         log,
		PublicURL:      cfg.PublicURL,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		ReadTimeout:    cfg.ReadTimeout,
		MaxHeaderBytes: cfg.MaxHeaderBytes,
		MaxHeaders:     cfg.Access.MaxHeaders,
		RatePerBin:     cfg.Access.RatePerBin,
		RatePerIP:      cfg.Access.RatePerIP,
		JWTKey:         key,
		AuthRequired:   cfg.Access.AuthRequired,
		Now:            a.clock.Now,

		MaxAPIBodyBytes: cfg.Limits.MaxAPIBodyBytes,
		CaptureURL:      cfg.Limits.CaptureURL,
		MaxConnsPerIP:   cfg.Limits.MaxConnsPerIP,
		Quotas:          cfg.Limits.Quotas,
	})
	reg.MustRegister(a.server.Collectors()...)
	return a, nil
}

// Start listens on cfg.Addr and serves in the background.
func (a *App) Start() error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	a.ln = ln
	jctx, cancel := context.WithCancel(context.Background())
	a.stopJanitor = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ingest.RunRetention(jctx, a.store, ingest.RetentionOptions{
			Logger: a.log, Interval: a.cfg.RetentionPeriod, MaxRequestsPerBin: a.cfg.Access.MaxRequestsPerBin, Now: a.clock.Now,
			MaxBytesPerBin: a.cfg.Limits.BytesPerBin, MaxBodyBytes: a.cfg.MaxBodyBytes,
			Dropped: func(n int64) { a.server.CountQuotaDrop("bytes_per_bin", n) },
			Tasks:   []ingest.RetentionTask{{Name: "replay_jobs", Run: a.replays.Purge}},
		})
	}()
	go func() { a.served <- a.server.Serve(ln) }()
	a.log.Info("hookscope listening", "addr", ln.Addr().String(), "store", a.storeName())
	return nil
}

func (a *App) storeName() string {
	if a.cfg.ClickHouseURL != "" {
		return "clickhouse"
	}
	return "embedded"
}

// Addr is the address the app listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Shutdown stops in reverse order of the data flow: stop accepting
// requests, finish async forwards (their records go to the log), let the
// store writer catch up with the log (what it does not write stays in the
// log), stop the live hub and the alert engine, close the log and the store.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	// No forward retry starts once shutting down: their schedule stays in
	// the journal for the next start.
	if a.pipe != nil {
		a.pipe.StopRetries()
	}
	if a.outbound != nil {
		// Our own idle outbound connections may point at this server (a bin
		// forwarding to itself, a loopback target): the server's shutdown
		// waits for every open connection, so drop them first.
		a.outbound.CloseIdleConnections()
	}
	if a.server != nil && a.ln != nil {
		if err := a.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
	}
	if a.stopJanitor != nil {
		a.stopJanitor()
	}
	a.wg.Wait()
	// Replay jobs stop (marked interrupted) before the pipeline they send
	// through drains.
	if a.replays != nil {
		if err := a.replays.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// What was answered must be drained even when the caller's deadline
	// has passed (stopping the listener may have used all of it): the
	// drain gets its own bound.
	drainCtx, cancel := drainContext(ctx)
	defer cancel()
	// Async forwards still in flight are recorded when they finish, so the
	// forwarder closes before the log (retries stopped above).
	if a.forwarder != nil {
		if err := a.forwarder.Close(drainCtx); err != nil {
			errs = append(errs, fmt.Errorf("finish forwards: %w", err))
		}
	}
	errs = append(errs, a.closeParts(drainCtx))
	return errors.Join(errs...)
}

// shutdownDrainTimeout bounds draining after the shutdown deadline passed.
const shutdownDrainTimeout = 30 * time.Second

func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), shutdownDrainTimeout)
}

func (a *App) closeParts(ctx context.Context) error {
	var errs []error
	if a.clusterAlerts != nil {
		// First: stop evaluating and release the lease, so another
		// instance takes over while this one drains.
		a.clusterAlerts.close()
	}
	if a.forwarder != nil {
		_ = a.forwarder.Close(ctx) // no-op when Shutdown closed it already
	}
	if a.journal != nil {
		if err := a.journal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close forward journal: %w", err))
		}
	}
	if a.consumers != nil {
		if err := a.consumers.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop log consumers: %w", err))
		}
	}
	if a.hub != nil {
		a.hub.Close()
	}
	if a.engine != nil {
		if err := a.engine.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop alert engine: %w", err))
		}
	}
	if a.clog != nil {
		if err := a.clog.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close capture log: %w", err))
		}
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// clock is the app's time source; tests move it forward to expire bins.
type clock struct{ override atomic.Pointer[time.Time] }

func (c *clock) Now() time.Time {
	if t := c.override.Load(); t != nil {
		return *t
	}
	return time.Now()
}

// linkBase is the inspector URL that alert messages link to: the public URL,
// else one derived from the listen address (right for a local instance).
func linkBase(cfg Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
