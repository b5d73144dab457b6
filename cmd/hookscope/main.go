// Command hookscope runs the webhook inspector (default), applies storage
// migrations, and offers the client tools of package client (send, tail,
// forward, export, token), dispatched by the switch in run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hookscope/hookscope/client"
	"github.com/hookscope/hookscope/web"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hookscope:", err)
			os.Exit(1)
		}
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stderr)
	case "help":
		_, err := parseConfig("hookscope", []string{"-help"}, getenv, stdout)
		return err
	case "send":
		return client.Send(ctx, args, getenv, stdout, stderr)
	case "tail":
		return client.Tail(ctx, args, getenv, stdout, stderr)
	case "forward":
		return client.Forward(ctx, args, getenv, stdout, stderr)
	case "export":
		return client.Export(ctx, args, getenv, stdout, stderr)
	case "token":
		return client.Token(ctx, args, getenv, stdout, stderr, client.Signer{
			Key: func(dataDir, secret string) ([]byte, error) {
				return jwtKey(Config{DataDir: dataDir, Access: AccessConfig{JWTSecret: secret}})
			},
			Mint: web.MintBinToken,
		})
	}
	return fmt.Errorf("unknown command %q (try: hookscope --help)", cmd)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig("hookscope", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if limit, ok := defaultMemoryLimit(getenv); ok {
		log.Debug("soft memory limit", "bytes", limit, "override", "GOMEMLIMIT")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := NewApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := app.Start(); err != nil {
		_ = app.Shutdown(context.Background())
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-app.served:
		log.Error("server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return app.Shutdown(sctx)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig("hookscope migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg, log) // opening applies pending migrations
	if err != nil {
		return err
	}
	log.Info("migrations applied", "store", map[bool]string{true: "clickhouse", false: "embedded"}[cfg.ClickHouseURL != ""])
	return st.Close()
}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT says
// otherwise. Measured before the capture log (when a flood filled a 32 MiB
// in-memory queue): without a limit the GC let the heap double on top of
// that (peak RSS 280-300 MB in 30-60 s floods at 64 connections), with it
// the heap was collected sooner (210-215 MB), at the price of more GC work
// only while the heap is near the limit (BENCHMARKS.md, Memory). Today the
// backlog waits on disk in the log, and the memory under a flood is the
// log's pending write (at most 32 MiB) and the store writer's batch. It is
// soft: a live heap that needs more gets more.
const memoryLimit = 192 << 20

// defaultMemoryLimit sets memoryLimit when GOMEMLIMIT is unset (the runtime
// has already applied a set one, "off" included) and reports whether it did.
func defaultMemoryLimit(getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	debug.SetMemoryLimit(memoryLimit)
	return memoryLimit, true
}
