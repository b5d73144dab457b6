package main

import (
	"log/slog"

	"github.com/hookscope/hookscope/bins"
	"github.com/nats-io/nats.go"
)

// binChangedSubject carries the id of a bin changed on some instance
// (cluster mode). Core NATS, at most once: a lost message leaves the other
// instances on their bin cache's TTL, as without the broadcast.
const binChangedSubject = "hookscope.bins.changed"

// binBroadcast is the bins service's Invalidator in cluster mode: it drops
// the local cached bin and tells every other instance.
type binBroadcast struct {
	local bins.Invalidator
	nc    *nats.Conn
	log   *slog.Logger
}

func (b binBroadcast) InvalidateBin(id string) {
	b.local.InvalidateBin(id)
	if err := b.nc.Publish(binChangedSubject, []byte(id)); err != nil {
		b.log.Warn("broadcast bin change", "bin_id", id, "err", err)
	}
}

// subscribeBinChanges applies other instances' bin changes to the local
// cache and svc's watchers (its own come back too: a second invalidation,
// harmless). It never publishes: no echo loop.
func subscribeBinChanges(nc *nats.Conn, local bins.Invalidator, svc *bins.Service, log *slog.Logger) (*nats.Subscription, error) {
	return nc.Subscribe(binChangedSubject, func(m *nats.Msg) {
		id := string(m.Data)
		if !bins.ValidID(id) {
			log.Warn("ignore a bin change with an invalid id", "len", len(m.Data))
			return
		}
		local.InvalidateBin(id)
		svc.Changed(id)
	})
}
