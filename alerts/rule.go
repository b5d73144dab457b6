package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/schema"
)

// Kind names a detector.
type Kind string

const (
	KindFailureSpike      Kind = "failure_spike"
	KindVolumeAnomaly     Kind = "volume_anomaly"
	KindSignatureFailures Kind = "signature_failures"
	KindSuspiciousSender  Kind = "suspicious_sender"
	KindLatencySpike      Kind = "latency_spike"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindFailureSpike, KindVolumeAnomaly, KindSignatureFailures, KindSuspiciousSender, KindLatencySpike}

// Channel types. Each has its own notifier package (alerts/<type>).
const (
	ChannelSlack     = "slack"
	ChannelWebhook   = "webhook"
	ChannelDiscord   = "discord"
	ChannelTeams     = "teams"
	ChannelPagerDuty = "pagerduty"
	ChannelEmail     = "email"
)

// ChannelTypes lists every channel type hookscope knows.
var ChannelTypes = []string{ChannelSlack, ChannelWebhook, ChannelDiscord, ChannelTeams, ChannelPagerDuty, ChannelEmail}

// MaxRecipients bounds the addresses of one e-mail channel.
const MaxRecipients = 10

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("10s", "5m").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string (or null, which leaves zero).
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration string such as \"10s\" or \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// Channel is one notification destination. Its secret (the webhook URL, or
// a PagerDuty routing key) is write-only: accepted on input and persisted,
// but JSON output carries only url_hint. E-mail channels have recipients
// instead (shown, not secret); their URL is the derived mailto: the email
// notifier reads.
type Channel struct {
	Type string
	URL  notify.URL // the secret destination; mailto:a,b for e-mail
	To   []string   // e-mail recipients
}

type channelIn struct {
	Type       string   `json:"type"`
	URL        *string  `json:"url"`
	RoutingKey *string  `json:"routing_key"` // pagerduty
	To         []string `json:"to"`          // email
}

type channelOut struct {
	Type    string   `json:"type"`
	URLHint string   `json:"url_hint"`
	To      []string `json:"to,omitempty"`
}

// MarshalJSON writes {"type","url_hint"} (plus "to" for e-mail): never the
// secret.
func (c Channel) MarshalJSON() ([]byte, error) {
	if c.Type == ChannelEmail {
		return json.Marshal(channelOut{Type: c.Type, To: c.To})
	}
	return json.Marshal(channelOut{Type: c.Type, URLHint: c.URL.Hint()})
}

// UnmarshalJSON reads {"type","url"}, {"type":"pagerduty","routing_key"} or
// {"type":"email","to":[...]}, refusing unknown keys. Which keys a type
// needs is checked by Rule.Validate, which names the field.
func (c *Channel) UnmarshalJSON(b []byte) error {
	var in channelIn
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return errors.New("channel: " + strings.TrimPrefix(err.Error(), "json: "))
		}
		return errors.New(`channel must be an object {"type", "url"} ({"type","routing_key"} for pagerduty, {"type","to"} for email)`)
	}
	*c = Channel{Type: in.Type}
	if in.RoutingKey != nil && in.Type != ChannelPagerDuty {
		return errors.New("channel: routing_key only applies to pagerduty channels")
	}
	if in.To != nil && in.Type != ChannelEmail {
		return errors.New("channel: to only applies to email channels")
	}
	if in.URL != nil && (in.Type == ChannelPagerDuty || in.Type == ChannelEmail) {
		return errors.New("channel: url does not apply to " + in.Type + " channels (pagerduty takes routing_key, email takes to)")
	}
	switch {
	case in.Type == ChannelPagerDuty && in.RoutingKey != nil:
		c.URL = notify.NewURL(*in.RoutingKey)
	case in.Type == ChannelEmail && in.To != nil:
		c.To = in.To
		c.URL = mailto(in.To)
	case in.URL != nil:
		c.URL = notify.NewURL(*in.URL)
	}
	return nil
}

// mailto is the destination an e-mail channel hands its notifier.
func mailto(to []string) notify.URL {
	return notify.NewURL("mailto:" + strings.Join(to, ","))
}

