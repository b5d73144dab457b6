package web

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/alerts"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/live"
	"github.com/hookscope/hookscope/web/wire"
)

const (
	livePingEvery   = 25 * time.Second
	liveWriteWait   = 10 * time.Second
	liveBacklogMax  = 10_000
	liveBacklogPage = 1000
)

var laggedMsg = []byte(`{"type":"lagged"}`)

// EncodeLiveAlert is the live feed's frame of an alert event (the hub's
// EncodeAlert): {"type":"alert","alert":<the event as the events API
// shows it>}. nil for an event whose document does not decode.
func EncodeLiveAlert(ev *schema.AlertEvent) []byte {
	v, err := alerts.ViewEvent(ev)
	if err != nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	b, err := json.Marshal(wire.Live{Type: wire.LiveAlert, Alert: raw})
	if err != nil {
		return nil
	}
	return b
}

// liveUpgrade validates the request before the websocket upgrade, so bad
// parameters get a normal 400 and an unknown bin a 404.
func (s *Server) liveUpgrade(c *fiber.Ctx) error {
	b, cl, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	f, err := query.ParseLiveFilter(b.ID, params(c))
	if err != nil {
		return err
	}
	var after *uuid.UUID
	if v := c.Query("after"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return &query.ParamError{Param: "after", Msg: "must be a request id"}
		}
		after = &id
	}
	// only=alerts: a feed of the bin's alert events alone (the inspector's
	// tabs other than Requests keep one open for the Alerts tab's dot).
	onlyAlerts := false
	switch c.Query("only") {
	case "":
	case "alerts":
		onlyAlerts = true
	default:
		return &query.ParamError{Param: "only", Msg: `must be "alerts"`}
	}
	if !websocket.IsWebSocketUpgrade(c) {
		return errorf(426, "websocket upgrade required")
	}
	c.Locals("only_alerts", onlyAlerts)
	c.Locals("filter", f)
	c.Locals("after", after)
	c.Locals("claims", cl)
	// Taken before the handshake answers: what the hub fans out from here
	// on reaches the feed, though its handler subscribes only later.
	c.Locals("live_mark", s.deps.Hub.Mark())
	return c.Next()
}

func (s *Server) liveHandler() fiber.Handler {
	return websocket.New(func(conn *websocket.Conn) {
		if release, ok := conn.Locals("live_release").(func()); ok {
			defer release() // the live-feed quota slot (quota.go)
		}
		f := conn.Locals("filter").(schema.Filter)
		after, _ := conn.Locals("after").(*uuid.UUID)
		cl, _ := conn.Locals("claims").(*tokenClaims)
		onlyAlerts, _ := conn.Locals("only_alerts").(bool)
		if onlyAlerts {
			after = nil
		}
		mark, _ := conn.Locals("live_mark").(uint64)
		s.serveLive(conn, f, after, mark, cl, onlyAlerts)
	})
}

// serveLive subscribes first, then sends what the client missed (the store
// plus the hub's recent events, deduplicated; without after, what the hub
// fanned out since mark, taken before the handshake answered), then
// follows the hub. A
// client that falls behind gets {"type":"lagged"} and is closed; it resumes
// with after=<last id it saw>. Every feed also gets the bin's alert events
// as {"type":"alert"} frames, whatever its filter; onlyAlerts feeds get
// nothing else.
//
// A feed lasts only as long as the access it was opened with (issue 12.6):
// it is closed (1008, policy violation) when its token expires, when the
// bin expires or is deleted, and when the bin's access changes (made
// private, token generation revoked) so that its token (or none) no longer
// grants reading. cl is the token that opened it, nil for an anonymous
// feed of a public bin.
func (s *Server) serveLive(conn *websocket.Conn, f schema.Filter, after *uuid.UUID, mark uint64, cl *tokenClaims, onlyAlerts bool) {
	hub := s.deps.Hub
	changed, stopWatch := s.deps.Bins.Watch(f.BinID)
	defer stopWatch()
	// Checked after subscribing to changes, so that none is missed between
	// the upgrade's check and here.
	end, reason := s.liveAccess(f.BinID, cl)
	if reason != "" {
		s.closeLive(conn, reason)
		return
	}
	deadline := time.NewTimer(time.Until(end))
	defer deadline.Stop()
	// f was validated before the upgrade; q is parsed once here, not per request.
	match, err := query.Matcher(&f)
	if err != nil {
		s.closeLive(conn, "bad filter")
		return
	}
	if onlyAlerts {
		match = func(*schema.Request) bool { return false }
	}
	sub, recent := hub.Subscribe(f.BinID, match)
	defer hub.Unsubscribe(sub)

	// Clients only send pings and close frames: a larger frame is an
	// attack, answered with close 1009 by the websocket library.
	conn.SetReadLimit(s.opts.LiveReadLimit)
	// A reader goroutine notices the client closing (and answers pings).
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// The reader must be done before the handler returns: fasthttp reuses
	// the hijacked connection's buffered reader afterwards (a data race the
	// race detector shows when the server ends a feed).
	defer func() {
		_ = conn.Close()
		<-closed
	}()

	write := func(msg []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(liveWriteWait))
		return conn.WriteMessage(websocket.TextMessage, msg)
	}
	// closeLagged tells the client it may have missed events and closes
	// with 1013: it resumes with after=<last id it saw>.
	closeLagged := func() {
		_ = write(laggedMsg)
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "lagged"), time.Now().Add(time.Second))
	}

	sent := make(map[uuid.UUID]struct{})
	if after == nil && !onlyAlerts {
		// The client saw its feed open at the handshake: what was captured
		// since then and fanned out before Subscribe is in recent.
		since, complete := sub.Since(recent, mark)
		if !complete {
			// More than the ring holds went by before this handler ran:
			// some may be missing, as for a subscriber that lagged.
			closeLagged()
			return
		}
		for _, ev := range since {
			if err := write(ev.Msg); err != nil {
				return
			}
		}
	} else if after != nil {
		backlog, err := s.liveBacklog(f, *after, recent)
		if err != nil {
			s.log.Warn("live backlog", "bin", f.BinID, "err", err)
		}
		for _, ev := range backlog {
			if err := write(ev.Msg); err != nil {
				return
			}
			sent[ev.Req.ID] = struct{}{}
		}
	}

	ping := time.NewTicker(livePingEvery)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				// Cut off for lagging (1013, resume with after=), or the hub
				// closed because the server is going away (1001).
				if sub.Lagged() {
					closeLagged()
					return
				}
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
				return
			}
			if _, dup := sent[ev.Req.ID]; dup {
				delete(sent, ev.Req.ID)
				continue
			}
			if after != nil && !live.After(ev.Req.ID, *after) {
				continue
			}
			if err := write(ev.Msg); err != nil {
				return
			}
		case msg := <-sub.Alerts:
			if err := write(msg); err != nil {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(liveWriteWait)); err != nil {
				return
			}
		case <-changed:
			e, reason := s.liveAccess(f.BinID, cl)
			if reason != "" {
				s.closeLive(conn, reason)
				return
			}
			deadline.Reset(time.Until(e))
		case <-deadline.C:
			// The token or the bin expired (or the access was re-checked
			// and still holds until a later time).
			e, reason := s.liveAccess(f.BinID, cl)
			if reason != "" {
				s.closeLive(conn, reason)
				return
			}
			deadline.Reset(time.Until(e))
		case <-closed:
			return
		}
	}
}

