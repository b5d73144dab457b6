package web

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/schema"
)

// Token scopes. An admin token reaches everything; owner and read tokens
// are bound to one bin (the subject claim).
const (
	ScopeAdmin = "admin"
	ScopeOwner = "owner"
	ScopeRead  = "read"
)

const tokenIssuer = "hookscope"

// ownerTokenTTL is the lifetime of a private bin's owner token when the bin
// never expires (otherwise the token expires with the bin).
const ownerTokenTTL = 10 * 365 * 24 * time.Hour

type tokenClaims struct {
	Scope string `json:"scope"`
	jwt.RegisteredClaims
}

// MintToken signs a token (HS256) with key. bin is empty for admin tokens.
func MintToken(key []byte, scope, bin string, ttl time.Duration, now time.Time) (string, time.Time, error) {
	switch scope {
	case ScopeAdmin:
		bin = ""
	case ScopeOwner, ScopeRead:
		if bin == "" {
			return "", time.Time{}, errors.New("a bin token needs a bin id")
		}
	default:
		return "", time.Time{}, fmt.Errorf("unknown scope %q", scope)
	}
	if len(key) == 0 {
		return "", time.Time{}, errors.New("no signing key")
	}
	exp := now.Add(ttl).Truncate(time.Second)
	c := tokenClaims{Scope: scope, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    tokenIssuer,
		Subject:   bin,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp.UTC(), nil
}

// authenticator checks tokens. The algorithm is pinned to HS256 (so "none"
// and RS/HS confusion are refused), exp is required and checked.
type authenticator struct {
	key      []byte
	required bool
	now      func() time.Time
	parser   *jwt.Parser
}

func newAuthenticator(key []byte, required bool, now func() time.Time) *authenticator {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // tokens then only live as long as the process
	}
	return &authenticator{key: key, required: required, now: now, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(now),
	)}
}

func (a *authenticator) parse(tok string) (*tokenClaims, error) {
	var c tokenClaims
	_, err := a.parser.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return a.key, nil })
	if err != nil {
		return nil, err
	}
	switch c.Scope {
	case ScopeAdmin:
	case ScopeOwner, ScopeRead:
		if c.Subject == "" {
			return nil, errors.New("bin token without a bin")
		}
	default:
		return nil, errors.New("unknown scope")
	}
	return &c, nil
}

func (a *authenticator) mint(scope, bin string, ttl time.Duration) (string, time.Time, error) {
	return MintToken(a.key, scope, bin, ttl, a.now())
}

// ownerToken is the token returned when a bin is made private.
func (a *authenticator) ownerToken(b *schema.Bin) (string, error) {
	ttl := ownerTokenTTL
	if b.ExpiresAt != nil {
		ttl = b.ExpiresAt.Sub(a.now()) + time.Minute
	}
	t, _, err := a.mint(ScopeOwner, b.ID, ttl)
	return t, err
}

// bearer finds the token: the Authorization header, or ?token= on reads
// (the websocket cannot send headers from a browser, and share links carry
// their token in the URL; read-only routes only, so a leaked URL never
// grants more than reading).
func bearer(c *fiber.Ctx, read bool) string {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		if v, ok := cutPrefixFold(h, "Bearer "); ok {
			return strings.TrimSpace(v)
		}
		return ""
	}
	if read {
		return c.Query("token")
	}
	return ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// authorize is the API's access check for routes that are not about one
// bin: POST /api/v1/bins and /api/v1/alerts/... need an admin token when
// HOOKSCOPE_AUTH=required; in open mode alert routes that concern a private
// bin need that bin's token (authorizeAlerts). Routes of one bin are
// checked where the bin is loaded (authorizeBin, from loadBin), so that no
// spelling of the path (Fiber matches routes case-insensitively and with or
// without a trailing slash) can skip the check.
//
// 401 when the token is missing or invalid, 403 when it is valid but does
// not cover the request.
func (s *Server) authorize(c *fiber.Ctx) error {
	p := c.Path()
	if len(p) < len("/api/v1") || !strings.EqualFold(p[:len("/api/v1")], "/api/v1") {
		return c.Next()
	}
	rest := p[len("/api/v1"):]
	lower := strings.ToLower(rest)
	read := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
	switch {
	case strings.TrimRight(lower, "/") == "/bins":
		if !s.auth.required {
			return c.Next()
		}
		return s.require(c, read, "", false)
	case lower == "/alerts" || strings.HasPrefix(lower, "/alerts/"):
		if s.auth.required {
			return s.require(c, read, "", false)
		}
		return s.authorizeAlerts(c, rest, lower, read)
	}
	return c.Next()
}

