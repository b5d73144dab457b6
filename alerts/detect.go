package alerts

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// Obs is what the engine keeps of one captured request: a few bytes instead
// of the body and headers.
type Obs struct {
	ID        uuid.UUID
	At        time.Time
	IP        string
	Failed    bool // answered non-2xx, or forwarded non-2xx / with an error
	Sig       schema.SignatureStatus
	LatencyUS int64 // handling latency
	ForwardUS int64 // forward latency; -1 when not forwarded
	UA        string
}

// Failed reports whether a delivery failed: hookscope answered non-2xx, or
// the forward target answered non-2xx, or forwarding failed (timeouts, refused
// connections). An unknown status (0) is not a failure.
func Failed(r *schema.Request) bool {
	if r.ResponseStatus != 0 && (r.ResponseStatus < 200 || r.ResponseStatus > 299) {
		return true
	}
	if f := r.Forward; f != nil && f.State != schema.ForwardSkipped { // a filtered-out capture was not forwarded
		if f.Error != "" || f.Status < 200 || f.Status > 299 {
			return true
		}
	}
	return false
}

// ObsOf extracts the observation of r.
func ObsOf(r *schema.Request) Obs {
	// The strings are cloned: observations stay in the windows for
	// minutes, and a substring would keep the whole decoded record alive.
	o := Obs{ID: r.ID, At: r.ReceivedAt, IP: strings.Clone(r.RemoteIP), Failed: Failed(r), Sig: sigConst(r.Signature.Status),
		LatencyUS: r.LatencyUS, ForwardUS: -1}
	if r.Forward != nil {
		o.ForwardUS = r.Forward.LatencyUS
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "User-Agent") {
			o.UA = strings.Clone(uaFamily(h.Value))
			break
		}
	}
	return o
}

// sigConst is s as one of the package-level constants (or a copy), so that
// a kept observation shares no memory with the decoded request.
func sigConst(s schema.SignatureStatus) schema.SignatureStatus {
	for _, c := range [...]schema.SignatureStatus{schema.SigValid, schema.SigInvalid, schema.SigMissing, schema.SigUnchecked} {
		if s == c {
			return c
		}
	}
	return schema.SignatureStatus(strings.Clone(string(s)))
}

// uaFamily reduces a User-Agent to its first product name, lower-cased:
// "Stripe/1.0 (+https://stripe.com)" → "stripe". Version bumps of a provider
// are not unusual; a different client is.
func uaFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if i := strings.IndexAny(ua, "/ ;("); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > 40 {
		ua = ua[:40]
	}
	return strings.ToLower(ua)
}

// Finding is a detector's verdict at one instant.
type Finding struct {
	Active    bool
	Observed  float64
	Threshold float64
	Unit      string // "share", "requests", "ms"
	Count     int    // requests in the window
	Summary   string
	Details   []string
	Samples   []uuid.UUID
	TopSender *notify.Sender
}

// detector evaluates one rule on one bin. obs holds the bin's recent
// observations in ascending time order, none after now; eval is called with
// non-decreasing now. Stateful detectors (baselines, learned senders) keep
// their state between calls.
type detector interface {
	eval(obs []Obs, now time.Time) Finding
	// lookback is how much history the detector wants replayed at start-up.
	lookback() time.Duration
}

