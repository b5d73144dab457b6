package web

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/diff"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
)

// diffParams are the parameters of GET .../requests/{id}/diff.
var diffParams = []string{"against"}

// diffRequests answers GET .../requests/{id}/diff?against={id2}: the
// changes from against to id. Both are read from the bin the caller is
// authorised for (the store looks them up by bin and id), so a request of
// another bin is a 404 like a missing one.
func (s *Server) diffRequests(c *fiber.Ctx) error {
	v := c.Query("against")
	if v == "" {
		return &query.ParamError{Param: "against", Msg: "required: the id of the request to compare with"}
	}
	other, err := uuid.Parse(v)
	if err != nil {
		return &query.ParamError{Param: "against", Msg: "must be a request id"}
	}
	r, err := s.loadRequest(c, ScopeRead)
	if err != nil {
		return err
	}
	o, err := s.deps.Store.GetRequest(c.UserContext(), r.BinID, other)
	if errors.Is(err, schema.ErrNotFound) {
		return errorf(404, "request given as against not found in this bin")
	}
	if err != nil {
		return fmt.Errorf("get request to compare: %w", err)
	}
	return c.JSON(diff.Compare(o, r))
}
