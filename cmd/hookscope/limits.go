package main

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookscope/hookscope/web"
)

// LimitConfig is the hardening part of the configuration (issue 12): API
// body and connection limits, the separate capture origin.
type LimitConfig struct {
	MaxAPIBodyBytes int64
	CaptureURL      string
	MaxConnsPerIP   int
	// Quotas (issue 21): a preset, then each limit's override.
	Quotas web.Quotas
	// BytesPerBin is the stored-bytes quota of a bin (0: off); the oldest
	// requests are dropped by the retention sweep.
	BytesPerBin int64
}

// publicBytesPerBin is the public preset's stored-bytes quota per bin.
const publicBytesPerBin = 256 << 20

func limitSettings() []setting {
	return []setting{
		{"max-api-body-bytes", "HOOKSCOPE_MAX_API_BODY_BYTES", "1048576", "largest request body of the API (413 above, before more is read)", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 || n > 64<<20 {
				return errors.New("must be a byte count from 1024 to 67108864")
			}
			c.Limits.MaxAPIBodyBytes = n
			return nil
		}},
		{"capture-url", "HOOKSCOPE_CAPTURE_URL", "", "separate external base URL for capture (/h/...), e.g. https://hooks.example.com: bin URLs use it and it serves nothing else, so no bin answer shares the inspector's origin", func(c *Config, v string) error {
			c.Limits.CaptureURL = strings.TrimRight(v, "/")
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return errors.New("must be an http:// or https:// origin without a path")
			}
			return nil
		}},
		{"quotas", "HOOKSCOPE_QUOTAS", "public", `per-client API quotas: "public" (the defaults below) or "open" (none, for a private instance); each HOOKSCOPE_QUOTA_* variable overrides one limit`, func(c *Config, v string) error {
			switch v {
			case "public":
				c.Limits.Quotas = web.PublicQuotas
				c.Limits.BytesPerBin = publicBytesPerBin
			case "open":
				c.Limits.Quotas = web.Quotas{}
				c.Limits.BytesPerBin = 0
			default:
				return errors.New(`must be "public" or "open"`)
			}
			return nil
		}},
		{"quota-create-rate", "HOOKSCOPE_QUOTA_CREATE_RATE", "", "bin creations per client, like 20/m (public: 20/m; 0 = off)", rateOverride(func(q *web.Quotas, perSecond float64, burst int) {
			q.CreatePerMinute, q.CreateBurst = perSecond*60, burst
		})},
		{"quota-write-rate", "HOOKSCOPE_QUOTA_WRITE_RATE", "", "API writes per client, like 20/s (public: 20/s; 0 = off)", rateOverride(func(q *web.Quotas, perSecond float64, burst int) {
			q.WritePerSecond, q.WriteBurst = perSecond, burst
		})},
		{"quota-read-rate", "HOOKSCOPE_QUOTA_READ_RATE", "", "API reads per client, like 100/s (public: 100/s; 0 = off)", rateOverride(func(q *web.Quotas, perSecond float64, burst int) {
			q.ReadPerSecond, q.ReadBurst = perSecond, burst
		})},
		{"quota-bins-per-day", "HOOKSCOPE_QUOTA_BINS_PER_DAY", "", "bins one client may create per 24 hours (public: 200; 0 = off)", countOverride(func(q *web.Quotas) *int { return &q.BinsPerDay })},
		{"quota-live-per-ip", "HOOKSCOPE_QUOTA_LIVE_PER_IP", "", "open live feeds per client address (public: 32; 0 = off)", countOverride(func(q *web.Quotas) *int { return &q.LivePerIP })},
		{"quota-live-per-bin", "HOOKSCOPE_QUOTA_LIVE_PER_BIN", "", "open live feeds per bin (public: 64; 0 = off)", countOverride(func(q *web.Quotas) *int { return &q.LivePerBin })},
		{"quota-shares-per-bin", "HOOKSCOPE_QUOTA_SHARES_PER_BIN", "", "share links minted per bin per 24 hours (public: 50; 0 = off)", countOverride(func(q *web.Quotas) *int { return &q.SharesPerBinPerDay })},
		{"quota-bytes-per-bin", "HOOKSCOPE_QUOTA_BYTES_PER_BIN", "", "stored bytes per bin; the oldest requests are dropped every purge interval, capture is never refused for it (public: 268435456; 0 = off)", func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || (n != 0 && n < 1024) {
				return errors.New("must be 0 (off) or a byte count of at least 1024")
			}
			c.Limits.BytesPerBin = n
			return nil
		}},
		{"max-conns-per-ip", "HOOKSCOPE_MAX_CONNS_PER_IP", "256", "open connections per client address (trusted proxies exempt); 0 = unlimited", intInto(func(c *Config) *int { return &c.Limits.MaxConnsPerIP }, 0, 1_000_000)},
	}
}

// rateOverride parses "N/s", "N/m" or "N/h" ("0" = off); "" keeps the
// preset. The burst is N: a client may use a whole window's count at once.
func rateOverride(set func(q *web.Quotas, perSecond float64, burst int)) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		n, unit, _ := strings.Cut(v, "/")
		f, err := strconv.ParseFloat(n, 64)
		burst := int(math.Ceil(f))
		if err != nil || f < 0 || f > 1e6 {
			return errors.New(`must be a rate like "20/s", "20/m" or "20/h" (0 = off)`)
		}
		switch unit {
		case "s", "":
		case "m":
			f /= 60
		case "h":
			f /= 3600
		default:
			return errors.New(`must be a rate like "20/s", "20/m" or "20/h" (0 = off)`)
		}
		set(&c.Limits.Quotas, f, burst)
		return nil
	}
}

func countOverride(field func(q *web.Quotas) *int) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return errors.New("must be a count from 0 (off) to 1000000")
		}
		*field(&c.Limits.Quotas) = n
		return nil
	}
}

func intInto(field func(c *Config) *int, lo, hi int) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errors.New("must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
		}
		*field(c) = n
		return nil
	}
}
