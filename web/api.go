package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

func (s *Server) routes() {
	a := s.app
	a.Use(securityHeaders)
	a.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) })
	if s.deps.Gatherer != nil {
		a.Get("/metrics", s.metrics)
	}
	a.Get("/api/v1/openapi.yaml", func(c *fiber.Ctx) error {
		c.Set("Content-Type", "application/yaml")
		return c.Send(openAPI)
	})
	api := a.Group("/api/v1")
	api.Use(s.authorize)
	api.Post("/bins", s.createBin)
	api.Get("/bins", s.listBins)
	api.Get("/bins/:bin", s.getBin)
	api.Patch("/bins/:bin", s.patchBin)
	api.Delete("/bins/:bin", s.deleteBin)
	api.Get("/bins/:bin/requests", s.listRequests)
	api.Get("/bins/:bin/export", s.exportRequests)
	s.countRoutes(api) // before /requests/:id
	api.Delete("/bins/:bin/requests", s.clearRequests)
	api.Get("/bins/:bin/requests/:id", s.getRequest)
	api.Get("/bins/:bin/requests/:id/body", s.getRequestBody)
	api.Get("/bins/:bin/requests/:id/attempts", s.attempts)
	api.Get("/bins/:bin/requests/:id/diff", s.diffRequests)
	api.Delete("/bins/:bin/requests/:id", s.deleteRequest)
	api.Get("/bins/:bin/stats", s.stats)
	api.Post("/bins/:bin/share", s.share)
	api.Post("/bins/:bin/tokens/revoke", s.revokeTokens)
	api.Post("/bins/:bin/requests/:id/replay", s.replay)
	api.Post("/bins/:bin/requests/:id/redeliver", s.redeliver)
	api.Post("/bins/:bin/requests/:id/verify", s.reverify)
	api.Get("/bins/:bin/live", s.liveUpgrade, s.liveHandler())
	s.alertRoutes(api)
	s.replayRoutes(api)
	api.Use(func(c *fiber.Ctx) error { return errorf(404, "no such API route") })
	s.frontendRoutes()
}

// securityHeaders: captured content is hostile, so every answer forbids
// sniffing and framing, and HTML gets a strict CSP.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Content-Security-Policy", cspPolicy)
	return c.Next()
}

const cspPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ---- bins ----

// binURL is a bin's capture URL: on the capture origin when one is set.
func (s *Server) binURL(c *fiber.Ctx, id string) string {
	return s.captureBase(c) + "/h/" + id
}

func (s *Server) viewBin(c *fiber.Ctx, b *schema.Bin) wire.Bin {
	return wire.ViewBin(b, s.binURL(c, b.ID), s.deps.SecretHint)
}

// decodeJSON decodes an API body once, strictly: unknown fields and
// trailing data are a 400. An empty body leaves v as it is.
func decodeJSON(body []byte, v any) error {
	return decode(body, v, true)
}

// decodeJSONLoose is decodeJSON that ignores unknown fields (for reading one
// field of a body another decoder owns), still refusing trailing data.
func decodeJSONLoose(body []byte, v any) error {
	return decode(body, v, false)
}

func decode(body []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return errorf(400, "invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(400, "invalid JSON body: trailing data")
	}
	return nil
}

// createBin answers 201 with the bin and its owner token: every bin has one
// (issue 12.5); the inspector keeps it.
func (s *Server) createBin(c *fiber.Ctx) error {
	var in bins.Input
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	b, err := s.deps.Bins.Create(c.UserContext(), &in)
	if err != nil {
		return err
	}
	v := s.viewBin(c, b)
	if v.Token, err = s.auth.ownerToken(b); err != nil {
		return fmt.Errorf("mint owner token: %w", err)
	}
	return c.Status(201).JSON(v)
}

// loadBin fetches a live (non-expired) bin for the API and checks that the
// request's token grants need on it (authorizeBin).
func (s *Server) loadBin(c *fiber.Ctx, need string) (*schema.Bin, *tokenClaims, error) {
	b, err := s.deps.Bins.Get(c.UserContext(), c.Params("bin"))
	if errors.Is(err, schema.ErrNotFound) {
		return nil, nil, errorf(404, "bin not found")
	}
	if err != nil {
		return nil, nil, err
	}
	cl, err := s.authorizeBin(c, b, need)
	if err != nil {
		return nil, nil, err
	}
	return b, cl, nil
}

