package web

import (
	"bytes"
	"container/list"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"
)

// maxLimiters bounds how many per-key token buckets are kept (least
// recently used evicted): a flood from random IPs cannot grow memory.
const maxLimiters = 10_000

// maxRefusedBins bounds the per-bin refusal counters.
const maxRefusedBins = 100_000

// limits are capture's abuse guards: per-bin and per-IP token buckets and
// the header count limit, with refusals counted per bin (served as the
// bin's refused_count) and in a Prometheus counter by reason.
type limits struct {
	perBin     *keyedLimiter // nil: off
	perIP      *keyedLimiter // nil: off
	maxHeaders int           // 0: off
	now        func() time.Time

	mu      sync.RWMutex
	refused map[string]*atomic.Int64

	metric *prometheus.CounterVec
}

func newLimits(o Options) *limits {
	l := &limits{maxHeaders: o.MaxHeaders, now: o.Now, refused: make(map[string]*atomic.Int64),
		metric: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookscope_capture_limited_total",
			Help: "Requests refused by a limit, by reason (rate_bin, rate_ip, headers: captures; api_body: API bodies over the limit).",
		}, []string{"reason"})}
	if o.RatePerBin > 0 {
		l.perBin = newKeyedLimiter(o.RatePerBin, maxLimiters)
	}
	if o.RatePerIP > 0 {
		l.perIP = newKeyedLimiter(o.RatePerIP, maxLimiters)
	}
	return l
}

// admit applies the limits to a capture of bin from ip. When it refuses,
// it has written the answer (429 with Retry-After, or 431).
func (s *Server) admit(ctx *fasthttp.RequestCtx, bin, ip string) bool {
	l := s.limits
	if l.maxHeaders > 0 && countHeaderLines(ctx.Request.Header.RawHeaders()) > l.maxHeaders {
		l.refuse(bin, "headers")
		s.drainBody(ctx)
		writeJSONError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge,
			"too many headers (limit "+strconv.Itoa(l.maxHeaders)+")")
		return false
	}
	now := l.now()
	for _, c := range [...]struct {
		kl     *keyedLimiter
		key    string
		reason string
		msg    string
	}{{l.perIP, ip, "rate_ip", "rate limit for your address exceeded"}, {l.perBin, bin, "rate_bin", "rate limit for this bin exceeded"}} {
		if c.kl == nil {
			continue
		}
		if wait, ok := c.kl.allow(c.key, now); !ok {
			l.refuse(bin, c.reason)
			s.drainBody(ctx)
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait.Seconds(), 1)))))
			writeJSONError(ctx, fasthttp.StatusTooManyRequests, c.msg+"; retry later")
			return false
		}
	}
	return true
}

// countHeaderLines counts the header fields of a raw block as
// parseRawHeaders splits it: non-empty lines that do not continue the
// previous one. (Counting every line end counted the blank line that ends
// the block too, so exactly MaxHeaders headers got 431.)
func countHeaderLines(raw []byte) int {
	n := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > 0 && line[0] != '\r' && line[0] != ' ' && line[0] != '\t' {
			n++
		}
	}
	return n
}

func (l *limits) refuse(bin, reason string) {
	l.metric.WithLabelValues(reason).Inc()
	l.mu.RLock()
	n, ok := l.refused[bin]
	l.mu.RUnlock()
	if !ok {
		l.mu.Lock()
		if n, ok = l.refused[bin]; !ok {
			if len(l.refused) >= maxRefusedBins {
				clear(l.refused) // bounded; counts restart rather than grow
			}
			n = new(atomic.Int64)
			l.refused[bin] = n
		}
		l.mu.Unlock()
	}
	n.Add(1)
}

// refusedCount is how many captures of bin were refused since start.
func (l *limits) refusedCount(bin string) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if n, ok := l.refused[bin]; ok {
		return n.Load()
	}
	return 0
}

// keyedLimiter is a bounded LRU of token buckets, one per key. The burst
// is one second's worth of the rate (at least 1).
type keyedLimiter struct {
	r     rate.Limit
	burst int
	max   int

	mu sync.Mutex
	ll *list.List // front = most recently used; values are *bucket
	m  map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

func newKeyedLimiter(perSecond float64, max int) *keyedLimiter {
	return newKeyedLimiterBurst(rate.Limit(perSecond), max1(int(math.Ceil(perSecond))), max)
}

func newKeyedLimiterBurst(r rate.Limit, burst, max int) *keyedLimiter {
	return &keyedLimiter{r: r, burst: max1(burst), max: max, ll: list.New(), m: make(map[string]*list.Element)}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// allow takes a token for key; when none is left it returns how long
// until one is.
func (k *keyedLimiter) allow(key string, now time.Time) (time.Duration, bool) {
	k.mu.Lock()
	var lim *rate.Limiter
	if e, ok := k.m[key]; ok {
		k.ll.MoveToFront(e)
		lim = e.Value.(*bucket).lim
	} else {
		lim = rate.NewLimiter(k.r, k.burst)
		k.m[key] = k.ll.PushFront(&bucket{key: key, lim: lim})
		if k.ll.Len() > k.max {
			old := k.ll.Back()
			k.ll.Remove(old)
			delete(k.m, old.Value.(*bucket).key)
		}
	}
	k.mu.Unlock()
	if lim.AllowN(now, 1) {
		return 0, true
	}
	r := lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return wait, false
}

// Collectors are the server's own metrics, for the app's registry.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.limits.metric, s.conns.refused, s.quotas.refused}
}