// Params are a rule's detector settings. Every kind uses Window and MinCount;
// Threshold's meaning depends on the kind (see README.md); the rest are
// kind-specific.
type Params struct {
	Window    Duration `json:"window"`
	MinCount  int      `json:"min_count"`
	Threshold float64  `json:"threshold"`

	// volume_anomaly: "low", "medium" (default) or "high"; Season enables the
	// seasonal comparison (e.g. "24h"; "0s" disables).
	Sensitivity string    `json:"sensitivity,omitempty"`
	Season      *Duration `json:"season,omitempty"`

	// suspicious_sender: senders outside these CIDRs are suspicious.
	AllowCIDRs []string `json:"allow_cidrs,omitempty"`

	// latency_spike: Percentile (default 95), Latency "auto" (forward latency
	// when the request was forwarded, else handling), "handling" or "forward";
	// Factor over the baseline when Threshold (ms) is 0 (default 3).
	Percentile float64 `json:"percentile,omitempty"`
	Latency    string  `json:"latency,omitempty"`
	Factor     float64 `json:"factor,omitempty"`

	// thresholdSet records that the JSON carried "threshold", so an explicit
	// 0 (signature_failures: count only) is not replaced by the default.
	thresholdSet bool
}

// UnmarshalJSON decodes params and notes whether threshold was given.
func (p *Params) UnmarshalJSON(b []byte) error {
	type plain Params
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(b, &keys)
	for k := range keys {
		if !paramKeys[k] {
			return fmt.Errorf("params: unknown field %q", k)
		}
	}
	raw, ok := keys["threshold"]
	*p = Params(v)
	p.thresholdSet = ok && string(raw) != "null"
	return nil
}

// paramKeys are the JSON keys Params knows.
var paramKeys = map[string]bool{"window": true, "min_count": true, "threshold": true, "sensitivity": true,
	"season": true, "allow_cidrs": true, "percentile": true, "latency": true, "factor": true}

