package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Signer is what the token command needs of the server: its key and its
// token format. cmd/hookscope wires the server's own (web.MintBinToken and
// the key loader), so client imports neither.
type Signer struct {
	// Key loads the signing key: secret when set, else <dataDir>/jwt.key.
	Key func(dataDir, secret string) ([]byte, error)
	// Mint signs a token of scope ("admin", "owner" or "read") for bin's
	// token generation gen.
	Mint func(key []byte, scope, bin string, gen uint64, ttl time.Duration, now time.Time) (string, time.Time, error)
}

// Token prints a token signed with the server's key (HOOKSCOPE_JWT_SECRET
// or <data-dir>/jwt.key): an admin token by default (what
// HOOKSCOPE_AUTH=required asks for), or a bin's owner or read-only token.
// That is how an operator gives the owner token to the creator of a bin
// made before every bin had one (such bins are at generation 0), or
// recovers a bin: an admin token can also revoke the bin's tokens through
// the API, which answers a fresh owner token.
func Token(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, sg Signer) error {
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
	gen := fs.Uint64("gen", 0, "with -bin: the bin's token generation (0 until its tokens were first revoked)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope token [-ttl 720h] [-bin <id> [-read-only] [-gen N]]\n\nPrints a token signed with the server key (HOOKSCOPE_JWT_SECRET, else <data-dir>/jwt.key).")
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
	key, err := sg.Key(*dataDir, secret)
	if err != nil {
		return err
	}
	scope := "admin"
	switch {
	case *bin != "" && *readOnly:
		scope = "read"
	case *bin != "":
		scope = "owner"
	case *readOnly:
		return errors.New("-read-only needs -bin")
	case *gen != 0:
		return errors.New("-gen needs -bin")
	}
	tok, _, err := sg.Mint(key, scope, *bin, *gen, *ttl, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