func newDetector(r *Rule) (detector, error) {
	p := r.Params
	switch r.Kind {
	case KindFailureSpike:
		return &failureSpike{p: p}, nil
	case KindSignatureFailures:
		return &signatureFailures{p: p}, nil
	case KindVolumeAnomaly:
		season := 24 * time.Hour
		if p.Season != nil {
			season = p.Season.D()
		}
		return &volumeAnomaly{p: p, k: sensitivityK[p.Sensitivity], season: season}, nil
	case KindLatencySpike:
		return &latencySpike{p: p}, nil
	case KindSuspiciousSender:
		d := &suspiciousSender{p: p, ips: map[string]int{}, uas: map[string]int{}}
		for _, c := range p.AllowCIDRs {
			pf, err := netip.ParsePrefix(c)
			if err != nil {
				a, err2 := netip.ParseAddr(c)
				if err2 != nil {
					return nil, fmt.Errorf("%w: params.allow_cidrs: %q is not a CIDR", schema.ErrInvalid, c)
				}
				pf = netip.PrefixFrom(a, a.BitLen())
			}
			d.allow = append(d.allow, pf.Masked())
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", schema.ErrInvalid, r.Kind)
}

// window returns the observations in (from, to].
func window(obs []Obs, from, to time.Time) []Obs {
	i := sort.Search(len(obs), func(i int) bool { return obs[i].At.After(from) })
	j := sort.Search(len(obs), func(j int) bool { return obs[j].At.After(to) })
	return obs[i:j]
}

// span returns the observations in [from, to).
func span(obs []Obs, from, to time.Time) []Obs {
	i := sort.Search(len(obs), func(i int) bool { return !obs[i].At.Before(from) })
	j := sort.Search(len(obs), func(j int) bool { return !obs[j].At.Before(to) })
	return obs[i:j]
}

const maxSamples = 5

// sampler keeps the newest matching ids and counts senders.
type sampler struct {
	ids     []uuid.UUID
	senders map[string]int
}

func (s *sampler) add(o *Obs) {
	s.ids = append(s.ids, o.ID)
	if len(s.ids) > maxSamples {
		s.ids = s.ids[1:]
	}
	if s.senders == nil {
		s.senders = map[string]int{}
	}
	s.senders[o.IP]++
}

func (s *sampler) fill(f *Finding) {
	f.Samples = slices.Clone(s.ids)
	slices.Reverse(f.Samples) // newest first
	f.TopSender = top(s.senders)
}

func top(m map[string]int) *notify.Sender {
	var best *notify.Sender
	for ip, n := range m {
		if best == nil || n > best.Count || (n == best.Count && ip < best.IP) {
			best = &notify.Sender{IP: ip, Count: n}
		}
	}
	return best
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

// failure_spike: share of failed deliveries in the window ≥ threshold, with
// at least min_count deliveries.
type failureSpike struct{ p Params }

func (d *failureSpike) lookback() time.Duration { return d.p.Window.D() }

func (d *failureSpike) eval(obs []Obs, now time.Time) Finding {
	w := window(obs, now.Add(-d.p.Window.D()), now)
	var s sampler
	failed := 0
	for i := range w {
		if w[i].Failed {
			failed++
			s.add(&w[i])
		}
	}
	f := Finding{Unit: "share", Threshold: d.p.Threshold, Count: len(w)}
	if len(w) > 0 {
		f.Observed = float64(failed) / float64(len(w))
	}
	f.Active = len(w) >= d.p.MinCount && f.Observed >= d.p.Threshold
	f.Summary = fmt.Sprintf("%s of %d deliveries failed in the last %s (threshold %s, min %d)",
		pct(f.Observed), len(w), d.p.Window, pct(d.p.Threshold), d.p.MinCount)
	s.fill(&f)
	return f
}

// signature_failures: invalid or missing signatures in the window: at least
// min_count of them and at least threshold of the checked requests.
type signatureFailures struct{ p Params }

func (d *signatureFailures) lookback() time.Duration { return d.p.Window.D() }

func (d *signatureFailures) eval(obs []Obs, now time.Time) Finding {
	w := window(obs, now.Add(-d.p.Window.D()), now)
	var s sampler
	checked, invalid, missing := 0, 0, 0
	for i := range w {
		switch w[i].Sig {
		case schema.SigValid:
			checked++
		case schema.SigInvalid:
			checked++
			invalid++
			s.add(&w[i])
		case schema.SigMissing:
			checked++
			missing++
			s.add(&w[i])
		}
	}
	bad := invalid + missing
	f := Finding{Unit: "share", Threshold: d.p.Threshold, Count: len(w)}
	if checked > 0 {
		f.Observed = float64(bad) / float64(checked)
	}
	f.Active = bad >= d.p.MinCount && f.Observed >= d.p.Threshold
	f.Summary = fmt.Sprintf("%d of %d checked signatures failed (%s; %d invalid, %d missing) in the last %s (threshold %s, min %d)",
		bad, checked, pct(f.Observed), invalid, missing, d.p.Window, pct(d.p.Threshold), d.p.MinCount)
	s.fill(&f)
	return f
}

// sensitivityK maps the volume_anomaly knob to standard deviations.
var sensitivityK = map[string]float64{"low": 6, "medium": 4, "high": 3}

const (
	ewmaBuckets   = 12 // volume and latency baselines: EWMA over ~12 windows
	warmupBuckets = 6  // windows of history before a baseline is trusted
)

// volume_anomaly: requests in the sliding window compared with an expected
// count. The baseline is an EWMA (mean and variance) of the counts of
// tumbling buckets one window wide, averaged with the count of the same
// bucket one season ago when that is known. It fires when the count is k
// standard deviations (sensitivity) and at least threshold (relative) away
// from expected, or when the bin is silent while min_count were expected.
type volumeAnomaly struct {
	p      Params
	k      float64
	season time.Duration

	next     time.Time // start of the next bucket to account
	n        int       // buckets accounted
	mean, vr float64
	seasonal map[int64]float64 // bucket index -> count, last season only
}

func (d *volumeAnomaly) lookback() time.Duration {
	return d.p.Window.D() * (ewmaBuckets + warmupBuckets)
}

func (d *volumeAnomaly) advance(obs []Obs, now time.Time) {
	w := d.p.Window.D()
	if d.next.IsZero() {
		start := now
		if len(obs) > 0 {
			start = obs[0].At
		}
		d.next = start.Truncate(w).Add(w) // skip the partial first bucket
	}
	if lim := now.Add(-w * 1000); d.next.Before(lim) {
		d.next = lim.Truncate(w)
	}
	alpha := 2.0 / (ewmaBuckets + 1)
	for !d.next.Add(w).After(now) {
		c := float64(len(span(obs, d.next, d.next.Add(w))))
		if c == 0 && d.n >= warmupBuckets && d.mean >= math.Max(float64(d.p.MinCount), d.k*d.k) {
			// A silent bucket where traffic was expected does not teach the
			// baseline: otherwise expected decays under min_count while the
			// bin is still silent and the alert resolves on a dead bin. The
			// baseline holds until traffic returns.
			d.next = d.next.Add(w)
			continue
		}
		if d.n == 0 {
			d.mean, d.vr = c, c
		} else {
			diff := c - d.mean
			d.mean += alpha * diff
			d.vr = (1 - alpha) * (d.vr + alpha*diff*diff)
		}
		d.n++
		if d.season > 0 {
			if d.seasonal == nil {
				d.seasonal = map[int64]float64{}
			}
			idx := d.next.UnixNano() / int64(w)
			d.seasonal[idx] = c
			delete(d.seasonal, idx-int64(d.season/w)-1)
		}
		d.next = d.next.Add(w)
	}
}

func (d *volumeAnomaly) eval(obs []Obs, now time.Time) Finding {
	d.advance(obs, now)
	w := d.p.Window.D()
	win := window(obs, now.Add(-w), now)
	var s sampler
	for i := range win {
		s.add(&win[i])
	}
	c := float64(len(win))
	expected := d.mean
	if d.season > 0 {
		idx := now.Add(-w-d.season).UnixNano() / int64(w)
		if v, ok := d.seasonal[idx]; ok {
			expected = (expected + v) / 2
		}
	}
	sd := math.Sqrt(math.Max(math.Max(d.vr, expected), 1))
	dev := c - expected
	min := float64(d.p.MinCount)
	f := Finding{Unit: "requests", Observed: c, Threshold: math.Round(expected*10) / 10, Count: len(win)}
	warm := d.n >= warmupBuckets
	switch {
	case !warm:
	case c >= min && dev >= d.k*sd && dev >= d.p.Threshold*expected:
		f.Active = true
		f.Details = []string{"volume far above baseline"}
	case expected >= min && -dev >= d.k*sd && -dev >= d.p.Threshold*expected:
		f.Active = true
		f.Details = []string{"volume far below baseline"}
	case c == 0 && expected >= math.Max(min, d.k*d.k):
		f.Active = true
		f.Details = []string{"bin went silent"}
	}
	f.Summary = fmt.Sprintf("%d requests in the last %s, expected about %.1f (±%.1f, sensitivity %s)",
		len(win), d.p.Window, expected, d.k*sd, d.p.Sensitivity)
	if !warm {
		f.Summary += "; baseline still learning"
	}
	s.fill(&f)
	return f
}

const minLatencyDeltaMS = 10 // baseline mode ignores spikes smaller than this

// latency_spike: the percentile of latency in the window is above threshold
// ms, or (threshold 0) above factor × its baseline (EWMA of the percentile of
// past windows) by at least 10 ms. "auto" uses the forward latency of
// forwarded requests and the handling latency of the others.
type latencySpike struct {
	p        Params
	next     time.Time
	n        int
	baseline float64 // ms
}

func (d *latencySpike) lookback() time.Duration {
	if d.p.Threshold > 0 {
		return d.p.Window.D()
	}
	return d.p.Window.D() * (ewmaBuckets + warmupBuckets)
}

func (d *latencySpike) latency(o *Obs) (int64, bool) {
	switch d.p.Latency {
	case "forward":
		return o.ForwardUS, o.ForwardUS >= 0
	case "handling":
		return o.LatencyUS, true
	}
	if o.ForwardUS >= 0 {
		return o.ForwardUS, true
	}
	return o.LatencyUS, true
}

func (d *latencySpike) percentile(w []Obs, s *sampler) (float64, int) {
	vals := make([]int64, 0, len(w))
	for i := range w {
		if v, ok := d.latency(&w[i]); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return 0, 0
	}
	slices.Sort(vals)
	rank := int(math.Ceil(d.p.Percentile/100*float64(len(vals)))) - 1
	rank = max(0, min(rank, len(vals)-1))
	pv := vals[rank]
	if s != nil {
		for i := range w {
			if v, ok := d.latency(&w[i]); ok && v >= pv {
				s.add(&w[i])
			}
		}
	}
	return float64(pv) / 1000, len(vals)
}

func (d *latencySpike) eval(obs []Obs, now time.Time) Finding {
	w := d.p.Window.D()
	if d.p.Threshold == 0 {
		if d.next.IsZero() {
			start := now
			if len(obs) > 0 {
				start = obs[0].At
			}
			d.next = start.Truncate(w).Add(w)
		}
		if lim := now.Add(-w * 1000); d.next.Before(lim) {
			d.next = lim.Truncate(w)
		}
		for !d.next.Add(w).After(now) {
			if v, n := d.percentile(span(obs, d.next, d.next.Add(w)), nil); n >= d.p.MinCount {
				if d.n == 0 {
					d.baseline = v
				} else {
					d.baseline += 2.0 / (ewmaBuckets + 1) * (v - d.baseline)
				}
				d.n++
			}
			d.next = d.next.Add(w)
		}
	}
	var s sampler
	v, n := d.percentile(window(obs, now.Add(-w), now), &s)
	f := Finding{Unit: "ms", Observed: math.Round(v*10) / 10, Count: n}
	label := fmt.Sprintf("p%g", d.p.Percentile)
	if d.p.Threshold > 0 {
		f.Threshold = d.p.Threshold
		f.Active = n >= d.p.MinCount && v >= d.p.Threshold
		f.Summary = fmt.Sprintf("%s %s latency %.1f ms over %d requests in the last %s (threshold %.1f ms)",
			label, d.p.Latency, v, n, d.p.Window, d.p.Threshold)
	} else {
		limit := math.Max(d.p.Factor*d.baseline, d.baseline+minLatencyDeltaMS)
		f.Threshold = math.Round(limit*10) / 10
		f.Active = d.n >= warmupBuckets && n >= d.p.MinCount && v > limit
		f.Summary = fmt.Sprintf("%s %s latency %.1f ms over %d requests in the last %s (baseline %.1f ms, limit %.1f ms)",
			label, d.p.Latency, v, n, d.p.Window, d.baseline, limit)
	}
	s.fill(&f)
	return f
}

const (
	learnMin      = 20     // learned requests before "new" and "unusual" mean anything
	maxLearned    = 10_000 // distinct IPs / user agents remembered per bin
	floodMinTotal = 20
)

// suspicious_sender: requests in the window from senders that look wrong:
// an IP never seen before on this bin that fails signatures; one IP with at
// least threshold of the window's requests while its usual share is under
// half of that; an IP outside allow_cidrs; a user-agent family never seen on
// this bin. Fires when at least min_count requests are suspicious. "Seen"
// means seen before the window (observations are learned as they leave it).
type suspiciousSender struct {
	p       Params
	allow   []netip.Prefix
	learned time.Time // observations up to here were learned
	total   int
	ips     map[string]int
	uas     map[string]int
}

func (d *suspiciousSender) lookback() time.Duration { return d.p.Window.D() * 6 }

func (d *suspiciousSender) allowed(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range d.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (d *suspiciousSender) eval(obs []Obs, now time.Time) Finding {
	from := now.Add(-d.p.Window.D())
	for _, o := range window(obs, d.learned, from) {
		d.total++
		if _, ok := d.ips[o.IP]; ok || len(d.ips) < maxLearned {
			d.ips[o.IP]++
		}
		if _, ok := d.uas[o.UA]; ok || len(d.uas) < maxLearned {
			d.uas[o.UA]++
		}
	}
	if from.After(d.learned) {
		d.learned = from
	}
	w := window(obs, from, now)
	type ipStat struct{ n, fails int }
	ips := map[string]*ipStat{}
	uas := map[string]int{}
	for i := range w {
		st := ips[w[i].IP]
		if st == nil {
			st = &ipStat{}
			ips[w[i].IP] = st
		}
		st.n++
		if w[i].Sig == schema.SigInvalid || w[i].Sig == schema.SigMissing {
			st.fails++
		}
		uas[w[i].UA]++
	}
	learned := d.total >= learnMin
	suspectIP := map[string]string{} // ip -> first reason
	suspectUA := map[string]bool{}
	var details []string
	ipsSorted := make([]string, 0, len(ips))
	for ip := range ips {
		ipsSorted = append(ipsSorted, ip)
	}
	slices.Sort(ipsSorted)
	for _, ip := range ipsSorted {
		st := ips[ip]
		if learned && st.fails > 0 && d.ips[ip] == 0 {
			suspectIP[ip] = "new"
			details = append(details, fmt.Sprintf("new sender %s failed %d signature checks", ip, st.fails))
		}
		if len(d.allow) > 0 && !d.allowed(ip) {
			if _, ok := suspectIP[ip]; !ok {
				suspectIP[ip] = "allowlist"
			}
			details = append(details, fmt.Sprintf("%s is outside allow_cidrs (%d requests)", ip, st.n))
		}
		if learned && len(w) >= max(floodMinTotal, 4*d.p.MinCount) {
			share := float64(st.n) / float64(len(w))
			usual := float64(d.ips[ip]) / float64(d.total)
			if share >= d.p.Threshold && usual < share/2 {
				if _, ok := suspectIP[ip]; !ok {
					suspectIP[ip] = "flood"
				}
				details = append(details, fmt.Sprintf("%s sent %s of %d requests (usually %s)", ip, pct(share), len(w), pct(usual)))
			}
		}
	}
	if learned {
		names := make([]string, 0, len(uas))
		for ua := range uas {
			if d.uas[ua] == 0 {
				names = append(names, ua)
			}
		}
		slices.Sort(names)
		for _, ua := range names {
			suspectUA[ua] = true
			label := ua
			if label == "" {
				label = "(none)"
			}
			details = append(details, fmt.Sprintf("unusual user agent %q (%d requests)", label, uas[ua]))
		}
	}
	var s sampler
	n := 0
	for i := range w {
		_, badIP := suspectIP[w[i].IP]
		if badIP || suspectUA[w[i].UA] {
			n++
			s.add(&w[i])
		}
	}
	f := Finding{Unit: "requests", Observed: float64(n), Threshold: float64(d.p.MinCount), Count: len(w),
		Active: n >= d.p.MinCount, Details: details}
	f.Summary = fmt.Sprintf("%d suspicious requests of %d in the last %s (min %d)", n, len(w), d.p.Window, d.p.MinCount)
	if len(details) > 0 {
		f.Summary += ": " + details[0]
	}
	s.fill(&f)
	return f
}
