package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
)

// openLog opens the capture log in <data dir>/log.
func openLog(cfg Config, log *slog.Logger) (*disklog.Log, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	ack, err := disklog.ParseAckMode(cfg.Ack)
	if err != nil {
		return nil, err
	}
	l, err := disklog.Open(filepath.Join(cfg.DataDir, "log"), disklog.Options{Ack: ack, MaxBytes: cfg.LogMaxBytes, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open capture log: %w", err)
	}
	return l, nil
}

// writerBacklog is how many records the store writer has not committed:
// the log's newest position minus the writer's persisted one.
func writerBacklog(l *disklog.Log) func() float64 {
	return func() float64 {
		st := l.Stats()
		return float64(st.Last - min(st.Positions[ingest.StoreConsumer], st.Last))
	}
}
