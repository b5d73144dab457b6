package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// PreviewBytes is how much of a body ListRequests returns in Request.Body.
const PreviewBytes = 256

// MaxGetRequests bounds the ids of one Reader.GetRequests call (the query
// text and its bound arguments grow with them).
const MaxGetRequests = 256

// Filter selects requests of one bin. Zero values mean "no constraint".
type Filter struct {
	BinID     string
	Method    string // exact, upper-case
	StatusMin int    // inclusive; exact code: StatusMin == StatusMax
	StatusMax int    // inclusive; 0 = no upper bound
	IP        string // exact remote IP
	// Q is a query of the search language (package schema/search, which
	// stores use to compile it): a bare word matches case-insensitively
	// (ASCII folding) as a substring of the path, the raw query, any header
	// name or value, or the body; fields, phrases and AND/OR/NOT narrow it.
	// A Q that does not parse is ErrInvalid (wrapping a *search.SyntaxError).
	Q          string
	Since      time.Time // inclusive, received_at >= Since
	Until      time.Time // exclusive, received_at < Until
	Signature  SignatureStatus
	EventType  string // exact
	DeliveryID string // exact
	// Forward is the forward state (ForwardState), derived for records
	// without one (Forward.StateOf); requests never forwarded never match.
	Forward ForwardState
	// Replays selects by whether a request is the record of a replay
	// (IsReplay): "" every request, ReplaysExclude none, ReplaysOnly only
	// them.
	Replays ReplaySelect

	// Before pages backwards: only requests strictly older than the cursor,
	// newest first. After pages forwards: only requests strictly newer than
	// the cursor, OLDEST first (used to resume a live feed). At most one is set.
	Before *Cursor
	After  *Cursor

	Limit int // 1..1000; stores treat 0 as 50
}

// ReplaySelect is Filter.Replays.
type ReplaySelect string

const (
	ReplaysExclude ReplaySelect = "exclude"
	ReplaysOnly    ReplaySelect = "only"
)

// IsReplay reports whether r is the record of a replay (ingest's Replay
// records Forward.Mode "replay"; a sender cannot set it).
func IsReplay(r *Request) bool { return r.Forward != nil && r.Forward.Mode == "replay" }

// Page is one page of ListRequests. Next is set when more requests may follow
// in the same direction; pass it back as Filter.Before (or Filter.After).
type Page struct {
	Requests []*Request
	Next     *Cursor
}

// StatsQuery asks for aggregates of one bin over [Since, Until).
type StatsQuery struct {
	BinID string
	Since time.Time     // zero: from the beginning
	Until time.Time     // zero: up to now
	Step  time.Duration // zero: one minute
	// ExcludeReplays leaves the records of replays (IsReplay) out of every
	// figure.
	ExcludeReplays bool
}

// Normalize applies the defaults every backend uses (zero Step: one minute;
// zero Until: now) and rejects what no backend can answer. Errors wrap
// ErrInvalid.
func (q StatsQuery) Normalize(now time.Time) (StatsQuery, error) {
	if q.BinID == "" {
		return q, fmt.Errorf("%w: stats without bin", ErrInvalid)
	}
	if q.Step <= 0 {
		q.Step = time.Minute
	}
	if q.Step < time.Microsecond {
		return q, fmt.Errorf("%w: step below one microsecond", ErrInvalid)
	}
	if q.Until.IsZero() {
		q.Until = now
	}
	return q, nil
}

// Percentiles of handling latency in microseconds. The embedded store is
// exact (nearest rank: the value at rank ceil(p*n)); ClickHouse uses its
// quantile function (exact below 8192 values, sampled above). Every backend
// returns values within the observed range.
type Percentiles struct {
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
	P99 int64 `json:"p99"`
}

// SeriesPoint is one time bucket. T is the bucket start, aligned to a multiple
// of Step since the Unix epoch.
type SeriesPoint struct {
	T            time.Time `json:"t"`
	Count        int64     `json:"count"`
	P95LatencyUS int64     `json:"p95_latency_us"`
	// Forwarded counts the bucket's requests whose forward target answered
	// (see Stats.Forwarded); P95ForwardLatencyUS is their target's p95, 0
	// when none.
	Forwarded           int64 `json:"forwarded"`
	P95ForwardLatencyUS int64 `json:"p95_forward_latency_us"`
}

