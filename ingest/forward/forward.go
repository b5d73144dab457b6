// Package forward relays captured requests to a bin's target URL: the
// method, the path suffix, the query, the headers minus hop-by-hop ones and
// the body. It runs synchronously (proxy mode, replay) or in a bounded
// worker pool off the request path (async mode). The *http.Client is
// injected; hookscope gives it the SSRF-guarded client from netguard.
package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookscope/hookscope/ingest/netguard"
	"github.com/hookscope/hookscope/schema"
)

// Modes recorded in schema.Forward.Mode.
const (
	ModeAsync  = "async"
	ModeProxy  = "proxy"
	ModeReplay = "replay"
)

// HopsHeader counts how many times hookscope relayed a request. Every
// relayed request carries it incremented; a capture that arrives with
// MaxHops or more is recorded but not relayed again, so a bin forwarding
// to itself (or two bins forwarding to each other) cannot loop forever.
const HopsHeader = "X-Hookscope-Hops"

// MaxHops is the relay depth past which a capture is not forwarded.
const MaxHops = 5

// Hops is the hop count a captured request carries (0 when absent).
func Hops(hs []schema.Header) int {
	for _, h := range hs {
		if strings.EqualFold(h.Name, HopsHeader) {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value)); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("forwarder closed")

// ErrQueueFull is returned by Submit when every worker is busy and the queue is full.
var ErrQueueFull = errors.New("forward queue full")

// Options configure a Forwarder. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Client sends the requests. Required: pass netguard's client.
	Client *http.Client
	// Workers is how many async forwards run at once (default 16).
	Workers int
	// QueueLen bounds async forwards waiting for a worker (default 1024).
	QueueLen int
	// DefaultTimeout applies when the bin sets none (default 10s).
	DefaultTimeout time.Duration
	// MaxResponseBytes bounds the target's answer kept for proxy mode
	// (default 10 MiB).
	MaxResponseBytes int64
	Now              func() time.Time
}

// Forwarder relays requests. Safe for concurrent use.
type Forwarder struct {
	opts Options
	log  *slog.Logger

	jobs    chan job
	mu      sync.RWMutex // guards closed against Submit
	closed  bool
	wg      sync.WaitGroup
	baseCtx context.Context
	cancel  context.CancelFunc
}

type job struct {
	cfg  schema.ForwardConfig
	r    *schema.Request
	done func(schema.Forward)
}

// Result is a relayed request's outcome and, for proxy mode, the target's
// answer (hop-by-hop headers removed).
type Result struct {
	Forward schema.Forward
	Status  int // 0 when the target did not answer
	Headers []schema.Header
	Body    []byte
}

// New starts a forwarder's workers. Call Close to stop them.
func New(opts Options) *Forwarder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = netguard.New(netguard.Options{}).Client()
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 1024
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 10 * time.Second
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 10 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Forwarder{opts: opts, log: opts.Logger.With("component", "forward"), jobs: make(chan job, opts.QueueLen)}
	f.baseCtx, f.cancel = context.WithCancel(context.Background())
	for range opts.Workers {
		f.wg.Add(1)
		go f.worker()
	}
	return f
}

func (f *Forwarder) worker() {
	defer f.wg.Done()
	for j := range f.jobs {
		res := f.Do(f.baseCtx, j.cfg, j.r, ModeAsync, false)
		j.done(res.Forward)
	}
}

// Submit queues an async forward of r; done runs on a worker goroutine with
// the outcome. It never blocks: ErrQueueFull when the pool is saturated,
// ErrClosed after Close. done is called exactly once when Submit returns nil.
func (f *Forwarder) Submit(cfg schema.ForwardConfig, r *schema.Request, done func(schema.Forward)) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return ErrClosed
	}
	select {
	case f.jobs <- job{cfg: cfg, r: r, done: done}:
		return nil
	default:
		return ErrQueueFull
	}
}

// Pending is how many async forwards wait for a worker.
func (f *Forwarder) Pending() int { return len(f.jobs) }

// Close stops accepting work and waits for queued and in-flight forwards.
// When ctx ends first, the remaining forwards are cancelled (they complete
// at once with an error, so their done callbacks still run) and Close
// returns after them.
func (f *Forwarder) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.jobs)
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		f.cancel()
		return nil
	case <-ctx.Done():
		f.cancel()
		<-done
		return fmt.Errorf("wait for forwards: %w", ctx.Err())
	}
}

// TargetURL is where a request to the bin goes: the forward URL, plus the
// captured path suffix (when not "/"), plus the captured query (joined
// with the target's own query, if any).
func TargetURL(base string, r *schema.Request) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("forward url %q is not an http(s) URL", base)
	}
	if bad := strings.IndexFunc(r.Path+r.Query, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '#' }); bad >= 0 {
		return "", errors.New("captured path or query holds a control character or '#'; not relayed")
	}
	if r.Path != "" && r.Path != "/" {
		// r.Path is the raw path as sent (escapes kept); it always starts
		// with "/" at capture, and must here, or it would extend the host.
		p := r.Path
		if p[0] != '/' {
			p = "/" + p
		}
		rawBase := strings.TrimRight(u.EscapedPath(), "/")
		joined, err := url.Parse(u.Scheme + "://" + u.Host + rawBase + p)
		if err != nil {
			return "", fmt.Errorf("join path %q: %w", r.Path, err)
		}
		u.Path, u.RawPath = joined.Path, joined.RawPath
	}
	switch {
	case r.Query == "":
	case u.RawQuery == "":
		u.RawQuery = r.Query
	default:
		u.RawQuery += "&" + r.Query
	}
	out := u.String()
	// The query is raw bytes from the sender: refuse what no client could send.
	if _, err := url.Parse(out); err != nil {
		return "", fmt.Errorf("relayed URL: %w", err)
	}
	return out, nil
}

