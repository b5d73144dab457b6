// Package caplogtest is the conformance suite every caplog.Log
// implementation passes. A backend's test file only supplies a Harness:
//
//	func TestConformance(t *testing.T) {
//		caplogtest.Run(t, caplogtest.Harness{New: func(t *testing.T) caplogtest.Opener { ... }})
//	}
package caplogtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

// Notes for implementations:
//   - "Reopen" must be a real restart from the log's point of view: a new
//     connection / new Log value over the same directory or stream. A log
//     that redelivers on a timer rather than on reopen (JetStream's ack
//     wait) must set that timer well below Wait in its harness, because
//     the redelivery tests wait at most Wait.
//   - expectNothing waits 200 ms for a record that must not come.
//   - The ErrFull test appends 1000-byte payloads until ErrFull, commits
//     them all, and then needs appends to succeed again within Wait
//     (JetStream: a stream whose max bytes fits NewCapped's capBytes,
//     DiscardNew, and an interest or work-queue retention so that acked
//     messages leave the stream).

// Opener opens the log under test. Calling it again after the previous Log
// was closed reopens the same log (same directory, same stream): that is how
// the suite checks what survives a restart. The Opener registers cleanup
// with t itself.
type Opener func(t *testing.T) caplog.Log

// Harness tells the suite how to make logs.
type Harness struct {
	// New returns an Opener for a fresh, empty log. Required.
	New func(t *testing.T) Opener
	// NewCapped returns an Opener for a fresh log whose size cap admits
	// at most about capBytes of payload, and whose retention frees
	// committed records promptly. Optional: without it the ErrFull test
	// is skipped.
	NewCapped func(t *testing.T, capBytes int64) Opener
	// Appenders is the number of concurrent appenders of the concurrency
	// test (default 16).
	Appenders int
}

// Wait bounds every blocking step of the suite; a conforming log answers far
// sooner. It is a deadline for polling, not a timed assertion.
const Wait = 20 * time.Second

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("caplogtest: Harness.New is required")
	}
	if h.Appenders <= 0 {
		h.Appenders = 16
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"AppendReadOrder", testAppendReadOrder},
		{"AppendCopiesData", testAppendCopiesData},
		{"InvalidEntries", testInvalid},
		{"PositionsSurviveReopen", testPositionsSurviveReopen},
		{"UncommittedRedelivered", testUncommittedRedelivered},
		{"ConsumersIndependent", testConsumersIndependent},
		{"SharedConsumerSplitsWork", testSharedConsumer},
		{"OutOfOrderCommit", testOutOfOrderCommit},
		{"ConsumerStartLatest", testConsumerStartLatest},
		{"ConsumerStartAfterAndSince", testConsumerStartAfterSince},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"DuplicateIDsAtLeastOnce", testDuplicates},
		{"FetchBlocksUntilData", testFetchBlocks},
		{"FetchHonoursContext", testFetchContext},
		{"ReaderStarts", testReaderStarts},
		{"ReaderTails", testReaderTails},
		{"DeleteConsumer", testDeleteConsumer},
		{"Closed", testClosed},
		{"FullThenRoom", testFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// ctxT is a context bounded by Wait and cancelled at the end of the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Wait)
	t.Cleanup(cancel)
	return ctx
}

// entry builds a recognisable entry: key k, a fresh UUIDv7, payload naming i.
func entry(t *testing.T, k string, i int) caplog.Entry {
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return caplog.Entry{Key: k, ID: id, Data: fmt.Appendf(nil, "payload-%d-%s", i, id)}
}

func entries(t *testing.T, n int) []caplog.Entry {
	es := make([]caplog.Entry, n)
	for i := range es {
		es[i] = entry(t, fmt.Sprintf("bin-%d", i%3), i)
	}
	return es
}

func appendAll(t *testing.T, l caplog.Log, es []caplog.Entry) {
	t.Helper()
	for _, e := range es {
		if err := l.Append(ctxT(t), e); err != nil {
			t.Fatalf("append %s: %v", e.ID, err)
		}
	}
}

func consumer(t *testing.T, l caplog.Log, name string, opts caplog.ConsumerOptions) caplog.Consumer {
	t.Helper()
	c, err := l.Consumer(ctxT(t), name, opts)
	if err != nil {
		t.Fatalf("consumer %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fetchN fetches until it holds n records, committing nothing.
func fetchN(t *testing.T, c caplog.Consumer, n, max int) ([]caplog.Record, []caplog.Batch) {
	t.Helper()
	var recs []caplog.Record
	var batches []caplog.Batch
	ctx := ctxT(t)
	for len(recs) < n {
		b, err := c.Fetch(ctx, max)
		if err != nil {
			t.Fatalf("fetch after %d of %d records: %v", len(recs), n, err)
		}
		if len(b.Records) == 0 || len(b.Records) > max {
			t.Fatalf("fetch(max=%d) returned %d records", max, len(b.Records))
		}
		recs = append(recs, b.Records...)
		batches = append(batches, b)
	}
	if len(recs) != n {
		t.Fatalf("fetched %d records, want %d", len(recs), n)
	}
	return recs, batches
}

// expectNothing checks that a fetch finds nothing within a short wait. A
// conforming log would return a record at once, so the wait only bounds how
// long the test looks; passing never depends on timing.
func expectNothing(t *testing.T, c caplog.Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	b, err := c.Fetch(ctx, 100)
	if err == nil {
		t.Fatalf("fetch returned %d records, want none (first %s)", len(b.Records), b.Records[0].ID)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch on a drained consumer: %v, want context.DeadlineExceeded", err)
	}
}

func commit(t *testing.T, c caplog.Consumer, bs ...caplog.Batch) {
	t.Helper()
	for _, b := range bs {
		if err := c.Commit(ctxT(t), b); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
}

// sameEntries checks recs carry es in order, positions strictly increasing.
func sameEntries(t *testing.T, recs []caplog.Record, es []caplog.Entry) {
	t.Helper()
	if len(recs) != len(es) {
		t.Fatalf("got %d records, want %d", len(recs), len(es))
	}
	var last caplog.Position
	for i, r := range recs {
		if r.Position <= last {
			t.Fatalf("record %d position %d not after %d", i, r.Position, last)
		}
		last = r.Position
		if r.ID != es[i].ID || r.Key != es[i].Key || string(r.Data) != string(es[i].Data) {
			t.Fatalf("record %d = {%s %s %q}, want {%s %s %q}", i, r.Key, r.ID, r.Data, es[i].Key, es[i].ID, es[i].Data)
		}
		if r.Time.IsZero() {
			t.Fatalf("record %d has no Time", i)
		}
	}
}