// SenderCount is one row of the top-senders table.
type SenderCount struct {
	IP    string `json:"ip"`
	Count int64  `json:"count"`
}

// Stats aggregates one bin. Maps are keyed by the decimal status code, the
// method and the signature verdict. Series holds only non-empty buckets in
// ascending time order (the query layer fills gaps). TopSenders is ordered by
// count descending then IP ascending, at most 10 rows.
type Stats struct {
	Total       int64            `json:"total"`
	ByStatus    map[string]int64 `json:"by_status"`
	ByMethod    map[string]int64 `json:"by_method"`
	BySignature map[string]int64 `json:"by_signature"`
	ByEventType map[string]int64 `json:"by_event_type"` // "" for requests without one
	LatencyUS   Percentiles      `json:"latency_us"`
	// Forwarded counts the requests forwarded (async or proxy; replays are
	// not) whose target answered with a status; ForwardLatencyUS is the
	// target's latency over them (Forward.LatencyUS: from sending to the
	// answer), the same percentiles as LatencyUS; zero when none.
	Forwarded        int64         `json:"forwarded"`
	ForwardLatencyUS Percentiles   `json:"forward_latency_us"`
	Series           []SeriesPoint `json:"series"`
	TopSenders       []SenderCount `json:"top_senders"`
}

// Writer stores captured requests. Batching belongs to the caller (ingest);
// one call is one synchronous batch.
type Writer interface {
	// WriteRequests stores reqs. A nil error means every request is durable.
	// Writing a request whose ID is already stored must not create a second
	// copy (retries after a partial failure are safe). The store does not
	// retain reqs after returning. An unreachable backend returns an error
	// wrapping ErrUnavailable.
	WriteRequests(ctx context.Context, reqs []*Request) error
}

// ForwardUpdater records later outcomes of forwards (retries, redeliveries).
type ForwardUpdater interface {
	// UpdateForwards replaces the forward of each stored request named by
	// an update whose Forward.Version() is greater than the stored one's;
	// others (older, repeated, or of requests not stored) change nothing.
	// Updates may arrive out of order and more than once. A nil error
	// means every applied update is durable. An unreachable backend
	// returns an error wrapping ErrUnavailable.
	UpdateForwards(ctx context.Context, ups []ForwardUpdate) error
}

// Reader answers the read side of the API.
type Reader interface {
	// ListRequests returns requests of f.BinID matching f, ordered by
	// (ReceivedAt, ID) descending (ascending when f.After is set). Returned
	// requests carry at most PreviewBytes of body in Body; BodySize is the
	// full size. The caller owns the returned slices.
	ListRequests(ctx context.Context, f Filter) (Page, error)
	// GetRequest returns one full request, body included, or ErrNotFound.
	GetRequest(ctx context.Context, binID string, id uuid.UUID) (*Request, error)
	// GetRequests returns the full requests (bodies included, as GetRequest
	// returns them) of bin binID among ids, in the order of ids; an id
	// named twice comes back once, at its first place. Ids not stored in
	// the bin (deleted, of another bin, never written) are left out: that
	// is not an error. At most MaxGetRequests ids per call (ErrInvalid
	// otherwise); no ids give an empty slice without a read. It answers
	// in one read of the requests when the ids are UUIDv7s minted at
	// capture (a second, bin-wide read finds the others). The caller owns
	// the returned slices; the caller bounds the bytes it asks for (each
	// body can be as large as the capture limit).
	GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*Request, error)
	// CountRequests returns how many requests the bin holds.
	CountRequests(ctx context.Context, binID string) (int64, error)
	// CountMatching returns how many requests of f.BinID match f's match
	// fields (cursors and Limit are ignored), reading at most max of them:
	// past max it returns max. max must be >= 1 (ErrInvalid otherwise), so
	// a count over a hostile filter costs at most max rows.
	CountMatching(ctx context.Context, f Filter, max int64) (int64, error)
	// Stats aggregates a bin. A bin without requests gives zero values and
	// empty, non-nil maps and slices.
	Stats(ctx context.Context, q StatsQuery) (*Stats, error)
}

