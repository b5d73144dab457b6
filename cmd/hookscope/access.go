package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// AccessConfig is issue 7's part of the configuration: forwarding, the
// SSRF guard, auth and capture limits.
type AccessConfig struct {
	AllowPrivateTargets bool
	ForwardWorkers      int
	JWTSecret           string
	AuthRequired        bool
	RatePerBin          float64
	RatePerIP           float64
	MaxRequestsPerBin   int
	MaxHeaders          int
}

func accessSettings() []setting {
	return []setting{
		{"allow-private-targets", "HOOKSCOPE_ALLOW_PRIVATE_TARGETS", "false", "let forwarding, replay and alert notifiers reach loopback/private/link-local addresses (local development only)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Access.AllowPrivateTargets = b
			return err
		}},
		{"forward-workers", "HOOKSCOPE_FORWARD_WORKERS", "16", "concurrent async forwards (more wait in a queue of 1024)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1024 {
				return errors.New("must be from 1 to 1024")
			}
			c.Access.ForwardWorkers = n
			return nil
		}},
		{"jwt-secret", "HOOKSCOPE_JWT_SECRET", "", "key that signs bin and admin tokens (default: a random key kept in <data-dir>/jwt.key); set it when several instances share a store", func(c *Config, v string) error {
			if v != "" && len(v) < 32 {
				return errors.New("must be at least 32 bytes")
			}
			c.Access.JWTSecret = v
			return nil
		}},
		{"auth", "HOOKSCOPE_AUTH", "open", `"open", or "required": creating bins and managing alert rules need an admin token (hookscope token)`, func(c *Config, v string) error {
			switch v {
			case "open", "":
				c.Access.AuthRequired = false
			case "required":
				c.Access.AuthRequired = true
			default:
				return errors.New(`must be "open" or "required"`)
			}
			return nil
		}},
		{"rate-per-bin", "HOOKSCOPE_RATE_PER_BIN", "0", "captures per second per bin, burst one second's worth; 0 = unlimited", rateInto(func(c *Config) *float64 { return &c.Access.RatePerBin })},
		{"rate-per-ip", "HOOKSCOPE_RATE_PER_IP", "1000", "captures per second per sender IP, burst one second's worth; 0 = unlimited (set 0 for load tests from one machine)", rateInto(func(c *Config) *float64 { return &c.Access.RatePerIP })},
		{"max-requests-per-bin", "HOOKSCOPE_MAX_REQUESTS_PER_BIN", "0", "requests kept per bin, oldest dropped by the janitor every purge interval; 0 = unlimited", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("must be 0 or a positive count")
			}
			c.Access.MaxRequestsPerBin = n
			return nil
		}},
		{"max-headers", "HOOKSCOPE_MAX_HEADERS", "100", "most header lines a capture may carry (431 above); 0 = unlimited", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("must be 0 or a positive count")
			}
			c.Access.MaxHeaders = n
			return nil
		}},
	}
}

func rateInto(field func(c *Config) *float64) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "/s"), 64)
		if err != nil || f < 0 || f > 1e7 {
			return errors.New("must be a rate in requests per second (0 = off)")
		}
		*field(c) = f
		return nil
	}
}

// jwtKey returns the token signing key: HOOKSCOPE_JWT_SECRET, else a random
// 32-byte key generated once and kept in <data-dir>/jwt.key (mode 0600).
func jwtKey(cfg Config) ([]byte, error) {
	if cfg.Access.JWTSecret != "" {
		return []byte(cfg.Access.JWTSecret), nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "jwt.key")
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("read %s: not a hex key of at least 32 bytes", path)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read jwt key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate jwt key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
		return jwtKey(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create jwt key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write jwt key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write jwt key: %w", err)
	}
	return key, nil
}