func (s *Server) getBin(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	n, err := s.deps.Store.CountRequests(c.UserContext(), b.ID)
	if err != nil {
		return fmt.Errorf("count requests: %w", err)
	}
	v := s.viewBin(c, b)
	v.RequestCount = &n
	refused := s.limits.refusedCount(b.ID)
	v.RefusedCount = &refused
	return c.JSON(v)
}

// patchBin needs the owner token: it no longer mints one (the owner has
// it since create; POST .../tokens/revoke replaces it).
func (s *Server) patchBin(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	var in bins.Input
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	if b, err = s.deps.Bins.Update(c.UserContext(), b.ID, &in); err != nil {
		return err
	}
	return c.JSON(s.viewBin(c, b))
}

func (s *Server) deleteBin(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	// The bin's forward retries are held during the delete and cancelled
	// after it (ingest.Pipeline.DeleteRequests).
	if err := s.deps.Pipeline.DeleteRequests(c.UserContext(), b.ID, ingest.DeleteScope{All: true}, func(ctx context.Context) error {
		return s.deps.Bins.Delete(ctx, b.ID)
	}); err != nil {
		return err
	}
	return c.SendStatus(204)
}

// ---- requests ----

// EncodeLive builds the live feed's message for r (wire.EncodeLive).
func EncodeLive(r *schema.Request) []byte { return wire.EncodeLive(r) }

// params adapts Fiber's query lookup to query.Get.
func params(c *fiber.Ctx) query.Get { return func(k string) string { return c.Query(k) } }

func (s *Server) listRequests(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	f, err := query.ParseFilter(b.ID, params(c))
	if err != nil {
		return err
	}
	page, err := s.deps.Store.ListRequests(c.UserContext(), f)
	if err != nil {
		return fmt.Errorf("list requests: %w", err)
	}
	out := wire.Page{Requests: make([]wire.Request, 0, len(page.Requests))}
	for _, r := range page.Requests {
		out.Requests = append(out.Requests, wire.Summary(r))
	}
	if page.Next != nil {
		n := page.Next.String()
		out.Next = &n
	}
	return c.JSON(out)
}

func (s *Server) loadRequest(c *fiber.Ctx, need string) (*schema.Request, error) {
	b, _, err := s.loadBin(c, need)
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, errorf(404, "request not found")
	}
	r, err := s.deps.Store.GetRequest(c.UserContext(), b.ID, id)
	if errors.Is(err, schema.ErrNotFound) {
		return nil, errorf(404, "request not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}

func (s *Server) getRequest(c *fiber.Ctx) error {
	r, err := s.loadRequest(c, ScopeRead)
	if err != nil {
		return err
	}
	return c.JSON(wire.Full(r))
}

// getRequestBody sends the raw bytes with the original Content-Type, inside
// a CSP sandbox so that an HTML or SVG body cannot run script on our origin.
func (s *Server) getRequestBody(c *fiber.Ctx) error {
	r, err := s.loadRequest(c, ScopeRead)
	if err != nil {
		return err
	}
	ct := r.ContentType
	if ct == "" || strings.ContainsAny(ct, "\r\n") {
		ct = "application/octet-stream"
	}
	c.Set("Content-Type", ct)
	c.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	if c.Query("download") != "" {
		c.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.bin"`, r.ID))
	}
	return c.Send(r.Body)
}

func (s *Server) clearRequests(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	if c.Context().QueryArgs().Len() > 0 {
		// Filters (web/params.go lets only the match filters through)
		// delete what they match; no filter clears the bin.
		return s.deleteMatching(c, b)
	}
	// A retry must neither send a deleted request nor store it again.
	if err := s.deps.Pipeline.DeleteRequests(c.UserContext(), b.ID, ingest.DeleteScope{All: true}, func(ctx context.Context) error {
		return s.deps.Bins.Clear(ctx, b.ID)
	}); err != nil {
		return err
	}
	return c.SendStatus(204)
}

func (s *Server) stats(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	q, err := query.ParseStats(b.ID, params(c), s.opts.Now())
	if err != nil {
		return err
	}
	st, err := s.deps.Store.Stats(c.UserContext(), q)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	st.Series = query.FillSeries(st.Series, q)
	return c.JSON(st)
}