// Deleter removes single requests and filtered sets of them.
type Deleter interface {
	// DeleteRequest removes one request of a bin; ErrNotFound if it is not
	// there.
	DeleteRequest(ctx context.Context, binID string, id uuid.UUID) error
	// DeleteMatching removes every request of f.BinID matching f's match
	// fields (cursors and Limit are ignored) and returns how many it
	// removed. At least one match field must be set (ErrInvalid otherwise:
	// clearing a bin is Retention.DeleteRequests).
	DeleteMatching(ctx context.Context, f Filter) (int64, error)
}

// HasMatch reports whether f constrains anything beyond its bin.
func (f *Filter) HasMatch() bool {
	return f.Method != "" || f.StatusMin != 0 || f.StatusMax != 0 || f.IP != "" || f.Q != "" ||
		!f.Since.IsZero() || !f.Until.IsZero() || f.Signature != "" || f.EventType != "" || f.DeliveryID != "" || f.Forward != ""
}

// Bins keeps bin metadata.
type Bins interface {
	// CreateBin stores a new bin; ErrConflict if the id exists.
	CreateBin(ctx context.Context, b *Bin) error
	// GetBin returns the bin or ErrNotFound. Expired bins are still returned
	// until purged; callers check Bin.Expired.
	GetBin(ctx context.Context, id string) (*Bin, error)
	// UpdateBin replaces name, expiry, privacy and settings; ErrNotFound if missing.
	UpdateBin(ctx context.Context, b *Bin) error
	// DeleteBin removes the bin and all its requests; ErrNotFound if missing.
	DeleteBin(ctx context.Context, id string) error
	// ListBins returns every bin, newest first.
	ListBins(ctx context.Context) ([]*Bin, error)
	// ListBinsPage returns one page of the bins live at q.Now whose name
	// matches q.Q, ordered by (CreatedAt, ID) descending (IDs compare
	// bytewise), starting strictly after q.Before. Next is the position of
	// the page's last bin when more bins follow, nil exactly when none
	// does. The page is read by the store: at most the page (plus one bin)
	// crosses to the caller, whatever the number of bins.
	ListBinsPage(ctx context.Context, q BinListQuery) (BinPage, error)
}

// MaxBinPage bounds BinListQuery.Limit; DefaultBinPage is its zero value.
const (
	MaxBinPage     = 1000
	DefaultBinPage = 50
)

// BinListQuery selects a page of bins for Bins.ListBinsPage.
type BinListQuery struct {
	// Q keeps the bins whose name contains it, ASCII case-insensitively
	// (bytes outside ASCII compare exactly; no wildcards); "" keeps all.
	Q string
	// Now leaves out the bins expired at it (Bin.Expired).
	Now time.Time
	// Before is the position of the previous page's last bin (its Next);
	// nil starts at the newest.
	Before *BinCursor
	// Limit is the page size: 0 (or less) means DefaultBinPage, more than
	// MaxBinPage is clamped to it.
	Limit int
}

// BinCursor is a position in the bins' (CreatedAt, ID) order.
type BinCursor struct {
	CreatedAt time.Time
	ID        string
}

// BinCursorOf is the position of b.
func BinCursorOf(b *Bin) *BinCursor { return &BinCursor{CreatedAt: Truncate(b.CreatedAt), ID: b.ID} }

// BinPage is one page of Bins.ListBinsPage.
type BinPage struct {
	Bins []*Bin
	Next *BinCursor
}

// PageLimit is q's page size: DefaultBinPage for 0 or less, at most
// MaxBinPage. A store reads one bin more, to know whether a page follows.
func (q BinListQuery) PageLimit() int {
	if q.Limit <= 0 {
		return DefaultBinPage
	}
	return min(q.Limit, MaxBinPage)
}

// NewBinPage is the page of bins a store read in order, up to limit+1 of
// them: the one past limit only says that another page follows.
func NewBinPage(bins []*Bin, limit int) BinPage {
	if len(bins) <= limit {
		return BinPage{Bins: bins}
	}
	return BinPage{Bins: bins[:limit], Next: BinCursorOf(bins[limit-1])}
}

