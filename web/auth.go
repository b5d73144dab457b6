package web

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// Token scopes. An admin token reaches everything; owner and read tokens
// are bound to one bin (the subject claim) and to the bin's token
// generation (the gen claim).
const (
	ScopeAdmin = "admin"
	ScopeOwner = "owner"
	ScopeRead  = "read"
)

const tokenIssuer = "hookscope"

// ownerTokenTTL is the lifetime of an owner token. It is long on purpose:
// the token is worth nothing once its bin expires or is deleted, and the
// owner ends it early with POST /api/v1/bins/{bin}/tokens/revoke.
const ownerTokenTTL = 10 * 365 * 24 * time.Hour

type tokenClaims struct {
	Scope string `json:"scope"`
	// Gen is the bin's token generation when the token was minted (owner
	// and read tokens). Tokens minted before generations existed carry
	// none and count as generation 0.
	Gen uint64 `json:"gen,omitempty"`
	jwt.RegisteredClaims
}

// MintToken signs a token (HS256) with key for generation 0. bin is empty
// for admin tokens.
func MintToken(key []byte, scope, bin string, ttl time.Duration, now time.Time) (string, time.Time, error) {
	return MintBinToken(key, scope, bin, 0, ttl, now)
}

// MintBinToken signs a token for a bin's token generation gen (ignored for
// admin tokens).
func MintBinToken(key []byte, scope, bin string, gen uint64, ttl time.Duration, now time.Time) (string, time.Time, error) {
	switch scope {
	case ScopeAdmin:
		bin, gen = "", 0
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
	c := tokenClaims{Scope: scope, Gen: gen, RegisteredClaims: jwt.RegisteredClaims{
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

// ownerToken mints the owner token of b's current generation.
func (a *authenticator) ownerToken(b *schema.Bin) (string, error) {
	t, _, err := MintBinToken(a.key, ScopeOwner, b.ID, b.TokenGen, ownerTokenTTL, a.now())
	return t, err
}

// shareToken mints a read-only token of b's current generation.
func (a *authenticator) shareToken(b *schema.Bin, ttl time.Duration) (string, time.Time, error) {
	return MintBinToken(a.key, ScopeRead, b.ID, b.TokenGen, ttl, a.now())
}

// expiry is when the token stops being accepted (its exp plus the leeway).
func (c *tokenClaims) expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Add(5 * time.Second)
}

// grants reports whether the claims grant need (ScopeRead or ScopeOwner)
// on b: admin always; a bin token only for its bin and its generation, and
// a read token only for reading.
func (c *tokenClaims) grants(b *schema.Bin, need string) bool {
	switch {
	case c == nil:
		return false
	case c.Scope == ScopeAdmin:
		return true
	case c.Subject != b.ID || c.Gen != b.TokenGen:
		return false
	case c.Scope == ScopeRead:
		return need == ScopeRead
	}
	return c.Scope == ScopeOwner
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
// HOOKSCOPE_AUTH=required; in open mode alert routes that concern a bin
// need that bin's token (authorizeAlerts). Routes of one bin are checked
// where the bin is loaded (loadBin), so that no spelling of the path (Fiber
// matches routes case-insensitively and with or without a trailing slash)
// can skip the check.
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
		// GET lists bins: listBins shows each caller only the bins it
		// proves ownership of (or every bin to an admin).
		if !s.auth.required || read {
			return c.Next()
		}
		if err := s.requireAdmin(c, read); err != nil {
			return err
		}
		return c.Next()
	case lower == "/alerts" || strings.HasPrefix(lower, "/alerts/"):
		if s.auth.required {
			if err := s.requireAdmin(c, read); err != nil {
				return err
			}
			return c.Next()
		}
		return s.authorizeAlerts(c)
	}
	return c.Next()
}

// requireAdmin checks for an admin token.
func (s *Server) requireAdmin(c *fiber.Ctx, read bool) error {
	cl, err := s.token(c, read)
	if err != nil {
		return err
	}
	if cl == nil {
		return s.unauthenticated(c)
	}
	if cl.Scope != ScopeAdmin {
		return errorf(403, "this needs an admin token")
	}
	return nil
}

// token parses the request's token: nil claims and nil error when there is
// none, a 401 when there is one that is invalid or expired.
func (s *Server) token(c *fiber.Ctx, read bool) (*tokenClaims, error) {
	tok := bearer(c, read)
	if tok == "" {
		return nil, nil
	}
	cl, err := s.auth.parse(tok)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookscope", error="invalid_token"`)
		return nil, errorf(401, "invalid or expired token")
	}
	return cl, nil
}

func (s *Server) unauthenticated(c *fiber.Ctx) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookscope"`)
	return errorf(401, "authentication required: send Authorization: Bearer <token>")
}

