package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hookscope/hookscope/web"
)

func init() { clientCommands["token"] = tokenCmd }

// tokenCmd prints a token signed with the server's key (HOOKSCOPE_JWT_SECRET
// or <data-dir>/jwt.key): an admin token by default (what
// HOOKSCOPE_AUTH=required asks for), or a bin's owner or read-only token
// (to recover access to a private bin).
func tokenCmd(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookscope token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envOr := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	dataDir := fs.String("data-dir", envOr("HOOKSCOPE_DATA_DIR", "./hookscope-data"), "the server's data directory, where jwt.key lives (env HOOKSCOPE_DATA_DIR)")
	ttl := fs.Duration("ttl", 30*24*time.Hour, "token lifetime")
	bin := fs.String("bin", "", "mint a token for this bin instead of an admin token")
	readOnly := fs.Bool("read-only", false, "with -bin: a read-only (share) token")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope token [-ttl 720h] [-bin <id> [-read-only]]\n\nPrints a token signed with the server key (HOOKSCOPE_JWT_SECRET, else <data-dir>/jwt.key).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ttl <= 0 {
		return errors.New("-ttl must be positive")
	}
	secret := getenv("HOOKSCOPE_JWT_SECRET")
	if secret != "" && len(secret) < 32 {
		return errors.New("HOOKSCOPE_JWT_SECRET must be at least 32 bytes")
	}
	key, err := jwtKey(Config{DataDir: *dataDir, Access: AccessConfig{JWTSecret: secret}})
	if err != nil {
		return err
	}
	scope := web.ScopeAdmin
	switch {
	case *bin != "" && *readOnly:
		scope = web.ScopeRead
	case *bin != "":
		scope = web.ScopeOwner
	case *readOnly:
		return errors.New("-read-only needs -bin")
	}
	tok, _, err := web.MintToken(key, scope, *bin, *ttl, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
