package web

import (
	_ "embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

//go:embed openapi.yaml
var openAPI []byte

// metrics serves Prometheus metrics; under HOOKSCOPE_AUTH=required they
// need an admin token in the Authorization header (they name bins and
// count senders).
func (s *Server) metrics(c *fiber.Ctx) error {
	if s.auth.required {
		if err := s.requireAdmin(c, false); err != nil {
			return err
		}
	}
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{}))
	h(c.Context())
	return nil
}

// frontendRoutes serves the embedded inspector: real files by path, and
// index.html for every other GET so deep links (/bins/{bin}/requests/{id})
// work.
func (s *Server) frontendRoutes() {
	s.app.Get("/*", func(c *fiber.Ctx) error {
		if s.deps.Frontend == nil {
			c.Set("Content-Type", "text/plain; charset=utf-8")
			return c.SendString("hookscope is running; the inspector was not built into this binary. The API is at /api/v1.")
		}
		p := strings.TrimPrefix(path.Clean("/"+c.Params("*")), "/")
		if p != "" && p != "index.html" {
			if b, err := fs.ReadFile(s.deps.Frontend, p); err == nil {
				ct := mime.TypeByExtension(path.Ext(p))
				if ct == "" {
					ct = "application/octet-stream"
				}
				c.Set("Content-Type", ct)
				if strings.HasPrefix(p, "assets/") { // content-hashed names
					c.Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				return c.Send(b)
			}
			if strings.HasPrefix(p, "assets/") {
				return errorf(404, "not found")
			}
		}
		b, err := fs.ReadFile(s.deps.Frontend, "index.html")
		if err != nil {
			return errorf(404, "not found")
		}
		c.Set("Content-Type", "text/html; charset=utf-8")
		c.Set("Cache-Control", "no-cache")
		return c.Send(b)
	})
}
