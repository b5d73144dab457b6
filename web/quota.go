package web

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Quotas are the per-client limits of the API (issue 21). They hold per
// instance: several instances behind one balancer each apply them. A zero
// field turns that limit off; the zero Quotas is the "open" setting.
type Quotas struct {
	// Rates of the three API budgets, per client: bin creation (POST
	// /api/v1/bins), other writes, reads (GET/HEAD, websocket upgrades).
	CreatePerMinute float64
	WritePerSecond  float64
	ReadPerSecond   float64
	// Bursts of the three budgets (0: one minute's worth of creations,
	// one second's worth of writes and reads). A rate given per hour
	// ("20/h") sets its burst to the hour's count.
	CreateBurst, WriteBurst, ReadBurst int
	// BinsPerDay: bins one client may create in 24 hours (a bucket that
	// refills at BinsPerDay/24h, so it also holds over any sliding day).
	BinsPerDay int
	// Open live feeds per client address and per bin.
	LivePerIP  int
	LivePerBin int
	// SharesPerBinPerDay: share links minted for one bin in 24 hours.
	SharesPerBinPerDay int
}

// PublicQuotas are the defaults, chosen for a public instance.
var PublicQuotas = Quotas{CreatePerMinute: 20, WritePerSecond: 20, ReadPerSecond: 100, BinsPerDay: 200,
	LivePerIP: 32, LivePerBin: 64, SharesPerBinPerDay: 50}

// quotas enforces Quotas. Reads and writes are keyed by the token's bin
// when the client presents a valid bin token (many users behind one NAT
// keep their own budgets), else by address (X-Forwarded-For only through
// trusted proxies); bin creation and live feeds are always keyed by
// address; admin tokens are exempt from everything.
type quotas struct {
	q   Quotas
	now func() time.Time

	create, write, read *keyedLimiter // nil: off
	binsDay             *keyedLimiter
	sharesDay           *keyedLimiter

	mu        sync.Mutex
	liveIP    map[string]int
	liveBin   map[string]int
	liveTotal int

	refused *prometheus.CounterVec
}

func newQuotas(q Quotas, now func() time.Time) *quotas {
	qs := &quotas{q: q, now: now, liveIP: map[string]int{}, liveBin: map[string]int{},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookscope_quota_refused_total",
			Help: "Requests refused by a quota, by limit (rate_create, rate_write, rate_read, bins_per_day, live_per_ip, live_per_bin, shares_per_bin); bytes_per_bin counts stored requests dropped by the byte quota.",
		}, []string{"limit"})}
	perSecond := func(r float64, burst int) *keyedLimiter {
		if r <= 0 || burst <= 0 {
			return nil
		}
		return newKeyedLimiterBurst(rate.Limit(r), burst, maxLimiters)
	}
	burst := func(b int, window float64) int {
		if b > 0 {
			return b
		}
		return max(1, int(math.Ceil(window)))
	}
	qs.create = perSecond(q.CreatePerMinute/60, burst(q.CreateBurst, q.CreatePerMinute))
	qs.write = perSecond(q.WritePerSecond, burst(q.WriteBurst, q.WritePerSecond))
	qs.read = perSecond(q.ReadPerSecond, burst(q.ReadBurst, q.ReadPerSecond))
	day := 24 * time.Hour.Seconds()
	qs.binsDay = perSecond(float64(q.BinsPerDay)/day, q.BinsPerDay)
	qs.sharesDay = perSecond(float64(q.SharesPerBinPerDay)/day, q.SharesPerBinPerDay)
	return qs
}

// quotaError is a 429 with its Retry-After and the limit's name.
type quotaError struct {
	limit string
	msg   string
	retry time.Duration
}

func (e *quotaError) Error() string { return e.msg }

func (qs *quotas) take(k *keyedLimiter, key, limit, msg string) error {
	if k == nil {
		return nil
	}
	if wait, ok := k.allow(key, qs.now()); !ok {
		qs.refused.WithLabelValues(limit).Inc()
		return &quotaError{limit: limit, msg: msg, retry: wait}
	}
	return nil
}

