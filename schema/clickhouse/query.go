// Query building: the WHERE clause of a read of one bin (filters, q=
// search, tombstones), with bound arguments only.

package clickhouse

import (
	"context"
	"math"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// query accumulates a WHERE clause and its bound arguments.
type query struct {
	where []string
	args  []any
}

func (q *query) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

func (q *query) sql() string { return strings.Join(q.where, " AND ") }

// tombstone is one row of request_tombstones: requests of the bin ingested
// at or before cut whose key is at or before (upto, id) are gone; upto is
// math.MaxInt64 for a deletion of the whole bin.
type tombstone struct {
	cut, upto int64
	id        uuid.UUID
}

// tombstones reads the tombstones of binID.
func (s *Store) tombstones(ctx context.Context, binID string) ([]tombstone, error) {
	rows, err := s.conn.Query(ctx, sqlTombstones, binID)
	if err != nil {
		return nil, classify("read tombstones", err)
	}
	defer rows.Close()
	var ts []tombstone
	for rows.Next() {
		var t tombstone
		if err := rows.Scan(&t.cut, &t.upto, &t.id); err != nil {
			return nil, classify("scan tombstones", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("read tombstones", err)
	}
	return ts, nil
}

// tombstoneFilter adds the conditions that hide deleted and trimmed
// requests of binID that the background mutation may not have removed yet.
func (s *Store) tombstoneFilter(ctx context.Context, q *query, binID string) error {
	ts, err := s.tombstones(ctx, binID)
	if err != nil {
		return err
	}
	addTombstones(q, ts, math.MinInt64)
	return nil
}

// addTombstones adds the conditions of ts to q for a read of requests
// received at or after sinceUS: a trim that ends before sinceUS hides
// nothing there and is left out, which keeps the id column out of the scan.
func addTombstones(q *query, ts []tombstone, sinceUS int64) {
	var full int64 = math.MinInt64
	var trims []tombstone
	for _, t := range ts {
		switch {
		case t.upto == math.MaxInt64:
			full = max(full, t.cut)
		case t.upto >= sinceUS:
			trims = append(trims, t)
		}
	}
	if full != math.MinInt64 {
		q.add("ingest_us > ?", full)
	}
	// A trim is redundant when a later one (larger cut) reaches at least as
	// far (larger or equal key): trims that keep the newest N of a growing
	// bin leave one condition, not one per call.
	sort.Slice(trims, func(i, j int) bool { return trims[i].cut > trims[j].cut })
	reach := tombstone{upto: math.MinInt64}
	for _, t := range trims {
		if t.cut <= full {
			break // the full deletion hides everything this and older trims hide
		}
		if t.upto < reach.upto || t.upto == reach.upto && string(t.id[:]) <= string(reach.id[:]) {
			continue
		}
		reach = t
		q.add(condNotTrimmed,
			t.cut, t.upto, t.upto, t.id.String())
	}
}

// condNotReplay holds for a request that is not a replay's record
// (schema.IsReplay).
const condNotReplay = "NOT (has_forward = 1 AND fwd_mode = 'replay')"

// binQuery starts the WHERE clause of a read of one bin: the bin, its
// tombstones, and the filter's constraints (not the cursor).
func (s *Store) binQuery(ctx context.Context, f *schema.Filter) (*query, error) {
	q := &query{}
	q.add("bin_id = ?", f.BinID)
	if err := s.tombstoneFilter(ctx, q, f.BinID); err != nil {
		return nil, err
	}
	if f.Method != "" {
		q.add("method = ?", f.Method)
	}
	if f.StatusMin > 0 {
		q.add("response_status >= ?", f.StatusMin)
	}
	if f.StatusMax > 0 {
		q.add("response_status <= ?", f.StatusMax)
	}
	if f.IP != "" {
		q.add("remote_ip = ?", f.IP)
	}
	if f.Signature != "" {
		q.add("sig_status = ?", string(f.Signature))
	}
	if f.EventType != "" {
		q.add("event_type = ?", f.EventType)
	}
	if f.DeliveryID != "" {
		q.add("delivery_id = ?", f.DeliveryID)
	}
	if f.Forward != "" {
		s.forwardFilter(q, f) // forward.go
	}
	if !f.Since.IsZero() {
		q.add("received_us >= ?", schema.Truncate(f.Since).UnixMicro())
	}
	if !f.Until.IsZero() {
		q.add("received_us < ?", schema.Truncate(f.Until).UnixMicro())
	}
	switch f.Replays {
	case schema.ReplaysExclude:
		q.add(condNotReplay)
	case schema.ReplaysOnly:
		q.add("NOT " + condNotReplay)
	}
	if f.Q != "" {
		if err := s.addSearch(q, f.Q); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// searchIndexMinLen is the n of the n-gram index: a shorter needle has no
// n-gram to look up.
const searchIndexMinLen = 4

// asciiLower lower-cases ASCII letters only, like ClickHouse's lower() and
// positionCaseInsensitive (strings.ToLower would also fold other letters,
// which the indexed expression keeps as they are).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// likeEscape escapes LIKE's wildcards and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
