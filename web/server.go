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
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
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
	// AuthRequired: creating bins and managing alerts need an admin token.
	AuthRequired bool
	Now          func() time.Time
}

// Server is hookscope's HTTP server.
type Server struct {
	app    *fiber.App
	deps   Deps
	opts   Options
	log    *slog.Logger
	auth   *authenticator
	limits *limits
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
	if deps.SecretHint == nil {
		deps.SecretHint = defaultHint
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Server{deps: deps, opts: opts, log: opts.Logger.With("component", "web"),
		auth: newAuthenticator(opts.JWTKey, opts.AuthRequired, opts.Now), limits: newLimits(opts)}
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
		if p := ctx.Path(); len(p) >= 3 && p[0] == '/' && p[1] == 'h' && p[2] == '/' {
			s.capture(ctx)
			return
		}
		fiberHandler(ctx)
	}
	s.routes()
	return s
}

// App exposes the Fiber app (tests use app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for open requests.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.app.ShutdownWithContext(ctx)
}

func defaultHint(secret string) string {
	if len(secret) <= 4 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}
