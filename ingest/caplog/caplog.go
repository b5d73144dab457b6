// Package caplog is the capture log: the durable, ordered record of every
// captured request, written by capture and read by every consumer (the store
// writer, the live feed, the alert engine) from its own position.
//
// Two implementations satisfy Log and pass the same conformance suite
// (caplogtest): disklog, append-only segment files in the data directory
// (single node), and a NATS JetStream stream (cluster mode). The log treats
// payloads as opaque bytes; EncodeRequest/DecodeRequest (record.go) are the
// one binary form of a *schema.Request both implementations carry.
//
// # Durability
//
// Append returns nil only once every entry it was given is durable: fsynced
// to the log's files (disklog, group commit: one fdatasync covers every
// append waiting at that moment) or acknowledged by JetStream (after its
// replicas stored it). Capture answers 2xx only after a nil Append, so an
// answered request survives a crash of the process. The one documented
// exception is an implementation opened in "fast" ack mode (disklog
// Options.Ack = AckFast), where Append returns once the entry is written to
// the OS and a crash of the machine (not of the process) can lose the last
// few milliseconds.
//
// An error from Append is ambiguous: some or all of the entries may still
// become durable (a sync that failed after the write, a context cancelled
// while JetStream was acking). Callers answer such a request with an error
// (503) and never retry it under a new ID; consumers may then still see it.
//
// # Positions
//
// Every appended entry gets a Position, assigned by the log: an integer that
// strictly increases in append order (the JetStream stream sequence; a
// frame sequence in disklog). Positions are not necessarily contiguous:
// records skipped as corrupt, or removed by retention, leave gaps. Order is
// total within one log: every reader sees records in position order.
//
// # Consumers
//
// A Consumer is named and durable: the log persists, per name, the position
// up to which the consumer has committed. Commit acknowledges exactly the
// records of one Batch (not "everything below"); the persisted position is
// the highest one below which every fetched batch is committed. A batch
// that was fetched and never committed is delivered again after the consumer
// is reopened (a restart), and an implementation may redeliver it sooner
// (JetStream's ack wait). Delivery is therefore at-least-once, and every
// consumer must be idempotent by Entry.ID: stores dedupe by request id.
//
// Several handles of one consumer name (in one process, or one per instance
// on JetStream) share its position and split the work: each record is
// delivered to one of them (again, up to redelivery).
//
// A Reader is the non-durable form, for the live feed: it starts where it is
// told (the oldest record, the tail, after a position, or at a time) and
// keeps no state in the log. Readers do not hold back retention: a Reader
// that falls behind continues at the oldest retained record.
//
// # Duplicates
//
// The log does not promise to drop a second Append of an ID: JetStream
// drops it within its duplicate window (Nats-Msg-Id), disklog stores it
// twice. Capture never appends one ID twice; consumers dedupe anyway.
//
// # Retention
//
// Records are removed only after every durable consumer has committed past
// them (and, per implementation, once they are old or the log needs room).
// A consumer that stops committing therefore fills the log up to its size
// cap, after which Append fails with ErrFull (capture answers 503).
// DeleteConsumer removes an abandoned consumer so that it stops holding
// records.
package caplog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// Sentinel errors. Implementations wrap them with %w and context. ErrFull and
// ErrUnavailable wrap schema.ErrUnavailable, so a caller that maps that one
// to 503 already answers them correctly; errors.Is tells them apart.
var (
	// ErrFull: the log reached its size cap and retention cannot free room
	// because some durable consumer has not committed far enough. Nothing
	// of the failed Append was written. Retry later.
	ErrFull = fmt.Errorf("capture log full: %w", schema.ErrUnavailable)
	// ErrUnavailable: the log cannot make entries durable right now (disk
	// full, I/O error, read-only file system, JetStream unreachable or not
	// acknowledging). The wrapped cause names the failure.
	ErrUnavailable = fmt.Errorf("capture log unavailable: %w", schema.ErrUnavailable)
	// ErrInvalid: an entry the log cannot accept (empty or malformed Key,
	// Data over the implementation's record limit, max < 1 in Fetch).
	ErrInvalid = fmt.Errorf("capture log: %w", schema.ErrInvalid)
	// ErrClosed: the Log, Consumer or Reader was closed.
	ErrClosed = errors.New("capture log closed")
)

// MaxKeyLen bounds Entry.Key. Keys use the bin-id alphabet [A-Za-z0-9_-]
// so that a key is also a valid NATS subject token.
const MaxKeyLen = schema.MaxBinIDLen

// Position is a record's place in the log. 0 is "before the first record".
type Position uint64

// Entry is what capture appends: one captured request.
type Entry struct {
	// Key is the bin id: 1..MaxKeyLen bytes of [A-Za-z0-9_-]
	// (JetStream: the subject token of the bin).
	Key string
	// ID is the request id (UUIDv7), unique per captured request; the
	// dedupe key of every consumer (JetStream: Nats-Msg-Id).
	ID uuid.UUID
	// Data is the opaque payload (EncodeRequest's output). The log does not
	// retain Data after Append returns: the caller may reuse it.
	Data []byte
}

// ValidKey reports whether k is acceptable as Entry.Key.
func ValidKey(k string) bool { return schema.ValidBinID(k) }

