package caplogtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

// Records come back in append order with increasing positions, whether
// appended one per call or several per call.
func testAppendReadOrder(t *testing.T, h Harness) {
	l := h.New(t)(t)
	es := entries(t, 50)
	appendAll(t, l, es[:20])
	if err := l.Append(ctxT(t), es[20:]...); err != nil {
		t.Fatalf("append batch: %v", err)
	}
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, len(es), 7)
	sameEntries(t, recs, es)
	expectNothing(t, c)
}

// Append does not keep the caller's buffer.
func testAppendCopiesData(t *testing.T, h Harness) {
	l := h.New(t)(t)
	buf := []byte("original")
	e := entry(t, "bin", 0)
	e.Data = buf
	if err := l.Append(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, 1, 10)
	if string(recs[0].Data) != "original" {
		t.Fatalf("data = %q after the caller reused its buffer", recs[0].Data)
	}
}

func testInvalid(t *testing.T, h Harness) {
	l := h.New(t)(t)
	good := entry(t, "bin", 0)
	for _, key := range []string{"", "a.b", "a b", "a*", "a>", string(make([]byte, caplog.MaxKeyLen+1))} {
		e := good
		e.Key = key
		if err := l.Append(ctxT(t), good, e); !errors.Is(err, caplog.ErrInvalid) {
			t.Errorf("append with key %q: %v, want ErrInvalid", key, err)
		}
	}
	// A rejected call writes nothing, not even its valid entries.
	if err := l.Append(ctxT(t), good); err != nil {
		t.Fatal(err)
	}
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, 1, 100)
	if recs[0].ID != good.ID {
		t.Fatalf("first record %s, want %s", recs[0].ID, good.ID)
	}
	expectNothing(t, c)
	if _, err := c.Fetch(ctxT(t), 0); !errors.Is(err, caplog.ErrInvalid) {
		t.Errorf("fetch(0): %v, want ErrInvalid", err)
	}
	if _, err := l.Consumer(ctxT(t), "bad name", caplog.ConsumerOptions{}); !errors.Is(err, caplog.ErrInvalid) {
		t.Errorf("consumer named %q: %v, want ErrInvalid", "bad name", err)
	}
}

// A committed position survives closing and reopening the log.
func testPositionsSurviveReopen(t *testing.T, h Harness) {
	open := h.New(t)
	l := open(t)
	es := entries(t, 30)
	appendAll(t, l, es)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, batches := fetchN(t, c, 10, 10)
	for _, b := range batches {
		b.DropData() // what a consumer that commits later does: Commit must not need Data
	}
	commit(t, c, batches...)
	pos, err := c.Position(ctxT(t))
	if err != nil || pos != recs[9].Position {
		t.Fatalf("position = %d, %v; want %d", pos, err, recs[9].Position)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = open(t)
	c = consumer(t, l, "writer", caplog.ConsumerOptions{Start: caplog.FromLatest()})
	if pos2, err := c.Position(ctxT(t)); err != nil || pos2 != pos {
		t.Fatalf("position after reopen = %d, %v; want %d", pos2, err, pos)
	}
	rest, batches := fetchN(t, c, 20, 100)
	sameEntries(t, rest, es[10:])
	commit(t, c, batches...)
	expectNothing(t, c)
	// New appends after the reopen continue after the old positions.
	more := entries(t, 3)
	appendAll(t, l, more)
	recs, _ = fetchN(t, c, 3, 100)
	sameEntries(t, recs, more)
	if recs[0].Position <= rest[len(rest)-1].Position {
		t.Fatalf("position %d after reopen not past %d", recs[0].Position, rest[len(rest)-1].Position)
	}
}

// A fetched, uncommitted batch is delivered again after a reopen.
func testUncommittedRedelivered(t *testing.T, h Harness) {
	open := h.New(t)
	l := open(t)
	es := entries(t, 10)
	appendAll(t, l, es)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	_, batches := fetchN(t, c, 4, 4)
	commit(t, c, batches...)
	fetchN(t, c, 6, 6) // delivered, never committed
	_ = c.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t)
	c = consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, 6, 100)
	sameEntries(t, recs, es[4:])
}

