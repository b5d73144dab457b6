package bins

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Limits of the control settings (issue 18: enforcement, redaction,
// retention).
const (
	MaxAllowCIDRs      = 100
	MaxRedactHeaders   = 50
	MaxRedactPaths     = 50
	MaxRedactPathBytes = 256
	MaxRetainRequests  = 10_000_000
)

// applyControl validates and applies allow_cidrs, redact and retention.
func applyControl(b *schema.Bin, in *Input) error {
	if in.AllowCIDRs != nil {
		if isNull(in.AllowCIDRs) {
			b.Settings.AllowCIDRs = nil
		} else {
			var list []string
			if err := strictUnmarshal(in.AllowCIDRs, &list); err != nil {
				return invalid("allow_cidrs", "must be a list of CIDRs like [\"10.0.0.0/8\"] or null")
			}
			norm, err := ParseCIDRs(list)
			if err != nil {
				return err
			}
			b.Settings.AllowCIDRs = norm
		}
	}
	if in.Redact != nil {
		if isNull(in.Redact) {
			b.Settings.Redact = nil
		} else {
			var rc schema.RedactConfig
			if err := strictUnmarshal(in.Redact, &rc); err != nil {
				return invalid("redact", "%s", err.Error())
			}
			if err := ValidateRedact(&rc); err != nil {
				return err
			}
			b.Settings.Redact = &rc
		}
	}
	if in.Retention != nil {
		if isNull(in.Retention) {
			b.Settings.Retention = nil
		} else {
			var rc schema.RetentionConfig
			if err := strictUnmarshal(in.Retention, &rc); err != nil {
				return invalid("retention", "%s", err.Error())
			}
			if _, err := RetentionAge(&rc); err != nil {
				return err
			}
			if rc.MaxRequests < 0 || rc.MaxRequests > MaxRetainRequests {
				return invalid("retention", "max_requests: must be from 1 to %d (0 or absent: no limit)", MaxRetainRequests)
			}
			if rc.MaxAge == "" && rc.MaxRequests == 0 {
				b.Settings.Retention = nil
			} else {
				b.Settings.Retention = &rc
			}
		}
	}
	return nil
}

// ParseCIDRs validates allow_cidrs: at most MaxAllowCIDRs prefixes (a bare
// address counts as its /32 or /128), returned canonical (masked, IPv4
// unmapped) so that what is stored is what is matched.
func ParseCIDRs(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, invalid("allow_cidrs", "must hold at least one CIDR (null removes the restriction)")
	}
	if len(list) > MaxAllowCIDRs {
		return nil, invalid("allow_cidrs", "at most %d CIDRs", MaxAllowCIDRs)
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		p, err := ParseCIDR(s)
		if err != nil {
			return nil, invalid("allow_cidrs", "[%d]: %q is not a CIDR like 10.0.0.0/8 or an address", i, truncate(s, 64))
		}
		out = append(out, p.String())
	}
	return out, nil
}

// ParseCIDR parses a prefix or a bare address, canonical.
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ValidateRedact checks redaction settings: header names are tokens, body
// paths are dot paths of at most MaxRedactPathBytes without wildcards or
// gjson modifiers (a path names one place: "card.number", "items.0.token").
func ValidateRedact(rc *schema.RedactConfig) error {
	if len(rc.Headers) > MaxRedactHeaders {
		return invalid("redact", "headers: at most %d", MaxRedactHeaders)
	}
	for i, h := range rc.Headers {
		if !ValidHeaderName(h) {
			return invalid("redact", "headers[%d]: must be a header name", i)
		}
	}
	if len(rc.BodyPaths) > MaxRedactPaths {
		return invalid("redact", "body_paths: at most %d", MaxRedactPaths)
	}
	for i, p := range rc.BodyPaths {
		if err := validBodyPath(p); err != nil {
			return invalid("redact", "body_paths[%d]: %s", i, err)
		}
	}
	return nil
}

// validBodyPath accepts a plain dot path (keys and array indexes; a dot in
// a key escaped as "\."), which gjson reads and sjson writes the same way.
func validBodyPath(p string) error {
	if p == "" || len(p) > MaxRedactPathBytes || hasControl(p) {
		return fmt.Errorf("must be a dot path of 1 to %d bytes like \"card.number\"", MaxRedactPathBytes)
	}
	if strings.ContainsAny(p, "*?#|@!{}[]()=<>%") {
		return fmt.Errorf("plain dot paths only (no wildcards, queries or modifiers)")
	}
	if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return fmt.Errorf("empty path segment")
	}
	return nil
}

// RetentionAge validates retention.max_age (0 when absent).
func RetentionAge(rc *schema.RetentionConfig) (time.Duration, error) {
	d, err := rc.Age()
	if err != nil {
		return 0, invalid("retention", "%s", strings.TrimPrefix(err.Error(), schema.ErrInvalid.Error()+": "))
	}
	return d, nil
}
