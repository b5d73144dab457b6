package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// requestColumns is the column list of every insert into and full read of
// requests, in the order of appendRow and scanRow. Naming the columns is
// required by 18.16 (a bare INSERT INTO t gets an empty column block).
const requestColumns = `bin_id, received_us, id, ingest_us, method, path, query,
	header_names, header_values, remote_ip, content_type, body_size, body_truncated,
	body_head, body_tail, response_status, latency_us, sig_scheme, sig_status, sig_reason,
	delivery_lag_ms, has_forward, fwd_url, fwd_mode, fwd_status, fwd_latency_us, fwd_error, aborted`

const sqlInsertRequests = `INSERT INTO requests (` + requestColumns + `)`

// summaryColumns is requestColumns without body_tail: a list page only needs
// the first PreviewBytes of the body, which is exactly body_head.
var summaryColumns = strings.Replace(requestColumns, "body_head, body_tail,", "body_head, '',", 1)

// existingIDsMax bounds how many ids one existence check sends: the query
// text (34 bytes an id) must stay under the server's max_query_size (256 KiB).
const existingIDsMax = 4000

// WriteRequests stores reqs with one batch insert. Before inserting it asks
// which of the ids are already stored (in the narrow key range of the batch)
// and skips them, so replaying a batch after a failure stores nothing twice;
// the table is also a ReplacingMergeTree on (bin_id, received_us, id), which
// collapses any duplicate that slipped past the check when parts merge.
func (s *Store) WriteRequests(ctx context.Context, reqs []*schema.Request) error {
	if len(reqs) == 0 {
		return nil
	}
	for _, r := range reqs {
		if r == nil || r.BinID == "" || r.ID == uuid.Nil {
			return fmt.Errorf("write requests: %w: request needs a bin id and an id", schema.ErrInvalid)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	exists := make(map[uuid.UUID]bool, len(reqs))
	if !s.skipExistingCheck {
		var err error
		if exists, err = s.existingIDs(ctx, reqs); err != nil {
			return err
		}
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertRequests)
	if err != nil {
		return classify("prepare batch", err)
	}
	defer batch.Abort()
	ingest := s.tick()
	n := 0
	for _, r := range reqs {
		if exists[r.ID] {
			continue
		}
		exists[r.ID] = true // a duplicate inside reqs is written once
		if err := appendRequest(batch, r, ingest); err != nil {
			return fmt.Errorf("append request %s: %w", r.ID, err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return classify("send batch", err)
	}
	return nil
}

// existingIDs returns which ids of reqs are already stored. It first reads
// every id stored in the batch's bins and time range (for a fresh batch of
// the ingest that range holds few rows, for a replayed one the batch
// itself) and intersects in Go; only when that range holds many more rows
// than the batch does it send the ids (in chunks) to be looked up.
func (s *Store) existingIDs(ctx context.Context, reqs []*schema.Request) (map[uuid.UUID]bool, error) {
	exists := make(map[uuid.UUID]bool, len(reqs))
	want := make(map[uuid.UUID]bool, len(reqs))
	bins := map[string]bool{}
	var binList []any
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, r := range reqs {
		us := schema.Truncate(r.ReceivedAt).UnixMicro()
		lo, hi = min(lo, us), max(hi, us)
		want[r.ID] = true
		if !bins[r.BinID] {
			bins[r.BinID] = true
			binList = append(binList, r.BinID)
		}
	}
	limit := 4*len(reqs) + 1000
	rows, err := s.conn.Query(ctx, `SELECT id FROM requests
		WHERE bin_id IN ? AND received_us >= ? AND received_us <= ? LIMIT ?`,
		clickhouse.GroupSet{Value: binList}, lo, hi, limit)
	if err != nil {
		return nil, classify("check existing ids", err)
	}
	n := 0
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify("scan existing ids", err)
		}
		n++
		if want[id] {
			exists[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify("check existing ids", err)
	}
	if n < limit {
		return exists, nil
	}
	for start := 0; start < len(reqs); start += existingIDsMax {
		chunk := reqs[start:min(len(reqs), start+existingIDsMax)]
		ids := make([]any, len(chunk))
		for i, r := range chunk {
			ids[i] = hexID(r.ID)
		}
		rows, err := s.conn.Query(ctx, `SELECT id FROM requests
			WHERE bin_id IN ? AND received_us >= ? AND received_us <= ? AND hex(id) IN ?`,
			clickhouse.GroupSet{Value: binList}, lo, hi, clickhouse.GroupSet{Value: ids})
		if err != nil {
			return nil, classify("check existing ids", err)
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, classify("scan existing ids", err)
			}
			exists[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify("check existing ids", err)
		}
	}
	return exists, nil
}

func hexID(id uuid.UUID) string { return strings.ToUpper(hex.EncodeToString(id[:])) }

type appender interface{ Append(v ...any) error }

func appendRequest(b appender, r *schema.Request, ingest int64) error {
	names := make([]string, len(r.Headers))
	values := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		names[i], values[i] = h.Name, h.Value
	}
	head, tail := r.Body, []byte(nil)
	if len(head) > schema.PreviewBytes {
		head, tail = r.Body[:schema.PreviewBytes], r.Body[schema.PreviewBytes:]
	}
	var fwd schema.Forward
	hasFwd := uint8(0)
	if r.Forward != nil {
		fwd, hasFwd = *r.Forward, 1
	}
	return b.Append(
		r.BinID, schema.Truncate(r.ReceivedAt).UnixMicro(), r.ID, ingest,
		r.Method, r.Path, r.Query, names, values, r.RemoteIP, r.ContentType,
		r.BodySize, boolByte(r.BodyTruncated), head, tail, // []byte: copied once, into the column
		uint16(r.ResponseStatus), r.LatencyUS,
		r.Signature.Scheme, string(r.Signature.Status), r.Signature.Reason, r.DeliveryLagMS,
		hasFwd, fwd.URL, fwd.Mode, int32(fwd.Status), fwd.LatencyUS, fwd.Error, boolByte(r.Aborted),
	)
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (*schema.Request, error) {
	var (
		r                    schema.Request
		receivedUS, ingestUS int64
		names, values        []string
		truncated, hasFwd    uint8
		aborted              uint8
		head, tail           string
		status               uint16
		sigStatus            string
		fwd                  schema.Forward
		fwdStatus            int32
	)
	err := row.Scan(&r.BinID, &receivedUS, &r.ID, &ingestUS, &r.Method, &r.Path, &r.Query,
		&names, &values, &r.RemoteIP, &r.ContentType, &r.BodySize, &truncated,
		&head, &tail, &status, &r.LatencyUS, &r.Signature.Scheme, &sigStatus, &r.Signature.Reason,
		&r.DeliveryLagMS, &hasFwd, &fwd.URL, &fwd.Mode, &fwdStatus, &fwd.LatencyUS, &fwd.Error, &aborted)
	if err != nil {
		return nil, err
	}
	r.ReceivedAt = time.UnixMicro(receivedUS).UTC()
	if len(names) > 0 {
		r.Headers = make([]schema.Header, len(names))
		for i := range names {
			r.Headers[i] = schema.Header{Name: names[i], Value: values[i]}
		}
	}
	r.BodyTruncated = truncated == 1
	r.Aborted = aborted == 1
	if len(head)+len(tail) > 0 {
		r.Body = make([]byte, 0, len(head)+len(tail))
		r.Body = append(append(r.Body, head...), tail...)
	}
	r.ResponseStatus = int(status)
	r.Signature.Status = schema.SignatureStatus(sigStatus)
	if hasFwd == 1 {
		fwd.Status = int(fwdStatus)
		r.Forward = &fwd
	}
	return &r, nil
}

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
	rows, err := s.conn.Query(ctx, `SELECT cut_ingest_us, upto_us, upto_id
		FROM request_tombstones WHERE bin_id = ?`, binID)
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
		q.add(`NOT (ingest_us <= ? AND (received_us < ? OR (received_us = ? AND id <= UUIDStringToNum(?))))`,
			t.cut, t.upto, t.upto, t.id.String())
	}
}

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
	if !f.Since.IsZero() {
		q.add("received_us >= ?", schema.Truncate(f.Since).UnixMicro())
	}
	if !f.Until.IsZero() {
		q.add("received_us < ?", schema.Truncate(f.Until).UnixMicro())
	}
	if f.Q != "" {
		// The body is searched in its two stored halves, plus the few bytes
		// around the cut for a match that straddles it, which avoids
		// concatenating every body.
		cond := `(positionCaseInsensitive(path, ?) > 0
			OR positionCaseInsensitive(query, ?) > 0
			OR arrayExists(x -> positionCaseInsensitive(x, ?) > 0, header_names)
			OR arrayExists(x -> positionCaseInsensitive(x, ?) > 0, header_values)
			OR positionCaseInsensitive(body_head, ?) > 0
			OR positionCaseInsensitive(body_tail, ?) > 0`
		args := []any{f.Q, f.Q, f.Q, f.Q, f.Q, f.Q}
		if k := len(f.Q) - 1; k > 0 {
			cond += `
			OR (body_tail != '' AND positionCaseInsensitive(concat(substring(body_head, ?), substring(body_tail, 1, ?)), ?) > 0)`
			args = append(args, max(1, schema.PreviewBytes-k+1), k, f.Q)
		}
		q.add(cond+")", args...)
	}
	return q, nil
}

type key struct {
	us int64
	id uuid.UUID
}

// probeWindows are the time windows pageKeys tries before scanning the whole
// bin: a busy bin's page comes from its newest minutes (a 1 h window of a bin
// taking 120 req/s already holds 435 000 keys to sort on 18.16), a quiet
// bin's from its newest partition or two; an empty probe reads only the
// index range, so the small windows cost a quiet bin a few milliseconds.
var probeWindows = []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour, 16 * 24 * time.Hour}

