// Command hookscope runs the webhook inspector (default), applies storage
// migrations, and offers client tools (send, tail, forward).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
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
	}
	if c, ok := clientCommands[cmd]; ok {
		return c(ctx, args, getenv, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (try: hookscope --help)", cmd)
}

// clientCommands are the client tools (send, tail, forward), registered by
// their own files.
var clientCommands = map[string]func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error{}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig("hookscope", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
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
