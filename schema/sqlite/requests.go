package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// ON CONFLICT DO NOTHING (on the unique requests_bin_time), not INSERT OR IGNORE: OR IGNORE would also
// silently drop rows that violate NOT NULL.
const insertRequestSQL = `INSERT INTO requests (
    id, bin_id, received_at, method, path, query, headers, remote_ip, content_type,
    body_size, body_truncated, response_status, latency_us,
    sig_scheme, sig_status, sig_reason, delivery_lag_ms, forward, aborted,
    event_type, delivery_id, attempt, duplicate_of, refused_reason, redacted, body
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// requestParams is the number of values one row of insertRequestSQL binds.
const requestParams = 26

// insertChunk is how many rows insertMany writes per statement: one
// statement execution (and one pass through database/sql) per 32 rows
// instead of per row. 32 × 26 parameters stay far below SQLite's limit.
const insertChunk = 32

// insertRowsSQL is insertRequestSQL with n rows of placeholders.
func insertRowsSQL(n int) string {
	row := "(" + strings.Repeat("?, ", requestParams-1) + "?)"
	head, _, _ := strings.Cut(insertRequestSQL, "VALUES")
	rows := strings.Repeat(row+", ", n-1) + row
	return head + "VALUES " + rows + "\nON CONFLICT DO NOTHING"
}

// requestCols are the columns scanRequest reads, body last; the list query
// replaces the body with its preview.
const requestCols = `id, bin_id, received_at, method, path, query, headers, remote_ip, content_type,
    body_size, body_truncated, response_status, latency_us,
    sig_scheme, sig_status, sig_reason, delivery_lag_ms, forward, aborted,
    event_type, delivery_id, attempt, duplicate_of, refused_reason, redacted`

const (
	getRequestSQL     = `SELECT ` + requestCols + `, body FROM requests WHERE bin_id = ? AND received_at >= ? AND received_at < ? AND id = ?`
	countRequestsSQL  = `SELECT count(*) FROM requests WHERE bin_id = ?`
	deleteRequestsSQL = `DELETE FROM requests WHERE bin_id = ?`
	trimRequestsSQL   = `DELETE FROM requests WHERE rowid IN (
    SELECT rowid FROM requests WHERE bin_id = ? ORDER BY received_at DESC, id DESC LIMIT -1 OFFSET ?)`
)

const (
	defaultLimit = 50
	maxLimit     = 1000
)

// WriteRequests inserts reqs in one transaction through the prepared
// statement; ON CONFLICT (id) DO NOTHING makes retries harmless. A nil
// error means the transaction committed.
func (s *Store) WriteRequests(ctx context.Context, reqs []*schema.Request) error {
	for i, r := range reqs {
		if r == nil || r.ID == uuid.Nil || r.BinID == "" {
			return fmt.Errorf("%w: request %d has no id or bin", schema.ErrInvalid, i)
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write requests: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()
	one := tx.StmtContext(ctx, s.insert)
	var many *sql.Stmt
	if len(reqs) >= insertChunk {
		many = tx.StmtContext(ctx, s.insertMany)
	}
	args := make([]any, 0, requestParams*insertChunk)
	// The encoded headers of one statement's rows, back to back; the
	// driver copies what it binds, so the next statement reuses it.
	arena := make([]byte, 0, 16<<10)
	for len(reqs) > 0 {
		stmt, n := one, 1
		if len(reqs) >= insertChunk {
			stmt, n = many, insertChunk
		}
		args, arena = args[:0], arena[:0]
		for _, r := range reqs[:n] {
			var err error
			if args, arena, err = appendRequestArgs(args, arena, r); err != nil {
				return fmt.Errorf("write requests: %w", err)
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("write requests: insert: %w", wrapErr(err))
		}
		reqs = reqs[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write requests: commit: %w", wrapErr(err))
	}
	return nil
}

// appendRequestArgs appends the requestParams values of r's row, in
// insertRequestSQL's column order; r's encoded headers go to arena.
func appendRequestArgs(args []any, arena []byte, r *schema.Request) ([]any, []byte, error) {
	var lag any
	if r.DeliveryLagMS != nil {
		lag = *r.DeliveryLagMS
	}
	var fwd any
	if r.Forward != nil {
		b, err := json.Marshal(r.Forward)
		if err != nil {
			return args, arena, fmt.Errorf("encode forward: %w", err)
		}
		fwd = b
	}
	body := r.Body
	if body == nil {
		body = []byte{} // a nil []byte binds as NULL
	}
	var dup any
	if r.DuplicateOf != nil {
		dup = r.DuplicateOf[:]
	}
	red, err := schema.EncodeRedaction(r.Redacted)
	if err != nil {
		return args, arena, err
	}
	// Each row's headers get their own bytes (never nil: a nil []byte
	// binds as NULL): the driver binds every row before the statement runs.
	start := len(arena)
	arena = encodeHeaders(arena, r.Headers)
	headers := arena[start:len(arena):len(arena)]
	return append(args,
		r.ID[:], r.BinID, micros(r.ReceivedAt), r.Method, r.Path, r.Query, headers, r.RemoteIP, r.ContentType,
		r.BodySize, r.BodyTruncated, r.ResponseStatus, r.LatencyUS,
		r.Signature.Scheme, string(r.Signature.Status), r.Signature.Reason, lag, fwd, r.Aborted,
		r.EventType, r.DeliveryID, r.Attempt, dup, r.RefusedReason, red, body,
	), arena, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanRequest(sc rowScanner) (*schema.Request, error) {
	var (
		r                schema.Request
		id, headers, fwd []byte
		dup              []byte
		receivedAt       int64
		truncated        bool
		sigStatus        string
		lag              sql.NullInt64
		body             []byte
		redacted         string
	)
	if err := sc.Scan(&id, &r.BinID, &receivedAt, &r.Method, &r.Path, &r.Query, &headers, &r.RemoteIP, &r.ContentType,
		&r.BodySize, &truncated, &r.ResponseStatus, &r.LatencyUS,
		&r.Signature.Scheme, &sigStatus, &r.Signature.Reason, &lag, &fwd, &r.Aborted,
		&r.EventType, &r.DeliveryID, &r.Attempt, &dup, &r.RefusedReason, &redacted, &body); err != nil {
		return nil, err
	}
	var err error
	if r.Redacted, err = schema.DecodeRedaction(redacted); err != nil {
		return nil, err
	}
	if r.ID, err = uuid.FromBytes(id); err != nil {
		return nil, fmt.Errorf("decode id: %w", err)
	}
	r.ReceivedAt = fromMicros(receivedAt)
	if r.Headers, err = decodeHeaders(headers); err != nil {
		return nil, err
	}
	r.BodyTruncated = truncated
	if dup != nil {
		u, err := uuid.FromBytes(dup)
		if err != nil {
			return nil, fmt.Errorf("decode duplicate_of: %w", err)
		}
		r.DuplicateOf = &u
	}
	r.Signature.Status = schema.SignatureStatus(sigStatus)
	if lag.Valid {
		v := lag.Int64
		r.DeliveryLagMS = &v
	}
	if fwd != nil {
		r.Forward = new(schema.Forward)
		if err := json.Unmarshal(fwd, r.Forward); err != nil {
			return nil, fmt.Errorf("decode forward: %w", err)
		}
	}
	if body == nil {
		body = []byte{}
	}
	r.Body = body
	return &r, nil
}

// condNotReplay holds for a request that is not a replay's record
// (schema.IsReplay): forward is NULL or JSON text (cast, so that SQLite
// does not read the BLOB as JSONB) whose mode is not "replay".
const condNotReplay = `IFNULL(json_extract(CAST(forward AS TEXT), '$.mode'), '') <> 'replay'`

// whereFilter builds the WHERE clause of f's constraints except the cursor.
// Only placeholders go into the SQL text; every value is a bound argument.
func whereFilter(f *schema.Filter) (string, []any, error) {
	var b strings.Builder
	args := make([]any, 0, 12)
	b.WriteString("bin_id = ?")
	args = append(args, f.BinID)
	if f.Method != "" {
		b.WriteString(" AND method = ?")
		args = append(args, f.Method)
	}
	if f.StatusMin != 0 {
		b.WriteString(" AND response_status >= ?")
		args = append(args, f.StatusMin)
	}
	if f.StatusMax != 0 {
		b.WriteString(" AND response_status <= ?")
		args = append(args, f.StatusMax)
	}
	if f.IP != "" {
		b.WriteString(" AND remote_ip = ?")
		args = append(args, f.IP)
	}
	if !f.Since.IsZero() {
		b.WriteString(" AND received_at >= ?")
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		b.WriteString(" AND received_at < ?")
		args = append(args, micros(f.Until))
	}
	if f.Signature != "" {
		b.WriteString(" AND sig_status = ?")
		args = append(args, string(f.Signature))
	}
	if f.EventType != "" {
		b.WriteString(" AND event_type = ?")
		args = append(args, f.EventType)
	}
	if f.DeliveryID != "" {
		b.WriteString(" AND delivery_id = ? AND delivery_id != ''")
		args = append(args, f.DeliveryID)
	}
	if f.Forward != "" {
		b.WriteString(" AND forward IS NOT NULL AND forward_state = ?")
		args = append(args, string(f.Forward))
	}
	switch f.Replays {
	case schema.ReplaysExclude:
		b.WriteString(" AND " + condNotReplay)
	case schema.ReplaysOnly:
		b.WriteString(" AND NOT " + condNotReplay)
	}
	if f.Q != "" {
		var err error
		if args, err = whereQ(f.Q, &b, args); err != nil {
			return "", nil, err
		}
	}
	return b.String(), args, nil
}

// ListRequests pages through one bin along the (received_at, id) index. It
// reads limit+1 rows so Next is nil exactly when nothing follows.
func (s *Store) ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error) {
	if f.BinID == "" {
		return schema.Page{}, fmt.Errorf("%w: filter without bin", schema.ErrInvalid)
	}
	if f.Before != nil && f.After != nil {
		return schema.Page{}, fmt.Errorf("%w: both before and after cursors", schema.ErrInvalid)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		limit = maxLimit
	}
	where, args, err := whereFilter(&f)
	if err != nil {
		return schema.Page{}, fmt.Errorf("list requests: %w", err)
	}
	order := "DESC"
	switch {
	case f.Before != nil:
		where += " AND (received_at, id) < (?, ?)"
		args = append(args, micros(f.Before.ReceivedAt), f.Before.ID[:])
	case f.After != nil:
		where += " AND (received_at, id) > (?, ?)"
		args = append(args, micros(f.After.ReceivedAt), f.After.ID[:])
		order = "ASC"
	}
	q := `SELECT ` + requestCols + `, substr(body, 1, ` + fmt.Sprint(schema.PreviewBytes) + `) FROM requests WHERE ` +
		where + ` ORDER BY received_at ` + order + `, id ` + order + ` LIMIT ?`
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return schema.Page{}, fmt.Errorf("list requests: query: %w", wrapErr(err))
	}
	defer rows.Close()
	page := schema.Page{Requests: make([]*schema.Request, 0, min(limit, 64))}
	more := false
	for rows.Next() {
		if len(page.Requests) == limit {
			more = true
			break
		}
		r, err := scanRequest(rows)
		if err != nil {
			return schema.Page{}, fmt.Errorf("list requests: scan: %w", wrapErr(err))
		}
		page.Requests = append(page.Requests, r)
	}
	if err := rows.Err(); err != nil {
		return schema.Page{}, fmt.Errorf("list requests: rows: %w", wrapErr(err))
	}
	if more {
		page.Next = schema.CursorOf(page.Requests[len(page.Requests)-1])
	}
	return page, nil
}

// GetRequest returns one request with its full body.
func (s *Store) GetRequest(ctx context.Context, binID string, id uuid.UUID) (*schema.Request, error) {
	// There is no index on id alone (migration 0002): a UUIDv7 id carries the
	// millisecond it was minted, which capture takes together with
	// received_at (ingest.Pipeline.NewID), so a window of +-2 s around it finds the row on
	// requests_bin_time at once. Ids minted elsewhere (imports, tests, other
	// versions) fall back to the whole bin, an index-only scan.
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if t, ok := schema.IDTime(id); ok {
		from, to = t.Add(-2*time.Second).UnixMicro(), t.Add(2*time.Second).UnixMicro()
	}
	r, err := scanRequest(s.r.QueryRowContext(ctx, getRequestSQL, binID, from, to, id[:]))
	if err == sql.ErrNoRows && from != math.MinInt64 {
		r, err = scanRequest(s.r.QueryRowContext(ctx, getRequestSQL, binID, int64(math.MinInt64), int64(math.MaxInt64), id[:]))
	}
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("get request %s: %w", id, schema.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get request %s: %w", id, wrapErr(err))
	}
	return r, nil
}

// CountRequests counts a bin's requests on the (bin_id, ...) index.
func (s *Store) CountRequests(ctx context.Context, binID string) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, countRequestsSQL, binID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count requests: %w", wrapErr(err))
	}
	return n, nil
}

// CountMatching counts the filter's requests, reading at most max rows.
func (s *Store) CountMatching(ctx context.Context, f schema.Filter, max int64) (int64, error) {
	if f.BinID == "" || max < 1 {
		return 0, fmt.Errorf("%w: count matching needs a bin and max >= 1", schema.ErrInvalid)
	}
	f.Before, f.After = nil, nil
	where, args, err := whereFilter(&f)
	if err != nil {
		return 0, fmt.Errorf("count matching: %w", err)
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM requests WHERE `+where+` LIMIT ?)`,
		append(args, max)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count matching: %w", wrapErr(err))
	}
	return n, nil
}

