package web

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/replays"
	"github.com/hookscope/hookscope/schema"
)

// Bulk replay (issue 17.6): POST /api/v1/bins/{bin}/replays starts a job
// over the requests matching the list's filters (query parameters, the
// same parser as the list); GET /api/v1/replays/{id} reports progress from
// any instance; POST /api/v1/replays/{id}/cancel stops it.

// replayParams: the list's filters without paging.
var replayParams = append(append([]string{}, query.MatchParams...), "forward")

type bulkReplayInput struct {
	URL    string  `json:"url"`
	Rate   float64 `json:"rate"`
	DryRun bool    `json:"dry_run"`
}

// replayRoutes registers the routes even without a manager (they answer
// 501 then), so the route tables and openapi.yaml checks see them.
func (s *Server) replayRoutes(api fiber.Router) {
	api.Use("/bins/:bin/replays", s.needReplays)
	api.Use("/replays", s.needReplays)
	api.Post("/bins/:bin/replays", s.createReplayJob)
	api.Get("/bins/:bin/replays", s.listReplayJobs)
	api.Get("/replays/:id", s.getReplayJob)
	api.Post("/replays/:id/cancel", s.cancelReplayJob)
}

func (s *Server) needReplays(c *fiber.Ctx) error {
	if s.deps.Replays == nil {
		return errorf(501, "bulk replay is not enabled on this server")
	}
	return c.Next()
}

// replayErr maps the manager's own errors; the rest go to mapError.
func replayErr(err error) error {
	switch {
	case errors.Is(err, replays.ErrBusy):
		return errorf(429, "%s", err.Error())
	case errors.Is(err, replays.ErrNoTarget):
		return &query.ParamError{Param: "url", Msg: err.Error()}
	case errors.Is(err, schema.ErrNotFound):
		return errorf(404, "replay job not found")
	}
	return err
}

// createReplayJob needs the owner token, like a single replay: it sends
// the bin's requests to a URL of the caller's choosing.
func (s *Server) createReplayJob(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	var in bulkReplayInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	params := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { params[string(k)] = string(v) })
	j, err := s.deps.Replays.Create(c.UserContext(), replays.Input{Bin: b, Params: params, URL: in.URL, Rate: in.Rate, DryRun: in.DryRun, RemoteIP: c.IP()})
	if err != nil {
		return replayErr(err)
	}
	if in.DryRun {
		return c.JSON(j)
	}
	return c.Status(202).JSON(j)
}

func (s *Server) listReplayJobs(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	js, err := s.deps.Replays.List(c.UserContext(), b.ID)
	if err != nil {
		return fmt.Errorf("list replay jobs: %w", err)
	}
	return c.JSON(fiber.Map{"jobs": js})
}

// loadReplayJob reads a job and authorises need on its bin; an unknown job
// and a job of a bin that is gone are both 404.
func (s *Server) loadReplayJob(c *fiber.Ctx, need string) (*schema.ReplayJob, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return nil, errorf(404, "replay job not found")
	}
	j, err := s.deps.Replays.Get(c.UserContext(), id)
	if err != nil {
		return nil, replayErr(err)
	}
	b, err := s.deps.Bins.Get(c.UserContext(), j.BinID)
	if errors.Is(err, schema.ErrNotFound) {
		return nil, errorf(404, "replay job not found")
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.authorizeBin(c, b, need); err != nil {
		return nil, err
	}
	return j, nil
}

func (s *Server) getReplayJob(c *fiber.Ctx) error {
	j, err := s.loadReplayJob(c, ScopeRead)
	if err != nil {
		return err
	}
	return c.JSON(j)
}

func (s *Server) cancelReplayJob(c *fiber.Ctx) error {
	j, err := s.loadReplayJob(c, ScopeOwner)
	if err != nil {
		return err
	}
	j, err = s.deps.Replays.Cancel(c.UserContext(), j.ID)
	if err != nil {
		return replayErr(err)
	}
	return c.JSON(j)
}
