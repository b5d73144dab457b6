package alerts

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday, midnight

func TestFailed(t *testing.T) {
	tests := []struct {
		name   string
		status int
		fwd    *schema.Forward
		want   bool
	}{
		{"200", 200, nil, false},
		{"204", 204, nil, false},
		{"unknown status", 0, nil, false},
		{"302 answered", 302, nil, true},
		{"404 answered", 404, nil, true},
		{"413 answered", 413, nil, true},
		{"503 answered", 503, nil, true},
		{"forward 200", 200, &schema.Forward{Status: 200}, false},
		{"forward 500", 200, &schema.Forward{Status: 500}, true},
		{"forward timeout", 200, &schema.Forward{Error: "context deadline exceeded"}, true},
		{"forward refused", 200, &schema.Forward{Error: "connection refused"}, true},
		{"proxy 502", 502, &schema.Forward{Status: 502, Mode: "proxy"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &schema.Request{ResponseStatus: tt.status, Forward: tt.fwd}
			if got := Failed(r); got != tt.want {
				t.Errorf("Failed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUAFamily(t *testing.T) {
	tests := map[string]string{
		"Stripe/1.0 (+https://stripe.com/docs/webhooks)": "stripe",
		"GitHub-Hookshot/abc123":                         "github-hookshot",
		"python-requests/2.31.0":                         "python-requests",
		"Mozilla/5.0 (X11; Linux x86_64)":                "mozilla",
		"curl/8.5.0":                                     "curl",
		"":                                               "",
		"Shopify Captain Hook":                           "shopify",
	}
	for in, want := range tests {
		if got := uaFamily(in); got != want {
			t.Errorf("uaFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

// ob is a compact observation constructor for hand-made series.
func ob(sec float64, failed bool, sig schema.SignatureStatus, ip string) Obs {
	return Obs{ID: uuid.New(), At: t0.Add(time.Duration(sec * float64(time.Second))), IP: ip, Failed: failed,
		Sig: sig, LatencyUS: 100, ForwardUS: -1, UA: "stripe"}
}

func rule(kind Kind, p Params) *Rule {
	r := &Rule{Name: "t", Kind: kind, Params: p, Enabled: true}
	r.Normalize()
	return r
}

func series(n int, every float64, f func(i int) Obs) []Obs {
	out := make([]Obs, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestDetectorsSmall checks exact values on short hand-made series.
func TestDetectorsSmall(t *testing.T) {
	win10 := Params{Window: Duration(10 * time.Second), MinCount: 5, Threshold: 0.5}
	tests := []struct {
		name     string
		rule     *Rule
		obs      []Obs
		at       float64 // seconds after t0
		active   bool
		observed float64
	}{
		{"failure 6 of 10", rule(KindFailureSpike, win10), series(10, 1, func(i int) Obs { return ob(float64(i), i < 6, "", "a") }), 9.5, true, 0.6},
		{"failure 4 of 10", rule(KindFailureSpike, win10), series(10, 1, func(i int) Obs { return ob(float64(i), i < 4, "", "a") }), 9.5, false, 0.4},
		{"failure below min_count", rule(KindFailureSpike, win10), series(4, 1, func(i int) Obs { return ob(float64(i), true, "", "a") }), 4, false, 1},
		{"failure old ones left the window", rule(KindFailureSpike, win10), series(20, 1, func(i int) Obs { return ob(float64(i), i < 10, "", "a") }), 19.5, false, 0},
		{"failure exactly at threshold", rule(KindFailureSpike, win10), series(10, 1, func(i int) Obs { return ob(float64(i), i%2 == 0, "", "a") }), 9.5, true, 0.5},
		{"sig 5 invalid of 8 checked", rule(KindSignatureFailures, win10), series(12, 1, func(i int) Obs {
			s := []schema.SignatureStatus{schema.SigInvalid, schema.SigMissing, schema.SigInvalid, schema.SigInvalid, schema.SigMissing, schema.SigValid, schema.SigValid, schema.SigValid, schema.SigUnchecked, schema.SigUnchecked, schema.SigUnchecked, schema.SigUnchecked}[i]
			return ob(float64(i)*0.5, false, s, "a")
		}), 6, true, 5.0 / 8},
		{"sig only 4 bad", rule(KindSignatureFailures, win10), series(4, 1, func(i int) Obs { return ob(float64(i), false, schema.SigInvalid, "a") }), 4, false, 1},
		{"sig unchecked ignored", rule(KindSignatureFailures, win10), series(10, 1, func(i int) Obs { return ob(float64(i), false, schema.SigUnchecked, "a") }), 9.5, false, 0},
		{"latency p95 over 50ms", rule(KindLatencySpike, Params{Window: Duration(10 * time.Second), MinCount: 5, Threshold: 50}),
			series(10, 1, func(i int) Obs { o := ob(float64(i), false, "", "a"); o.ForwardUS = int64(i+1) * 10_000; return o }), 9.5, true, 100},
		{"latency p50 under 50ms", rule(KindLatencySpike, Params{Window: Duration(10 * time.Second), MinCount: 5, Threshold: 60, Percentile: 50}),
			series(10, 1, func(i int) Obs { o := ob(float64(i), false, "", "a"); o.ForwardUS = int64(i+1) * 10_000; return o }), 9.5, false, 50},
		{"latency handling ignores forward", rule(KindLatencySpike, Params{Window: Duration(10 * time.Second), MinCount: 5, Threshold: 50, Latency: "handling"}),
			series(10, 1, func(i int) Obs { o := ob(float64(i), false, "", "a"); o.ForwardUS = 900_000; return o }), 9.5, false, 0.1},
		{"latency forward only counts forwarded", rule(KindLatencySpike, Params{Window: Duration(10 * time.Second), MinCount: 5, Threshold: 50, Latency: "forward"}),
			series(10, 1, func(i int) Obs { return ob(float64(i), false, "", "a") }), 9.5, false, 0},
		{"allowlist: 5 outside", rule(KindSuspiciousSender, Params{Window: Duration(10 * time.Second), MinCount: 5, AllowCIDRs: []string{"10.0.0.0/8", "192.0.2.7"}}),
			series(10, 1, func(i int) Obs { return ob(float64(i), false, "", []string{"10.1.2.3", "198.51.100.1"}[i%2]) }), 9.5, true, 5},
		{"allowlist: single addresses and v4-in-v6", rule(KindSuspiciousSender, Params{Window: Duration(10 * time.Second), MinCount: 1, AllowCIDRs: []string{"192.0.2.7"}}),
			series(10, 1, func(i int) Obs { return ob(float64(i), false, "", []string{"192.0.2.7", "::ffff:192.0.2.7"}[i%2]) }), 9.5, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rule.Validate(); err != nil {
				t.Fatal(err)
			}
			d, err := newDetector(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			now := t0.Add(time.Duration(tt.at * float64(time.Second)))
			f := d.eval(window(tt.obs, time.Time{}, now), now)
			if f.Active != tt.active || math.Abs(f.Observed-tt.observed) > 1e-9 {
				t.Errorf("active=%v observed=%v, want active=%v observed=%v (%s)", f.Active, f.Observed, tt.active, tt.observed, f.Summary)
			}
			if f.Active && len(f.Samples) == 0 {
				t.Errorf("active finding without sample request ids")
			}
		})
	}
}

// traffic describes synthetic normal traffic: a daily sinusoid around Rate
// (requests/s) with multiplicative per-minute noise, and per-request noise
// in failures, signatures, senders and latency.
type traffic struct {
	Rate       float64
	DailyAmp   float64 // 0..1
	FailP      float64
	SigInvalid float64
	SigMissing float64
	IPs        []string
	NewIPP     float64 // chance a request comes from a never-seen IP (valid signature)
	FwdMedMS   float64
}

var normal = traffic{Rate: 1, DailyAmp: 0.5, FailP: 0.03, SigInvalid: 0.01, SigMissing: 0.005,
	IPs:    []string{"3.18.12.63", "3.130.192.231", "13.235.14.237", "13.235.122.149", "18.211.135.69", "35.154.171.200", "52.15.183.38", "54.88.130.119"},
	NewIPP: 0.001, FwdMedMS: 80}

// anomaly edits the traffic at time t (returns extra requests to add too).
type anomaly func(t time.Time, tr *traffic) []Obs

func poisson(rng *rand.Rand, l float64) int {
	if l > 30 {
		return max(0, int(math.Round(rng.NormFloat64()*math.Sqrt(l)+l)))
	}
	L, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= L {
			return k
		}
		k++
	}
}

func generate(seed uint64, start time.Time, dur time.Duration, base traffic, an anomaly) []Obs {
	rng := rand.New(rand.NewPCG(seed, 42))
	var out []Obs
	noise := 1.0
	for s := time.Duration(0); s < dur; s += time.Second {
		t := start.Add(s)
		if t.Second() == 0 {
			noise = math.Exp(rng.NormFloat64() * 0.1)
		}
		tr := base
		if an != nil {
			out = append(out, an(t, &tr)...)
		}
		day := float64(t.Sub(t.Truncate(24*time.Hour))) / float64(24*time.Hour)
		rate := tr.Rate * (1 + tr.DailyAmp*math.Sin(2*math.Pi*day)) * noise
		for range poisson(rng, rate) {
			o := Obs{ID: uuid.New(), At: t.Add(time.Duration(rng.Int64N(int64(time.Second)))),
				LatencyUS: 50 + rng.Int64N(100), UA: "stripe"}
			o.Failed = rng.Float64() < tr.FailP
			switch x := rng.Float64(); {
			case x < tr.SigInvalid:
				o.Sig = schema.SigInvalid
			case x < tr.SigInvalid+tr.SigMissing:
				o.Sig = schema.SigMissing
			default:
				o.Sig = schema.SigValid
			}
			if rng.Float64() < tr.NewIPP {
				o.IP = fmt.Sprintf("100.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
			} else {
				o.IP = tr.IPs[rng.IntN(len(tr.IPs))]
			}
			o.ForwardUS = int64(tr.FwdMedMS * 1000 * math.Exp(rng.NormFloat64()*0.4))
			out = append(out, o)
		}
	}
	sortObs(out)
	return out
}

func sortObs(o []Obs) {
	b := &binBuf{}
	for _, x := range o {
		b.add(x)
	}
	copy(o, b.obs)
}

// run evaluates a detector every step and returns the instants it was active.
type runResult struct {
	evals, active, episodes int
	activeAt                []time.Time
	last                    Finding
}

func runDetector(t *testing.T, r *Rule, obs []Obs, from, to time.Time, step time.Duration) runResult {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := newDetector(r)
	if err != nil {
		t.Fatal(err)
	}
	var res runResult
	prev := false
	for now := from; now.Before(to); now = now.Add(step) {
		f := d.eval(window(obs, time.Time{}, now), now)
		res.evals++
		if f.Active {
			res.active++
			res.activeAt = append(res.activeAt, now)
			if !prev {
				res.episodes++
			}
		}
		prev = f.Active
		res.last = f
	}
	return res
}

// defaultsFor returns the default rule of a kind.
func defaultsFor(k Kind) *Rule {
	for _, r := range DefaultRules("b") {
		if r.Kind == k {
			return r
		}
	}
	panic(k)
}

// TestDetectorsFire injects one anomaly into normal traffic per case and
// checks the default rule fires during it and is quiet an hour before and
// after.
func TestDetectorsFire(t *testing.T) {
	warm := 6 * time.Hour
	aStart, aEnd := t0.Add(warm), t0.Add(warm+20*time.Minute)
	during := func(t time.Time) bool { return !t.Before(aStart) && t.Before(aEnd) }
	newIP := "203.0.113.66"
	tests := []struct {
		kind Kind
		an   anomaly
	}{
		{KindFailureSpike, func(t time.Time, tr *traffic) []Obs {
			if during(t) {
				tr.FailP = 0.9
			}
			return nil
		}},
		{KindSignatureFailures, func(t time.Time, tr *traffic) []Obs {
			if during(t) {
				tr.SigInvalid = 0.8
			}
			return nil
		}},
		{KindVolumeAnomaly, func(t time.Time, tr *traffic) []Obs { // 6x spike
			if during(t) {
				tr.Rate *= 6
			}
			return nil
		}},
		{KindVolumeAnomaly, func(t time.Time, tr *traffic) []Obs { // silence
			if during(t) {
				tr.Rate = 0
			}
			return nil
		}},
		{KindLatencySpike, func(t time.Time, tr *traffic) []Obs {
			if during(t) {
				tr.FwdMedMS *= 10
			}
			return nil
		}},
		{KindSuspiciousSender, func(t time.Time, tr *traffic) []Obs { // new IP failing signatures
			if during(t) && t.Second()%20 == 0 {
				return []Obs{{ID: uuid.New(), At: t, IP: newIP, Sig: schema.SigInvalid, ForwardUS: -1, UA: "stripe"}}
			}
			return nil
		}},
		{KindSuspiciousSender, func(t time.Time, tr *traffic) []Obs { // one IP floods
			if during(t) {
				return []Obs{{ID: uuid.New(), At: t, IP: newIP, Sig: schema.SigValid, ForwardUS: -1, UA: "stripe"}, {ID: uuid.New(), At: t.Add(time.Millisecond), IP: newIP, Sig: schema.SigValid, ForwardUS: -1, UA: "stripe"}}
			}
			return nil
		}},
		{KindSuspiciousSender, func(t time.Time, tr *traffic) []Obs { // unusual user agent
			if during(t) && t.Second()%30 == 0 {
				return []Obs{{ID: uuid.New(), At: t, IP: tr.IPs[0], Sig: schema.SigValid, ForwardUS: -1, UA: "python-requests"}}
			}
			return nil
		}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.kind, i), func(t *testing.T) {
			obs := generate(uint64(i+1), t0, warm+2*time.Hour, normal, tt.an)
			r := defaultsFor(tt.kind)
			res := runDetector(t, r, obs, t0, t0.Add(warm+2*time.Hour), 10*time.Second)
			var inside, outside int
			for _, at := range res.activeAt {
				if !at.Before(aStart) && at.Before(aEnd.Add(2*r.Params.Window.D())) {
					inside++
				} else if at.After(t0.Add(warm - time.Hour)) {
					outside++
				}
			}
			if inside == 0 {
				t.Errorf("never fired during the anomaly (%d evaluations active overall; last: %s)", res.active, res.last.Summary)
			}
			if outside > 0 {
				t.Errorf("active %d times outside the anomaly (first at %s)", outside, res.activeAt[0])
			}
		})
	}
}

// noisy is harsher "normal" traffic: a quarter of the volume (more Poisson
// noise), a 10% failure rate, 5% bad signatures, 1% of requests from new IPs,
// and spread-out latency.
var noisy = traffic{Rate: 0.25, DailyAmp: 0.8, FailP: 0.10, SigInvalid: 0.04, SigMissing: 0.01,
	IPs: normal.IPs, NewIPP: 0.01, FwdMedMS: 80}

// TestFalsePositiveRate runs rules over two days of normal traffic with noise
// (seeded) and measures how often they are active after a 2 h warm-up. It
// covers each default rule on normal and on noisy traffic, and the
// sensitive variants users may pick.
func TestFalsePositiveRate(t *testing.T) {
	days := 2
	if testing.Short() || raceEnabled {
		days = 1
	}
	end := t0.Add(time.Duration(days) * 24 * time.Hour)
	series := map[string][]Obs{
		"normal": generate(7, t0, end.Sub(t0), normal, nil),
		"noisy":  generate(8, t0, end.Sub(t0), noisy, nil),
	}
	for name, obs := range series {
		t.Logf("%s series: %d requests over %d days (%.2f req/s)", name, len(obs), days, float64(len(obs))/float64(days*86400))
	}
	variant := func(k Kind, f func(r *Rule)) *Rule {
		r := defaultsFor(k)
		f(r)
		return r
	}
	tests := []struct {
		name      string
		traffic   string
		rule      *Rule
		maxRate   float64 // share of evaluations active
		maxPerDay float64 // episodes per day
	}{}
	for _, k := range Kinds {
		tests = append(tests, struct {
			name      string
			traffic   string
			rule      *Rule
			maxRate   float64
			maxPerDay float64
		}{string(k) + "/default", "normal", defaultsFor(k), 0.001, 1})
		tests = append(tests, struct {
			name      string
			traffic   string
			rule      *Rule
			maxRate   float64
			maxPerDay float64
		}{string(k) + "/default", "noisy", defaultsFor(k), 0.001, 1})
	}
	type tc = struct {
		name      string
		traffic   string
		rule      *Rule
		maxRate   float64
		maxPerDay float64
	}
	tests = append(tests,
		tc{"volume_anomaly/high", "noisy", variant(KindVolumeAnomaly, func(r *Rule) { r.Params.Sensitivity = "high" }), 0.01, 15},
		tc{"volume_anomaly/low", "noisy", variant(KindVolumeAnomaly, func(r *Rule) { r.Params.Sensitivity = "low" }), 0.001, 1},
		tc{"volume_anomaly/1m-window-high", "normal", variant(KindVolumeAnomaly, func(r *Rule) {
			r.Params.Window, r.Params.Sensitivity = Duration(time.Minute), "high"
		}), 0.01, 15},
		tc{"failure_spike/1m-min5-30%", "noisy", variant(KindFailureSpike, func(r *Rule) {
			r.Params.Window, r.Params.MinCount, r.Params.Threshold = Duration(time.Minute), 5, 0.3
		}), 0.05, 150}, // a 1-minute window with min_count 5 at 15 req/min is mostly noise: why the default is 5m/10
		tc{"signature_failures/1m-min3-20%", "noisy", variant(KindSignatureFailures, func(r *Rule) {
			r.Params.Window, r.Params.MinCount, r.Params.Threshold = Duration(time.Minute), 3, 0.2
		}), 0.05, 50},
		// min_count 1 fires on every new IP that fails one signature: with
		// 1% new IPs and 5% bad signatures that is ~7% of 10-minute windows.
		tc{"suspicious_sender/min1", "noisy", variant(KindSuspiciousSender, func(r *Rule) { r.Params.MinCount = 1 }), 0.15, 50},
		tc{"latency_spike/factor2", "noisy", variant(KindLatencySpike, func(r *Rule) { r.Params.Factor = 2 }), 0.01, 5},
	)
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.traffic, func(t *testing.T) {
			warm := t0.Add(2 * time.Hour)
			res := runDetector(t, tt.rule, series[tt.traffic], t0, end, 10*time.Second)
			evals := int(end.Sub(warm) / (10 * time.Second))
			active, episodes := 0, 0
			var prev time.Time
			for _, at := range res.activeAt {
				if at.Before(warm) {
					continue
				}
				active++
				if !at.Equal(prev.Add(10 * time.Second)) {
					episodes++
				}
				prev = at
			}
			rate := float64(active) / float64(evals)
			perDay := float64(episodes) / float64(days)
			t.Logf("FP %-34s %-6s rate %.4f%% of %d evaluations, %.1f episodes/day", tt.name, tt.traffic, rate*100, evals, perDay)
			if rate > tt.maxRate || perDay > tt.maxPerDay {
				t.Errorf("false positives above bound: rate %.4f%% (max %.2f%%), %.1f episodes/day (max %.0f)", rate*100, tt.maxRate*100, perDay, tt.maxPerDay)
			}
		})
	}
}

// TestVolumeSensitivityKnob: a moderate rise (+40% for 20 minutes) is caught
// by high sensitivity and not by low, on the same series.
func TestVolumeSensitivityKnob(t *testing.T) {
	warm := 6 * time.Hour
	aStart, aEnd := t0.Add(warm), t0.Add(warm+20*time.Minute)
	obs := generate(11, t0, warm+time.Hour, normal, func(t time.Time, tr *traffic) []Obs {
		if !t.Before(aStart) && t.Before(aEnd) {
			tr.Rate *= 1.4
		}
		return nil
	})
	fired := map[string]bool{}
	for _, s := range []string{"low", "medium", "high"} {
		r := defaultsFor(KindVolumeAnomaly)
		r.Params.Sensitivity, r.Params.Threshold = s, 0.2
		res := runDetector(t, r, obs, t0, t0.Add(warm+time.Hour), 10*time.Second)
		for _, at := range res.activeAt {
			if !at.Before(aStart) && at.Before(aEnd.Add(r.Params.Window.D())) {
				fired[s] = true
			} else if at.After(t0.Add(2 * time.Hour)) {
				t.Errorf("%s: active outside the rise at %s", s, at)
			}
		}
		t.Logf("sensitivity %s: fired during the +40%% rise: %v", s, fired[s])
	}
	if !fired["high"] || fired["low"] {
		t.Errorf("fired %v: want high to catch +40%% and low to ignore it", fired)
	}
}

// TestVolumeSilenceHoldsUntilTrafficReturns is the issue 12 bug: a bin that
// went silent got a "resolved" while still silent, because the silent
// buckets fed the baseline until the expected count decayed under
// min_count. Silence now holds the baseline: the alert stays active for as
// long as the bin is silent (here 3 hours, evaluated every minute through
// the engine's state machine) and resolves once traffic returns.
func TestVolumeSilenceHoldsUntilTrafficReturns(t *testing.T) {
	r := defaultsFor(KindVolumeAnomaly) // 5m window, min_count 10
	d, err := newDetector(r)
	if err != nil {
		t.Fatal(err)
	}
	warm := 6 * time.Hour
	silentFrom, silentTo := t0.Add(warm), t0.Add(warm+3*time.Hour)
	// 1 request every 6 s (50 per window) before and after the silence.
	var obs []Obs
	for at := t0; at.Before(silentTo.Add(time.Hour)); at = at.Add(6 * time.Second) {
		if at.Before(silentFrom) || !at.Before(silentTo) {
			obs = append(obs, Obs{ID: uuid.New(), At: at, IP: "192.0.2.1", ForwardUS: -1, UA: "stripe"})
		}
	}
	var phase Phase
	var since time.Time
	var fired, resolved []time.Time
	for now := t0.Add(time.Hour); now.Before(silentTo.Add(time.Hour)); now = now.Add(time.Minute) {
		f := d.eval(window(obs, now.Add(-d.lookback()), now), now)
		var tr Transition
		phase, since, tr = Step(phase, since, f.Active, now, r.For.D())
		switch tr {
		case BecameFiring:
			fired = append(fired, now)
		case BecameResolved:
			resolved = append(resolved, now)
		}
	}
	if len(fired) != 1 || fired[0].Before(silentFrom) || fired[0].After(silentFrom.Add(10*time.Minute)) {
		t.Fatalf("fired at %v (resolved at %v), want once within 10 minutes of the silence at %v", fired, resolved, silentFrom)
	}
	if len(resolved) != 1 || resolved[0].Before(silentTo) {
		t.Fatalf("resolved at %v while the bin was silent until %v; want one resolve after traffic returned", resolved, silentTo)
	}
}

// An observation stays in the windows for minutes: it must not keep the
// decoded request's memory alive through a substring.
func TestObsOfSharesNoMemory(t *testing.T) {
	rec := "203.0.113.9|stripe/1.0|valid" // one backing array, as the log's decoder makes
	r := &schema.Request{
		RemoteIP:  rec[:11],
		Headers:   []schema.Header{{Name: "User-Agent", Value: rec[12:22]}},
		Signature: schema.Signature{Status: schema.SignatureStatus(rec[23:])},
	}
	o := ObsOf(r)
	lo := uintptr(unsafe.Pointer(unsafe.StringData(rec)))
	hi := lo + uintptr(len(rec))
	for name, s := range map[string]string{"IP": o.IP, "UA": o.UA, "Sig": string(o.Sig)} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("Obs.%s = %q points into the request's memory", name, s)
		}
	}
	if o.IP != "203.0.113.9" || o.UA != "stripe" || o.Sig != schema.SigValid {
		t.Errorf("ObsOf = %+v", o)
	}
}