// authorizeBin is the access rule of one bin (issue 12.5): reading a public
// bin is open to anyone with its id; reading a private bin needs a read or
// owner token of the bin's current generation (or admin); everything that
// changes the bin or acts for it (PATCH, DELETE, clearing, sharing,
// replaying, revoking tokens, its alert rules) needs the owner token of the
// current generation or an admin token, public or not. need is ScopeRead or
// ScopeOwner. It returns the claims that granted access (nil for an
// anonymous read of a public bin).
func (s *Server) authorizeBin(c *fiber.Ctx, b *schema.Bin, need string) (*tokenClaims, error) {
	read := need == ScopeRead
	cl, err := s.token(c, read)
	if read && !b.Private && (err != nil || cl == nil || !cl.grants(b, need)) {
		// A public bin is readable without a token; a token that does not
		// cover it (invalid, expired, another bin's, an old generation's:
		// a browser keeps tokens after a revoke) is ignored rather than
		// refused, and grants nothing that could outlive it.
		c.Response().Header.Del(fiber.HeaderWWWAuthenticate)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case cl == nil:
		return nil, s.unauthenticated(c)
	case cl.grants(b, need):
		return cl, nil
	case cl.Scope != ScopeAdmin && cl.Subject != b.ID:
		return nil, errorf(403, "token is for another bin")
	case cl.Gen != b.TokenGen:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="hookscope", error="invalid_token"`)
		return nil, errorf(401, "token revoked")
	}
	return nil, errorf(403, "read-only token")
}

// AuthorizeBinID is authorizeBin for a bin named by id (alert rules name
// their bin in the body or the stored rule): ErrNotFound (mapped to 404)
// for an unknown or expired bin. need is ScopeRead or ScopeOwner.
func (s *Server) AuthorizeBinID(c *fiber.Ctx, id, need string) error {
	b, err := s.deps.Bins.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	_, err = s.authorizeBin(c, b, need)
	return err
}

// authorizeAlerts guards alert routes in open mode: a query that names a
// bin (?bin_id= on the rule and event lists) reads that bin's alerts, so a
// private bin needs a token for it. Rules named by a body or by their id
// are authorised by the handlers, on the value they decoded or loaded
// (authorizeAlertBin): owner token to change a bin's rules, admin token to
// change a rule for every bin. The unfiltered lists (GET /alerts/rules,
// /alerts/events without bin_id) stay open and therefore include private
// bins' rules and events (channel URLs are write-only): deployments that
// share one server between people who must not see each other's alerts set
// HOOKSCOPE_AUTH=required.
func (s *Server) authorizeAlerts(c *fiber.Ctx) error {
	if id := c.Query("bin_id"); id != "" {
		err := s.AuthorizeBinID(c, strings.Clone(id), ScopeRead) // c.Query aliases fasthttp's buffer
		if err != nil && !errors.Is(err, schema.ErrNotFound) {
			return err
		}
	}
	return c.Next()
}

// share answers POST /api/v1/bins/{bin}/share with a read-only link of the
// bin's current token generation, ending at the latest with the bin.
func (s *Server) share(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	var in struct {
		ExpiresIn *string `json:"expires_in"`
	}
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	ttl, err := s.deps.Bins.ShareTTL(b, in.ExpiresIn)
	if err != nil {
		return err
	}
	tok, exp, err := s.auth.shareToken(b, ttl)
	if err != nil {
		return fmt.Errorf("mint share token: %w", err)
	}
	return c.Status(201).JSON(wire.Share{URL: s.baseURL(c) + "/bins/" + b.ID + "?token=" + tok, Token: tok, ExpiresAt: exp})
}

// revokeTokens answers POST /api/v1/bins/{bin}/tokens/revoke: the bin moves
// to its next token generation, so every owner token and share link minted
// before is refused (and live feeds opened with them close); the answer is
// the bin with its new owner token.
func (s *Server) revokeTokens(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	if err := decodeJSON(c.Body(), &struct{}{}); err != nil {
		return err
	}
	b, err = s.deps.Bins.Revoke(c.UserContext(), b.ID)
	if err != nil {
		return err
	}
	v := s.viewBin(c, b)
	if v.Token, err = s.auth.ownerToken(b); err != nil {
		return fmt.Errorf("mint owner token: %w", err)
	}
	return c.JSON(v)
}
