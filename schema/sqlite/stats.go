package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Stats runs four queries over the bin's rows in [Since, Until) inside one
// read transaction (one snapshot):
//
//  1. counts grouped by (status, method, signature), folded into the three
//     maps and the total in Go (one scan instead of three);
//  2. the three latency percentiles, exact, by nearest rank: with n rows
//     sorted by latency_us, pX is the value at rank ceil(X/100 * n). SQL ranks
//     the rows with row_number() OVER (ORDER BY latency_us) and returns only
//     the three ranks asked for;
//  3. the series: rows bucketed by floor(received_at / step) * step, each
//     bucket's count and its p95 by the same nearest-rank rule over a window
//     partitioned by bucket; only non-empty buckets exist, ascending;
//  4. the top 10 senders by count, then IP.
//
// A zero Step means one minute. A zero Until means now.
func (s *Store) Stats(ctx context.Context, q schema.StatsQuery) (*schema.Stats, error) {
	if q.BinID == "" {
		return nil, fmt.Errorf("%w: stats without bin", schema.ErrInvalid)
	}
	step := q.Step
	if step <= 0 {
		step = time.Minute
	}
	stepUS := step.Microseconds()
	if stepUS <= 0 {
		return nil, fmt.Errorf("%w: step below one microsecond", schema.ErrInvalid)
	}
	until := q.Until
	if until.IsZero() {
		until = s.now()
	}
	where := `bin_id = ? AND received_at < ?`
	args := []any{q.BinID, micros(until)}
	if !q.Since.IsZero() {
		where += ` AND received_at >= ?`
		args = append(args, micros(q.Since))
	}

	st := &schema.Stats{
		ByStatus:    map[string]int64{},
		ByMethod:    map[string]int64{},
		BySignature: map[string]int64{},
		Series:      []schema.SeriesPoint{},
		TopSenders:  []schema.SenderCount{},
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("stats: begin: %w", wrapErr(err))
	}
	defer tx.Rollback()

	// 1. breakdowns.
	if err := eachRow(ctx, tx, `SELECT response_status, method, sig_status, count(*) FROM requests WHERE `+where+
		` GROUP BY response_status, method, sig_status`, args, func(rows *sql.Rows) error {
		var (
			status      int
			method, sig string
			n           int64
		)
		if err := rows.Scan(&status, &method, &sig, &n); err != nil {
			return err
		}
		st.Total += n
		st.ByStatus[strconv.Itoa(status)] += n
		st.ByMethod[method] += n
		st.BySignature[sig] += n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: breakdown: %w", err)
	}
	if st.Total == 0 {
		return st, nil
	}

	// 2. percentiles.
	r50, r95, r99 := rank(st.Total, 50), rank(st.Total, 95), rank(st.Total, 99)
	if err := eachRow(ctx, tx, `SELECT rn, latency_us FROM (
    SELECT latency_us, row_number() OVER (ORDER BY latency_us) AS rn FROM requests WHERE `+where+`
) WHERE rn IN (?, ?, ?)`, append(append([]any{}, args...), r50, r95, r99), func(rows *sql.Rows) error {
		var rn, v int64
		if err := rows.Scan(&rn, &v); err != nil {
			return err
		}
		if rn == r50 {
			st.LatencyUS.P50 = v
		}
		if rn == r95 {
			st.LatencyUS.P95 = v
		}
		if rn == r99 {
			st.LatencyUS.P99 = v
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: percentiles: %w", err)
	}

	// 3. series. The bucket expression floors for negative times too.
	bucket := `(received_at - (((received_at % ?) + ?) % ?))`
	sargs := append([]any{stepUS, stepUS, stepUS, stepUS, stepUS, stepUS, stepUS, stepUS, stepUS}, args...)
	if err := eachRow(ctx, tx, `SELECT b, n, latency_us FROM (
    SELECT `+bucket+` AS b, latency_us,
           row_number() OVER (PARTITION BY `+bucket+` ORDER BY latency_us) AS rn,
           count(*) OVER (PARTITION BY `+bucket+`) AS n
    FROM requests WHERE `+where+`
) WHERE rn = (n * 95 + 99) / 100 ORDER BY b`, sargs, func(rows *sql.Rows) error {
		var b, n, p95 int64
		if err := rows.Scan(&b, &n, &p95); err != nil {
			return err
		}
		st.Series = append(st.Series, schema.SeriesPoint{T: fromMicros(b), Count: n, P95LatencyUS: p95})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: series: %w", err)
	}

	// 4. top senders.
	if err := eachRow(ctx, tx, `SELECT remote_ip, count(*) AS n FROM requests WHERE `+where+
		` GROUP BY remote_ip ORDER BY n DESC, remote_ip ASC LIMIT 10`, args, func(rows *sql.Rows) error {
		var sc schema.SenderCount
		if err := rows.Scan(&sc.IP, &sc.Count); err != nil {
			return err
		}
		st.TopSenders = append(st.TopSenders, sc)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: top senders: %w", err)
	}
	return st, nil
}

// rank is the 1-based nearest rank of percentile p among n sorted values.
func rank(n int64, p int64) int64 {
	r := (n*p + 99) / 100
	if r < 1 {
		r = 1
	}
	return r
}

func eachRow(ctx context.Context, tx *sql.Tx, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return wrapErr(err)
		}
	}
	return wrapErr(rows.Err())
}