// Each consumer name has its own position.
func testConsumersIndependent(t *testing.T, h Harness) {
	l := h.New(t)(t)
	es := entries(t, 20)
	appendAll(t, l, es)
	a := consumer(t, l, "store", caplog.ConsumerOptions{})
	b := consumer(t, l, "alerts", caplog.ConsumerOptions{})
	ra, ba := fetchN(t, a, 20, 100)
	commit(t, a, ba...)
	expectNothing(t, a)
	rb, _ := fetchN(t, b, 20, 5)
	sameEntries(t, ra, es)
	sameEntries(t, rb, es)
	pb, err := b.Position(ctxT(t))
	if err != nil || pb != 0 {
		t.Fatalf("uncommitted consumer position = %d, %v; want 0", pb, err)
	}
}

// Two handles of one consumer name split the records between them.
func testSharedConsumer(t *testing.T, h Harness) {
	l := h.New(t)(t)
	es := entries(t, 200)
	appendAll(t, l, es)
	h1 := consumer(t, l, "writer", caplog.ConsumerOptions{})
	h2 := consumer(t, l, "writer", caplog.ConsumerOptions{})
	seen := map[uuid.UUID]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	errs := make(chan error, 2)
	for _, c := range []caplog.Consumer{h1, h2} {
		wg.Go(func() {
			for {
				b, err := c.Fetch(ctx, 16)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				mu.Lock()
				for _, r := range b.Records {
					seen[r.ID]++
				}
				done := len(seen) == len(es)
				mu.Unlock()
				// Commit on the test's context, not the fetch one: the
				// other handle may cancel that as soon as it sees the
				// last record, while this batch still needs its commit
				// (the position is checked below).
				if err := c.Commit(ctxT(t), b); err != nil {
					errs <- err
					return
				}
				if done {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, e := range es {
		if seen[e.ID] != 1 {
			t.Fatalf("record %s delivered %d times to the shared consumer", e.ID, seen[e.ID])
		}
	}
	if len(seen) != len(es) {
		t.Fatalf("%d distinct records, want %d", len(seen), len(es))
	}
	p, err := h1.Position(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := lastPos(t, l); p != want {
		t.Fatalf("shared position = %d, want %d", p, want)
	}
}

// lastPos reads the position of the newest record through a fresh reader.
func lastPos(t *testing.T, l caplog.Log) caplog.Position {
	t.Helper()
	r, err := l.Reader(ctxT(t), caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var last caplog.Position
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		recs, err := r.Next(ctx, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return last
		}
		if err != nil {
			t.Fatal(err)
		}
		last = recs[len(recs)-1].Position
	}
}

// Committing a later batch before an earlier one does not move the
// persisted position past the uncommitted one.
func testOutOfOrderCommit(t *testing.T, h Harness) {
	open := h.New(t)
	l := open(t)
	es := entries(t, 9)
	appendAll(t, l, es)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	_, bs := fetchN(t, c, 3, 3)
	recs2, bs2 := fetchN(t, c, 3, 3)
	_, bs3 := fetchN(t, c, 3, 3)
	commit(t, c, bs3...)
	commit(t, c, bs...)
	// The first batch's records are committed, the second's are not.
	if p, err := c.Position(ctxT(t)); err != nil || p >= recs2[0].Position {
		t.Fatalf("position = %d, %v; want below %d (batch 2 uncommitted)", p, err, recs2[0].Position)
	}
	_ = c.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t)
	c = consumer(t, l, "writer", caplog.ConsumerOptions{})
	// The second batch comes again. The third may (at-least-once) but
	// nothing of the first may.
	b, err := c.Fetch(ctxT(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Records {
		if slices.IndexFunc(es[:3], func(e caplog.Entry) bool { return e.ID == r.ID }) >= 0 {
			t.Fatalf("committed record %s delivered again", r.ID)
		}
	}
	got := map[uuid.UUID]bool{}
	for _, r := range b.Records {
		got[r.ID] = true
	}
	for _, e := range es[3:6] {
		if !got[e.ID] {
			_, more := fetchN(t, c, 1, 100) // a log may hand it out in a second batch
			for _, r := range more[0].Records {
				got[r.ID] = true
			}
		}
	}
	for _, e := range es[3:6] {
		if !got[e.ID] {
			t.Fatalf("uncommitted record %s not redelivered", e.ID)
		}
	}
	// A stale batch from before the reopen: an error or a no-op, never a
	// panic, and it must not move the position past the redelivered records.
	for _, b := range bs2 {
		_ = c.Commit(ctxT(t), b)
	}
	if p, err := c.Position(ctxT(t)); err != nil || p >= recs2[0].Position {
		t.Fatalf("position = %d, %v after a stale commit; want below %d", p, err, recs2[0].Position)
	}
}

// A new consumer with StartLatest sees only what is appended later; the
// start applies only to a name without a persisted position.
func testConsumerStartLatest(t *testing.T, h Harness) {
	l := h.New(t)(t)
	appendAll(t, l, entries(t, 5))
	c := consumer(t, l, "alerts", caplog.ConsumerOptions{Start: caplog.FromLatest()})
	expectNothing(t, c)
	later := entries(t, 4)
	appendAll(t, l, later)
	recs, _ := fetchN(t, c, 4, 100)
	sameEntries(t, recs, later)
}

// New consumers can start after a position or at a time.
func testConsumerStartAfterSince(t *testing.T, h Harness) {
	l := h.New(t)(t)
	first := entries(t, 6)
	appendAll(t, l, first)
	c := consumer(t, l, "all", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, 6, 100)

	after := consumer(t, l, "after", caplog.ConsumerOptions{Start: caplog.After(recs[3].Position)})
	got, _ := fetchN(t, after, 2, 100)
	sameEntries(t, got, first[4:])

	cut := recs[5].Time.Add(time.Millisecond)
	waitPast(cut)
	second := entries(t, 3)
	appendAll(t, l, second)
	since := consumer(t, l, "since", caplog.ConsumerOptions{Start: caplog.Since(cut)})
	got, _ = fetchN(t, since, 3, 100)
	sameEntries(t, got, second)
	expectNothing(t, since)
}

// Many appenders at once: every entry is stored exactly once, and each
// appender's entries keep their order.
func testConcurrentAppenders(t *testing.T, h Harness) {
	l := h.New(t)(t)
	const per = 150
	n := h.Appenders
	all := make([][]caplog.Entry, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		all[g] = make([]caplog.Entry, per)
		for i := range per {
			all[g][i] = entry(t, fmt.Sprintf("bin-%d", g), i)
		}
		wg.Go(func() {
			for i := 0; i < per; i++ {
				k := 1 + i%3 // mix single and multi-entry appends
				if i+k > per {
					k = per - i
				}
				if err := l.Append(ctxT(t), all[g][i:i+k]...); err != nil {
					errs <- err
					return
				}
				i += k - 1
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	recs, _ := fetchN(t, c, n*per, 1000)
	expectNothing(t, c)
	index := map[uuid.UUID][2]int{}
	for g := range all {
		for i, e := range all[g] {
			index[e.ID] = [2]int{g, i}
		}
	}
	next := make([]int, n)
	seen := map[uuid.UUID]bool{}
	var last caplog.Position
	for _, r := range recs {
		if r.Position <= last {
			t.Fatalf("positions not increasing: %d after %d", r.Position, last)
		}
		last = r.Position
		gi, ok := index[r.ID]
		if !ok || seen[r.ID] {
			t.Fatalf("record %s unknown or seen twice", r.ID)
		}
		seen[r.ID] = true
		if gi[1] != next[gi[0]] {
			t.Fatalf("appender %d: record %d arrived when %d was expected", gi[0], gi[1], next[gi[0]])
		}
		next[gi[0]]++
		if string(r.Data) != string(all[gi[0]][gi[1]].Data) {
			t.Fatalf("record %s data mismatch", r.ID)
		}
	}
}

// Appending one ID twice: the log may keep one copy or two (see the package
// doc), never zero and never more.
func testDuplicates(t *testing.T, h Harness) {
	l := h.New(t)(t)
	e := entry(t, "bin", 0)
	appendAll(t, l, []caplog.Entry{e, e})
	other := entry(t, "bin", 1)
	appendAll(t, l, []caplog.Entry{other})
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	count := map[uuid.UUID]int{}
	ctx := ctxT(t)
	for count[other.ID] == 0 {
		b, err := c.Fetch(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			count[r.ID]++
		}
	}
	if n := count[e.ID]; n < 1 || n > 2 {
		t.Fatalf("an ID appended twice was delivered %d times", n)
	}
}

// Fetch waits for data: a fetch that starts on an empty log returns the
// record appended while it waits.
func testFetchBlocks(t *testing.T, h Harness) {
	l := h.New(t)(t)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	got := make(chan caplog.Batch, 1)
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		b, err := c.Fetch(ctxT(t), 10)
		if err != nil {
			errc <- err
			return
		}
		got <- b
	}()
	<-started
	e := entry(t, "bin", 0)
	appendAll(t, l, []caplog.Entry{e})
	select {
	case b := <-got:
		sameEntries(t, b.Records, []caplog.Entry{e})
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(Wait):
		t.Fatal("fetch still blocked after an append")
	}
}

// Fetch and Next return the context's error when it ends first.
func testFetchContext(t *testing.T, h Harness) {
	l := h.New(t)(t)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, 10)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("fetch: %v, want context.Canceled", err)
		}
	case <-time.After(Wait):
		t.Fatal("fetch ignored its cancelled context")
	}
	r, err := l.Reader(ctxT(t), caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dctx, dcancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer dcancel()
	if _, err := r.Next(dctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next on an empty log: %v, want context.DeadlineExceeded", err)
	}
}

func readN(t *testing.T, r caplog.Reader, n int) []caplog.Record {
	t.Helper()
	var recs []caplog.Record
	for len(recs) < n {
		b, err := r.Next(ctxT(t), n-len(recs))
		if err != nil {
			t.Fatalf("next after %d of %d: %v", len(recs), n, err)
		}
		recs = append(recs, b...)
	}
	return recs
}

// Readers start at the oldest record, after a position, at a time, or at
// the tail.
func testReaderStarts(t *testing.T, h Harness) {
	l := h.New(t)(t)
	first := entries(t, 10)
	appendAll(t, l, first)
	r, err := l.Reader(ctxT(t), caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	all := readN(t, r, 10)
	sameEntries(t, all, first)

	ra, err := l.Reader(ctxT(t), caplog.After(all[6].Position))
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	sameEntries(t, readN(t, ra, 3), first[7:])

	tail, err := l.Reader(ctxT(t), caplog.FromLatest())
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()

	// Since: a time strictly after the first batch's last record, so the
	// second batch (appended later) is exactly what it returns.
	cut := all[9].Time.Add(time.Millisecond)
	waitPast(cut)
	second := entries(t, 5)
	appendAll(t, l, second)
	sameEntries(t, readN(t, tail, 5), second)

	rs, err := l.Reader(ctxT(t), caplog.Since(cut))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	sameEntries(t, readN(t, rs, 5), second)
	sameEntries(t, readN(t, r, 5), second) // the first reader keeps going
}

// waitPast returns once the wall clock is past t (a few ms at most).
func waitPast(t time.Time) {
	for !time.Now().After(t) {
		time.Sleep(time.Until(t) + time.Millisecond)
	}
}

// A tailing reader sees appends made while it waits, in order.
func testReaderTails(t *testing.T, h Harness) {
	l := h.New(t)(t)
	r, err := l.Reader(ctxT(t), caplog.FromLatest())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	es := entries(t, 100)
	done := make(chan error, 1)
	go func() {
		for _, e := range es {
			if err := l.Append(ctxT(t), e); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	recs := readN(t, r, 100)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sameEntries(t, recs, es)
}

// A deleted consumer's handles fail with ErrClosed and a new consumer of
// that name starts afresh.
func testDeleteConsumer(t *testing.T, h Harness) {
	l := h.New(t)(t)
	es := entries(t, 5)
	appendAll(t, l, es)
	c := consumer(t, l, "old", caplog.ConsumerOptions{})
	_, bs := fetchN(t, c, 5, 10)
	commit(t, c, bs...)
	if err := l.DeleteConsumer(ctxT(t), "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctxT(t), 10); !errors.Is(err, caplog.ErrClosed) {
		t.Fatalf("fetch on a deleted consumer: %v, want ErrClosed", err)
	}
	if err := l.DeleteConsumer(ctxT(t), "never-existed"); err != nil {
		t.Fatalf("delete unknown consumer: %v", err)
	}
	c2 := consumer(t, l, "old", caplog.ConsumerOptions{Start: caplog.FromLatest()})
	expectNothing(t, c2)
	more := entries(t, 2)
	appendAll(t, l, more)
	recs, _ := fetchN(t, c2, 2, 10)
	sameEntries(t, recs, more)
}

// After Close: Append fails with ErrClosed and blocked fetches return.
func testClosed(t *testing.T, h Harness) {
	l := h.New(t)(t)
	c, err := l.Consumer(ctxT(t), "writer", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Reader(ctxT(t), caplog.FromLatest())
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { _, err := c.Fetch(ctxT(t), 10); errc <- err }()
	go func() { _, err := r.Next(ctxT(t), 10); errc <- err }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, caplog.ErrClosed) {
				t.Fatalf("blocked read after Close: %v, want ErrClosed", err)
			}
		case <-time.After(Wait):
			t.Fatal("a blocked read did not return after Close")
		}
	}
	if err := l.Append(ctxT(t), entry(t, "bin", 0)); !errors.Is(err, caplog.ErrClosed) {
		t.Fatalf("append after Close: %v, want ErrClosed", err)
	}
	_ = c.Close()
	_ = c.Close()
	_ = r.Close()
	_ = l.Close()
}

// A log at its cap refuses appends with ErrFull, and takes them again once
// its consumers have committed and retention freed room.
func testFull(t *testing.T, h Harness) {
	if h.NewCapped == nil {
		t.Skip("harness has no capped log")
	}
	const capBytes = 256 << 10
	l := h.NewCapped(t, capBytes)(t)
	c := consumer(t, l, "writer", caplog.ConsumerOptions{})
	payload := make([]byte, 1000)
	var n int
	for {
		e := entry(t, "bin", n)
		copy(payload, e.Data)
		e.Data = payload
		err := l.Append(ctxT(t), e)
		if errors.Is(err, caplog.ErrFull) {
			break
		}
		if err != nil {
			t.Fatalf("append %d: %v", n, err)
		}
		n++
		if n > 4*capBytes/len(payload) {
			t.Fatalf("%d appends of %d bytes into a %d-byte cap without ErrFull", n, len(payload), capBytes)
		}
	}
	if n == 0 {
		t.Fatal("the first append was already refused")
	}
	// Drain and commit everything; room must come back.
	_, bs := fetchN(t, c, n, 1000)
	commit(t, c, bs...)
	deadline := time.Now().Add(Wait)
	for {
		err := l.Append(ctxT(t), entry(t, "bin", n))
		if err == nil {
			break
		}
		if !errors.Is(err, caplog.ErrFull) {
			t.Fatalf("append after commit: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still ErrFull %s after every record was committed", Wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
