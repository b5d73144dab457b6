package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/ingest"
)

type replayInput struct {
	URL *string `json:"url"`
}

// replay answers POST /api/v1/bins/{bin}/requests/{id}/replay: it re-sends
// a captured request to the bin's forward target (the forward URL plus the
// original path suffix and query), or to exactly the given url, and records
// the attempt as a new request of the bin (ingest.Pipeline.Replay).
func (s *Server) replay(c *fiber.Ctx) error {
	// Replaying acts for the bin: owner token (or admin) only.
	orig, err := s.loadRequest(c, ScopeOwner)
	if err != nil {
		return err
	}
	var in replayInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	ri := ingest.ReplayInput{Original: orig, RemoteIP: c.IP()}
	if in.URL != nil {
		ri.URL = *in.URL
	}
	r, err := s.deps.Pipeline.Replay(c.UserContext(), ri)
	if err != nil {
		return err // mapError: InputError 400, ErrUnknownBin 404, ErrForwardingDisabled 501
	}
	return c.Status(201).JSON(fiber.Map{
		"id":        r.ID,
		"replay_of": orig.ID,
		"forward":   r.Forward,
	})
}

// redeliver answers POST /api/v1/bins/{bin}/requests/{id}/redeliver: it
// forwards a stored request again to the bin's forward target as one more
// attempt of its forward (retried per the bin's retry setting when it
// fails) and records the outcome on the request itself
// (ingest.Pipeline.Redeliver). 200 with the request's forward; 409 while
// the forward is still being retried.
func (s *Server) redeliver(c *fiber.Ctx) error {
	// Redelivering acts for the bin: owner token (or admin) only.
	orig, err := s.loadRequest(c, ScopeOwner)
	if err != nil {
		return err
	}
	if len(c.Body()) > 0 {
		var in struct{}
		if err := decodeJSON(c.Body(), &in); err != nil {
			return err
		}
	}
	r, err := s.deps.Pipeline.Redeliver(c.UserContext(), orig)
	if err != nil {
		return err // mapError: ErrRetrying 409, InputError 400, ErrForwardingDisabled 501
	}
	return c.JSON(fiber.Map{"id": r.ID, "forward": r.Forward})
}
