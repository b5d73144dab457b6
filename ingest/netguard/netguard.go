// Package netguard is hookscope's SSRF guard: an *http.Client (and the
// net.Dialer under it) that refuses to connect to loopback, private,
// link-local, CGNAT, multicast, unspecified and cloud metadata addresses.
//
// The check runs in net.Dialer.Control, on the IP address the dialer is
// about to connect to, after DNS resolution. That one place covers every
// trick that changes the address between validation and use: hostnames
// that resolve to 127.0.0.1 ("localhost", wildcard DNS), DNS rebinding
// (the answer at dial time is the one checked), alternative IP spellings
// (the dialer only ever sees the parsed address) and redirects (each hop
// dials again). Proxies from the environment are disabled, since dialing a
// proxy would check the proxy's address instead of the target's.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal of the guard.
var ErrBlocked = errors.New("destination address not allowed")

// blocked lists the ranges no outbound request may reach by default.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"; 0.0.0.0 reaches localhost on Linux
	netip.MustParsePrefix("10.0.0.0/8"),         // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),      // CGNAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, incl. 169.254.169.254 metadata
	netip.MustParsePrefix("172.16.0.0/12"),      // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments (incl. 192.0.0.192 OCI metadata)
	netip.MustParsePrefix("192.168.0.0/16"),     // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, incl. broadcast
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("::1/128"),            // loopback
	netip.MustParsePrefix("::/96"),              // IPv4-compatible (deprecated; ::127.0.0.1 reaches loopback on some stacks)
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // IPv4-translated (SIIT, RFC 2765)
	netip.MustParsePrefix("2001::/32"),          // Teredo: the tunnel ends at an embedded IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("100::/64"),           // discard-only
	netip.MustParsePrefix("fc00::/7"),           // unique local (ULA), incl. fd00:ec2::254 metadata
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),           // multicast
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IMDS over IPv6 (inside ULA; listed for clarity)
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (inside link-local; listed for clarity)
}

// Allowed reports whether the guard lets a connection to a through.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry;
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses as the IPv4 address
// they embed; IPv4-compatible (::/96), IPv4-translated (::ffff:0:0:0/96) and
// Teredo (2001::/32) addresses are refused outright.
func Allowed(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if a.Is6() {
		if nat64.Contains(a) {
			b := a.As16()
			return Allowed(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
		// 6to4 (2002::/16) embeds an IPv4 address in bits 16..48.
		if sixToFour.Contains(a) {
			b := a.As16()
			return Allowed(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Options configure the guard. Zero values take the defaults.
type Options struct {
	// AllowPrivate turns the guard off (HOOKSCOPE_ALLOW_PRIVATE_TARGETS=true):
	// for local development, where the targets are on localhost.
	AllowPrivate bool
	// Allow lists extra prefixes that are reachable even though they are in
	// a blocked range (for example an internal receiver's subnet).
	Allow []netip.Prefix
	// Timeout bounds a whole request when the caller's context does not
	// (default 30s).
	Timeout time.Duration
	// MaxRedirects is how many redirects a request follows (default 5; a
	// negative value follows none and returns the 3xx answer).
	MaxRedirects int
	// DialTimeout bounds connecting (default 10s).
	DialTimeout time.Duration
}

// Guard decides and dials.
type Guard struct {
	opts Options
}

// New returns a guard.
func New(opts Options) *Guard {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = 5
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	return &Guard{opts: opts}
}

// Check returns nil when a connection to addr ("ip:port") is allowed, else
// an error wrapping ErrBlocked.
func (g *Guard) Check(network, address string) error {
	if g.opts.AllowPrivate {
		return nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("%w: network %q", ErrBlocked, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrBlocked, address)
	}
	a := ap.Addr().Unmap()
	for _, p := range g.opts.Allow {
		if p.Contains(a) {
			return nil
		}
	}
	if !Allowed(a) {
		return fmt.Errorf("%w: %s is a loopback, private, link-local or otherwise internal address", ErrBlocked, a)
	}
	return nil
}

// Dialer returns a net.Dialer that checks every address it connects to.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{
		Timeout:   g.opts.DialTimeout,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return g.Check(network, address)
		},
	}
}

// Transport returns an http.Transport dialing through the guard, with
// environment proxies disabled.
func (g *Guard) Transport() *http.Transport {
	d := g.Dialer()
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: g.opts.Timeout,
	}
}

// Client returns an *http.Client for outbound requests to user-supplied
// URLs (forwarding, replay, alert notifiers). It follows at most
// MaxRedirects redirects, each dialed through the guard again.
func (g *Guard) Client() *http.Client {
	return &http.Client{
		Transport:     g.Transport(),
		Timeout:       g.opts.Timeout,
		CheckRedirect: g.checkRedirect,
	}
}

func (g *Guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if g.opts.MaxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > g.opts.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", g.opts.MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to unsupported scheme %q", req.URL.Scheme)
	}
	return nil
}

// IsBlocked reports whether err (from a request made with the guard's
// client) is a refusal of the guard.
func IsBlocked(err error) bool { return errors.Is(err, ErrBlocked) }
