package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// job is one rendered transition: its event and the channels to tell.
type job struct {
	event    *schema.AlertEvent
	n        *notify.Notification
	channels []Channel
}

// dispatcher is the delivery stage: a fixed set of workers, each with a
// bounded queue; the jobs of one (rule, bin) always go to the same worker so
// an episode's firing and resolved stay in order. A worker records the
// event, then tells each channel through its notifier, retrying with
// backoff, and records notify_failed when it gives up.
type dispatcher struct {
	events EventLog
	opt    *Options
	log    *slog.Logger

	workers []chan job
	wg      sync.WaitGroup
	cancel  context.CancelFunc

	failed, queueDrops atomic.Int64
	// pending counts jobs queued or being delivered, so close can tell an
	// expired deadline with nothing left from one that abandons work.
	pending atomic.Int64
}

func newDispatcher(events EventLog, opt *Options, log *slog.Logger) *dispatcher {
	return &dispatcher{events: events, opt: opt, log: log}
}

// start runs the workers. They outlive the engine's run loop so close can
// let them drain.
func (d *dispatcher) start(ctx context.Context) {
	workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	for range d.opt.NotifyWorkers {
		ch := make(chan job, d.opt.NotifyQueue)
		d.workers = append(d.workers, ch)
		d.wg.Add(1)
		go d.worker(workCtx, ch)
	}
}

// close stops taking jobs and waits for the queued ones until ctx is done;
// then pending retries are abandoned.
func (d *dispatcher) close(ctx context.Context) error {
	for _, ch := range d.workers {
		close(ch)
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		// The caller's deadline may have passed before close was called
		// (an earlier part of shutdown used it): with nothing pending that
		// is not an error.
		n := d.pending.Load()
		d.cancel() // abandon retries; pending jobs are dropped quickly
		<-done
		if n == 0 {
			return nil
		}
		return fmt.Errorf("alerts: close: %d notifications still pending: %w", n, ctx.Err())
	}
}

// enqueue never blocks: a full queue drops the job, counted and logged.
func (d *dispatcher) enqueue(r *Rule, n *notify.Notification, now time.Time) {
	doc, _ := json.Marshal(EventDoc{Notification: n})
	ev := &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: r.ID, BinID: n.BinID, State: n.State, At: now, Doc: doc}
	h := fnv.New32a()
	_, _ = h.Write([]byte(r.ID + "\x00" + n.BinID))
	ch := d.workers[int(h.Sum32())%len(d.workers)]
	d.pending.Add(1)
	select {
	case ch <- job{event: ev, n: n, channels: slices.Clone(r.Channels)}:
	default:
		d.pending.Add(-1)
		d.queueDrops.Add(1)
		d.log.Error("notification queue full, alert event dropped", "rule_id", r.ID, "bin_id", n.BinID, "state", n.State)
	}
}

func (d *dispatcher) worker(ctx context.Context, ch <-chan job) {
	defer d.wg.Done()
	for j := range ch {
		d.appendEvent(ctx, j.event)
		for _, c := range j.channels {
			_ = d.deliver(ctx, c, j.n, j.event.ID, d.opt.RetryAttempts, d.opt.MaxRetryAfter)
		}
		d.pending.Add(-1)
	}
}

func (d *dispatcher) appendEvent(ctx context.Context, ev *schema.AlertEvent) {
	sctx, cancel := context.WithTimeout(ctx, d.opt.StoreTimeout)
	defer cancel()
	if err := d.events.AppendEvent(sctx, ev); err != nil {
		d.log.Error("store alert event", "rule_id", ev.RuleID, "bin_id", ev.BinID, "state", ev.State, "err", err)
		return
	}
	if d.opt.OnEvent != nil {
		d.opt.OnEvent(ev)
	}
}

// deliver sends n to one channel with retries and records a notify_failed
// event when it gives up. It returns the last error, scrubbed of the
// channel's secret (nil on success).
func (d *dispatcher) deliver(ctx context.Context, c Channel, n *notify.Notification, forEvent uuid.UUID, attemptsMax int, maxWait time.Duration) error {
	attempts, err := d.send(ctx, c, n, attemptsMax, maxWait)
	if err == nil {
		return nil
	}
	d.failed.Add(1)
	msg := c.URL.Scrub(err.Error())
	d.log.Warn("notification failed", "rule_id", n.RuleID, "bin_id", n.BinID, "channel", c.Type,
		"url_hint", c.URL.Hint(), "attempts", attempts, "err", msg)
	doc, _ := json.Marshal(EventDoc{Notification: n, Channel: c.Type, URLHint: c.URL.Hint(), Error: msg,
		Attempts: attempts, ForEvent: forEvent.String()})
	d.appendEvent(context.WithoutCancel(ctx), &schema.AlertEvent{ID: uuid.Must(uuid.NewV7()), RuleID: n.RuleID,
		BinID: n.BinID, State: StateNotifyFailed, At: d.opt.Now(), Doc: doc})
	return errors.New(msg)
}

// send tries a channel with exponential backoff on retryable failures,
// waiting at least as long as a Retry-After asks (capped by maxWait).
func (d *dispatcher) send(ctx context.Context, c Channel, n *notify.Notification, attemptsMax int, maxWait time.Duration) (int, error) {
	nt := d.opt.Notifiers[c.Type]
	if nt == nil {
		return 0, fmt.Errorf("no notifier for channel type %q", c.Type)
	}
	backoff := d.opt.RetryInitial
	for attempt := 1; ; attempt++ {
		retry, err := nt.Notify(ctx, c.URL, n)
		if err == nil {
			return attempt, nil
		}
		if !retry || attempt >= attemptsMax {
			return attempt, err
		}
		wait := backoff
		if ra, ok := notify.RetryAfter(err); ok {
			wait = max(wait, ra)
		}
		wait = min(wait, maxWait)
		backoff = min(2*backoff, d.opt.RetryMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// EventDoc is what an event's Doc holds: the notification, plus the channel
// and error for notify_failed events.
type EventDoc struct {
	*notify.Notification
	Channel  string `json:"channel,omitempty"`
	URLHint  string `json:"url_hint,omitempty"`
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	ForEvent string `json:"for_event,omitempty"`
}
