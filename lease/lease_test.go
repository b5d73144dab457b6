package lease_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
	"github.com/hookscope/hookscope/lease"
)

const (
	testTTL = 3 * time.Second
	key     = "leader"
)

// bucket creates the lease bucket on the cluster (3 replicas, TTL testTTL).
func bucket(t *testing.T, c *natstest.Cluster) {
	t.Helper()
	kv(t, c.URLs())
}

// kv opens the bucket over a connection of its own to urls.
func kv(t *testing.T, urls string, opts ...nats.Option) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	b, err := lease.CreateBucket(ctx, js, jetstream.KeyValueConfig{Bucket: "lease_test", TTL: testTTL, Replicas: 3, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// terms watches the leaders' functions: it fails the test the moment two
// run at once.
type terms struct {
	t      *testing.T
	active atomic.Int32
	mu     sync.Mutex
	log    []string
}

func (tr *terms) lead(name string) func(context.Context) {
	return func(ctx context.Context) {
		if n := tr.active.Add(1); n > 1 {
			tr.t.Errorf("%s started leading while %d other term(s) ran", name, n-1)
		}
		tr.mu.Lock()
		tr.log = append(tr.log, name)
		tr.mu.Unlock()
		<-ctx.Done()
		tr.active.Add(-1)
	}
}

func (tr *terms) leaders() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.log...)
}

type contender struct {
	*lease.Lease
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, b lease.KV, holder string, tr *terms) *contender {
	t.Helper()
	l := lease.New(b, key, lease.Options{TTL: testTTL, Holder: holder})
	ctx, cancel := context.WithCancel(context.Background())
	c := &contender{Lease: l, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(c.done); _ = l.Run(ctx, tr.lead(holder)) }()
	t.Cleanup(c.stop)
	return c
}

func (c *contender) stop() { c.cancel(); <-c.done }

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leading(cs []*contender) []*contender {
	var out []*contender
	for _, c := range cs {
		if c.Leader() {
			out = append(out, c)
		}
	}
	return out
}

// TestOneLeaderAtATime: three contenders on a 3-node JetStream cluster,
// each over its own connection. Exactly one leads; when it stops, it
// releases the key (it no longer names the stopped holder) and another
// takes over; no two terms ever overlap.
func TestOneLeaderAtATime(t *testing.T) {
	c := natstest.Start(t, 3)
	b := kv(t, c.URLs())
	tr := &terms{t: t}
	var cs []*contender
	for i, nd := range c.Nodes {
		cs = append(cs, start(t, kv(t, nd.URL), []string{"a", "b", "c"}[i], tr))
	}
	for round := range 2 {
		waitFor(t, "a leader", 10*time.Second, func() bool { return len(leading(cs)) == 1 })
		// It stays the only one across several renewals.
		end := time.Now().Add(testTTL)
		for time.Now().Before(end) {
			if n := len(leading(cs)); n != 1 {
				t.Fatalf("round %d: %d leaders", round, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		first := leading(cs)[0]
		first.stop()
		// Released, not left to expire: soon after Run returned, the key
		// no longer names the stopped holder. "Soon" is under half the
		// TTL: the last renewal was at most TTL/3 before the stop, so the
		// key could not have expired yet; it is polled because b reads
		// with a direct get, which a replica that has not applied the
		// delete yet may answer (CI saw that once).
		deadline := time.Now().Add(testTTL / 2)
		for {
			e, err := b.Get(t.Context(), key)
			if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatal(err)
			}
			if err != nil || string(e.Value()) != first.Holder() {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("round %d: the key still names %s %v after it stopped", round, first.Holder(), testTTL/2)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		rest := []*contender{}
		for _, x := range cs {
			if x != first {
				rest = append(rest, x)
			}
		}
		cs = rest
		waitFor(t, "the next leader", 10*time.Second, func() bool { return len(leading(cs)) == 1 })
	}
	if got := tr.leaders(); len(got) != 3 {
		t.Errorf("terms %v, want 3 leaders one after the other", got)
	}
}

// TestLeaderCutOffStepsDown: the leader reaches NATS through a TCP proxy
// that is then cut (its connection drops and cannot come back). It must end
// its term before the key can expire; the other contender takes over after
// the TTL. The overlap check in terms fails the test if both ever lead.
func TestLeaderCutOffStepsDown(t *testing.T) {
	c := natstest.Start(t, 3)
	bucket(t, c)
	p := newProxy(t, c.Nodes[0].URL[len("nats://"):])
	tr := &terms{t: t}
	a := start(t, kv(t, "nats://"+p.addr(), nats.IgnoreDiscoveredServers(), nats.ReconnectWait(100*time.Millisecond), nats.MaxReconnects(-1)), "a", tr)
	waitFor(t, "a leading", 10*time.Second, a.Leader)
	b := start(t, kv(t, c.Nodes[1].URL), "b", tr)
	time.Sleep(testTTL) // b contends for a while, in vain
	if b.Leader() {
		t.Fatal("b leads while a renews")
	}
	cut := time.Now()
	p.cut()
	// The bound is loose (a loaded machine); what must hold is that a's
	// term ended before b's began, which terms checks.
	waitFor(t, "a to step down", 3*testTTL, func() bool { return !a.Leader() })
	steppedDown := time.Since(cut)
	waitFor(t, "b to take over", 3*testTTL, b.Leader)
	t.Logf("a stepped down %s after the cut, b leads after %s", steppedDown.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
	if a.Leader() {
		t.Fatal("a leads again while cut off")
	}
}

// TestTakenOverStepsDown: when the key is rewritten by someone else (an
// operator deleting it, a partition healing), the leader's next renewal
// fails on the revision and it ends its term at once.
func TestTakenOverStepsDown(t *testing.T) {
	c := natstest.Start(t, 3)
	b := kv(t, c.URLs())
	tr := &terms{t: t}
	a := start(t, b, "a", tr)
	waitFor(t, "a leading", 10*time.Second, a.Leader)
	ctx := t.Context()
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, key, []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to step down", 3*testTTL, func() bool { return !a.Leader() })
	e, err := b.Get(ctx, key)
	if err != nil || string(e.Value()) != "intruder" {
		t.Fatalf("key after the takeover: %v %v", e, err)
	}
}

// TestReclaimOwnKey: a key that already holds this holder's id (a Create
// whose answer was lost) is taken over at once: the bucket's TTL here is a
// minute, so leading within the test's deadline cannot come from expiry.
// Another contender does not get it.
func TestReclaimOwnKey(t *testing.T) {
	c := natstest.Start(t, 3)
	const ttl = time.Minute
	b, err := lease.CreateBucket(t.Context(), c.JetStream(), jetstream.KeyValueConfig{Bucket: "lease_reclaim", TTL: ttl, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(t.Context(), key, []byte("a")); err != nil {
		t.Fatal(err)
	}
	tr := &terms{t: t}
	start := func(holder string) *contender {
		l := lease.New(b, key, lease.Options{TTL: ttl, Retry: 100 * time.Millisecond, Holder: holder})
		ctx, cancel := context.WithCancel(context.Background())
		ct := &contender{Lease: l, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(ct.done); _ = l.Run(ctx, tr.lead(holder)) }()
		t.Cleanup(ct.stop)
		return ct
	}
	other := start("b")
	a := start("a")
	waitFor(t, "a leading", ttl/2, a.Leader)
	if other.Leader() {
		t.Fatal("b leads too")
	}
}

// proxy forwards TCP connections to one NATS node until cut.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// cut drops every connection and refuses new ones.
func (p *proxy) cut() {
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