// Rule is an alert rule as the API shows it.
type Rule struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	BinID     *string         `json:"bin_id"` // nil: every bin
	Kind      Kind            `json:"kind"`
	Severity  notify.Severity `json:"severity"`
	Params    Params          `json:"params"`
	Channels  []Channel       `json:"channels"`
	Cooldown  Duration        `json:"cooldown"`
	For       Duration        `json:"for"` // the condition must hold this long before firing
	Enabled   bool            `json:"enabled"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Bin returns the rule's bin, "" for every bin.
func (r *Rule) Bin() string {
	if r.BinID == nil {
		return ""
	}
	return *r.BinID
}

// ruleDoc is the persisted form (schema.AlertRule.Doc): the same as the API's
// input, with real channel URLs.
type ruleDoc struct {
	Name     string          `json:"name"`
	Kind     Kind            `json:"kind"`
	Severity notify.Severity `json:"severity"`
	Params   Params          `json:"params"`
	Channels []docChannel    `json:"channels"`
	Cooldown Duration        `json:"cooldown"`
	For      Duration        `json:"for"`
	Enabled  bool            `json:"enabled"`
}

type docChannel struct {
	Type string   `json:"type"`
	URL  string   `json:"url,omitempty"`
	To   []string `json:"to,omitempty"`
}

// toStored encodes r for schema.Alerts.
func (r *Rule) toStored() (*schema.AlertRule, error) {
	d := ruleDoc{Name: r.Name, Kind: r.Kind, Severity: r.Severity, Params: r.Params,
		Cooldown: r.Cooldown, For: r.For, Enabled: r.Enabled, Channels: []docChannel{}}
	for _, c := range r.Channels {
		dc := docChannel{Type: c.Type, URL: c.URL.Reveal()}
		if c.Type == ChannelEmail {
			dc = docChannel{Type: c.Type, To: c.To}
		}
		d.Channels = append(d.Channels, dc)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode rule: %w", err)
	}
	return &schema.AlertRule{ID: r.ID, BinID: r.Bin(), Doc: b, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// fromStored decodes a stored rule.
func fromStored(s *schema.AlertRule) (*Rule, error) {
	var d ruleDoc
	dec := json.NewDecoder(bytes.NewReader(s.Doc))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode rule %s: %w", s.ID, err)
	}
	r := &Rule{ID: s.ID, Name: d.Name, Kind: d.Kind, Severity: d.Severity, Params: d.Params,
		Cooldown: d.Cooldown, For: d.For, Enabled: d.Enabled, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Channels: []Channel{}}
	if s.BinID != "" {
		b := s.BinID
		r.BinID = &b
	}
	for _, c := range d.Channels {
		ch := Channel{Type: c.Type, URL: notify.NewURL(c.URL)}
		if c.Type == ChannelEmail {
			ch = Channel{Type: c.Type, To: c.To, URL: mailto(c.To)}
		}
		r.Channels = append(r.Channels, ch)
	}
	return r, nil
}

// Default parameters per kind, applied to zero fields by Normalize.
var defaultParams = map[Kind]Params{
	KindFailureSpike:      {Window: Duration(5 * time.Minute), MinCount: 10, Threshold: 0.5},
	KindVolumeAnomaly:     {Window: Duration(5 * time.Minute), MinCount: 10, Threshold: 0.5, Sensitivity: "medium"},
	KindSignatureFailures: {Window: Duration(5 * time.Minute), MinCount: 5, Threshold: 0.5},
	KindSuspiciousSender:  {Window: Duration(10 * time.Minute), MinCount: 5, Threshold: 0.5},
	KindLatencySpike:      {Window: Duration(5 * time.Minute), MinCount: 20, Percentile: 95, Latency: "auto", Factor: 3},
}

var defaultSeverity = map[Kind]notify.Severity{
	KindFailureSpike:      notify.SeverityCritical,
	KindVolumeAnomaly:     notify.SeverityWarning,
	KindSignatureFailures: notify.SeverityWarning,
	KindSuspiciousSender:  notify.SeverityWarning,
	KindLatencySpike:      notify.SeverityWarning,
}

// DefaultCooldown is the cooldown of a rule that does not set one.
const DefaultCooldown = 10 * time.Minute

// Normalize fills zero fields with the kind's defaults. It leaves unknown
// kinds alone (Validate reports them).
func (r *Rule) Normalize() {
	def, ok := defaultParams[r.Kind]
	if !ok {
		return
	}
	p := &r.Params
	if p.Window == 0 {
		p.Window = def.Window
	}
	if p.MinCount == 0 {
		p.MinCount = def.MinCount
	}
	if p.Threshold == 0 && !p.thresholdSet && r.Kind != KindLatencySpike {
		p.Threshold = def.Threshold
	}
	if r.Kind == KindVolumeAnomaly && p.Sensitivity == "" {
		p.Sensitivity = def.Sensitivity
	}
	if r.Kind == KindLatencySpike {
		if p.Percentile == 0 {
			p.Percentile = def.Percentile
		}
		if p.Latency == "" {
			p.Latency = def.Latency
		}
		if p.Factor == 0 {
			p.Factor = def.Factor
		}
	}
	if r.Severity == "" {
		r.Severity = defaultSeverity[r.Kind]
	}
	if r.Cooldown == 0 {
		r.Cooldown = Duration(DefaultCooldown)
	}
	if r.Channels == nil {
		r.Channels = []Channel{}
	}
}

// MaxWindow bounds windows (memory) and MaxChannels the fan-out of one rule.
const (
	MaxWindow   = 24 * time.Hour
	MaxChannels = 10
)

// Validate checks a normalized rule. Errors wrap schema.ErrInvalid and name
// the offending field.
func (r *Rule) Validate() error {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", schema.ErrInvalid, field, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(r.Name) == "" {
		return bad("name", "is required")
	}
	if len(r.Name) > 200 {
		return bad("name", "longer than 200 characters")
	}
	if r.BinID != nil && *r.BinID == "" {
		return bad("bin_id", "must be a bin id or null for every bin")
	}
	if _, ok := defaultParams[r.Kind]; !ok {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		return bad("kind", "%q is not one of %s", r.Kind, strings.Join(names, ", "))
	}
	switch r.Severity {
	case notify.SeverityInfo, notify.SeverityWarning, notify.SeverityCritical:
	default:
		return bad("severity", "must be info, warning or critical")
	}
	p := r.Params
	if p.Window.D() < time.Second || p.Window.D() > MaxWindow {
		return bad("params.window", "must be between 1s and 24h")
	}
	if p.MinCount < 1 || p.MinCount > 1_000_000 {
		return bad("params.min_count", "must be between 1 and 1000000")
	}
	switch r.Kind {
	case KindFailureSpike, KindSuspiciousSender:
		if p.Threshold <= 0 || p.Threshold > 1 {
			return bad("params.threshold", "is a share and must be greater than 0 and at most 1")
		}
	case KindSignatureFailures:
		if p.Threshold < 0 || p.Threshold > 1 {
			return bad("params.threshold", "is a share and must be between 0 (count only) and 1")
		}
	case KindVolumeAnomaly:
		if p.Threshold < 0 || p.Threshold > 100 {
			return bad("params.threshold", "is the minimum relative change and must be between 0 and 100")
		}
		if _, ok := sensitivityK[p.Sensitivity]; !ok {
			return bad("params.sensitivity", "must be low, medium or high")
		}
		if p.Season != nil && p.Season.D() != 0 && (p.Season.D() < 2*p.Window.D() || p.Season.D() > 7*24*time.Hour) {
			return bad("params.season", "must be 0s or between two windows and 168h")
		}
	case KindLatencySpike:
		if p.Threshold < 0 {
			return bad("params.threshold", "is a latency in milliseconds and must not be negative")
		}
		if p.Percentile <= 0 || p.Percentile > 100 {
			return bad("params.percentile", "must be in (0, 100]")
		}
		if p.Factor < 1 {
			return bad("params.factor", "must be at least 1")
		}
		switch p.Latency {
		case "auto", "handling", "forward":
		default:
			return bad("params.latency", "must be auto, handling or forward")
		}
	}
	if r.Kind != KindSuspiciousSender && len(p.AllowCIDRs) > 0 {
		return bad("params.allow_cidrs", "only applies to suspicious_sender")
	}
	for i, c := range p.AllowCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err2 := netip.ParseAddr(c); err2 != nil {
				return bad(fmt.Sprintf("params.allow_cidrs[%d]", i), "%q is not a CIDR", c)
			}
		}
	}
	if r.Cooldown < 0 || r.Cooldown.D() > 7*24*time.Hour {
		return bad("cooldown", "must be between 0s and 168h")
	}
	if r.For < 0 || r.For.D() > 24*time.Hour {
		return bad("for", "must be between 0s and 24h")
	}
	if len(r.Channels) > MaxChannels {
		return bad("channels", "at most %d", MaxChannels)
	}
	for i, c := range r.Channels {
		if err := c.validate(fmt.Sprintf("channels[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// DefaultRules returns the rules a new bin gets with one toggle: one rule of
// every kind with the default parameters, sending to channels.
func DefaultRules(binID string, channels ...Channel) []*Rule {
	names := map[Kind]string{
		KindFailureSpike:      "failed deliveries",
		KindVolumeAnomaly:     "unusual volume",
		KindSignatureFailures: "bad signatures",
		KindSuspiciousSender:  "suspicious sender",
		KindLatencySpike:      "slow deliveries",
	}
	out := make([]*Rule, 0, len(Kinds))
	for _, k := range Kinds {
		b := binID
		r := &Rule{Name: names[k], BinID: &b, Kind: k, Enabled: true, Channels: append([]Channel(nil), channels...)}
		r.Normalize()
		out = append(out, r)
	}
	return out
}

// validate checks one channel; errors name the field and never echo the
// secret.
func (c Channel) validate(f string) error {
	bad := func(field, msg string) error { return fmt.Errorf("%w: %s: %s", schema.ErrInvalid, field, msg) }
	switch c.Type {
	case ChannelSlack, ChannelWebhook, ChannelDiscord, ChannelTeams:
		if c.URL.IsZero() {
			return bad(f+".url", "is required")
		}
		u, err := url.Parse(c.URL.Reveal())
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			// Never echo the URL: it is a secret.
			return bad(f+".url", "must be an absolute http(s) URL")
		}
	case ChannelPagerDuty:
		k := c.URL.Reveal()
		if k == "" {
			return bad(f+".routing_key", "is required (the integration key of an Events API v2 integration)")
		}
		if len(k) > 64 || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return bad(f+".routing_key", "must be at most 64 printable ASCII characters without spaces")
		}
	case ChannelEmail:
		if len(c.To) == 0 || len(c.To) > MaxRecipients {
			return bad(f+".to", fmt.Sprintf("must list 1 to %d e-mail addresses", MaxRecipients))
		}
		for j, a := range c.To {
			p, err := mail.ParseAddress(a)
			if err != nil || p.Name != "" || p.Address != a {
				return bad(fmt.Sprintf("%s.to[%d]", f, j), "must be a plain e-mail address such as ops@example.com")
			}
		}
	default:
		return bad(f+".type", "must be one of "+strings.Join(ChannelTypes, ", "))
	}
	return nil
}
