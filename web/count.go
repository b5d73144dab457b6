package web

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
)

// countCap bounds a filtered count: past it the answer says capped=true and
// the inspector shows "10 000+", so a count never reads more than that many
// rows (the store stops there: schema.Reader.CountMatching).
// An unfiltered count is exact at any size (the store keeps it cheaply).
const countCap = 10_000

// countParams: the list's filters, without paging.
var countParams = append(append([]string{}, query.MatchParams...), "forward")

type countView struct {
	Count  int64 `json:"count"`
	Capped bool  `json:"capped"`
	Cap    int64 `json:"cap"`
}

func (s *Server) countRoutes(api fiber.Router) {
	api.Get("/bins/:bin/requests/count", s.countRequests)
}

// countRequests answers how many requests match the list's filters (the
// same parameters as the list, without paging).
func (s *Server) countRequests(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	f, err := query.ParseLiveFilter(b.ID, params(c))
	if err != nil {
		return err
	}
	if f.Forward, err = query.ParseForwardState(params(c)); err != nil {
		return err
	}
	out := countView{Cap: countCap}
	if f == (schema.Filter{BinID: b.ID}) {
		if out.Count, err = s.deps.Store.CountRequests(c.UserContext(), b.ID); err != nil {
			return fmt.Errorf("count requests: %w", err)
		}
		return c.JSON(out)
	}
	if f == (schema.Filter{BinID: b.ID, Replays: schema.ReplaysExclude}) {
		// Everything but replays (what the inspector asks by default):
		// the exact total less the replays, which are few, while they
		// stay under the cap.
		all, err := s.deps.Store.CountRequests(c.UserContext(), b.ID)
		if err != nil {
			return fmt.Errorf("count requests: %w", err)
		}
		reps, err := s.deps.Store.CountMatching(c.UserContext(), schema.Filter{BinID: b.ID, Replays: schema.ReplaysOnly}, countCap+1)
		if err != nil {
			return fmt.Errorf("count replays: %w", err)
		}
		if reps <= countCap {
			out.Count = max(all-reps, 0)
			return c.JSON(out)
		}
	}
	// One more than the cap tells "exactly 10 000" from "more".
	n, err := s.deps.Store.CountMatching(c.UserContext(), f, countCap+1)
	if err != nil {
		return fmt.Errorf("count requests: %w", err)
	}
	out.Count, out.Capped = min(n, countCap), n > countCap
	return c.JSON(out)
}
