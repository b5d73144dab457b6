package main

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// LimitConfig is the hardening part of the configuration (issue 12): API
// body and connection limits, the separate capture origin.
type LimitConfig struct {
	MaxAPIBodyBytes int64
	CaptureURL      string
	MaxConnsPerIP   int
}

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
		{"max-conns-per-ip", "HOOKSCOPE_MAX_CONNS_PER_IP", "256", "open connections per client address (trusted proxies exempt); 0 = unlimited", intInto(func(c *Config) *int { return &c.Limits.MaxConnsPerIP }, 0, 1_000_000)},
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
