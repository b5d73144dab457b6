// Package live fans captured requests out to live-feed subscribers. Capture
// hands a request over with a non-blocking send; one hub goroutine encodes it
// once and offers it to each matching subscriber's bounded buffer. A
// subscriber whose buffer is full is marked lagged and cut off, so a slow or
// stuck client never slows capture or other clients.
package live

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookscope/hookscope/schema"
)

// Event is one captured request as subscribers receive it. Req carries at
// most schema.PreviewBytes of body; Msg is the encoded websocket message,
// always set on every event a subscriber receives (the hub encodes lazily,
// only for bins someone watches).
type Event struct {
	Req *schema.Request
	Msg []byte
	// Seq numbers the events in the order the hub fanned them out (from 1);
	// compare with Mark.
	Seq uint64
	// A record published with PublishRecord while nobody watched its bin
	// waits in the ring undecoded (raw, Req nil) until a subscriber of bin
	// wants it: most captured requests are watched by nobody. Decoding
	// clears raw, so Req and raw both nil means it did not decode. Guarded
	// by Hub.mu until the event is handed to a subscriber.
	bin string
	raw []byte
}

// rawMax is the largest record the ring keeps undecoded: a decoded event
// keeps schema.PreviewBytes of body, a raw one all of it, so larger
// records are decoded and trimmed at once to keep the ring's memory bound.
const rawMax = 4 << 10

// inItem is what waits in the hub's inbox: a decoded request (Publish) or
// a log record (PublishRecord).
type inItem struct {
	req  *schema.Request
	bin  string
	data []byte
}

// Options configure a Hub. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Encode builds the websocket message of a request. Required.
	Encode func(r *schema.Request) []byte
	// InboxLen bounds requests waiting for the hub goroutine (default 16384).
	InboxLen int
	// RingLen is how many recent events the hub keeps so that a reconnecting
	// client also gets what was captured but not yet stored (default 8192).
	RingLen int
	// BufferLen is each subscriber's buffer (default 1024).
	BufferLen int
	// Decode turns a record given to PublishRecord into a request; the
	// request may keep the record's bytes (the hub owns them). Required
	// for PublishRecord.
	Decode func(data []byte) (*schema.Request, error)
	// EncodeAlert builds the websocket message of an alert event (nil:
	// alert events are not fanned out).
	EncodeAlert func(ev *schema.AlertEvent) []byte
	// AlertBufferLen is each subscriber's buffer of alert messages
	// (default 64). Alerts are rare: a full buffer drops the message,
	// counted; the inspector re-reads the events when it reconnects.
	AlertBufferLen int
}

// Hub is the live feed's fan-out. Create with New; stop with Close.
type Hub struct {
	opts Options
	log  *slog.Logger
	in   chan inItem
	done chan struct{}

	mu   sync.Mutex
	subs map[string]map[*Sub]struct{}
	ring []*Event
	next int    // ring write position
	seq  uint64 // Seq of the last event fanned out

	closeOnce sync.Once

	subscribers prometheus.Gauge
	dropped     prometheus.Counter // publishes dropped because the inbox was full
	lagged      prometheus.Counter // subscribers cut off for falling behind
	published   prometheus.Counter
	alerts      prometheus.Counter // alert events fanned out
	alertDrops  prometheus.Counter // alert messages dropped on a full subscriber buffer
	undecodable prometheus.Counter // records given to PublishRecord that did not decode
}

// Sub is one subscriber. C is closed when the subscriber lagged (Lagged
// reports true) or the hub closed. Alerts carries the encoded alert events
// of the subscriber's bin (whatever its request filter); it is never
// closed.
type Sub struct {
	C      chan *Event
	Alerts chan []byte
	bin    string
	match  func(*schema.Request) bool
	lagged atomic.Bool
	closed bool // guarded by Hub.mu
	// seq is the hub's Seq when the subscriber registered, ringLen the
	// ring's size (for Since).
	seq, ringLen uint64
}

// Lagged reports whether the hub cut the subscriber off for falling behind.
func (s *Sub) Lagged() bool { return s.lagged.Load() }