// Do relays r to the target of cfg (TargetURL) and waits for the answer.
// keepAnswer keeps the target's headers and body in the result (proxy
// mode). The error, if any, is in Result.Forward.Error.
func (f *Forwarder) Do(ctx context.Context, cfg schema.ForwardConfig, r *schema.Request, mode string, keepAnswer bool) Result {
	target, err := TargetURL(cfg.URL, r)
	if err != nil {
		return Result{Forward: schema.Forward{URL: cfg.URL, Mode: mode, Error: err.Error()}}
	}
	return f.Send(ctx, target, f.timeout(cfg.Timeout), r, mode, keepAnswer)
}

func (f *Forwarder) timeout(s string) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return f.opts.DefaultTimeout
}

// Timeout is the timeout a forward config resolves to.
func (f *Forwarder) Timeout(cfg *schema.ForwardConfig) time.Duration {
	if cfg == nil {
		return f.opts.DefaultTimeout
	}
	return f.timeout(cfg.Timeout)
}

// Send relays r to exactly target.
// (res is a named result so that the deferred latency lands in what the
// caller receives: assigned to a local, it was always 0.)
func (f *Forwarder) Send(ctx context.Context, target string, timeout time.Duration, r *schema.Request, mode string, keepAnswer bool) (res Result) {
	res = Result{Forward: schema.Forward{URL: target, Mode: mode}}
	start := f.opts.Now()
	defer func() {
		res.Forward.LatencyUS = max(f.opts.Now().Sub(start).Microseconds(), 0)
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, target, bytes.NewReader(r.Body))
	if err != nil {
		res.Forward.Error = "build request: " + err.Error()
		return res
	}
	CopyHeaders(req.Header, r.Headers)
	for k := range req.Header {
		if strings.EqualFold(k, HopsHeader) {
			delete(req.Header, k)
		}
	}
	req.Header.Set(HopsHeader, strconv.Itoa(Hops(r.Headers)+1))
	req.ContentLength = int64(len(r.Body))
	if len(r.Body) == 0 {
		req.Body = http.NoBody
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		res.Forward.Error = describe(err, timeout)
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.Forward.Status = resp.StatusCode
	limit := int64(64 << 10) // drain a little so the connection can be reused
	if keepAnswer {
		limit = f.opts.MaxResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if keepAnswer {
		if int64(len(body)) > limit {
			body = body[:limit]
			res.Forward.Error = fmt.Sprintf("answer larger than %d bytes; truncated", limit)
		} else if err != nil {
			res.Forward.Error = "read answer: " + describe(err, timeout)
		}
		res.Body = body
		res.Headers = answerHeaders(resp.Header)
	}
	return res
}

// describe turns a client error into a short, stable message for the record.
func describe(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case netguard.IsBlocked(err):
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Addr != nil {
			return "blocked by the SSRF guard: " + oe.Addr.String() + " is an internal address (set HOOKSCOPE_ALLOW_PRIVATE_TARGETS=true for local development)"
		}
		return "blocked by the SSRF guard: internal address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, context.Canceled):
		return "cancelled (hookscope shutting down)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// hopByHop are the headers a proxy must not relay (RFC 9110 7.6.1), plus
// the ones the client library sets itself.
var hopByHop = map[string]bool{
	"connection":          true,
	"proxy-connection":    true,
	"keep-alive":          true,
	"proxy-authenticate":  true,
	"proxy-authorization": true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
	"host":                true,
	"content-length":      true,
}

// connectionListed returns the extra hop-by-hop names a Connection header lists.
func connectionListed(values []string) map[string]bool {
	var m map[string]bool
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				if m == nil {
					m = map[string]bool{}
				}
				m[n] = true
			}
		}
	}
	return m
}

// CopyHeaders adds hs to dst minus hop-by-hop headers, keeping each name's
// case and every duplicate.
func CopyHeaders(dst http.Header, hs []schema.Header) {
	var conn []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Connection") {
			conn = append(conn, h.Value)
		}
	}
	extra := connectionListed(conn)
	for _, h := range hs {
		ln := strings.ToLower(h.Name)
		if hopByHop[ln] || extra[ln] {
			continue
		}
		dst[h.Name] = append(dst[h.Name], h.Value)
	}
}

func answerHeaders(h http.Header) []schema.Header {
	extra := connectionListed(h.Values("Connection"))
	var out []schema.Header
	for name, vs := range h {
		ln := strings.ToLower(name)
		if hopByHop[ln] || extra[ln] {
			continue
		}
		for _, v := range vs {
			out = append(out, schema.Header{Name: name, Value: v})
		}
	}
	return out
}

// Failed reports whether a forward outcome counts as a failed delivery (the
// alert engine's failure_spike): an error, or an answer outside 2xx.
func Failed(fw *schema.Forward) bool {
	return fw != nil && fw.State != schema.ForwardSkipped && (fw.Error != "" || fw.Status < 200 || fw.Status > 299)
}
