// Stats: the rollup buckets united with a scan of the rest of the range.

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hookscope/hookscope/schema"
)

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
	if sq.ExcludeReplays && lo < hi {
		// The rollups count replays with the rest: when the range holds
		// any, every figure comes from requests, without them.
		n, err := s.countReplays(ctx, sq, ts)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			lo, hi = 0, 0
		}
	}
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
	if sq.ExcludeReplays {
		raw.add(condNotReplay)
	}
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
		ByEventType: map[string]int64{},
		Series:      []schema.SeriesPoint{},
		TopSenders:  []schema.SenderCount{},
	}
	// The rollups do not carry event_type: by_event_type scans requests
	// over the whole range (with the tombstone conditions).
	ev := &query{}
	ev.add("bin_id = ?", sq.BinID)
	if !sq.Since.IsZero() {
		ev.add("received_us >= ?", sinceUS)
	}
	ev.add("received_us < ?", untilUS)
	addTombstones(ev, ts, sinceUS)
	if sq.ExcludeReplays {
		ev.add(condNotReplay)
	}
	byEvent := func(ctx context.Context, _ *statsParts, st *schema.Stats) error {
		return s.statsByEventType(ctx, ev, st)
	}
	fwd := map[int64]schema.SeriesPoint{}
	byForward := func(ctx context.Context, p *statsParts, st *schema.Stats) error {
		return s.statsForward(ctx, ev, p.stepUS, st, fwd)
	}
	parts := []func(context.Context, *statsParts, *schema.Stats) error{s.statsBreakdown, s.statsSeries, s.statsSenders, byEvent, byForward}
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
	for i := range st.Series {
		if f, ok := fwd[st.Series[i].T.UnixMicro()]; ok {
			st.Series[i].Forwarded, st.Series[i].P95ForwardLatencyUS = f.Forwarded, f.P95ForwardLatencyUS
		}
	}
	return st, nil
}

// statsForward fills Forwarded and ForwardLatencyUS, and the per-bucket
// forward figures into series (merged into Series once every statement is
// done: statsSeries fills Series meanwhile).
func (s *Store) statsForward(ctx context.Context, q *query, stepUS int64, st *schema.Stats, series map[int64]schema.SeriesPoint) error {
	args := append([]any{stepUS, stepUS}, q.args...)
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlStatsForward, q.sql()), args...)
	if err != nil {
		return classify("stats forward latency", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		var n uint64
		var qs []float64
		if err := rows.Scan(&t, &n, &qs); err != nil {
			return classify("scan stats forward latency", err)
		}
		pt := schema.SeriesPoint{Forwarded: int64(n)}
		if len(qs) == 3 {
			pt.P95ForwardLatencyUS = round(qs[1])
		}
		series[t] = pt
	}
	if err := rows.Err(); err != nil {
		return classify("stats forward latency", err)
	}
	var (
		totalT  int64
		totalN  uint64
		totalQs []float64
	)
	if err := rows.Totals(&totalT, &totalN, &totalQs); err != nil {
		return classify("stats forward latency totals", err)
	}
	if totalN > 0 {
		st.Forwarded = int64(totalN)
		st.ForwardLatencyUS = percentiles(totalQs)
	}
	return nil
}

// countReplays counts the records of replays in sq's range.
func (s *Store) countReplays(ctx context.Context, sq schema.StatsQuery, ts []tombstone) (uint64, error) {
	q := &query{}
	q.add("bin_id = ?", sq.BinID)
	sinceUS := int64(math.MinInt64)
	if !sq.Since.IsZero() {
		sinceUS = schema.Truncate(sq.Since).UnixMicro()
		q.add("received_us >= ?", sinceUS)
	}
	q.add("received_us < ?", schema.Truncate(sq.Until).UnixMicro())
	addTombstones(q, ts, sinceUS)
	q.add("NOT " + condNotReplay)
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountWhere+q.sql(), q.args...).Scan(&n); err != nil {
		return 0, classify("stats count replays", err)
	}
	return n, nil
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
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlStatsBreakdown, p.rollup, p.raw), p.both(nil, nil)...)
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

// statsByEventType fills ByEventType.
func (s *Store) statsByEventType(ctx context.Context, q *query, st *schema.Stats) error {
	rows, err := s.conn.Query(ctx, sqlStatsEventTypes+q.sql()+` GROUP BY event_type`, q.args...)
	if err != nil {
		return classify("stats event types", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev string
		var n uint64
		if err := rows.Scan(&ev, &n); err != nil {
			return classify("scan stats event types", err)
		}
		st.ByEventType[ev] += int64(n)
	}
	if err := rows.Err(); err != nil {
		return classify("stats event types", err)
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
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlStatsSeries, p.rollup, p.raw, withTotals), p.both(step, step)...)
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
	err := s.conn.QueryRow(ctx, fmt.Sprintf(sqlStatsPercentiles, p.rollup, p.raw), p.both(nil, nil)...).Scan(&qs)
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
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlStatsSenders, p.rollup, p.raw), p.both(nil, nil)...)
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
