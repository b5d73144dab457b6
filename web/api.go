package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
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
	api.Get("/bins/:bin", s.getBin)
	api.Patch("/bins/:bin", s.patchBin)
	api.Delete("/bins/:bin", s.deleteBin)
	api.Get("/bins/:bin/requests", s.listRequests)
	s.countRoutes(api) // before /requests/:id
	api.Delete("/bins/:bin/requests", s.clearRequests)
	api.Get("/bins/:bin/requests/:id", s.getRequest)
	api.Get("/bins/:bin/requests/:id/body", s.getRequestBody)
	api.Get("/bins/:bin/stats", s.stats)
	api.Post("/bins/:bin/share", s.share)
	api.Post("/bins/:bin/requests/:id/replay", s.replay)
	api.Get("/bins/:bin/live", s.liveUpgrade, s.liveHandler())
	s.alertRoutes(api)
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

type signatureView struct {
	Scheme     string `json:"scheme"`
	Tolerance  string `json:"tolerance,omitempty"`
	SecretHint string `json:"secret_hint,omitempty"`
	Header     string `json:"header,omitempty"`
	Algorithm  string `json:"algorithm,omitempty"`
	Encoding   string `json:"encoding,omitempty"`
	Prefix     string `json:"prefix,omitempty"`
}

type settingsView struct {
	Signature *signatureView         `json:"signature"`
	Response  *schema.ResponseConfig `json:"response"`
	Forward   *schema.ForwardConfig  `json:"forward"`
}

type binView struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	URL          string       `json:"url"`
	CreatedAt    time.Time    `json:"created_at"`
	ExpiresAt    *time.Time   `json:"expires_at"`
	Private      bool         `json:"private"`
	Settings     settingsView `json:"settings"`
	RequestCount *int64       `json:"request_count,omitempty"`
	RefusedCount *int64       `json:"refused_count,omitempty"`
	Token        string       `json:"token,omitempty"`
}

func (s *Server) binURL(c *fiber.Ctx, id string) string {
	base := s.opts.PublicURL
	if base == "" {
		base = c.Protocol() + "://" + c.Hostname()
	}
	return base + "/h/" + id
}

func (s *Server) viewBin(c *fiber.Ctx, b *schema.Bin) binView {
	v := binView{ID: b.ID, Name: b.Name, URL: s.binURL(c, b.ID), CreatedAt: b.CreatedAt, ExpiresAt: b.ExpiresAt, Private: b.Private,
		Settings: settingsView{Response: b.Settings.Response, Forward: b.Settings.Forward}}
	if sc := b.Settings.Signature; sc != nil {
		v.Settings.Signature = &signatureView{Scheme: sc.Scheme, Tolerance: sc.Tolerance, Header: sc.Header,
			Algorithm: sc.Algorithm, Encoding: sc.Encoding, Prefix: sc.Prefix}
		if sc.Secret != "" {
			v.Settings.Signature.SecretHint = s.deps.SecretHint(sc.Secret)
		}
	}
	return v
}

// binInput is the body of create and PATCH. Raw fields tell "absent" from
// "null" (null clears a setting; absent keeps it).
type binInput struct {
	Name      *string         `json:"name"`
	ExpiresIn json.RawMessage `json:"expires_in"`
	Private   *bool           `json:"private"`
	Signature json.RawMessage `json:"signature"`
	Response  json.RawMessage `json:"response"`
	Forward   json.RawMessage `json:"forward"`
}

func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(400, "invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errorf(400, "invalid JSON body: trailing data")
	}
	return nil
}

// ParseExpiry parses expires_in: a Go duration or a number of days ("7d").
func ParseExpiry(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return 0, errors.New(`expires_in: days must be from 1 to 3650, like "7d"`)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	dur, err := time.ParseDuration(v)
	if err != nil || dur < time.Minute || dur > 3650*24*time.Hour {
		return 0, errors.New(`expires_in: must be a duration from 1m to 3650d, like "24h" or "7d", or null`)
	}
	return dur, nil
}