// Record is an entry as a reader sees it.
type Record struct {
	Entry
	// Position is where the log placed the entry.
	Position Position
	// Time is when the log appended it (the log's clock, UTC).
	Time time.Time
}

// Batch is what Consumer.Fetch returns: records in position order. The
// caller owns Records and their Data. Pass the Batch to Consumer.Commit
// unchanged except for DropData; Token is the implementation's private
// state for that (JetStream keeps the messages to acknowledge).
type Batch struct {
	Records []Record
	Token   any
}

// DropData releases the records' payloads of a batch that the caller has
// read but will commit later: Commit needs the records' positions and the
// Token, never their Data, and a consumer that commits once a second would
// otherwise keep a second's worth of payloads alive (the alerts consumer
// did: ~20 MB of heap at 16 000 captures/s, all of it scanned by every GC).
func (b Batch) DropData() {
	for i := range b.Records {
		b.Records[i].Data = nil
	}
}

// StartPolicy says where a Reader, or a consumer with no persisted position,
// begins.
type StartPolicy int

const (
	// StartOldest: the oldest record the log still holds.
	StartOldest StartPolicy = iota
	// StartLatest: only records appended after the Reader or consumer was
	// opened ("now").
	StartLatest
	// StartAfter: the first record with a position greater than Start.After.
	StartAfter
	// StartTime: the first record whose Time is at or after Start.Time.
	StartTime
)

// Start is a starting point for a Reader or a new consumer.
type Start struct {
	Policy StartPolicy
	After  Position  // StartAfter
	Time   time.Time // StartTime
}

// FromOldest starts at the oldest record the log holds.
func FromOldest() Start { return Start{Policy: StartOldest} }

// FromLatest starts with the first record appended after opening.
func FromLatest() Start { return Start{Policy: StartLatest} }

// After starts at the first record past p.
func After(p Position) Start { return Start{Policy: StartAfter, After: p} }

// Since starts at the first record appended at or after t.
func Since(t time.Time) Start { return Start{Policy: StartTime, Time: t} }

// Last is the position of the batch's last record (0 when empty).
func (b Batch) Last() Position {
	if len(b.Records) == 0 {
		return 0
	}
	return b.Records[len(b.Records)-1].Position
}

// ConsumerOptions configure Log.Consumer.
type ConsumerOptions struct {
	// Start is where the consumer begins the first time the name is used;
	// a consumer that has a persisted position resumes after it and
	// ignores Start. The zero value is StartOldest.
	Start Start
}

// Appender is the write side of the log, as capture needs it.
type Appender interface {
	// Append writes entries in order and returns nil once all of them are
	// durable (see the package doc for fast ack mode). Entries of one call
	// get increasing positions; concurrent calls interleave. Errors:
	// ErrInvalid (bad Key, oversized Data; nothing written), ErrFull
	// (nothing written), ErrUnavailable (ambiguous: see the package doc),
	// ErrClosed, or ctx.Err() when ctx ended first (also ambiguous).
	// Safe for concurrent use; concurrent appends share one sync.
	Append(ctx context.Context, entries ...Entry) error
}

// Log is a capture log. All methods are safe for concurrent use.
type Log interface {
	Appender
	// Consumer opens the durable consumer called name (1..MaxKeyLen bytes
	// of [A-Za-z0-9_-]), creating it (with its position persisted) if it
	// does not exist yet. Opening a name already open shares its position:
	// see the package doc.
	Consumer(ctx context.Context, name string, opts ConsumerOptions) (Consumer, error)
	// DeleteConsumer forgets a durable consumer so that retention no longer
	// waits for it. Open handles of it fail with ErrClosed afterwards.
	// Deleting an unknown name is not an error.
	DeleteConsumer(ctx context.Context, name string) error
	// Reader opens a non-durable reader at start (the live feed).
	Reader(ctx context.Context, start Start) (Reader, error)
	// Close stops the log: pending appends finish or fail, blocked Fetch
	// and Next calls return ErrClosed. It does not delete anything.
	Close() error
}

// Consumer is one handle of a durable, named consumer.
type Consumer interface {
	// Fetch blocks until at least one record not yet delivered to this
	// consumer's name is available, then returns up to max of them at
	// once (whatever is available, without waiting for max). It returns
	// ctx.Err() when ctx ends first, ErrClosed after Close.
	Fetch(ctx context.Context, max int) (Batch, error)
	// Commit acknowledges the records of b (a Batch this handle fetched).
	// It returns once the acknowledgement is durable: after a nil Commit,
	// a reopened consumer never sees those records again. Committing an
	// empty batch is a no-op.
	Commit(ctx context.Context, b Batch) error
	// Position is the persisted position of the consumer's name: every
	// record at or below it has been committed.
	Position(ctx context.Context) (Position, error)
	// Close releases the handle. Fetched, uncommitted batches are
	// delivered again after a reopen. Closing twice is a no-op.
	Close() error
}

// Reader reads the log without persisting anything (the live feed).
type Reader interface {
	// Next blocks until at least one record after the last one it returned
	// is available and returns up to max of them; ctx.Err() when ctx ends
	// first, ErrClosed after Close. The caller owns the records.
	Next(ctx context.Context, max int) ([]Record, error)
	// Close releases the reader. Closing twice is a no-op.
	Close() error
}
