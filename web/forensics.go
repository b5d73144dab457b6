package web

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// Delivery forensics (issue 17): retry chains and deletes.

// maxChain bounds the attempts view: a provider retries a few dozen times
// at most, so a longer chain is a sender reusing one id.
const maxChain = 1000

// attempts answers GET .../requests/{id}/attempts: the chain of requests
// with the request's delivery id, oldest first.
func (s *Server) attempts(c *fiber.Ctx) error {
	r, err := s.loadRequest(c, ScopeRead)
	if err != nil {
		return err
	}
	if r.DeliveryID == "" {
		return c.JSON(wire.Chain("", []*schema.Request{r}, false))
	}
	page, err := s.deps.Store.ListRequests(c.UserContext(), schema.Filter{BinID: r.BinID, DeliveryID: r.DeliveryID, Limit: maxChain})
	if err != nil {
		return fmt.Errorf("list attempts: %w", err)
	}
	chain := page.Requests
	slices.Reverse(chain)
	return c.JSON(wire.Chain(r.DeliveryID, chain, page.Next != nil))
}

// deleteRequest answers DELETE .../requests/{id} (owner token).
func (s *Server) deleteRequest(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return errorf(404, "request not found")
	}
	// The pipeline holds the bin's forward retries during the delete and
	// cancels this request's after it: a retry must neither send a deleted
	// request nor store it again.
	err = s.deps.Pipeline.DeleteRequests(c.UserContext(), b.ID, ingest.DeleteScope{ID: &id}, func(ctx context.Context) error {
		return s.deps.Store.DeleteRequest(ctx, b.ID, id)
	})
	if errors.Is(err, schema.ErrNotFound) {
		return errorf(404, "request not found")
	}
	if err != nil {
		return fmt.Errorf("delete request: %w", err)
	}
	return c.SendStatus(204)
}

// deleteMatching deletes the requests matching the list's filters (owner
// token); clearRequests calls it when any filter is given.
func (s *Server) deleteMatching(c *fiber.Ctx, b *schema.Bin) error {
	f, err := query.ParseLiveFilter(b.ID, params(c))
	if err != nil {
		return err
	}
	var n int64
	// The pipeline cancels the pending forward retries of what the delete
	// removed, so that a deleted request is not forwarded again.
	err = s.deps.Pipeline.DeleteRequests(c.UserContext(), b.ID, ingest.DeleteScope{}, func(ctx context.Context) error {
		var err error
		n, err = s.deps.Store.DeleteMatching(ctx, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete requests: %w", err)
	}
	return c.JSON(wire.Deleted{Deleted: n})
}
