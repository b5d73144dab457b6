package web

import (
	"net"
	"net/netip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimiter caps open connections per peer address. fasthttp has
// MaxConnsPerIP, but it would count a trusted reverse proxy as one client
// and cap the whole site; this one exempts trusted proxies. A connection
// over the cap is closed as soon as it is accepted, before anything is read.
type connLimiter struct {
	max     int
	trusted func(netip.Addr) bool

	mu   sync.Mutex
	open map[netip.Addr]int

	refused prometheus.Counter
}

func newConnLimiter(max int, trusted func(netip.Addr) bool) *connLimiter {
	return &connLimiter{max: max, trusted: trusted, open: make(map[netip.Addr]int),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_connections_refused_total",
			Help: "Connections closed on accept because their address had HOOKSCOPE_MAX_CONNS_PER_IP open.",
		})}
}

func (l *connLimiter) wrap(ln net.Listener) net.Listener {
	if l.max <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, l: l}
}

// acquire counts a new connection from a; false when a is at the cap.
func (l *connLimiter) acquire(a netip.Addr) bool {
	if l.trusted(a) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[a] >= l.max {
		return false
	}
	l.open[a]++
	return true
}

func (l *connLimiter) release(a netip.Addr) {
	if l.trusted(a) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[a] <= 1 {
		delete(l.open, a) // the map holds open addresses only
		return
	}
	l.open[a]--
}

type limitedListener struct {
	net.Listener
	l *connLimiter
}

func (ln *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := peerAddr(c.RemoteAddr())
		if ln.l.acquire(a) {
			return &limitedConn{Conn: c, l: ln.l, addr: a}, nil
		}
		ln.l.refused.Inc()
		_ = c.Close()
	}
}

func peerAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.addr) })
	return c.Conn.Close()
}
