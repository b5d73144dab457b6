package ingest

import (
	"context"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
)

// ObserveAlerts reads the alerts consumer of l into obs until ctx ends or
// the consumers close. Cluster mode calls it for each term of the alert
// lease instead of passing the engine to StartConsumers: only the leader
// holds the shared alerts consumer, so the one evaluator sees every
// capture, from the position the previous leader committed. A consumer
// that cannot be opened (NATS unreachable) is retried until ctx ends.
func (c *Consumers) ObserveAlerts(ctx context.Context, l caplog.Log, obs Observer) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.run, cancel)()
	pause := c.opts.RetryInterval
	for ctx.Err() == nil {
		ac, err := l.Consumer(ctx, AlertsConsumer, caplog.ConsumerOptions{Start: caplog.FromLatest()})
		if err != nil {
			if ctx.Err() == nil {
				c.lg.Warn("open alerts consumer", "err", err)
			}
			sleepUnless(pause, ctx.Done())
			pause = min(2*pause, 5*time.Second)
			continue
		}
		c.runObserver(ctx, ac, obs)
		_ = ac.Close()
	}
}
