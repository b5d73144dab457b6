package web

import (
	"errors"

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
	var ie *ingest.InputError
	switch {
	case errors.Is(err, ingest.ErrForwardingDisabled):
		return errorf(501, "forwarding is not enabled on this server")
	case errors.As(err, &ie):
		return errorf(400, "%s", ie.Error())
	case errors.Is(err, ingest.ErrUnknownBin):
		return errorf(404, "bin not found")
	case err != nil:
		return err
	}
	return c.Status(201).JSON(fiber.Map{
		"id":        r.ID,
		"replay_of": orig.ID,
		"forward":   r.Forward,
	})
}
