// The read path: ListRequests (two-step paging), GetRequest, CountRequests,
// and the row scan shared by them.

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

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
		attempt              int32
		dup                  string
		redacted             string
		fwdState, fwdDetail  string
	)
	err := row.Scan(&r.BinID, &receivedUS, &r.ID, &ingestUS, &r.Method, &r.Path, &r.Query,
		&names, &values, &r.RemoteIP, &r.ContentType, &r.BodySize, &truncated,
		&head, &tail, &status, &r.LatencyUS, &r.Signature.Scheme, &sigStatus, &r.Signature.Reason,
		&r.DeliveryLagMS, &hasFwd, &fwd.URL, &fwd.Mode, &fwdStatus, &fwd.LatencyUS, &fwd.Error, &aborted,
		&r.EventType, &r.DeliveryID, &attempt, &dup, &r.RefusedReason, &redacted, &fwdState, &fwdDetail)
	if err != nil {
		return nil, err
	}
	if r.Redacted, err = schema.DecodeRedaction(redacted); err != nil {
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
	r.Attempt = int(attempt)
	if dup != "" {
		u, err := uuid.Parse(dup)
		if err != nil {
			return nil, fmt.Errorf("decode duplicate_of: %w", err)
		}
		r.DuplicateOf = &u
	}
	if len(head)+len(tail) > 0 {
		r.Body = make([]byte, 0, len(head)+len(tail))
		r.Body = append(append(r.Body, head...), tail...)
	}
	r.ResponseStatus = int(status)
	r.Signature.Status = schema.SignatureStatus(sigStatus)
	if hasFwd == 1 {
		fwd.Status = int(fwdStatus)
		r.Forward = &fwd
		if err := scanForwardDetail(r.Forward, fwdDetail); err != nil {
			return nil, err
		}
	}
	return &r, nil
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
		rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlPageKeys, where, order), append(args, fetch)...)
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
	rows, err := s.conn.Query(ctx, sqlPageRows,
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
	if err := s.overlayForwards(ctx, f.BinID, page.Requests); err != nil {
		return schema.Page{}, err
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
	rows, err := s.conn.Query(ctx, sqlGetRequest+q.sql()+" LIMIT 1", q.args...)
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
	rows.Close()
	if err := s.overlayForwards(ctx, binID, []*schema.Request{r}); err != nil {
		return nil, err
	}
	return r, nil
}

// CountMatching counts the filter's requests through the same bin query
// as ListRequests (tombstones applied), reading at most max rows.
func (s *Store) CountMatching(ctx context.Context, f schema.Filter, max int64) (int64, error) {
	if f.BinID == "" || max < 1 {
		return 0, fmt.Errorf("count matching: %w: a bin and max >= 1 are required", schema.ErrInvalid)
	}
	f.Before, f.After = nil, nil
	q, err := s.binQuery(ctx, &f)
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountMatching+q.sql()+` LIMIT ?)`, append(q.args, uint64(max))...).Scan(&n); err != nil {
		return 0, classify("count matching", err)
	}
	return int64(n), nil
}

// CountRequests counts the requests a bin holds.
func (s *Store) CountRequests(ctx context.Context, binID string) (int64, error) {
	q, err := s.binQuery(ctx, &schema.Filter{BinID: binID})
	if err != nil {
		return 0, err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountRequests+q.sql(), q.args...).Scan(&n); err != nil {
		return 0, classify("count requests", err)
	}
	return int64(n), nil
}
