package web

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/schema"
)

// reverify answers POST /api/v1/bins/{bin}/requests/{id}/verify: the
// stored request's signature checked again with the bin's current secret
// (ingest.Reverify), next to the verdict recorded at capture. Owner only:
// it exercises the bin's secret. The record is not changed; a body takes
// no input (an empty object or nothing).
func (s *Server) reverify(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	if len(c.Body()) > 0 {
		var none struct{}
		if err := decodeJSON(c.Body(), &none); err != nil {
			return err
		}
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return errorf(404, "request not found")
	}
	r, err := s.deps.Store.GetRequest(c.UserContext(), b.ID, id)
	if errors.Is(err, schema.ErrNotFound) {
		return errorf(404, "request not found")
	}
	if err != nil {
		return fmt.Errorf("get request: %w", err)
	}
	u := s.captureBase(c) + "/h/" + b.ID + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	sig, lag, err := ingest.Reverify(b, r, u)
	if err != nil {
		return err // *ingest.NotVerifiableError: 409
	}
	return c.JSON(fiber.Map{
		"id":              r.ID,
		"signature":       sig,
		"recorded":        r.Signature,
		"delivery_lag_ms": lag,
	})
}
