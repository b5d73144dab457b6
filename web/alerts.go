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

// authorizeAlertBin authorises managing (or, for GET, reading) the alert
// rules of bin ("" = every bin) with the bin's own access rule
// (AuthorizeBinID: the owner token or an admin token to change, a read
// token for a private bin's reads). The handlers call it with the value
// they act on (the decoded body, the stored rule), never with a second
// parse of the request. A rule for every bin ("") watches bins that are not
// the caller's, private ones included, and would send their senders and
// counts to the caller's channel: changing one needs an admin token
// (reading one stays open). An unknown bin passes: the service refuses a
// rule naming it.
func (s *Server) authorizeAlertBin(c *fiber.Ctx, bin string) error {
	read := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
	if bin == "" {
		if read {
			return nil
		}
		return s.requireAdmin(c, false)
	}
	need := ScopeOwner
	if read {
		need = ScopeRead
	}
	if err := s.AuthorizeBinID(c, bin, need); err != nil && !errors.Is(err, schema.ErrNotFound) {
		return err
	}
	return nil
}

// storedRule loads a rule and authorises its bin.
func (s *Server) storedRule(c *fiber.Ctx) (*alerts.Rule, error) {
	r, err := s.deps.Alerts.GetRule(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, alertErr(err)
	}
	if err := s.authorizeAlertBin(c, r.Bin()); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Server) createAlertRule(c *fiber.Ctx) error {
	var in alerts.RuleInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	if err := s.authorizeAlertBin(c, in.Bin()); err != nil {
		return err
	}
	r, err := s.deps.Alerts.CreateRule(c.UserContext(), in)
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
	if err := s.authorizeAlertBin(c, in.BinID); err != nil {
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
	r, err := s.storedRule(c)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// patchAlertRule authorises both the rule's bin and the bin the patch
// moves it to.
func (s *Server) patchAlertRule(c *fiber.Ctx) error {
	var p alerts.RulePatch
	if err := decodeJSON(c.Body(), &p); err != nil {
		return err
	}
	cur, err := s.storedRule(c)
	if err != nil {
		return err
	}
	if bin, ok := p.Bin(); ok {
		if err := s.authorizeAlertBin(c, bin); err != nil {
			return err
		}
	}
	r, err := s.deps.Alerts.UpdateRule(c.UserContext(), cur.ID, p)
	if err != nil {
		return alertErr(err)
	}
	return c.JSON(r)
}

func (s *Server) deleteAlertRule(c *fiber.Ctx) error {
	r, err := s.storedRule(c)
	if err != nil {
		return err
	}
	if err := s.deps.Alerts.DeleteRule(c.UserContext(), r.ID); err != nil {
		return alertErr(err)
	}
	return c.SendStatus(204)
}

// testAlertRule sends a sample notification to every channel of the rule:
// 200 when all were delivered, 502 when one failed, with per-channel results.
func (s *Server) testAlertRule(c *fiber.Ctx) error {
	r, err := s.storedRule(c)
	if err != nil {
		return err
	}
	res, err := s.deps.Alerts.TestRule(c.UserContext(), r.ID)
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
