// Package web is hookscope's HTTP surface and the only package that imports
// Fiber, fasthttp, the websocket contrib and jwt. Capture (ANY /h/{bin}/...)
// runs directly on fasthttp, ahead of Fiber's router, for two reasons: Fiber
// refuses HTTP methods it does not know (400 "Invalid http method") and we
// must record every method, and the hot path then pays for no routing or
// context. Everything else (the JSON API, the websocket live feed, the
// embedded inspector, /metrics) is a Fiber app.
package web

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/replays"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/live"
)

// Deps are the parts the server is wired to.
type Deps struct {
	Store    schema.Store
	Pipeline *ingest.Pipeline
	Hub      *live.Hub
	// Frontend is the built inspector (index.html at its root); nil serves a
	// plain notice instead.
	Frontend fs.FS
	// Gatherer serves /metrics; nil disables it.
	Gatherer prometheus.Gatherer
	// SecretHint renders a write-only secret for display (nil: last 4 chars).
	SecretHint func(string) string
	// Alerts serves /api/v1/alerts (nil: no alert routes).
	Alerts *alerts.Service
	// Replays runs bulk replay jobs (nil: no replay job routes).
	Replays *replays.Manager
	// Bins is the bin service (CRUD, validation, token generations,
	// access-change notices). Required.
	Bins *bins.Service
}

// Options configure the server. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// PublicURL is the externally visible base URL (no trailing slash), used
	// in bin URLs and for signature schemes that sign the URL.
	PublicURL string
	// MaxBodyBytes is the capture body limit (default 10 MiB).
	MaxBodyBytes int64
	// TrustedProxies: peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// ReadTimeout bounds reading one request, headers and body (default 30s):
	// the slowloris guard.
	ReadTimeout time.Duration
	// MaxHeaderBytes bounds the request line plus headers (default 32 KiB).
	MaxHeaderBytes int
	// MaxHeaders bounds the header count of a capture (431 above; 0: off).
	MaxHeaders int
	// RatePerBin and RatePerIP are capture token-bucket rates in requests
	// per second, burst one second's worth (0: off). See limits.go.
	RatePerBin float64
	RatePerIP  float64
	// JWTKey signs and checks tokens (HS256); nil: a random per-process key.
	JWTKey []byte
	// AuthRequired: creating bins and managing alerts need an admin token
	// (and /metrics needs one too).
	AuthRequired bool
	// MaxAPIBodyBytes bounds every non-capture request body (default 1 MiB):
	// 413 before more is read.
	MaxAPIBodyBytes int64
	// LiveReadLimit bounds one websocket frame from a client (default 4 KiB);
	// a larger frame closes the connection (1009).
	LiveReadLimit int64
	// CaptureURL is an optional separate origin for capture (no trailing
	// slash): bin URLs use it, and it serves only /h/, so nothing a bin
	// answers shares an origin with the inspector.
	CaptureURL string
	// MaxConnsPerIP caps open connections from one peer address (0: off);
	// trusted proxies are not capped.
	MaxConnsPerIP int
	// Quotas are the per-client API limits (zero value: open).
	Quotas Quotas
	Now    func() time.Time
}

// Server is hookscope's HTTP server.
type Server struct {
	app    *fiber.App
	deps   Deps
	opts   Options
	log    *slog.Logger
	auth   *authenticator
	limits *limits
	quotas *quotas
	conns  *connLimiter
	// inflight counts running handlers (Shutdown waits for them).
	inflight atomic.Int64
	// streams ends with Shutdown: long responses written after their
	// handler returned (exports) stop at their next page.
	streams    context.Context
	endStreams context.CancelFunc
	// captureHost is CaptureURL's host[:port] when it differs from the
	// public URL's; requests to it are served captures only.
	captureHost string
	// fallbackURL is the base URL when no public URL is configured and the
	// client is not a trusted proxy: derived from the listen address.
	fallbackURL atomic.Pointer[string]
}

// New builds the server and its routes.
func New(deps Deps, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 30 * time.Second
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 32 << 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAPIBodyBytes <= 0 {
		opts.MaxAPIBodyBytes = 1 << 20
	}
	if opts.LiveReadLimit <= 0 {
		opts.LiveReadLimit = 4 << 10
	}
	opts.CaptureURL = strings.TrimRight(opts.CaptureURL, "/")
	if deps.SecretHint == nil {
		deps.SecretHint = defaultHint
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Server{captureHost: hostOf(opts.CaptureURL, opts.PublicURL), deps: deps, opts: opts, log: opts.Logger.With("component", "web"),
		auth: newAuthenticator(opts.JWTKey, opts.AuthRequired, opts.Now), limits: newLimits(opts)}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		// Bodies above the limit are streamed to the capture handler, which
		// keeps the first MaxBodyBytes and answers 413.
		BodyLimit:                    int(opts.MaxBodyBytes),
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true, // we keep multipart bodies raw
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               opts.MaxHeaderBytes,
	})
	fiberHandler := s.app.Server().Handler
	s.app.Server().Handler = func(ctx *fasthttp.RequestCtx) {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		if p := ctx.Path(); len(p) >= 3 && p[0] == '/' && p[1] == 'h' && p[2] == '/' {
			s.capture(ctx)
			return
		}
		if s.onCaptureHost(ctx) {
			writeJSONError(ctx, 404, "this origin serves captures only (/h/{bin})")
			return
		}
		if !s.limitAPIBody(ctx) {
			return
		}
		fiberHandler(ctx)
	}
	// Fiber's default answer to an unparsable request quotes fasthttp's
	// error, which carries the raw request (Authorization, Cookie): answer
	// with fixed messages instead.
	s.app.Server().ErrorHandler = s.serverError
	s.conns = newConnLimiter(opts.MaxConnsPerIP, s.trusted)
	s.quotas = newQuotas(opts.Quotas, opts.Now)
	s.app.Use(s.checkParams, s.enforceQuotas)
	s.routes()
	return s
}