// New starts a hub.
func New(opts Options) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InboxLen <= 0 {
		opts.InboxLen = 16384
	}
	if opts.RingLen <= 0 {
		opts.RingLen = 8192
	}
	if opts.BufferLen <= 0 {
		opts.BufferLen = 1024
	}
	if opts.AlertBufferLen <= 0 {
		opts.AlertBufferLen = 64
	}
	h := &Hub{
		opts: opts,
		log:  opts.Logger.With("component", "live"),
		in:   make(chan inItem, opts.InboxLen),
		done: make(chan struct{}),
		subs: make(map[string]map[*Sub]struct{}),
		ring: make([]*Event, opts.RingLen),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookscope_live_subscribers", Help: "Open live-feed subscriptions."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_dropped_total", Help: "Captured requests the live feed dropped because its inbox was full."}),
		lagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_lagged_total", Help: "Live-feed subscribers disconnected for falling behind."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_published_total", Help: "Captured requests fanned out by the live feed."}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_alerts_published_total", Help: "Alert events fanned out by the live feed."}),
		alertDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_alerts_dropped_total", Help: "Alert messages the live feed dropped because a subscriber's alert buffer was full."}),
		undecodable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookscope_live_undecodable_total", Help: "Capture log records the live feed skipped because they did not decode."}),
	}
	go h.run()
	return h
}

// Collectors returns the hub's metrics for registration.
func (h *Hub) Collectors() []prometheus.Collector {
	return []prometheus.Collector{h.subscribers, h.dropped, h.lagged, h.published, h.alerts, h.alertDrops, h.undecodable}
}

// Publish offers r to the live feed without blocking; when the hub is
// behind, r is dropped from the live feed (it is still stored) and counted.
func (h *Hub) Publish(r *schema.Request) {
	h.offer(inItem{req: r, bin: r.BinID})
}

// PublishRecord is Publish for a capture log record of bin (the bytes
// Options.Decode reads), handed over: the hub owns data. The record is
// decoded only when someone watches bin, now or when they subscribe while
// it is still in the ring.
func (h *Hub) PublishRecord(bin string, data []byte) {
	h.offer(inItem{bin: bin, data: data})
}

func (h *Hub) offer(it inItem) {
	select {
	case h.in <- it:
	default:
		h.dropped.Inc()
	}
}

// resolve decodes a raw event in place (under h.mu); false if it does not
// decode.
func (h *Hub) resolve(ev *Event) bool {
	if ev.Req != nil || ev.raw == nil {
		return ev.Req != nil
	}
	r, err := h.opts.Decode(ev.raw)
	ev.raw = nil
	if err != nil {
		h.undecodable.Inc()
		h.log.Error("skip undecodable log record in the live feed", "bin", ev.bin, "err", err)
		return false
	}
	ev.Req = lite(r)
	return true
}

// lite is r with at most schema.PreviewBytes of body, in its own memory:
// events live in the ring and subscriber buffers, and a 10 MB body must
// not be pinned there.
func lite(r *schema.Request) *schema.Request {
	l := *r
	if len(l.Body) > schema.PreviewBytes {
		l.Body = append([]byte(nil), l.Body[:schema.PreviewBytes]...)
	}
	return &l
}

// Subscribe registers a subscriber for bin whose events satisfy match (nil:
// all). It returns the subscriber and, atomically with registering it, the
// recent events of that bin that match, oldest first: every later event
// arrives on Sub.C.
func (h *Hub) Subscribe(bin string, match func(*schema.Request) bool) (*Sub, []*Event) {
	s := &Sub{C: make(chan *Event, h.opts.BufferLen), Alerts: make(chan []byte, h.opts.AlertBufferLen), bin: bin, match: match}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.seq, s.ringLen = h.seq, uint64(len(h.ring))
	m := h.subs[bin]
	if m == nil {
		m = make(map[*Sub]struct{})
		h.subs[bin] = m
	}
	m[s] = struct{}{}
	h.subscribers.Inc()
	var recent []*Event
	n := len(h.ring)
	for i := range n {
		ev := h.ring[(h.next+i)%n]
		if ev == nil || ev.bin != bin || !h.resolve(ev) {
			continue
		}
		if match == nil || match(ev.Req) {
			if ev.Msg == nil { // captured while nobody watched the bin
				ev.Msg = h.opts.Encode(ev.Req)
			}
			recent = append(recent, ev)
		}
	}
	return s, recent
}

