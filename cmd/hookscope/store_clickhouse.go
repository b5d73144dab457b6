package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hookscope/hookscope/schema"
)

func openClickHouse(ctx context.Context, cfg Config, log *slog.Logger) (schema.Store, error) {
	return nil, errors.New("this build has no ClickHouse backend yet (schema/clickhouse is being merged)")
}