// textSearchWindows replace probeWindows for q= searches: a text search is
// costly per row, so fewer, wider steps. The 10-minute and 1-hour tries
// cost a miss about 5% of the day's scan, and answer a busy bin's common
// match from its newest minutes (bench, 10 M rows in 23 h, 0.25% matching:
// 10 min ~30 ms, 1 h ~200 ms, 24 h ~2.1 s on 18.16).
var textSearchWindows = []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour}

// pageKeys returns up to n distinct keys of requests matching q in order.
// 18.16 reads every granule of the bin for ORDER BY ... LIMIT, so it first
// tries narrow time windows next to where the page starts (the cursor, or
// now), widening them until n keys are found or the window covers the bin.
func (s *Store) pageKeys(ctx context.Context, q *query, f *schema.Filter, order string, n int) ([]key, error) {
	asc := order == "ASC"
	base := time.Now().UnixMicro()
	if f.Before != nil {
		base = f.Before.ReceivedAt.UnixMicro()
	}
	if !asc && !f.Until.IsZero() {
		base = min(base, schema.Truncate(f.Until).UnixMicro())
	}
	if asc {
		base = f.After.ReceivedAt.UnixMicro()
	}
	windows := probeWindows
	if f.Q != "" {
		windows = textSearchWindows
	}
	for i := 0; i <= len(windows); i++ {
		where, args := q.sql(), q.args
		final := i == len(windows)
		if !final {
			w := windows[i].Microseconds()
			if asc {
				if !f.Until.IsZero() && base+w >= schema.Truncate(f.Until).UnixMicro() {
					final = true
				} else {
					where, args = where+" AND received_us <= ?", append(append([]any{}, args...), base+w)
				}
			} else {
				if !f.Since.IsZero() && base-w <= schema.Truncate(f.Since).UnixMicro() {
					final = true
				} else {
					where, args = where+" AND received_us >= ?", append(append([]any{}, args...), base-w)
				}
			}
		}
		keys, err := s.keys(ctx, where, args, order, n)
		if err != nil {
			return nil, err
		}
		if final || len(keys) >= n {
			return keys, nil
		}
	}
	return nil, nil // unreachable: the last probe is final
}