// ASCIILower lowers the ASCII letters of s and keeps every other byte: the
// case folding of bin name search, which every store can do the same way.
func ASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Retention removes old data.
type Retention interface {
	// DeleteRequests removes every request of a bin, keeping the bin.
	DeleteRequests(ctx context.Context, binID string) error
	// PurgeExpired removes bins whose ExpiresAt is at or before now, with
	// their requests, and returns how many bins it removed.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
	// TrimRequests keeps only the newest keep requests of a bin and returns
	// how many it removed (backends may remove lazily but must stop
	// returning them).
	TrimRequests(ctx context.Context, binID string, keep int) (int64, error)
}

// AlertRule is a stored alert rule. The alerts package owns the shape of Doc;
// stores index only the id and the bin.
type AlertRule struct {
	ID        string          `json:"id"`
	BinID     string          `json:"bin_id"` // empty: every bin
	Doc       json.RawMessage `json:"doc"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// AlertEvent is one state change of an alert (firing, resolved, notify failure).
type AlertEvent struct {
	ID     uuid.UUID       `json:"id"` // UUIDv7
	RuleID string          `json:"rule_id"`
	BinID  string          `json:"bin_id"`
	State  string          `json:"state"`
	At     time.Time       `json:"at"`
	Doc    json.RawMessage `json:"doc"`
}

// EventFilter selects alert events, newest first.
type EventFilter struct {
	RuleID string
	BinID  string
	Before *uuid.UUID // only events with a smaller (older) id
	Limit  int        // 0 = 100
}

// Alerts keeps alert rules and their history.
type Alerts interface {
	// PutRule creates or replaces a rule by ID.
	PutRule(ctx context.Context, r *AlertRule) error
	// GetRule returns a rule or ErrNotFound.
	GetRule(ctx context.Context, id string) (*AlertRule, error)
	// ListRules returns every rule ordered by CreatedAt ascending.
	ListRules(ctx context.Context) ([]*AlertRule, error)
	// DeleteRule removes a rule; ErrNotFound if missing. Its events stay.
	DeleteRule(ctx context.Context, id string) error
	// AppendEvent stores an event; appending the same ID twice stores it once.
	AppendEvent(ctx context.Context, e *AlertEvent) error
	// ListEvents returns events matching f, newest (largest id) first.
	ListEvents(ctx context.Context, f EventFilter) ([]*AlertEvent, error)
}

// Store is everything a backend provides.
type Store interface {
	Writer
	ForwardUpdater
	Reader
	Bins
	Retention
	Deleter
	Alerts
	ReplayJobs
	// Close releases the backend; it does not flush anything (ingest does).
	Close() error
}

// ReplayJobFilter selects replay jobs; zero fields match everything.
type ReplayJobFilter struct {
	BinID string
	State string
	Limit int // 0 = 100, at most 1000
}

// ReplayJobs keeps bulk replay jobs, so that any instance can report a
// job's progress and cancel it, and a restart can tell which jobs lost
// their runner.
type ReplayJobs interface {
	// PutReplayJob creates or replaces a job by ID; the stored job is the
	// one with the latest UpdatedAt (a write older than the stored one may
	// be dropped). CancelRequested is not written by Put (it is
	// CancelReplayJob's), so a runner's progress write never clears it.
	PutReplayJob(ctx context.Context, j *ReplayJob) error
	// GetReplayJob returns a job or ErrNotFound.
	GetReplayJob(ctx context.Context, id uuid.UUID) (*ReplayJob, error)
	// ListReplayJobs returns jobs matching f, newest (largest id) first.
	ListReplayJobs(ctx context.Context, f ReplayJobFilter) ([]*ReplayJob, error)
	// CancelReplayJob records a cancel request for a job (idempotent);
	// ErrNotFound if the job does not exist.
	CancelReplayJob(ctx context.Context, id uuid.UUID) error
	// PurgeReplayJobs removes, with their cancel requests, the jobs that
	// ended (done, failed, canceled, interrupted) and were last updated
	// before endedBefore, and the ended jobs of bins that no longer exist
	// whatever their age; it returns how many it removed. A job that has
	// not ended (queued, running) is never removed: its runner still
	// writes it (one whose runner died is marked interrupted first, by
	// replays.Manager). Backends may remove lazily (ClickHouse: a
	// background mutation), so the jobs may still be read for a while and
	// a later call may count them again.
	PurgeReplayJobs(ctx context.Context, endedBefore time.Time) (int64, error)
}