// Mark returns the Seq of the last event fanned out so far. A websocket
// handler subscribes some time after its handshake answered; the feed takes
// a mark before answering, and Since gives it, from the recent events its
// Subscribe returned, what the hub fanned out in between, so that a capture
// answered after the client saw its feed open always reaches it.
func (h *Hub) Mark() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// Since returns the events of recent (what Subscribe returned with s) that
// the hub fanned out after mark, oldest first. complete is false when the
// ring was overwritten since mark, so that some of them may be missing
// (the feed then tells the client it lagged).
func (s *Sub) Since(recent []*Event, mark uint64) (evs []*Event, complete bool) {
	for _, ev := range recent {
		if ev.Seq > mark {
			evs = append(evs, ev)
		}
	}
	return evs, s.seq-mark <= s.ringLen
}

// Unsubscribe removes s; safe to call more than once.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.subs[s.bin]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			h.subscribers.Dec()
			if len(m) == 0 {
				delete(h.subs, s.bin)
			}
		}
	}
	if !s.closed {
		s.closed = true
		close(s.C)
	}
}

// Close stops the hub and closes every subscriber's channel.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		close(h.in)
		<-h.done
		h.mu.Lock()
		defer h.mu.Unlock()
		for bin, m := range h.subs {
			for s := range m {
				if !s.closed {
					s.closed = true
					close(s.C)
				}
				h.subscribers.Dec()
			}
			delete(h.subs, bin)
		}
	})
}

func (h *Hub) run() {
	defer close(h.done)
	for it := range h.in {
		h.fanOut(it)
	}
}

func (h *Hub) fanOut(it inItem) {
	h.published.Inc()
	// Decode and encode only when the bin has a subscriber: most captured
	// requests are watched by nobody, and the message is the most
	// expensive step here. An event that goes into the ring raw or
	// unencoded is completed by Subscribe before anyone sees it; Req, Msg
	// and raw are only ever written under h.mu once in the ring.
	h.mu.Lock()
	watched := len(h.subs[it.bin]) > 0
	h.mu.Unlock()
	ev := &Event{bin: it.bin, raw: it.data}
	if r := it.req; r != nil {
		ev.Req, ev.raw = lite(r), nil
	} else if watched || len(it.data) > rawMax {
		if !h.resolve(ev) {
			return
		}
	}
	if watched {
		ev.Msg = h.opts.Encode(ev.Req)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev.Seq = h.seq
	h.ring[h.next] = ev
	h.next = (h.next + 1) % len(h.ring)
	for s := range h.subs[it.bin] {
		if !h.resolve(ev) { // a subscriber arrived while it waited raw
			break
		}
		if s.closed || (s.match != nil && !s.match(ev.Req)) {
			continue
		}
		if ev.Msg == nil { // a subscriber arrived while we encoded nothing
			ev.Msg = h.opts.Encode(ev.Req)
		}
		select {
		case s.C <- ev:
		default:
			// Too far behind: cut it off; the client resumes with after=.
			s.lagged.Store(true)
			s.closed = true
			close(s.C)
			delete(h.subs[it.bin], s)
			h.subscribers.Dec()
			h.lagged.Inc()
		}
	}
}

// PublishAlert offers an alert event to the live subscribers of its bin,
// and only to them, without blocking: alert events are rare, so the fan-out
// happens here rather than through the request inbox. Request filters do
// not apply: a viewer of the bin sees its alerts. An event without a bin
// (a test of a rule for every bin) reaches nobody.
func (h *Hub) PublishAlert(ev *schema.AlertEvent) {
	if h.opts.EncodeAlert == nil || ev == nil || ev.BinID == "" {
		return
	}
	h.mu.Lock()
	watched := len(h.subs[ev.BinID]) > 0
	h.mu.Unlock()
	if !watched {
		return
	}
	msg := h.opts.EncodeAlert(ev)
	if msg == nil {
		return
	}
	h.alerts.Inc()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[ev.BinID] {
		if s.closed {
			continue
		}
		select {
		case s.Alerts <- msg:
		default:
			h.alertDrops.Inc()
		}
	}
}

// After reports whether id a sorts after b (UUIDv7: later capture).
func After(a, b uuid.UUID) bool { return string(a[:]) > string(b[:]) }