// keys runs one key query. Duplicate rows (a write race the merge has not
// collapsed yet) are adjacent in key order and dropped here; if that leaves
// fewer than n keys, the query is repeated with room for them.
func (s *Store) keys(ctx context.Context, where string, args []any, order string, n int) ([]key, error) {
	for fetch := n; ; fetch *= 2 {
		rows, err := s.conn.Query(ctx, `SELECT received_us, id FROM requests WHERE `+where+
			` ORDER BY received_us `+order+`, id `+order+` LIMIT ?`, append(args, fetch)...)
		if err != nil {
			return nil, classify("list request keys", err)
		}
		var keys []key
		got := 0
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.us, &k.id); err != nil {
				rows.Close()
				return nil, classify("scan request keys", err)
			}
			got++
			if len(keys) > 0 && keys[len(keys)-1] == k {
				continue
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify("list request keys", err)
		}
		if len(keys) >= n || got < fetch {
			return keys[:min(n, len(keys))], nil
		}
	}
}

// ListRequests pages through a bin in two steps: first the keys of the
// page, reading only the sort key and the filtered columns; then the
// summary columns of those rows only, in the narrow key range they span.
// 18.16 cannot stop reading early in ORDER BY ... LIMIT, so the first step
// keeps the wide columns out of the full scan of the bin.
func (s *Store) ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error) {
	if f.BinID == "" {
		return schema.Page{}, fmt.Errorf("list requests: %w: bin id required", schema.ErrInvalid)
	}
	if f.Before != nil && f.After != nil {
		return schema.Page{}, fmt.Errorf("list requests: %w: before and after are exclusive", schema.ErrInvalid)
	}
	// Like the embedded store: 0 (or less) means the default, more than the
	// maximum is clamped.
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	q, err := s.binQuery(ctx, &f)
	if err != nil {
		return schema.Page{}, err
	}
	order := "DESC"
	if c := f.Before; c != nil {
		us := c.ReceivedAt.UnixMicro()
		q.add("received_us <= ? AND (received_us < ? OR (received_us = ? AND id < UUIDStringToNum(?)))",
			us, us, us, c.ID.String())
	}
	if c := f.After; c != nil {
		order = "ASC"
		us := c.ReceivedAt.UnixMicro()
		q.add("received_us >= ? AND (received_us > ? OR (received_us = ? AND id > UUIDStringToNum(?)))",
			us, us, us, c.ID.String())
	}
	// Step 1: the keys of the page (one more to know whether more follow).
	keys, err := s.pageKeys(ctx, q, &f, order, limit+1)
	if err != nil {
		return schema.Page{}, err
	}
	page := schema.Page{Requests: []*schema.Request{}}
	if len(keys) > limit {
		keys = keys[:limit]
		last := keys[limit-1]
		page.Next = &schema.Cursor{ReceivedAt: time.UnixMicro(last.us).UTC(), ID: last.id}
	}
	if len(keys) == 0 {
		return page, nil
	}
	// Step 2: the rows of those keys.
	lo, hi := keys[0].us, keys[len(keys)-1].us
	if lo > hi {
		lo, hi = hi, lo
	}
	ids := make([]any, len(keys))
	for i, k := range keys {
		ids[i] = hexID(k.id)
	}
	rows, err := s.conn.Query(ctx, `SELECT `+summaryColumns+` FROM requests
		WHERE bin_id = ? AND received_us >= ? AND received_us <= ? AND hex(id) IN ?
		LIMIT 1 BY id`,
		f.BinID, lo, hi, clickhouse.GroupSet{Value: ids})
	if err != nil {
		return schema.Page{}, classify("list requests", err)
	}
	defer rows.Close()
	byID := make(map[uuid.UUID]*schema.Request, len(keys))
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return schema.Page{}, classify("scan request", err)
		}
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return schema.Page{}, classify("list requests", err)
	}
	for _, k := range keys {
		if r := byID[k.id]; r != nil {
			page.Requests = append(page.Requests, r)
		}
	}
	return page, nil
}