// applyInput applies in to b; create is true for POST.
func (s *Server) applyInput(b *schema.Bin, in *binInput, now time.Time, create bool) error {
	if in.Name != nil {
		if len(*in.Name) > 200 {
			return errorf(400, "name: at most 200 bytes")
		}
		b.Name = *in.Name
	}
	switch {
	case in.ExpiresIn == nil:
		if create {
			t := now.Add(s.opts.DefaultExpiry)
			b.ExpiresAt = &t
		}
	case string(in.ExpiresIn) == "null":
		b.ExpiresAt = nil
	default:
		var v string
		if err := json.Unmarshal(in.ExpiresIn, &v); err != nil {
			return errorf(400, `expires_in: must be a string like "24h" or null`)
		}
		d, err := ParseExpiry(v)
		if err != nil {
			return errorf(400, "%s", err.Error())
		}
		t := now.Add(d)
		b.ExpiresAt = &t
	}
	if in.Private != nil {
		b.Private = *in.Private
	}
	if in.Signature != nil {
		if string(in.Signature) == "null" {
			b.Settings.Signature = nil
		} else {
			var sc schema.SignatureConfig
			if err := strictUnmarshal(in.Signature, &sc); err != nil {
				return errorf(400, "signature: %s", err.Error())
			}
			// Keep the stored secret when only other fields change: the
			// secret is write-only, so clients cannot send it back.
			if old := b.Settings.Signature; sc.Secret == "" && old != nil && old.Scheme == sc.Scheme {
				sc.Secret = old.Secret
			}
			if s.deps.ValidateSignature != nil {
				if err := s.deps.ValidateSignature(&sc); err != nil {
					return errorf(400, "signature: %s", err.Error())
				}
			}
			b.Settings.Signature = &sc
		}
	}
	if in.Response != nil {
		if string(in.Response) == "null" {
			b.Settings.Response = nil
		} else {
			var rc schema.ResponseConfig
			if err := strictUnmarshal(in.Response, &rc); err != nil {
				return errorf(400, "response: %s", err.Error())
			}
			if err := validateResponse(&rc); err != nil {
				return errorf(400, "response: %s", err.Error())
			}
			b.Settings.Response = &rc
		}
	}
	if in.Forward != nil {
		if string(in.Forward) == "null" {
			b.Settings.Forward = nil
		} else {
			var fc schema.ForwardConfig
			if err := strictUnmarshal(in.Forward, &fc); err != nil {
				return errorf(400, "forward: %s", err.Error())
			}
			if err := validateForward(&fc); err != nil {
				return errorf(400, "forward: %s", err.Error())
			}
			b.Settings.Forward = &fc
		}
	}
	return nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func validateResponse(rc *schema.ResponseConfig) error {
	check := func(where string, status, delay int, headers []schema.Header, body string) error {
		if status != 0 && (status < 100 || status > 599) {
			return fmt.Errorf("%sstatus must be from 100 to 599", where)
		}
		if delay < 0 || delay > 30_000 {
			return fmt.Errorf("%sdelay_ms must be from 0 to 30000", where)
		}
		if len(body) > 1<<20 {
			return fmt.Errorf("%sbody: at most 1 MiB", where)
		}
		for _, h := range headers {
			if !validHeaderName(h.Name) || strings.ContainsAny(h.Value, "\r\n\x00") {
				return fmt.Errorf("%sheader %q is not a valid header", where, h.Name)
			}
			if framingHeader(h.Name) {
				return fmt.Errorf("%sheader %q is set by hookscope itself", where, h.Name)
			}
		}
		return nil
	}
	if err := check("", rc.Status, rc.DelayMS, rc.Headers, rc.Body); err != nil {
		return err
	}
	if len(rc.Rules) > 50 {
		return errors.New("at most 50 rules")
	}
	for i := range rc.Rules {
		// Methods match the request's method exactly, which is upper case
		// for every standard method.
		rc.Rules[i].Method = strings.ToUpper(rc.Rules[i].Method)
		r := rc.Rules[i]
		if r.Method == "" && r.PathPrefix == "" {
			return fmt.Errorf("rules[%d]: needs method or path_prefix", i)
		}
		if err := check(fmt.Sprintf("rules[%d]: ", i), r.Status, r.DelayMS, r.Headers, r.Body); err != nil {
			return err
		}
	}
	return nil
}

// framingHeader: headers that describe the connection or the message
// framing, which a custom response must not override.
func framingHeader(n string) bool {
	switch strings.ToLower(n) {
	case "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te":
		return true
	}
	return false
}

func validHeaderName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validateForward(fc *schema.ForwardConfig) error {
	if !strings.HasPrefix(fc.URL, "http://") && !strings.HasPrefix(fc.URL, "https://") {
		return errors.New("url must be http:// or https://")
	}
	if fc.Timeout != "" {
		d, err := time.ParseDuration(fc.Timeout)
		if err != nil || d <= 0 || d > 60*time.Second {
			return errors.New("timeout must be a duration up to 60s")
		}
	}
	switch fc.Mode {
	case "", "async", "proxy":
	default:
		return errors.New(`mode must be "async" or "proxy"`)
	}
	return nil
}

func (s *Server) createBin(c *fiber.Ctx) error {
	var in binInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	now := schema.Truncate(s.opts.Now())
	b := &schema.Bin{ID: uuid.NewString(), CreatedAt: now}
	if err := s.applyInput(b, &in, now, true); err != nil {
		return err
	}
	if err := s.deps.Store.CreateBin(c.UserContext(), b); err != nil {
		return fmt.Errorf("create bin: %w", err)
	}
	s.deps.Pipeline.InvalidateBin(b.ID)
	v := s.viewBin(c, b)
	if b.Private {
		var err error
		if v.Token, err = s.auth.ownerToken(b); err != nil {
			return fmt.Errorf("mint owner token: %w", err)
		}
	}
	return c.Status(201).JSON(v)
}

// loadBin fetches a live (non-expired) bin for the API.
func (s *Server) loadBin(c *fiber.Ctx) (*schema.Bin, error) {
	id := c.Params("bin")
	if !validBinID([]byte(id)) {
		return nil, errorf(404, "bin not found")
	}
	b, err := s.deps.Store.GetBin(c.UserContext(), id)
	if errors.Is(err, schema.ErrNotFound) || (err == nil && b.Expired(s.opts.Now())) {
		return nil, errorf(404, "bin not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get bin: %w", err)
	}
	if err := s.authorizeBin(c, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Server) getBin(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
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

func (s *Server) patchBin(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
	if err != nil {
		return err
	}
	var in binInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	wasPrivate := b.Private
	if err := s.applyInput(b, &in, schema.Truncate(s.opts.Now()), false); err != nil {
		return err
	}
	if err := s.deps.Store.UpdateBin(c.UserContext(), b); err != nil {
		return fmt.Errorf("update bin: %w", err)
	}
	s.deps.Pipeline.InvalidateBin(b.ID)
	v := s.viewBin(c, b)
	if b.Private && (!wasPrivate || in.ExpiresIn != nil) {
		// A bin made private (or whose expiry moved) gets a fresh owner token.
		if v.Token, err = s.auth.ownerToken(b); err != nil {
			return fmt.Errorf("mint owner token: %w", err)
		}
	}
	return c.JSON(v)
}

func (s *Server) deleteBin(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
	if err != nil {
		return err
	}
	if err := s.deps.Store.DeleteBin(c.UserContext(), b.ID); err != nil {
		return fmt.Errorf("delete bin: %w", err)
	}
	s.deps.Pipeline.InvalidateBin(b.ID)
	return c.SendStatus(204)
}

// ---- requests ----

type bodyView struct {
	Encoding string `json:"encoding"`
	Data     string `json:"data"`
}

// requestView is a request as the API shows it: summaries carry
// body_preview, the full record carries body.
type requestView struct {
	*schema.Request
	Headers     []schema.Header `json:"headers"`
	BodyPreview *string         `json:"body_preview,omitempty"`
	Body        *bodyView       `json:"body,omitempty"`
}

func summaryView(r *schema.Request) requestView {
	p := preview(r.Body)
	return requestView{Request: r, Headers: nonNil(r.Headers), BodyPreview: &p}
}

func fullView(r *schema.Request) requestView {
	v := requestView{Request: r, Headers: nonNil(r.Headers)}
	if utf8.Valid(r.Body) {
		v.Body = &bodyView{Encoding: "utf8", Data: string(r.Body)}
	} else {
		v.Body = &bodyView{Encoding: "base64", Data: base64.StdEncoding.EncodeToString(r.Body)}
	}
	return v
}

func nonNil(h []schema.Header) []schema.Header {
	if h == nil {
		return []schema.Header{}
	}
	return h
}

// preview is the first PreviewBytes of a body as text: a rune cut at the
// end is dropped, invalid bytes become U+FFFD.
func preview(b []byte) string {
	if len(b) > schema.PreviewBytes {
		b = b[:schema.PreviewBytes]
	}
	for i := 0; i < 3 && len(b) > 0 && !utf8.FullRune(b[lastRuneStart(b):]); i++ {
		b = b[:lastRuneStart(b)]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-4; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return len(b) - 1
}

// EncodeLive builds the live feed's message for r.
func EncodeLive(r *schema.Request) []byte {
	b, err := json.Marshal(struct {
		Type    string      `json:"type"`
		Request requestView `json:"request"`
	}{"request", summaryView(r)})
	if err != nil { // cannot happen for these types
		return []byte(`{"type":"error"}`)
	}
	return b
}

// params adapts Fiber's query lookup to query.Get.
func params(c *fiber.Ctx) query.Get { return func(k string) string { return c.Query(k) } }

func (s *Server) listRequests(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
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
	out := struct {
		Requests []requestView `json:"requests"`
		Next     *string       `json:"next"`
	}{Requests: make([]requestView, 0, len(page.Requests))}
	for _, r := range page.Requests {
		out.Requests = append(out.Requests, summaryView(r))
	}
	if page.Next != nil {
		n := page.Next.String()
		out.Next = &n
	}
	return c.JSON(out)
}

func (s *Server) loadRequest(c *fiber.Ctx) (*schema.Request, error) {
	b, err := s.loadBin(c)
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
	r, err := s.loadRequest(c)
	if err != nil {
		return err
	}
	return c.JSON(fullView(r))
}

// getRequestBody sends the raw bytes with the original Content-Type, inside
// a CSP sandbox so that an HTML or SVG body cannot run script on our origin.
func (s *Server) getRequestBody(c *fiber.Ctx) error {
	r, err := s.loadRequest(c)
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
	b, err := s.loadBin(c)
	if err != nil {
		return err
	}
	if err := s.deps.Store.DeleteRequests(c.UserContext(), b.ID); err != nil {
		return fmt.Errorf("clear requests: %w", err)
	}
	return c.SendStatus(204)
}

func (s *Server) stats(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
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