// DeleteRequests removes every request of a bin.
func (s *Store) DeleteRequests(ctx context.Context, binID string) error {
	if _, err := s.w.ExecContext(ctx, deleteRequestsSQL, binID); err != nil {
		return fmt.Errorf("delete requests: %w", wrapErr(err))
	}
	return nil
}

// DeleteRequest removes one request, found like GetRequest finds it.
func (s *Store) DeleteRequest(ctx context.Context, binID string, id uuid.UUID) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM requests WHERE bin_id = ? AND id = ?`, binID, id[:])
	if err != nil {
		return fmt.Errorf("delete request %s: %w", id, wrapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete request %s: rows affected: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete request %s: %w", id, schema.ErrNotFound)
	}
	return nil
}

// DeleteMatching removes the bin's requests matching f's match fields.
func (s *Store) DeleteMatching(ctx context.Context, f schema.Filter) (int64, error) {
	if f.BinID == "" || !f.HasMatch() {
		return 0, fmt.Errorf("%w: delete by filter needs a bin and a filter", schema.ErrInvalid)
	}
	where, args, err := whereFilter(&f)
	if err != nil {
		return 0, fmt.Errorf("delete matching: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM requests WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("delete matching: %w", wrapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete matching: rows affected: %w", err)
	}
	return n, nil
}

// TrimRequests keeps the newest keep requests of a bin, removing the rest at once.
func (s *Store) TrimRequests(ctx context.Context, binID string, keep int) (int64, error) {
	if keep < 0 {
		return 0, fmt.Errorf("%w: keep must be >= 0", schema.ErrInvalid)
	}
	res, err := s.w.ExecContext(ctx, trimRequestsSQL, binID, keep)
	if err != nil {
		return 0, fmt.Errorf("trim requests: %w", wrapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("trim requests: rows affected: %w", err)
	}
	return n, nil
}

// PurgeExpired removes expired bins and their requests in one transaction.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge expired: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()
	at := micros(now)
	if _, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE bin_id IN (
    SELECT id FROM bins WHERE expires_at IS NOT NULL AND expires_at <= ?)`, at); err != nil {
		return 0, fmt.Errorf("purge expired: requests: %w", wrapErr(err))
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM bins WHERE expires_at IS NOT NULL AND expires_at <= ?`, at)
	if err != nil {
		return 0, fmt.Errorf("purge expired: bins: %w", wrapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge expired: rows affected: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge expired: commit: %w", wrapErr(err))
	}
	return int(n), nil
}
