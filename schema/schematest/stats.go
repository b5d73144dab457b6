package schematest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// statsTests are the cases of schema.Reader's Stats.
var statsTests = []testCase{
	{"StatsEmpty", testStatsEmpty},
	{"StatsExact", testStatsExact},
	{"StatsSeries", testStatsSeries},
	{"StatsTopSenders", testStatsTopSenders},
	{"StatsRange", testStatsRange},
	{"StatsPercentilesInRange", testStatsPercentilesInRange},
	{"StatsForwardLatency", testStatsForwardLatency},
	{"StatsExcludeReplays", testStatsExcludeReplays},
}

// ---- stats -----------------------------------------------------------------

func stats(t *testing.T, s schema.Store, q schema.StatsQuery) *schema.Stats {
	t.Helper()
	st, err := s.Stats(t.Context(), q)
	if err != nil {
		t.Fatalf("Stats(%+v): %v", q, err)
	}
	if st.ByStatus == nil || st.ByMethod == nil || st.BySignature == nil || st.Series == nil || st.TopSenders == nil {
		t.Errorf("Stats has nil maps or slices: %+v", st)
	}
	return st
}

func checkMap(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

func testStatsEmpty(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	if st.Total != 0 || len(st.ByStatus)+len(st.ByMethod)+len(st.BySignature)+len(st.Series)+len(st.TopSenders) != 0 ||
		st.LatencyUS != (schema.Percentiles{}) {
		t.Errorf("empty bin stats = %+v, want zero values", st)
	}
	// A range that excludes every request behaves the same.
	write(t, s, req(t, bin.ID, baseTime()))
	st = stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: baseTime().Add(time.Hour), Step: time.Minute})
	if st.Total != 0 || len(st.Series) != 0 || len(st.TopSenders) != 0 || len(st.ByStatus) != 0 {
		t.Errorf("stats of an empty range = %+v", st)
	}
}

// testStatsExact uses a data set on which every common percentile definition
// (nearest rank, exact quantile, linear interpolation) gives the same answer:
// 90 × 10µs, 8 × 200µs, 2 × 5000µs → p50 10, p95 200, p99 5000.
func testStatsExact(t *testing.T, s schema.Store) {
	bin, other := newBin(t, s), newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	for i := range 100 {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		switch {
		case i < 90:
			r.LatencyUS = 10
		case i < 98:
			r.LatencyUS = 200
		default:
			r.LatencyUS = 5000
		}
		r.Method = []string{"POST", "GET", "PUT", "POST"}[i%4]
		r.ResponseStatus = []int{200, 200, 404, 500, 201}[i%5]
		r.Signature.Status = []schema.SignatureStatus{schema.SigValid, schema.SigInvalid, schema.SigMissing, schema.SigUnchecked}[i%4]
		r.RemoteIP = fmt.Sprintf("10.1.0.%d", i%3)
		reqs = append(reqs, r)
	}
	// Shuffle the write order so percentiles cannot come from insertion order.
	slices.Reverse(reqs[40:])
	write(t, s, reqs...)
	noise := req(t, other.ID, base)
	noise.LatencyUS = 1 << 40
	write(t, s, noise)

	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Hour})
	if st.Total != 100 {
		t.Errorf("Total = %d, want 100", st.Total)
	}
	checkMap(t, "ByStatus", st.ByStatus, map[string]int64{"200": 40, "404": 20, "500": 20, "201": 20})
	checkMap(t, "ByMethod", st.ByMethod, map[string]int64{"POST": 50, "GET": 25, "PUT": 25})
	checkMap(t, "BySignature", st.BySignature, map[string]int64{"valid": 25, "invalid": 25, "missing": 25, "unchecked": 25})
	if want := (schema.Percentiles{P50: 10, P95: 200, P99: 5000}); st.LatencyUS != want {
		t.Errorf("LatencyUS = %+v, want %+v", st.LatencyUS, want)
	}
	if len(st.Series) != 1 || !st.Series[0].T.Equal(base) || st.Series[0].Count != 100 || st.Series[0].P95LatencyUS != 200 {
		t.Errorf("Series = %+v, want one hour bucket at %v with 100 requests and p95 200", st.Series, base)
	}
	wantTop := []schema.SenderCount{{IP: "10.1.0.0", Count: 34}, {IP: "10.1.0.1", Count: 33}, {IP: "10.1.0.2", Count: 33}}
	if !slices.Equal(st.TopSenders, wantTop) {
		t.Errorf("TopSenders = %+v, want %+v", st.TopSenders, wantTop)
	}

	// One value only: every percentile is that value.
	single := newBin(t, s)
	r := req(t, single.ID, base)
	r.LatencyUS = 4242
	write(t, s, r)
	st = stats(t, s, schema.StatsQuery{BinID: single.ID, Step: time.Minute})
	if want := (schema.Percentiles{P50: 4242, P95: 4242, P99: 4242}); st.LatencyUS != want || st.Total != 1 {
		t.Errorf("single request: total %d, LatencyUS %+v, want %+v", st.Total, st.LatencyUS, want)
	}
}

