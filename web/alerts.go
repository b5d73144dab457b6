package web

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/schema"
)

// alertRoutes serves /api/v1/alerts/... from deps.Alerts (issue 6). Channel
// URLs are write-only: the service's JSON shows url_hint only.
func (s *Server) alertRoutes(api fiber.Router) {
	if s.deps.Alerts == nil {
		return
	}
	g := api.Group("/alerts")
	g.Get("/rules", s.listAlertRules)
	g.Post("/rules", s.createAlertRule)
	g.Post("/defaults", s.enableDefaultAlerts)
	g.Get("/rules/:id", s.getAlertRule)
	g.Patch("/rules/:id", s.patchAlertRule)
	g.Delete("/rules/:id", s.deleteAlertRule)
	g.Post("/rules/:id/test", s.testAlertRule)
	g.Get("/events", s.listAlertEvents)
}

// alertErr names what was not found; everything else (the service's
// ErrInvalid messages included) goes to mapError, the one mapping.
func alertErr(err error) error {
	if errors.Is(err, schema.ErrNotFound) {
		return errorf(404, "alert rule not found")
	}
	return err
}

// listAlertRules: ?bin_id= keeps the rules that watch that bin (its own and
// those for every bin).
func (s *Server) listAlertRules(c *fiber.Ctx) error {
	rules, err := s.deps.Alerts.ListRules(c.UserContext())
	if err != nil {
		return alertErr(err)
	}
	if bin := c.Query("bin_id"); bin != "" {
		kept := rules[:0]
		for _, r := range rules {
			if b := r.Bin(); b == "" || b == bin {
				kept = append(kept, r)
			}
		}
		rules = kept
	}
	return c.JSON(fiber.Map{"rules": rules})
}

func (s *Server) createAlertRule(c *fiber.Ctx) error {
	r, err := s.deps.Alerts.CreateRule(c.UserContext(), c.Body())
	if err != nil {
		return alertErr(err)
	}
	return c.Status(201).JSON(r)
}

// enableDefaultAlerts is the one toggle: {"bin_id", "channels"} creates one
// rule of every kind with the default parameters.
func (s *Server) enableDefaultAlerts(c *fiber.Ctx) error {
	var in struct {
		BinID    string           `json:"bin_id"`
		Channels []alerts.Channel `json:"channels"`
	}
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	if _, err := s.deps.Store.GetBin(c.UserContext(), in.BinID); err != nil {
		if errors.Is(err, schema.ErrNotFound) {
			return errorf(404, "bin not found")
		}
		return fmt.Errorf("enable default alerts: %w", err)
	}
	rules, err := s.deps.Alerts.EnableDefaults(c.UserContext(), in.BinID, in.Channels)
	if err != nil {
		return alertErr(err)
	}
	return c.Status(201).JSON(fiber.Map{"rules": rules})
}

func (s *Server) getAlertRule(c *fiber.Ctx) error {
	r, err := s.deps.Alerts.GetRule(c.UserContext(), c.Params("id"))
	if err != nil {
		return alertErr(err)
	}
	return c.JSON(r)
}

func (s *Server) patchAlertRule(c *fiber.Ctx) error {
	r, err := s.deps.Alerts.UpdateRule(c.UserContext(), c.Params("id"), c.Body())
	if err != nil {
		return alertErr(err)
	}
	return c.JSON(r)
}

func (s *Server) deleteAlertRule(c *fiber.Ctx) error {
	if err := s.deps.Alerts.DeleteRule(c.UserContext(), c.Params("id")); err != nil {
		return alertErr(err)
	}
	return c.SendStatus(204)
}

// testAlertRule sends a sample notification to every channel of the rule:
// 200 when all were delivered, 502 when one failed, with per-channel results.
func (s *Server) testAlertRule(c *fiber.Ctx) error {
	res, err := s.deps.Alerts.TestRule(c.UserContext(), c.Params("id"))
	if err != nil {
		return alertErr(err)
	}
	ok := true
	for _, r := range res {
		ok = ok && r.OK
	}
	status := 200
	if !ok {
		status = 502
	}
	return c.Status(status).JSON(fiber.Map{"ok": ok, "results": res})
}

// listAlertEvents: ?rule_id= &bin_id= &limit=1..1000 (default 100)
// &before=<event id> → {"events": [...], "next": "<event id>"|null}, newest first.
func (s *Server) listAlertEvents(c *fiber.Ctx) error {
	f := schema.EventFilter{RuleID: c.Query("rule_id"), BinID: c.Query("bin_id"), Limit: 100}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(400, "limit: must be an integer from 1 to 1000")
		}
		f.Limit = n
	}
	if v := c.Query("before"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return errorf(400, "before: must be an event id")
		}
		f.Before = &id
	}
	evs, err := s.deps.Alerts.ListEvents(c.UserContext(), f)
	if err != nil {
		return alertErr(err)
	}
	var next *string
	if len(evs) == f.Limit {
		id := evs[len(evs)-1].ID.String()
		next = &id
	}
	return c.JSON(fiber.Map{"events": evs, "next": next})
}
