package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/bins"
)

// Config is everything the server reads from flags and the environment.
// Only this package reads the environment.
type Config struct {
	Addr            string
	DataDir         string
	PublicURL       string
	MaxBodyBytes    int64
	LogLevel        slog.Level
	LogFormat       string
	ClickHouseURL   string
	TrustedProxies  []netip.Prefix
	DefaultExpiry   time.Duration
	LogMaxBytes     int64
	Ack             string
	BatchSize       int
	FlushInterval   time.Duration
	ReadTimeout     time.Duration
	MaxHeaderBytes  int
	RetentionPeriod time.Duration
	// ReplayJobRetention is how long an ended bulk replay job is kept.
	ReplayJobRetention time.Duration
	// RedactHeaders are replaced in every record before storage (issue 18).
	RedactHeaders []string
	Access        AccessConfig
	Limits        LimitConfig
	Alerts        AlertsConfig
	NATS          NATSConfig

	// ClickHouseCluster names the ClickHouse cluster (remote_servers) the
	// schema lives on: replicated tables behind Distributed ones.
	ClickHouseCluster string
}

// HOOKSCOPE_ACK values.
const (
	ackDurable = "durable"
	ackFast    = "fast"
)

// setting is one flag with its environment variable.
type setting struct {
	name, env, def, help string
	apply                func(c *Config, v string) error
}

func settings() []setting {
	return append([]setting{
		{"addr", "HOOKSCOPE_ADDR", ":8080", "listen address", func(c *Config, v string) error { c.Addr = v; return nil }},
		{"data-dir", "HOOKSCOPE_DATA_DIR", "./hookscope-data", "directory for the capture log, the embedded store and keys", func(c *Config, v string) error { c.DataDir = v; return nil }},
		{"public-url", "HOOKSCOPE_PUBLIC_URL", "", "external base URL used in bin URLs (default: from the Host header)", func(c *Config, v string) error {
			c.PublicURL = strings.TrimRight(v, "/")
			if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				return errors.New("must start with http:// or https://")
			}
			return nil
		}},
		{"max-body-bytes", "HOOKSCOPE_MAX_BODY_BYTES", "10485760", "largest body recorded; larger bodies are truncated and answered 413", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > 1<<30 {
				return errors.New("must be a byte count from 1 to 1073741824")
			}
			c.MaxBodyBytes = n
			return nil
		}},
		{"log-level", "HOOKSCOPE_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"log-format", "HOOKSCOPE_LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return errors.New("must be text or json")
			}
			c.LogFormat = v
			return nil
		}},
		{"clickhouse-url", "HOOKSCOPE_CLICKHOUSE_URL", "", "store in ClickHouse (clickhouse://host:9000/db) instead of the embedded store", func(c *Config, v string) error { c.ClickHouseURL = v; return nil }},
		{"clickhouse-cluster", "HOOKSCOPE_CLICKHOUSE_CLUSTER", "", "ClickHouse cluster name (remote_servers): migrations run ON CLUSTER, Replicated*MergeTree tables behind Distributed tables sharded by bin", func(c *Config, v string) error { c.ClickHouseCluster = v; return nil }},
		{"trusted-proxies", "HOOKSCOPE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is trusted for the sender IP", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				pre, err := netip.ParsePrefix(p)
				if err != nil {
					a, aerr := netip.ParseAddr(p)
					if aerr != nil {
						return fmt.Errorf("%q is not a CIDR", p)
					}
					pre = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, pre)
			}
			return nil
		}},
		{"default-expiry", "HOOKSCOPE_DEFAULT_EXPIRY", "168h", "lifetime of a new bin when the request gives none", durationInto(func(c *Config) *time.Duration { return &c.DefaultExpiry })},
		{"log-max-bytes", "HOOKSCOPE_LOG_MAX_BYTES", "1073741824", "capture log size cap: past it (the store writer is that far behind) capture answers 503", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1<<20 {
				return errors.New("must be a byte count of at least 1048576")
			}
			c.LogMaxBytes = n
			return nil
		}},
		{"ack", "HOOKSCOPE_ACK", ackDurable, "durable: answer a capture once it is fsynced in the capture log; fast: once written to the OS (a machine crash can lose the last milliseconds)", func(c *Config, v string) error {
			if v != ackDurable && v != ackFast {
				return errors.New("must be durable or fast")
			}
			c.Ack = v
			return nil
		}},
		{"batch-size", "HOOKSCOPE_BATCH_SIZE", "5000", "most requests per store batch", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100_000 {
				return errors.New("must be from 1 to 100000")
			}
			c.BatchSize = n
			return nil
		}},
		{"flush-interval", "HOOKSCOPE_FLUSH_INTERVAL", "auto", "longest the store writer waits for a batch to fill (captures are durable in the log meanwhile); auto: 10ms on the embedded store, 100ms on ClickHouse", func(c *Config, v string) error {
			if v == "auto" {
				c.FlushInterval = 0 // flushInterval picks it by store
				return nil
			}
			return durationInto(func(c *Config) *time.Duration { return &c.FlushInterval })(c, v)
		}},
		{"read-timeout", "HOOKSCOPE_READ_TIMEOUT", "30s", "time allowed to read one request (slowloris guard)", durationInto(func(c *Config) *time.Duration { return &c.ReadTimeout })},
		{"max-header-bytes", "HOOKSCOPE_MAX_HEADER_BYTES", "32768", "largest request line plus headers", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 4096 || n > 1<<20 {
				return errors.New("must be from 4096 to 1048576")
			}
			c.MaxHeaderBytes = n
			return nil
		}},
		{"purge-interval", "HOOKSCOPE_PURGE_INTERVAL", "1m", "how often expired bins and their data are removed", durationInto(func(c *Config) *time.Duration { return &c.RetentionPeriod })},
		{"replay-job-retention", "HOOKSCOPE_REPLAY_JOB_RETENTION", "168h", "how long an ended bulk replay job (done, failed, canceled, interrupted) is kept; jobs of a deleted bin go once they end, running jobs never", durationInto(func(c *Config) *time.Duration { return &c.ReplayJobRetention })},
		{"redact-headers", "HOOKSCOPE_REDACT_HEADERS", "Authorization, Cookie, Proxy-Authorization, X-Api-Key", "comma-separated header names whose values every record stores as [redacted] (signatures are verified first); none: redact nothing server-wide", parseRedactHeaders},
	}, append(append(append(accessSettings(), limitSettings()...), alertSettings()...), natsSettings()...)...)
}