func testStatsSeries(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	// Buckets of one minute at minutes 0, 1 and 5 (2-4 empty), with requests at
	// unaligned offsets inside them; each bucket has one latency value so its
	// p95 is unambiguous.
	plan := []struct {
		minute, n int
		latency   int64
	}{{0, 3, 100}, {1, 5, 300}, {5, 2, 700}}
	var reqs []*schema.Request
	for _, b := range plan {
		for i := range b.n {
			at := base.Add(time.Duration(b.minute)*time.Minute + time.Duration(1+i*11)*time.Second + 123*time.Microsecond)
			r := req(t, bin.ID, at)
			r.LatencyUS = b.latency
			reqs = append(reqs, r)
		}
	}
	// One request in the last microsecond of minute 1 belongs to minute 1.
	edge := req(t, bin.ID, base.Add(2*time.Minute-time.Microsecond))
	edge.LatencyUS = 300
	reqs = append(reqs, edge)
	write(t, s, reqs...)

	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	want := []schema.SeriesPoint{
		{T: base, Count: 3, P95LatencyUS: 100},
		{T: base.Add(time.Minute), Count: 6, P95LatencyUS: 300},
		{T: base.Add(5 * time.Minute), Count: 2, P95LatencyUS: 700},
	}
	checkSeries(t, st.Series, want)

	// A step of 2 minutes merges minutes 0 and 1; buckets stay aligned to the epoch.
	st = stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: 2 * time.Minute})
	for _, p := range st.Series {
		if p.T.UnixMicro()%(2*time.Minute).Microseconds() != 0 {
			t.Errorf("bucket %v not aligned to 2m", p.T)
		}
		if p.T.Location() != time.UTC {
			t.Errorf("bucket %v not UTC", p.T)
		}
	}
	if len(st.Series) != 2 || st.Series[0].Count != 9 || st.Series[1].Count != 2 || !st.Series[1].T.Equal(base.Add(4*time.Minute)) {
		t.Errorf("2m series = %+v", st.Series)
	} else if p := st.Series[0].P95LatencyUS; p < 100 || p > 300 {
		t.Errorf("2m bucket p95 = %d, outside observed 100..300", p)
	}
}

func checkSeries(t *testing.T, got, want []schema.SeriesPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Series = %+v, want %+v", got, want)
		return
	}
	for i := range want {
		if !got[i].T.Equal(want[i].T) || got[i].Count != want[i].Count || got[i].P95LatencyUS != want[i].P95LatencyUS {
			t.Errorf("Series[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testStatsTopSenders(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	// Counts with ties; "10.0.0.10" sorts before "10.0.0.2" as text.
	counts := map[string]int{
		"10.0.0.2": 5, "10.0.0.10": 5, "2001:db8::1": 7, "10.0.0.3": 4,
		"10.0.0.4": 2, "10.0.0.5": 2, "10.0.0.6": 2, "10.0.0.7": 1,
		"10.0.0.8": 1, "10.0.0.9": 1, "10.0.0.11": 1, "10.0.0.12": 1,
	}
	var reqs []*schema.Request
	i := 0
	for ip, n := range counts {
		for range n {
			r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
			r.RemoteIP = ip
			reqs = append(reqs, r)
			i++
		}
	}
	write(t, s, reqs...)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: time.Minute})
	want := []schema.SenderCount{
		{IP: "2001:db8::1", Count: 7}, {IP: "10.0.0.10", Count: 5}, {IP: "10.0.0.2", Count: 5}, {IP: "10.0.0.3", Count: 4},
		{IP: "10.0.0.4", Count: 2}, {IP: "10.0.0.5", Count: 2}, {IP: "10.0.0.6", Count: 2},
		{IP: "10.0.0.11", Count: 1}, {IP: "10.0.0.12", Count: 1}, {IP: "10.0.0.7", Count: 1},
	}
	if !slices.Equal(st.TopSenders, want) {
		t.Errorf("TopSenders =\n%+v\nwant\n%+v", st.TopSenders, want)
	}
}

