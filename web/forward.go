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