func parseRedactHeaders(c *Config, v string) error {
	c.RedactHeaders = nil
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return nil
	}
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if !bins.ValidHeaderName(h) {
			return fmt.Errorf("%q is not a header name", h)
		}
		c.RedactHeaders = append(c.RedactHeaders, h)
	}
	if len(c.RedactHeaders) > bins.MaxRedactHeaders {
		return fmt.Errorf("at most %d headers", bins.MaxRedactHeaders)
	}
	return nil
}

// flushInterval is the store writer's FlushInterval: the configured one, or
// by store. Measured on the embedded store (bench/cpuprofile.sh, ack=durable,
// 16 connections, 4 interleaved rounds, BENCHMARKS.md): 100ms gave a p99 of
// 12.8-18.7 ms, 10ms 9.0-10.3 ms, for ~8 % fewer requests per second (10 %
// in the harness); a
// 100 ms batch of ~1 500 rows is a CPU burst that delays the captures on
// the other core. ClickHouse keeps 100ms: every batch is one insert, one
// part on the server, and parts are what it merges.
func flushInterval(c Config) time.Duration {
	switch {
	case c.FlushInterval > 0:
		return c.FlushInterval
	case c.ClickHouseURL != "":
		return 100 * time.Millisecond
	}
	return 10 * time.Millisecond
}

func durationInto(field func(c *Config) *time.Duration) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration like 30s")
		}
		*field(c) = d
		return nil
	}
}

// parseConfig reads flags (which win) over environment variables (which win
// over defaults).
func parseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	values := map[string]*string{}
	for _, s := range settings() {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		values[s.name] = fs.String(s.name, def, fmt.Sprintf("%s (env %s)", s.help, s.env))
	}
	fs.Usage = func() {
		if name == "hookscope migrate" {
			fmt.Fprintf(out, "Usage: hookscope migrate [flags]\n\nApplies the pending storage migrations of the configured store (ClickHouse when -clickhouse-url is set, else the embedded store in -data-dir) and exits.\nIt reads the same flags and environment variables as serve; the store's are the ones that matter:\n")
		} else {
			fmt.Fprintf(out, "Usage: %s [serve|migrate|send|tail|forward|export|token] [flags]\n\nServe flags (each also read from its environment variable):\n", name)
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range settings() {
		if err := s.apply(&c, *values[s.name]); err != nil {
			return c, fmt.Errorf("-%s / %s: %w", s.name, s.env, err)
		}
	}
	if err := checkCluster(c); err != nil {
		return c, err
	}
	return c, nil
}

func newLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