func testStatsRange(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	for i := range 10 {
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Minute))
		r.LatencyUS = int64(1000 * (i + 1))
		r.ResponseStatus = 200 + i
		r.RemoteIP = fmt.Sprintf("10.2.0.%d", i)
		reqs = append(reqs, r)
	}
	write(t, s, reqs...)
	// [minute 3, minute 6): requests 3, 4, 5.
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: base.Add(3 * time.Minute), Until: base.Add(6 * time.Minute), Step: time.Minute})
	if st.Total != 3 {
		t.Errorf("Total = %d, want 3", st.Total)
	}
	checkMap(t, "ByStatus", st.ByStatus, map[string]int64{"203": 1, "204": 1, "205": 1})
	checkMap(t, "ByMethod", st.ByMethod, map[string]int64{"POST": 3})
	if st.LatencyUS.P50 < 4000 || st.LatencyUS.P99 > 6000 || st.LatencyUS.P99 < st.LatencyUS.P50 {
		t.Errorf("LatencyUS = %+v, outside 4000..6000", st.LatencyUS)
	}
	checkSeries(t, st.Series, []schema.SeriesPoint{
		{T: base.Add(3 * time.Minute), Count: 1, P95LatencyUS: 4000},
		{T: base.Add(4 * time.Minute), Count: 1, P95LatencyUS: 5000},
		{T: base.Add(5 * time.Minute), Count: 1, P95LatencyUS: 6000},
	})
	if len(st.TopSenders) != 3 || st.TopSenders[0] != (schema.SenderCount{IP: "10.2.0.3", Count: 1}) {
		t.Errorf("TopSenders = %+v", st.TopSenders)
	}
	// Since only, and Until only.
	if st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: base.Add(8 * time.Minute), Step: time.Minute}); st.Total != 2 {
		t.Errorf("since minute 8: Total = %d, want 2", st.Total)
	}
	if st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Until: base.Add(2 * time.Minute), Step: time.Minute}); st.Total != 2 {
		t.Errorf("until minute 2: Total = %d, want 2", st.Total)
	}
}

func testStatsPercentilesInRange(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	lo, hi := int64(1<<62), int64(0)
	var seed uint64 = 0x9e3779b97f4a7c15
	for i := range 997 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		r := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))
		r.LatencyUS = 50 + int64(seed%1_000_000)
		lo, hi = min(lo, r.LatencyUS), max(hi, r.LatencyUS)
		reqs = append(reqs, r)
	}
	write(t, s, reqs...)
	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Step: 5 * time.Minute})
	p := st.LatencyUS
	if p.P50 < lo || p.P99 > hi || p.P50 > p.P95 || p.P95 > p.P99 {
		t.Errorf("percentiles %+v not ordered within observed [%d, %d]", p, lo, hi)
	}
	var total int64
	for i, pt := range st.Series {
		total += pt.Count
		if pt.Count <= 0 || pt.P95LatencyUS < lo || pt.P95LatencyUS > hi {
			t.Errorf("series point %+v invalid", pt)
		}
		if i > 0 && !st.Series[i-1].T.Before(pt.T) {
			t.Errorf("series not ascending at %d", i)
		}
	}
	if total != 997 {
		t.Errorf("series counts sum to %d, want 997", total)
	}
}

