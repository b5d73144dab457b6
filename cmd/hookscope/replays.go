package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/ingest/netguard"
	"github.com/hookscope/hookscope/replays"
	"github.com/hookscope/hookscope/schema"
)

// newReplays wires bulk replay jobs to the pipeline's single replay and
// the SSRF guard. The instance id lives in the data dir, so a restarted
// instance recognises (and marks interrupted) the jobs it was running.
func newReplays(cfg Config, st schema.Store, pipe *ingest.Pipeline, log *slog.Logger, clk *clock) (*replays.Manager, error) {
	inst, err := instanceID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	guard := netguard.New(netguard.Options{AllowPrivate: cfg.Access.AllowPrivateTargets})
	replay := func(ctx context.Context, orig *schema.Request, target, remoteIP string) (*schema.Request, error) {
		r, err := pipe.Replay(ctx, ingest.ReplayInput{Original: orig, URL: target, RemoteIP: remoteIP})
		var ie *ingest.InputError
		if errors.Is(err, ingest.ErrUnknownBin) || errors.Is(err, ingest.ErrForwardingDisabled) || errors.As(err, &ie) {
			return nil, &replays.FatalError{Err: err}
		}
		return r, err
	}
	return replays.New(st, replay, replays.Options{
		Logger:    log,
		Instance:  inst,
		Now:       clk.Now,
		Retention: cfg.ReplayJobRetention,
		CheckURL:  func(ctx context.Context, target string) error { return checkTarget(ctx, guard, target) },
	}), nil
}

// checkTarget resolves a replay target's host and asks the SSRF guard
// about each address, so a job aimed at a blocked address is refused up
// front (every send is guarded again when it dials).
func checkTarget(ctx context.Context, g *netguard.Guard, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not a URL with a host")
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("host does not resolve")
	}
	for _, ip := range ips {
		if err := g.Check("tcp", net.JoinHostPort(ip.Unmap().String(), port)); err != nil {
			return fmt.Errorf("address not allowed")
		}
	}
	return nil
}

// instanceID reads (or creates) this instance's id in the data dir.
func instanceID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	p := filepath.Join(dir, "instance-id")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write instance id: %w", err)
	}
	return id, nil
}
