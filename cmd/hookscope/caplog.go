package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
	"github.com/hookscope/hookscope/ingest/caplog/natslog"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// openedLog is the capture log with what the app registers for it.
type openedLog struct {
	log caplog.Log
	// backlog is the store writer's backlog (hookscope_writer_queue_depth).
	backlog func() float64
	// collector is the log's own metrics (nil when it has none).
	collector prometheus.Collector
	// nc is the NATS connection in cluster mode (nil otherwise).
	nc *nats.Conn
}

// openLog opens the capture log: the JetStream stream when HOOKSCOPE_NATS_URL
// is set (cluster mode: every instance shares it), else segment files in
// <data dir>/log. Cluster mode never falls back to the local log: while NATS
// does not acknowledge, capture answers 503.
func openLog(ctx context.Context, cfg Config, log *slog.Logger) (openedLog, error) {
	if cfg.NATS.URL != "" {
		return openNATSLog(ctx, cfg, log)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return openedLog{}, fmt.Errorf("create data dir: %w", err)
	}
	ack, err := disklog.ParseAckMode(cfg.Ack)
	if err != nil {
		return openedLog{}, err
	}
	// Durable mode preallocates segments: appends overwrite zeros and never
	// grow the file, so each group commit's fdatasync writes data only, no
	// inode (BenchmarkAppend: ~20% less CPU per durable append, and a
	// shorter sync for every waiting capture). Costs one spare segment of
	// disk, and writing the zeros (~2 us of CPU per 1 KB capture in a
	// profile): not worth it in fast mode, which syncs every 10 ms only.
	l, err := disklog.Open(filepath.Join(cfg.DataDir, "log"), disklog.Options{Ack: ack, MaxBytes: cfg.LogMaxBytes, Logger: log, Preallocate: ack == disklog.AckDurable})
	if err != nil {
		return openedLog{}, fmt.Errorf("open capture log: %w", err)
	}
	return openedLog{log: l, backlog: writerBacklog(l), collector: l.Collector()}, nil
}

func openNATSLog(ctx context.Context, cfg Config, log *slog.Logger) (openedLog, error) {
	var opts []nats.Option
	if cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.NATS.Creds))
	}
	if cfg.NATS.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.NATS.TLSCA))
	}
	if cfg.NATS.TLSCert != "" || cfg.NATS.TLSKey != "" {
		opts = append(opts, nats.ClientCert(cfg.NATS.TLSCert, cfg.NATS.TLSKey))
	}
	lg := log.With("component", "nats")
	opts = append(opts,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return // our own Close
			}
			lg.Warn("nats disconnected: captures answer 503 until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { lg.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	)
	nc, err := natslog.Connect(cfg.NATS.URL, opts...)
	if err != nil {
		return openedLog{}, fmt.Errorf("open capture log: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := natslog.Open(octx, nc, natslog.Options{
		Replicas: cfg.NATS.Replicas,
		MaxAge:   cfg.NATS.MaxAge,
		MaxBytes: cfg.LogMaxBytes,
		// A record is the body plus headers and metadata (headers are
		// bounded far below 1 MiB).
		MaxRecord: int(cfg.MaxBodyBytes) + 1<<20,
		Logger:    log,
	})
	if err != nil {
		nc.Close()
		return openedLog{}, fmt.Errorf("open capture log on nats: %w", err)
	}
	return openedLog{log: l, nc: l.Conn(), backlog: func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := l.Pending(ctx, ingest.StoreConsumer)
		if err != nil {
			return -1
		}
		return float64(n)
	}}, nil
}

// writerBacklog is how many records the store writer has not committed:
// the log's newest position minus the writer's persisted one.
func writerBacklog(l *disklog.Log) func() float64 {
	return func() float64 {
		st := l.Stats()
		return float64(st.Last - min(st.Positions[ingest.StoreConsumer], st.Last))
	}
}
