package main

import (
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/live"
)

// alertEventSubject carries every alert event recorded on some instance
// (cluster mode), so that the live feeds of every instance show it: the
// alert engine runs on one instance, viewers are on all. Core NATS, at most
// once: a lost message costs one push, and the inspector re-reads the
// events API whenever its feed reconnects.
const alertEventSubject = "hookscope.alerts.events"

// maxAlertEventBytes bounds what a subscriber decodes (an event's document
// is a rendered notification: a few KB).
const maxAlertEventBytes = 256 << 10

// alertEventSink is the alert engine's OnEvent: straight to the local hub
// on a single instance; to NATS in cluster mode, whose subscription
// (subscribeAlertEvents, on every instance including this one) hands it to
// each hub once.
func alertEventSink(nc *nats.Conn, hub *live.Hub, log *slog.Logger) func(*schema.AlertEvent) {
	if nc == nil {
		return hub.PublishAlert
	}
	return func(ev *schema.AlertEvent) {
		b, err := json.Marshal(ev)
		if err != nil {
			log.Warn("encode alert event for the live feeds", "event_id", ev.ID, "err", err)
			return
		}
		// Publish buffers and returns: it does not wait for the server.
		if err := nc.Publish(alertEventSubject, b); err != nil {
			log.Warn("broadcast alert event", "event_id", ev.ID, "bin_id", ev.BinID, "err", err)
		}
	}
}

// subscribeAlertEvents hands the alert events recorded on any instance to
// this instance's live hub. A message is untrusted input: bounded, decoded
// once, and dropped unless it names a valid bin.
func subscribeAlertEvents(nc *nats.Conn, hub *live.Hub, log *slog.Logger) (*nats.Subscription, error) {
	return nc.Subscribe(alertEventSubject, func(m *nats.Msg) {
		if len(m.Data) > maxAlertEventBytes {
			log.Warn("ignore an oversized alert event", "len", len(m.Data))
			return
		}
		var ev schema.AlertEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil || !bins.ValidID(ev.BinID) {
			log.Warn("ignore an invalid alert event", "len", len(m.Data), "err", err)
			return
		}
		hub.PublishAlert(&ev)
	})
}
