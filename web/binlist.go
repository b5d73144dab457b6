package web

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// HeaderBinTokens carries the owner tokens a caller holds, for the bin
// list: comma- or space-separated, at most maxListTokens. A browser keeps
// its bins' owner tokens in its storage and sends them here; the answer
// holds only bins one of them proves ownership of (a valid owner token of
// the bin's current generation), so a caller never learns of a bin it
// cannot already control.
const HeaderBinTokens = "X-Hookscope-Bin-Tokens"

const maxListTokens = 100

// binList is the answer of GET /api/v1/bins.
type binList struct {
	Bins []wire.Bin `json:"bins"`
	Next *string    `json:"next"`
	// Ignored counts the presented owner tokens that prove nothing (invalid,
	// expired, revoked, read-only, or for a bin that is gone), so a browser
	// can forget them.
	Ignored int `json:"ignored"`
}

// listBins answers GET /api/v1/bins: with an admin token (Authorization)
// every live bin, newest first, paged (limit, cursor) and searchable by
// name (q); otherwise the bins whose owner tokens the caller presents in
// X-Hookscope-Bin-Tokens (or as its bearer token), filtered by q. Nobody
// else sees any bin: without tokens the list is empty (in
// HOOKSCOPE_AUTH=required mode, 401).
func (s *Server) listBins(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := bins.ListQuery{Q: strings.Clone(c.Query("q"))}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > bins.MaxListLimit {
			return errorf(400, "limit: must be from 1 to %d", bins.MaxListLimit)
		}
		q.Limit = n
	}
	cl, err := s.token(c, false)
	if err != nil {
		return err
	}
	out := binList{Bins: []wire.Bin{}}
	if cl != nil && cl.Scope == ScopeAdmin {
		if v := c.Query("cursor"); v != "" {
			if q.Cursor, err = bins.ParseListCursor(v); err != nil {
				return err
			}
		}
		page, next, err := s.deps.Bins.List(ctx, q)
		if err != nil {
			return err
		}
		if next != nil {
			n := next.String()
			out.Next = &n
		}
		return s.sendBinList(c, page, out)
	}
	if c.Query("cursor") != "" {
		return errorf(400, "cursor: only an admin's list is paged; an owner's list is whole")
	}
	toks := strings.FieldsFunc(c.Get(HeaderBinTokens), func(r rune) bool { return r == ',' || r == ' ' })
	if cl != nil {
		toks = append(toks, bearer(c, false))
	}
	if len(toks) > maxListTokens {
		return errorf(400, "%s: at most %d tokens", HeaderBinTokens, maxListTokens)
	}
	if len(toks) == 0 && s.auth.required {
		return s.unauthenticated(c)
	}
	seen := map[string]bool{}
	var owned []*schema.Bin
	for _, tok := range toks {
		tc, err := s.auth.parse(tok)
		if err != nil || tc.Scope != ScopeOwner || seen[tc.Subject] {
			if err != nil || tc.Scope != ScopeOwner {
				out.Ignored++
			}
			continue
		}
		b, err := s.deps.Bins.Get(ctx, tc.Subject)
		if err != nil || !tc.grants(b, ScopeOwner) {
			out.Ignored++
			continue
		}
		seen[b.ID] = true
		owned = append(owned, b)
	}
	if len(q.Q) > bins.MaxListQuery {
		return errorf(400, "q: at most %d bytes", bins.MaxListQuery)
	}
	owned = bins.FilterBins(owned, q.Q, s.opts.Now())
	bins.SortNewest(owned)
	if q.Limit > 0 && len(owned) > q.Limit {
		owned = owned[:q.Limit]
	}
	return s.sendBinList(c, owned, out)
}

// sendBinList adds each bin's request count and last activity (one count
// and one one-row page per bin: a page holds at most 200 bins).
func (s *Server) sendBinList(c *fiber.Ctx, list []*schema.Bin, out binList) error {
	ctx := c.UserContext()
	for _, b := range list {
		v := s.viewBin(c, b)
		n, err := s.deps.Store.CountRequests(ctx, b.ID)
		if err != nil {
			return fmt.Errorf("count requests: %w", err)
		}
		v.RequestCount = &n
		if n > 0 {
			p, err := s.deps.Store.ListRequests(ctx, schema.Filter{BinID: b.ID, Limit: 1})
			if err != nil {
				return fmt.Errorf("last request: %w", err)
			}
			if len(p.Requests) > 0 {
				t := p.Requests[0].ReceivedAt
				v.LastRequestAt = &t
			}
		}
		out.Bins = append(out.Bins, v)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