// testStatsForwardLatency: the forward target's latency (Forward.LatencyUS)
// over the requests forwarded whose target answered, apart from hookscope's
// own handling time; replays and forwards that got no answer are left out.
// The first hour's 100 answered forwards are 90 × 1 ms, 8 × 20 ms, 2 × 300 ms
// (the data set of testStatsExact, on which every percentile definition
// agrees); the second hour adds one of 1 ms.
func testStatsForwardLatency(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	var reqs []*schema.Request
	fwd := func(at time.Time, mode string, status int, lat int64, errText string) {
		r := req(t, bin.ID, at)
		r.LatencyUS = 50 // hookscope's own time: never the forward's
		r.Forward = &schema.Forward{URL: "https://target.example/hook", Mode: mode, Status: status, LatencyUS: lat, Error: errText}
		reqs = append(reqs, r)
	}
	for i := range 100 {
		lat := int64(1000)
		switch {
		case i >= 98:
			lat = 300_000
		case i >= 90:
			lat = 20_000
		}
		fwd(base.Add(time.Duration(i)*time.Second), []string{"async", "proxy"}[i%2], []int{200, 502}[i%2], lat, "")
	}
	for i := range 5 {
		fwd(base.Add(time.Duration(i)*time.Second), "replay", 200, 9_000_000, "")           // a replay
		fwd(base.Add(time.Duration(i)*time.Second), "async", 0, 7_000_000, "dial: refused") // no answer
		plain := req(t, bin.ID, base.Add(time.Duration(i)*time.Second))                     // not forwarded
		plain.LatencyUS = 50
		reqs = append(reqs, plain)
	}
	fwd(base.Add(time.Hour+time.Minute), "async", 200, 1000, "")
	slices.Reverse(reqs[30:])
	write(t, s, reqs...)

	st := stats(t, s, schema.StatsQuery{BinID: bin.ID, Since: base, Until: base.Add(2 * time.Hour), Step: time.Hour})
	if st.Total != 116 {
		t.Errorf("Total = %d, want 116", st.Total)
	}
	if st.Forwarded != 101 {
		t.Errorf("Forwarded = %d, want 101 (replays and unanswered forwards left out)", st.Forwarded)
	}
	if want := (schema.Percentiles{P50: 1000, P95: 20_000, P99: 300_000}); st.ForwardLatencyUS != want {
		t.Errorf("ForwardLatencyUS = %+v, want %+v", st.ForwardLatencyUS, want)
	}
	if want := (schema.Percentiles{P50: 50, P95: 50, P99: 50}); st.LatencyUS != want {
		t.Errorf("LatencyUS = %+v, want hookscope's own %+v", st.LatencyUS, want)
	}
	if len(st.Series) != 2 || st.Series[0].Forwarded != 100 || st.Series[0].P95ForwardLatencyUS != 20_000 ||
		st.Series[1].Forwarded != 1 || st.Series[1].P95ForwardLatencyUS != 1000 {
		t.Errorf("Series = %+v, want 100 forwards (p95 20 ms) then 1 (p95 1 ms)", st.Series)
	}
	// A bin without forwards: zeros.
	plain := newBin(t, s)
	write(t, s, req(t, plain.ID, base))
	st = stats(t, s, schema.StatsQuery{BinID: plain.ID, Step: time.Minute})
	if st.Forwarded != 0 || st.ForwardLatencyUS != (schema.Percentiles{}) || len(st.Series) != 1 || st.Series[0].Forwarded != 0 {
		t.Errorf("no forwards: %+v", st)
	}
}

// testStatsExcludeReplays: with ExcludeReplays the records of replays count
// nowhere (totals, breakdowns, percentiles, series, senders), on a range of
// whole 5-minute buckets (the ClickHouse rollups) and on one without.
func testStatsExcludeReplays(t *testing.T, s schema.Store) {
	bin := newBin(t, s)
	base := baseTime()
	reqs := replaySet(t, bin.ID, base)
	write(t, s, reqs...)
	for _, q := range []schema.StatsQuery{
		{BinID: bin.ID, Since: base.Add(-time.Hour), Until: base.Add(time.Hour), Step: 5 * time.Minute},
		{BinID: bin.ID, Since: base.Add(-time.Second), Until: base.Add(time.Hour), Step: time.Minute},
	} {
		all := stats(t, s, q)
		if all.Total != 6 || all.ByStatus["502"] != 2 {
			t.Errorf("with replays (%v step): total %d, by status %v; want 6 with two 502", q.Step, all.Total, all.ByStatus)
		}
		q.ExcludeReplays = true
		st := stats(t, s, q)
		if st.Total != 4 || st.ByStatus["502"] != 0 || st.ByStatus["200"] != 4 {
			t.Errorf("without replays (%v step): total %d, by status %v; want 4, all 200", q.Step, st.Total, st.ByStatus)
		}
		if want := (schema.Percentiles{P50: 100, P95: 100, P99: 100}); st.LatencyUS != want {
			t.Errorf("without replays (%v step): latency %+v, want %+v", q.Step, st.LatencyUS, want)
		}
		var n int64
		for _, p := range st.Series {
			n += p.Count
		}
		if n != 4 || len(st.TopSenders) != 1 || st.TopSenders[0].Count != 4 {
			t.Errorf("without replays (%v step): series sum %d, senders %+v", q.Step, n, st.TopSenders)
		}
	}
}