// GetRequest returns one full request.
//
// A UUIDv7's timestamp is within milliseconds of its received_at (ingest
// mints both together), so the lookup first reads a ±10 s slice of the
// bin's key range; only when that misses does it scan the bin's id column.
func (s *Store) GetRequest(ctx context.Context, binID string, id uuid.UUID) (*schema.Request, error) {
	if t, ok := schema.IDTime(id); ok {
		r, err := s.getRequest(ctx, binID, id, t.Add(-10*time.Second), t.Add(10*time.Second))
		if !errors.Is(err, schema.ErrNotFound) {
			return r, err
		}
	}
	return s.getRequest(ctx, binID, id, time.Time{}, time.Time{})
}

// getRequest looks id up in the bin, within [from, to) when from is set.
func (s *Store) getRequest(ctx context.Context, binID string, id uuid.UUID, from, to time.Time) (*schema.Request, error) {
	q := &query{}
	q.add("bin_id = ?", binID)
	if !from.IsZero() {
		q.add("received_us >= ?", from.UnixMicro())
		q.add("received_us < ?", to.UnixMicro())
	}
	if err := s.tombstoneFilter(ctx, q, binID); err != nil {
		return nil, err
	}
	q.add("id = UUIDStringToNum(?)", id.String())
	rows, err := s.conn.Query(ctx, `SELECT `+requestColumns+` FROM requests WHERE `+q.sql()+` LIMIT 1`, q.args...)
	if err != nil {
		return nil, classify("get request", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, classify("get request", err)
		}
		return nil, fmt.Errorf("get request %s: %w", id, schema.ErrNotFound)
	}
	r, err := scanRequest(rows)
	if err != nil {
		return nil, classify("scan request", err)
	}
	return r, nil
}