// liveForever stands for "no expiry" in liveAccess.
const liveForever = 100 * 365 * 24 * time.Hour

// liveAccess checks that a feed of bin opened with cl may go on: reason is
// empty when it may, until end (the earliest of the token's and the bin's
// expiry, as a wall-clock time for the timer).
func (s *Server) liveAccess(bin string, cl *tokenClaims) (end time.Time, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := s.opts.Now()
	b, err := s.deps.Bins.Get(ctx, bin)
	if errors.Is(err, schema.ErrNotFound) {
		return time.Time{}, "bin deleted or expired"
	}
	if err != nil {
		// A store hiccup must not cut feeds; the next change re-checks.
		s.log.Warn("live access check", "bin", bin, "err", err)
		return time.Now().Add(time.Minute), ""
	}
	until := now.Add(liveForever)
	if b.ExpiresAt != nil {
		until = *b.ExpiresAt
	}
	if cl != nil {
		exp := cl.ExpiresAt.Time
		if !now.Before(exp) {
			return time.Time{}, "token expired"
		}
		until = minTime(until, exp)
		if !cl.grants(b, ScopeRead) {
			return time.Time{}, "access revoked"
		}
	} else if b.Private {
		return time.Time{}, "bin is private"
	}
	// Timers run on the wall clock; the server's clock may be injected.
	return time.Now().Add(until.Sub(now)), ""
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// closeLive ends a feed whose access ended: 1008 with the reason.
func (s *Server) closeLive(conn *websocket.Conn, reason string) {
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.ClosePolicyViolation, reason), time.Now().Add(time.Second))
}

// liveBacklog returns what was captured after the given id, oldest first:
// stored requests (paged through the store) merged with the hub's recent
// events, which cover requests still waiting in the batcher.
func (s *Server) liveBacklog(f schema.Filter, after uuid.UUID, recent []*live.Event) ([]*live.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	byID := make(map[uuid.UUID]*live.Event)
	for _, ev := range recent {
		if live.After(ev.Req.ID, after) {
			byID[ev.Req.ID] = ev
		}
	}
	cur := &schema.Cursor{ReceivedAt: v7Time(after), ID: after}
	if r, err := s.deps.Store.GetRequest(ctx, f.BinID, after); err == nil {
		cur = schema.CursorOf(r)
	} else if !errors.Is(err, schema.ErrNotFound) {
		return sortEvents(byID), err
	}
	pf := f
	pf.Limit = liveBacklogPage
	pf.After = cur
	for n := 0; n < liveBacklogMax; {
		page, err := s.deps.Store.ListRequests(ctx, pf)
		if err != nil {
			return sortEvents(byID), err
		}
		for _, r := range page.Requests {
			if !live.After(r.ID, after) {
				continue
			}
			if _, ok := byID[r.ID]; !ok {
				byID[r.ID] = &live.Event{Req: r, Msg: wire.EncodeLive(r)}
			}
		}
		n += len(page.Requests)
		if page.Next == nil {
			break
		}
		pf.After = page.Next
	}
	return sortEvents(byID), nil
}

func sortEvents(m map[uuid.UUID]*live.Event) []*live.Event {
	out := make([]*live.Event, 0, len(m))
	for _, ev := range m {
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b *live.Event) int {
		switch {
		case live.After(b.Req.ID, a.Req.ID):
			return -1
		case live.After(a.Req.ID, b.Req.ID):
			return 1
		}
		return 0
	})
	return out
}

// v7Time is a lower bound for the received_at of the request with this id
// (zero time when the id carries none).
func v7Time(id uuid.UUID) time.Time {
	t, ok := schema.IDTime(id)
	if !ok {
		return time.Time{}
	}
	return t.Add(-time.Millisecond)
}