// enforceQuotas is the API middleware. It runs before routing: a refused
// request costs a map lookup.
func (s *Server) enforceQuotas(c *fiber.Ctx) error {
	p := strings.ToLower(c.Path())
	if !strings.HasPrefix(p, "/api/") {
		return c.Next()
	}
	key, admin := s.quotaKey(c)
	if admin {
		return c.Next()
	}
	qs := s.quotas
	segs := split(p)
	method := c.Method()
	switch {
	case method == fiber.MethodGet || method == fiber.MethodHead:
		if err := qs.take(qs.read, key, "rate_read", "too many reads; retry later"); err != nil {
			return err
		}
		if len(segs) == 5 && segs[2] == "bins" && segs[4] == "live" {
			if websocket.IsWebSocketUpgrade(c) {
				return s.liveSlot(c, key, segs[3])
			}
			// A browser cannot read why a websocket handshake failed: the
			// inspector asks with a plain GET, which answers the refusal a
			// feed would get now (else 426 from the route).
			if err := qs.liveRefusal("ip:"+s.remoteIP(c.Context()), segs[3]); err != nil {
				return err
			}
		}
	case method == fiber.MethodPost && len(segs) == 3 && segs[2] == "bins":
		// Creation is always keyed by address: every bin comes with an
		// owner token, so keying it by token would let each new bin's token
		// open a fresh budget.
		ip := "ip:" + s.remoteIP(c.Context())
		if err := qs.take(qs.create, ip, "rate_create", "too many bins created; retry later"); err != nil {
			return err
		}
		if err := qs.take(qs.binsDay, ip, "bins_per_day", "daily bin quota for your address reached; retry later"); err != nil {
			return err
		}
	default:
		if err := qs.take(qs.write, key, "rate_write", "too many changes; retry later"); err != nil {
			return err
		}
		if method == fiber.MethodPost && len(segs) == 5 && segs[2] == "bins" && segs[4] == "share" {
			if err := qs.take(qs.sharesDay, segs[3], "shares_per_bin", "daily share-link quota for this bin reached; retry later"); err != nil {
				return err
			}
		}
	}
	return c.Next()
}

// quotaKey names the client: "bin:<id>" for a valid bin token, else
// "ip:<address>". admin is true for a valid admin token.
func (s *Server) quotaKey(c *fiber.Ctx) (key string, admin bool) {
	if tok := bearer(c, true); tok != "" {
		if cl, err := s.auth.parse(tok); err == nil {
			if cl.Scope == ScopeAdmin {
				return "", true
			}
			return "bin:" + cl.Subject, false
		}
	}
	return "ip:" + s.remoteIP(c.Context()), false
}

// liveSlot takes a live-feed slot for the client and the bin, released
// when the websocket ends (livefeed.go calls the release stored in
// Locals) or at once when the upgrade does not happen.
func (s *Server) liveSlot(c *fiber.Ctx, key, bin string) error {
	qs := s.quotas
	ip := "ip:" + s.remoteIP(c.Context())
	_ = key // live feeds are capped per address even with a token: sockets cost the server per connection
	qs.mu.Lock()
	if err := qs.liveRefusalLocked(ip, bin); err != nil {
		qs.mu.Unlock()
		qs.refused.WithLabelValues(err.limit).Inc()
		return err
	}
	qs.liveIP[ip]++
	qs.liveBin[bin]++
	qs.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			qs.mu.Lock()
			defer qs.mu.Unlock()
			if qs.liveIP[ip]--; qs.liveIP[ip] <= 0 {
				delete(qs.liveIP, ip)
			}
			if qs.liveBin[bin]--; qs.liveBin[bin] <= 0 {
				delete(qs.liveBin, bin)
			}
		})
	}
	c.Locals("live_release", release)
	err := c.Next()
	if c.Response().StatusCode() != fiber.StatusSwitchingProtocols {
		release()
	}
	return err
}

// liveRefusal is the refusal a new live feed from ip to bin would get now
// (nil: none). It takes no slot and counts nothing.
func (qs *quotas) liveRefusal(ip, bin string) error {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if err := qs.liveRefusalLocked(ip, bin); err != nil {
		return err
	}
	return nil
}

func (qs *quotas) liveRefusalLocked(ip, bin string) *quotaError {
	switch {
	case qs.q.LivePerIP > 0 && qs.liveIP[ip] >= qs.q.LivePerIP:
		return &quotaError{limit: "live_per_ip", msg: "too many live feeds open from your address (limit " + strconv.Itoa(qs.q.LivePerIP) + "); close one", retry: 5 * time.Second}
	case qs.q.LivePerBin > 0 && qs.liveBin[bin] >= qs.q.LivePerBin:
		return &quotaError{limit: "live_per_bin", msg: "too many live feeds open on this bin (limit " + strconv.Itoa(qs.q.LivePerBin) + "); retry later", retry: 5 * time.Second}
	}
	return nil
}

// CountQuotaDrop counts requests a storage quota removed (the retention
// sweep applies them), in the same metric as the refusals.
func (s *Server) CountQuotaDrop(limit string, n int64) {
	s.quotas.refused.WithLabelValues(limit).Add(float64(n))
}

// liveOpen reports the open live feeds of an address and a bin (tests).
func (qs *quotas) liveOpen(ip, bin string) (int, int) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.liveIP["ip:"+ip], qs.liveBin[bin]
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(max(d.Seconds(), 1))))
}