// App exposes the Fiber app (tests use app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	fb := listenURL(ln.Addr())
	s.fallbackURL.CompareAndSwap(nil, &fb)
	return s.app.Listener(s.conns.wrap(ln))
}

// listenURL is http://<listen address>, with an unspecified host shown as
// localhost: right for a local instance, which is the only kind that may
// run without HOOKSCOPE_PUBLIC_URL and without a trusted proxy.
func listenURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://localhost"
	}
	if ip, err := netip.ParseAddr(host); err != nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// baseURL is the inspector's external base URL for links the API returns
// (share links): HOOKSCOPE_PUBLIC_URL; else, for a trusted proxy's
// request, the scheme and host it forwarded; else the listen address.
// A client's own Host and X-Forwarded-Proto are never believed: a share
// link built from them would point wherever the client liked.
func (s *Server) baseURL(c *fiber.Ctx) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	if s.trusted(peer.Unmap()) {
		if h := c.Hostname(); validHost(h) {
			proto := "http"
			if c.Protocol() == "https" {
				proto = "https"
			}
			return proto + "://" + h
		}
	}
	if fb := s.fallbackURL.Load(); fb != nil {
		return *fb
	}
	return "http://localhost"
}

// captureBase is the base of bin URLs: the capture origin when one is set.
func (s *Server) captureBase(c *fiber.Ctx) string {
	if s.opts.CaptureURL != "" {
		return s.opts.CaptureURL
	}
	return s.baseURL(c)
}

// validHost accepts host[:port] made of the characters a DNS name, an IPv4
// or a bracketed IPv6 literal use.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// onCaptureHost reports a non-capture request made to the capture origin.
func (s *Server) onCaptureHost(ctx *fasthttp.RequestCtx) bool {
	if s.captureHost == "" {
		return false
	}
	return strings.EqualFold(string(ctx.Host()), s.captureHost)
}

// limitAPIBody enforces MaxAPIBodyBytes on every request that is not a
// capture. StreamRequestBody (needed for capture's own limit) bypasses
// Fiber's BodyLimit, so a declared length over the limit is refused before
// any of the body is read, and a chunked body is read at most one byte past
// the limit. It writes the 413 itself and closes the connection.
func (s *Server) limitAPIBody(ctx *fasthttp.RequestCtx) bool {
	limit := s.opts.MaxAPIBodyBytes
	if cl := ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > limit {
		s.refuseBody(ctx, limit)
		return false
	}
	stream := ctx.RequestBodyStream()
	if stream == nil {
		if int64(len(ctx.Request.Body())) > limit {
			s.refuseBody(ctx, limit)
			return false
		}
		return true
	}
	b, err := io.ReadAll(io.LimitReader(stream, limit+1))
	if err != nil {
		ctx.SetConnectionClose()
		writeJSONError(ctx, fasthttp.StatusBadRequest, "could not read the request body")
		return false
	}
	if int64(len(b)) > limit {
		s.refuseBody(ctx, limit)
		return false
	}
	ctx.Request.SetBody(b)
	return true
}

func (s *Server) refuseBody(ctx *fasthttp.RequestCtx, limit int64) {
	s.limits.metric.WithLabelValues("api_body").Inc()
	ctx.SetConnectionClose()
	writeJSONError(ctx, fasthttp.StatusRequestEntityTooLarge,
		"request body too large (limit "+strconv.FormatInt(limit, 10)+" bytes)")
}

// serverError answers requests fasthttp could not parse, with fixed
// messages: never the error text, which quotes the request.
func (s *Server) serverError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		writeJSONError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case errors.As(err, &ne) && ne.Timeout(), strings.Contains(err.Error(), "timeout"):
		writeJSONError(ctx, fasthttp.StatusRequestTimeout, "request timeout")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeJSONError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
	default:
		writeJSONError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
	ctx.SetConnectionClose()
}

// Shutdown stops accepting connections and waits for open requests. When
// ctx ends first, it still waits (up to inflightGrace) for the handlers
// that are running: a capture may be between recording and answering, and
// the caller drains the pipeline next.
func (s *Server) Shutdown(ctx context.Context) error {
	s.endStreams()
	err := s.app.ShutdownWithContext(ctx)
	deadline := time.Now().Add(inflightGrace)
	for s.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return err
}

// inflightGrace bounds the wait for running handlers after the shutdown
// deadline: a custom response delays at most 30s.
const inflightGrace = 35 * time.Second

// hostOf returns capture's host[:port] when capture is set and names
// another host than public.
func hostOf(capture, public string) string {
	if capture == "" {
		return ""
	}
	cu, err := url.Parse(capture)
	if err != nil || cu.Host == "" {
		return ""
	}
	if pu, err := url.Parse(public); err == nil && strings.EqualFold(pu.Host, cu.Host) {
		return ""
	}
	return cu.Host
}

func defaultHint(secret string) string {
	if len(secret) <= 4 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}