// authorizeBin checks access to a loaded bin: a private bin needs a token
// for it (or admin); GET and HEAD accept owner and read tokens (also as
// ?token=), everything else (PATCH, DELETE, clearing, replay, share) needs
// owner or admin.
func (s *Server) authorizeBin(c *fiber.Ctx, b *schema.Bin) error {
	if !b.Private {
		return nil
	}
	read := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
	return s.check(c, read, b.ID, read)
}

// require checks the token for bin ("" = admin only) and goes on; readOnly
// tells whether a read token is enough.
func (s *Server) require(c *fiber.Ctx, read bool, bin string, readOnly bool) error {
	if err := s.check(c, read, bin, readOnly); err != nil {
		return err
	}
	return c.Next()
}

func (s *Server) check(c *fiber.Ctx, read bool, bin string, readOnly bool) error {
	tok := bearer(c, read)
	if tok == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookscope"`)
		return errorf(401, "authentication required: send Authorization: Bearer <token>")
	}
	cl, err := s.auth.parse(tok)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookscope", error="invalid_token"`)
		return errorf(401, "invalid or expired token")
	}
	switch {
	case cl.Scope == ScopeAdmin:
	case bin == "":
		return errorf(403, "this needs an admin token")
	case cl.Subject != bin:
		return errorf(403, "token is for another bin")
	case cl.Scope == ScopeRead && !readOnly:
		return errorf(403, "read-only token")
	}
	c.Locals("token_scope", cl.Scope)
	return nil
}

// authorizeAlerts guards alert routes in open mode: a rule or event query
// that concerns a private bin (bin_id in the query or the JSON body, or the
// stored rule's bin) needs a token for that bin, read-only for GET. The
// unfiltered lists (GET /alerts/rules, /alerts/events without bin_id) stay
// open and therefore include private bins' rules and events (channel URLs
// are write-only): deployments that share one server between people who
// must not see each other's alerts set HOOKSCOPE_AUTH=required.
func (s *Server) authorizeAlerts(c *fiber.Ctx, rest, lower string, read bool) error {
	ctx := c.UserContext()
	var bins []string
	if id := c.Query("bin_id"); id != "" {
		bins = append(bins, strings.Clone(id)) // c.Query aliases fasthttp's buffer
	}
	if !read && len(c.Body()) > 0 {
		var v struct {
			BinID *string `json:"bin_id"`
		}
		if json.Unmarshal(c.Body(), &v) == nil && v.BinID != nil && *v.BinID != "" {
			bins = append(bins, *v.BinID)
		}
	}
	if strings.HasPrefix(lower, "/alerts/rules/") {
		id, _, _ := strings.Cut(rest[len("/alerts/rules/"):], "/")
		id = strings.Clone(id) // c.Path aliases fasthttp's buffer
		if r, err := s.deps.Store.GetRule(ctx, id); err == nil && r.BinID != "" {
			bins = append(bins, r.BinID)
		} else if err != nil && !errors.Is(err, schema.ErrNotFound) {
			return fmt.Errorf("look up alert rule: %w", err)
		}
	}
	for _, id := range bins {
		if !validBinID([]byte(id)) {
			continue
		}
		t, err := s.deps.Pipeline.Bin(ctx, id)
		if errors.Is(err, ingest.ErrUnknownBin) {
			continue
		}
		if err != nil {
			return err
		}
		if t.Bin.Private {
			if err := s.check(c, read, id, read); err != nil {
				return err
			}
		}
	}
	return c.Next()
}

type shareInput struct {
	ExpiresIn *string `json:"expires_in"`
}

// share answers POST /api/v1/bins/{bin}/share with a read-only link.
func (s *Server) share(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
	if err != nil {
		return err
	}
	var in shareInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	ttl := 24 * time.Hour
	if in.ExpiresIn != nil {
		if ttl, err = ParseExpiry(*in.ExpiresIn); err != nil {
			return errorf(400, "%s", err.Error())
		}
	}
	tok, exp, err := s.auth.mint(ScopeRead, b.ID, ttl)
	if err != nil {
		return fmt.Errorf("mint share token: %w", err)
	}
	base := s.baseURL(c)
	return c.Status(201).JSON(fiber.Map{
		"url":        base + "/bins/" + b.ID + "?token=" + tok,
		"token":      tok,
		"expires_at": exp,
	})
}
