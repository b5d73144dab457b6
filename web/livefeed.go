package web

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/live"
)

const (
	livePingEvery   = 25 * time.Second
	liveWriteWait   = 10 * time.Second
	liveBacklogMax  = 10_000
	liveBacklogPage = 1000
)

var laggedMsg = []byte(`{"type":"lagged"}`)

// liveUpgrade validates the request before the websocket upgrade, so bad
// parameters get a normal 400 and an unknown bin a 404.
func (s *Server) liveUpgrade(c *fiber.Ctx) error {
	b, err := s.loadBin(c)
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
	if !websocket.IsWebSocketUpgrade(c) {
		return errorf(426, "websocket upgrade required")
	}
	c.Locals("filter", f)
	c.Locals("after", after)
	return c.Next()
}

func (s *Server) liveHandler() fiber.Handler {
	return websocket.New(func(conn *websocket.Conn) {
		if release, ok := conn.Locals("live_release").(func()); ok {
			defer release() // the live-feed quota slot (quota.go)
		}
		f := conn.Locals("filter").(schema.Filter)
		after, _ := conn.Locals("after").(*uuid.UUID)
		s.serveLive(conn, f, after)
	})
}

// serveLive subscribes first, then sends what the client missed (the store
// plus the hub's recent events, deduplicated), then follows the hub. A
// client that falls behind gets {"type":"lagged"} and is closed; it resumes
// with after=<last id it saw>.
func (s *Server) serveLive(conn *websocket.Conn, f schema.Filter, after *uuid.UUID) {
	hub := s.deps.Hub
	match := func(r *schema.Request) bool { return query.Match(&f, r) }
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

	write := func(msg []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(liveWriteWait))
		return conn.WriteMessage(websocket.TextMessage, msg)
	}

	sent := make(map[uuid.UUID]struct{})
	if after != nil {
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
				msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
				if sub.Lagged() {
					_ = write(laggedMsg)
					msg = websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "lagged")
				}
				_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
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
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(liveWriteWait)); err != nil {
				return
			}
		case <-closed:
			return
		}
	}
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
				byID[r.ID] = &live.Event{Req: r, Msg: EncodeLive(r)}
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
