package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// ReplayHeader marks a replayed request's record with the original's id.
const ReplayHeader = wire.ReplayHeader

type replayInput struct {
	URL *string `json:"url"`
}

// replay answers POST /api/v1/bins/{bin}/requests/{id}/replay: it re-sends
// a captured request to the bin's forward target (the forward URL plus the
// original path suffix and query), or to exactly the given url, and records
// the attempt as a new request of the bin.
func (s *Server) replay(c *fiber.Ctx) error {
	if s.deps.Forwarder == nil {
		return errorf(501, "forwarding is not enabled on this server")
	}
	// Replaying acts for the bin: owner token (or admin) only.
	orig, err := s.loadRequest(c, ScopeOwner)
	if err != nil {
		return err
	}
	b, _, err := s.loadBin(c, ScopeOwner)
	if err != nil {
		return err
	}
	var in replayInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	var fc *schema.ForwardConfig
	if b.Settings.Forward != nil && b.Settings.Forward.URL != "" {
		fc = b.Settings.Forward
	}
	if (in.URL == nil || *in.URL == "") && fc == nil {
		return errorf(400, "url: the bin has no forward target; give a url")
	}

	id, at := s.deps.Pipeline.NewID()
	r := &schema.Request{
		ID:            id,
		BinID:         b.ID,
		ReceivedAt:    at,
		Method:        orig.Method,
		Path:          orig.Path,
		Query:         orig.Query,
		Headers:       append(slices.Clone(orig.Headers), schema.Header{Name: ReplayHeader, Value: orig.ID.String()}),
		RemoteIP:      c.IP(),
		ContentType:   orig.ContentType,
		Body:          orig.Body,
		BodySize:      orig.BodySize,
		BodyTruncated: orig.BodyTruncated,
		Signature:     orig.Signature,
		DeliveryLagMS: orig.DeliveryLagMS,
	}
	// The replayed request carries the original's headers only: the marker
	// is for the history, not for the target.
	sent := *r
	sent.Headers = orig.Headers
	var res forward.Result
	if in.URL != nil && *in.URL != "" {
		if err := bins.ValidateForward(&schema.ForwardConfig{URL: *in.URL}); err != nil {
			return &bins.FieldError{Field: "url", Msg: strings.TrimPrefix(err.(*bins.FieldError).Msg, "url: ")}
		}
		res = s.deps.Forwarder.Send(c.UserContext(), *in.URL, s.deps.Forwarder.Timeout(fc), &sent, forward.ModeReplay, false)
	} else {
		res = s.deps.Forwarder.Do(c.UserContext(), *fc, &sent, forward.ModeReplay, false)
	}
	r.Forward = &res.Forward
	r.ResponseStatus = res.Status
	if res.Status == 0 {
		r.ResponseStatus = 502
	}
	r.LatencyUS = res.Forward.LatencyUS
	if err := s.deps.Pipeline.Record(r); err != nil {
		return fmt.Errorf("record replay: %w", err)
	}
	return c.Status(201).JSON(fiber.Map{
		"id":        r.ID,
		"replay_of": orig.ID,
		"forward":   r.Forward,
	})
}