// CountRequests counts the requests a bin holds.
func (s *Store) CountRequests(ctx context.Context, binID string) (int64, error) {
	q, err := s.binQuery(ctx, &schema.Filter{BinID: binID})
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM requests WHERE `+q.sql(), q.args...).Scan(&n); err != nil {
		return 0, classify("count requests", err)
	}
	return int64(n), nil
}

// Stats aggregates a bin over [Since, Until). Whole 5-minute buckets that
// the rollups answer (see rollupRange) are read from request_counts_5m and
// request_latency_5m; the rest of the range (the partial buckets at both
// ends, and everything a tombstone may reach) from requests with the
// tombstone conditions. Each statement unites both sources with UNION ALL;
// the four run at once. For the last 24 hours of a busy bin that reads a
// few thousand rollup rows and at most ten minutes of requests instead of
// every request of the day three times.
//
// Percentiles are ClickHouse's quantiles (exact below 8192 values, sampled
// above, interpolated: always within the observed range): the rollups keep
// the function's state per bucket and merge them, like GROUP BY ... WITH
// TOTALS merges the states of its groups, so the answer is as approximate
// as the raw scan's.
//
// One difference: a duplicate row that slipped past WriteRequests' id check
// (two processes writing the same batch at once) is counted by the scan
// until ReplacingMergeTree collapses it, and by the rollups for good.
func (s *Store) Stats(ctx context.Context, sq schema.StatsQuery) (*schema.Stats, error) {
	sq, err := sq.Normalize(s.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	ts, err := s.tombstones(ctx, sq.BinID)
	if err != nil {
		return nil, err
	}
	lo, hi := s.rollupRange(sq, ts)
	sinceUS, untilUS := int64(math.MinInt64), schema.Truncate(sq.Until).UnixMicro()
	raw := &query{}
	raw.add("bin_id = ?", sq.BinID)
	if !sq.Since.IsZero() {
		sinceUS = schema.Truncate(sq.Since).UnixMicro()
		raw.add("received_us >= ?", sinceUS)
	}
	raw.add("received_us < ?", untilUS)
	if lo < hi {
		raw.add("(received_us < ? OR received_us >= ?)", lo, hi)
	}
	addTombstones(raw, ts, sinceUS)
	sp := statsParts{
		stepUS: sq.Step.Microseconds(),
		rollup: "bin_id = ? AND bucket_us >= ? AND bucket_us < ?",
		args:   []any{sq.BinID, lo, hi},
		raw:    raw.sql(),
		rawArg: raw.args,
		totals: lo == hi,
	}
	st := &schema.Stats{
		ByStatus:    map[string]int64{},
		ByMethod:    map[string]int64{},
		BySignature: map[string]int64{},
		Series:      []schema.SeriesPoint{},
		TopSenders:  []schema.SenderCount{},
	}
	parts := []func(context.Context, *statsParts, *schema.Stats) error{s.statsBreakdown, s.statsSeries, s.statsSenders}
	if !sp.totals {
		parts = append(parts, s.statsPercentiles)
	}
	// The statements run at once: each fills its own fields of st.
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, part := range parts {
		wg.Go(func() { errs[i] = part(ctx, &sp, st) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if st.Total == 0 {
		st.LatencyUS = schema.Percentiles{}
		st.Series = []schema.SeriesPoint{}
	}
	return st, nil
}

// statsParts are the two sources of one Stats call: the rollup buckets
// (rollup, args) and the rest of the range in requests (raw, rawArg).
type statsParts struct {
	stepUS int64
	rollup string
	args   []any
	raw    string
	rawArg []any
	// totals: no rollup buckets, so the series scan of requests computes
	// the overall percentiles WITH TOTALS instead of a fourth statement.
	totals bool
}

// both returns the arguments of a statement that binds pre, the rollup
// condition, mid, then the raw condition.
func (p *statsParts) both(pre, mid []any) []any {
	out := append(append([]any{}, pre...), p.args...)
	return append(append(out, mid...), p.rawArg...)
}

// statsBreakdown fills Total and the ByStatus, ByMethod, BySignature maps.
func (s *Store) statsBreakdown(ctx context.Context, p *statsParts, st *schema.Stats) error {
	rows, err := s.conn.Query(ctx, `SELECT response_status, method, sig_status, sum(requests)
		FROM request_counts_5m WHERE `+p.rollup+` GROUP BY response_status, method, sig_status
		UNION ALL
		SELECT response_status, method, sig_status, count()
		FROM requests WHERE `+p.raw+` GROUP BY response_status, method, sig_status`, p.both(nil, nil)...)
	if err != nil {
		return classify("stats breakdown", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status uint16
		var method, sig string
		var n uint64
		if err := rows.Scan(&status, &method, &sig, &n); err != nil {
			return classify("scan stats breakdown", err)
		}
		st.Total += int64(n)
		st.ByStatus[strconv.Itoa(int(status))] += int64(n)
		st.ByMethod[method] += int64(n)
		st.BySignature[sig] += int64(n)
	}
	if err := rows.Err(); err != nil {
		return classify("stats breakdown", err)
	}
	return nil
}

// statsSeries fills Series and, when p.totals, LatencyUS.
func (s *Store) statsSeries(ctx context.Context, p *statsParts, st *schema.Stats) error {
	withTotals := ""
	if p.totals {
		withTotals = " WITH TOTALS" // aggregates the whole range once more from the same states
	}
	step := []any{p.stepUS, p.stepUS}
	// The rollup rows go to the outer GROUP BY as they are (merging them
	// per bucket in the inner query too costs twice the merge).
	rows, err := s.conn.Query(ctx, `SELECT t, countMerge(n), quantilesMerge(0.5, 0.95, 0.99)(q) FROM (
			SELECT intDiv(bucket_us, ?) * ? AS t, requests AS n, latency_us AS q
			FROM request_latency_5m WHERE `+p.rollup+`
			UNION ALL
			SELECT intDiv(received_us, ?) * ? AS t, countState() AS n, quantilesState(0.5, 0.95, 0.99)(latency_us) AS q
			FROM requests WHERE `+p.raw+` GROUP BY t)
		GROUP BY t`+withTotals+` ORDER BY t`, p.both(step, step)...)
	if err != nil {
		return classify("stats series", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		var n uint64
		var qs []float64
		if err := rows.Scan(&t, &n, &qs); err != nil {
			return classify("scan stats series", err)
		}
		pt := schema.SeriesPoint{T: time.UnixMicro(t).UTC(), Count: int64(n)}
		if len(qs) == 3 {
			pt.P95LatencyUS = round(qs[1])
		}
		st.Series = append(st.Series, pt)
	}
	if err := rows.Err(); err != nil {
		return classify("stats series", err)
	}
	if !p.totals {
		return nil
	}
	var (
		totalT  int64
		totalN  uint64
		totalQs []float64
	)
	if err := rows.Totals(&totalT, &totalN, &totalQs); err != nil {
		return classify("stats percentiles", err)
	}
	st.LatencyUS = percentiles(totalQs)
	return nil
}

// statsPercentiles fills LatencyUS from both sources. With rollup buckets
// this is cheaper than WITH TOTALS on the series, which on 18.16 costs as
// much again as the series itself.
func (s *Store) statsPercentiles(ctx context.Context, p *statsParts, st *schema.Stats) error {
	var qs []float64
	err := s.conn.QueryRow(ctx, `SELECT quantilesMerge(0.5, 0.95, 0.99)(q) FROM (
			SELECT latency_us AS q FROM request_latency_5m WHERE `+p.rollup+`
			UNION ALL
			SELECT quantilesState(0.5, 0.95, 0.99)(latency_us) AS q FROM requests WHERE `+p.raw+`)`,
		p.both(nil, nil)...).Scan(&qs)
	if err != nil {
		return classify("stats percentiles", err)
	}
	st.LatencyUS = percentiles(qs)
	return nil
}

func percentiles(qs []float64) schema.Percentiles {
	if len(qs) != 3 {
		return schema.Percentiles{}
	}
	return schema.Percentiles{P50: round(qs[0]), P95: round(qs[1]), P99: round(qs[2])}
}

// statsSenders fills TopSenders.
func (s *Store) statsSenders(ctx context.Context, p *statsParts, st *schema.Stats) error {
	rows, err := s.conn.Query(ctx, `SELECT remote_ip, sum(n) AS c FROM (
			SELECT remote_ip, sum(requests) AS n FROM request_counts_5m WHERE `+p.rollup+` GROUP BY remote_ip
			UNION ALL
			SELECT remote_ip, count() AS n FROM requests WHERE `+p.raw+` GROUP BY remote_ip)
		GROUP BY remote_ip ORDER BY c DESC, remote_ip ASC LIMIT 10`, p.both(nil, nil)...)
	if err != nil {
		return classify("stats senders", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sc schema.SenderCount
		var n uint64
		if err := rows.Scan(&sc.IP, &n); err != nil {
			return classify("scan stats senders", err)
		}
		sc.Count = int64(n)
		st.TopSenders = append(st.TopSenders, sc)
	}
	if err := rows.Err(); err != nil {
		return classify("stats senders", err)
	}
	sort.SliceStable(st.TopSenders, func(i, j int) bool {
		a, b := st.TopSenders[i], st.TopSenders[j]
		return a.Count > b.Count || a.Count == b.Count && a.IP < b.IP
	})
	return nil
}

// rollupUS is the bucket of the stats rollups (migration 0004): 5 minutes.
const rollupUS = int64(5 * time.Minute / time.Microsecond)

// rollupRange returns the buckets [lo, hi) of the stats of sq that the
// rollups answer, or lo == hi when none: whole buckets inside [Since,
// Until), received after every request a tombstone of the bin may hide and
// after stats_rollup_start, for a step the buckets tile (a multiple of 5
// minutes; series buckets are aligned to the epoch like rollup buckets).
//
// A trim hides nothing received after its upto key. A deletion of the whole
// bin hides requests ingested at or before its cut, and a request is
// received before it is ingested (capture stamps it with the clock that
// later stamps the write, see tick), so nothing received after the cut.
// Requests of the buckets before the boundary are read from requests with
// the tombstone conditions, as before.
func (s *Store) rollupRange(sq schema.StatsQuery, ts []tombstone) (lo, hi int64) {
	if sq.Step.Microseconds()%rollupUS != 0 {
		return 0, 0
	}
	after := s.rollupAfter // requests received after it are in the rollups
	for _, t := range ts {
		if t.upto == math.MaxInt64 {
			after = max(after, t.cut)
		} else {
			after = max(after, t.upto)
		}
	}
	lo = floorDiv(after, rollupUS)*rollupUS + rollupUS // first bucket starting after `after`
	if !sq.Since.IsZero() {
		since := schema.Truncate(sq.Since).UnixMicro()
		lo = max(lo, -floorDiv(-since, rollupUS)*rollupUS) // since rounded up
	}
	hi = floorDiv(schema.Truncate(sq.Until).UnixMicro(), rollupUS) * rollupUS
	lo = max(lo, 0) // intDiv rounds toward zero: negative times stay raw
	if lo >= hi {
		return 0, 0
	}
	return lo, hi
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
func round(f float64) int64 {
	if math.IsNaN(f) {
		return 0
	}
	return int64(math.Round(f))
}
