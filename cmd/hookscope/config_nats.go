package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// NATSConfig is cluster mode: with URL set, the capture log is a JetStream
// stream shared by every instance (see README "Running several instances").
type NATSConfig struct {
	URL                    string
	Creds                  string
	TLSCert, TLSKey, TLSCA string
	Replicas               int
	MaxAge                 time.Duration
}

func natsSettings() []setting {
	return []setting{
		{"nats-url", "HOOKSCOPE_NATS_URL", "", "cluster mode: NATS servers (nats://h1:4222,nats://h2:4222); the capture log becomes a JetStream stream shared by every instance, and captures answer 503 while NATS does not acknowledge", func(c *Config, v string) error {
			for _, u := range strings.Split(v, ",") {
				if v != "" && !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
					return errors.New("must be a comma-separated list of nats:// or tls:// URLs")
				}
			}
			c.NATS.URL = v
			return nil
		}},
		{"nats-creds", "HOOKSCOPE_NATS_CREDS", "", "NATS credentials file (JWT + nkey seed)", func(c *Config, v string) error { c.NATS.Creds = v; return nil }},
		{"nats-tls-cert", "HOOKSCOPE_NATS_TLS_CERT", "", "client certificate (PEM) for NATS mutual TLS; with -nats-tls-key", func(c *Config, v string) error { c.NATS.TLSCert = v; return nil }},
		{"nats-tls-key", "HOOKSCOPE_NATS_TLS_KEY", "", "client key (PEM) for NATS mutual TLS", func(c *Config, v string) error { c.NATS.TLSKey = v; return nil }},
		{"nats-tls-ca", "HOOKSCOPE_NATS_TLS_CA", "", "CA bundle (PEM) that signed the NATS servers' certificates", func(c *Config, v string) error { c.NATS.TLSCA = v; return nil }},
		{"nats-replicas", "HOOKSCOPE_NATS_REPLICAS", "1", "replicas of the capture stream (3 for production: a capture is answered once a majority stored it)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5 {
				return errors.New("must be from 1 to 5")
			}
			c.NATS.Replicas = n
			return nil
		}},
		{"nats-max-age", "HOOKSCOPE_NATS_MAX_AGE", "168h", "the capture stream drops records older than this even if a store writer has not taken them (its size cap is HOOKSCOPE_LOG_MAX_BYTES)", durationInto(func(c *Config) *time.Duration { return &c.NATS.MaxAge })},
	}
}

// checkCluster refuses cluster mode without a shared signing key: each
// instance would otherwise generate its own (jwtKey) and refuse the tokens
// the others issued.
func checkCluster(c Config) error {
	if c.NATS.URL != "" && c.Access.JWTSecret == "" {
		return errors.New("-nats-url / HOOKSCOPE_NATS_URL: cluster mode needs -jwt-secret / HOOKSCOPE_JWT_SECRET, the same on every instance")
	}
	return nil
}
