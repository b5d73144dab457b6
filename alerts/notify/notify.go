// Package notify holds what the alert engine and its notifier packages share:
// the Notification a notifier renders, the Notifier interface, the secret URL
// type, and an HTTP helper that classifies answers for retries without ever
// putting the destination URL into an error.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// URL is a notifier's secret destination: an incoming-webhook URL, or a
// PagerDuty routing key. Incoming-webhook URLs carry their credential in the
// path, so a URL never prints, marshals or logs as itself: only Reveal
// returns it, and Hint gives something safe to show.
type URL struct{ s string }

// NewURL wraps a destination.
func NewURL(s string) URL { return URL{s: s} }

// Reveal returns the real URL. Call it only to send a request or persist.
func (u URL) Reveal() string { return u.s }

// IsZero reports whether no URL was set.
func (u URL) IsZero() bool { return u.s == "" }

const redacted = "<redacted>"

// String implements fmt.Stringer with a redacted form.
func (u URL) String() string { return redacted }

// GoString keeps %#v redacted too.
func (u URL) GoString() string { return "notify.URL(" + redacted + ")" }

// Format makes every fmt verb print the redacted form.
func (u URL) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue keeps slog output redacted.
func (u URL) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON marshals the redacted form; persist through Reveal.
func (u URL) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText keeps encoders that prefer TextMarshaler redacted.
func (u URL) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Hint is a safe, recognisable abbreviation: scheme, host and the last four
// characters, e.g. "https://hooks.slack.com/…Xy12".
func (u URL) Hint() string {
	if u.s == "" {
		return ""
	}
	p, err := url.Parse(u.s)
	if err != nil || p.Host == "" {
		// Not a URL (a routing key): only the last four characters of a
		// long one.
		if len(u.s) >= 16 && !strings.ContainsAny(u.s, "/:@") {
			return "…" + u.s[len(u.s)-4:]
		}
		return "…"
	}
	rest := strings.TrimSuffix(p.EscapedPath()+"?"+p.RawQuery, "?")
	tail := ""
	if len(rest) > 12 {
		tail = rest[len(rest)-4:]
	}
	return p.Scheme + "://" + p.Host + "/…" + tail
}

// Scrub removes every occurrence of the URL (and of its path and query,
// which carry the credential) from s.
func (u URL) Scrub(s string) string {
	if u.s == "" {
		return s
	}
	s = strings.ReplaceAll(s, u.s, redacted)
	if p, err := url.Parse(u.s); err == nil {
		for _, part := range []string{p.RawQuery, p.EscapedPath(), p.Path} {
			if len(part) > 1 {
				s = strings.ReplaceAll(s, part, redacted)
			}
		}
	}
	return s
}

// Severity orders how loud an alert is; notifiers colour by it.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// States a Notification can announce.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
	StateTest     = "test"
)

// Sender is one remote IP and how many requests it sent in the window.
type Sender struct {
	IP    string `json:"ip"`
	Count int    `json:"count"`
}

// Notification is one message about one alert episode of one rule on one bin.
type Notification struct {
	State     string    `json:"state"` // firing, resolved, test
	EpisodeID string    `json:"episode_id"`
	RuleID    string    `json:"rule_id"`
	RuleName  string    `json:"rule_name"`
	Kind      string    `json:"kind"`
	Severity  Severity  `json:"severity"`
	BinID     string    `json:"bin_id"`
	BinURL    string    `json:"bin_url,omitempty"` // the bin in the inspector
	Summary   string    `json:"summary"`           // one line: what, where, how much
	Details   []string  `json:"details,omitempty"`
	Observed  float64   `json:"observed"`
	Threshold float64   `json:"threshold"`
	Unit      string    `json:"unit"`
	Window    string    `json:"window"`
	Samples   []string  `json:"sample_request_ids"`
	TopSender *Sender   `json:"top_sender"`
	StartedAt time.Time `json:"started_at"`
	At        time.Time `json:"at"`
}

// Notifier delivers a notification to one destination. retry tells the caller
// whether trying again later may succeed. Errors never contain the URL.
type Notifier interface {
	Notify(ctx context.Context, dest URL, n *Notification) (retry bool, err error)
}

// HTTPError is a non-2xx answer of a receiver.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
	Body       string        // first bytes of the answer, scrubbed
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("receiver answered %d", e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// RetryAfter returns the delay a receiver asked for, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return he.RetryAfter, true
	}
	return 0, false
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// PostJSON posts body to dest with client and classifies the outcome: 2xx is
// success; 429, 5xx and transport failures are retryable; other answers are
// not. The returned error never contains dest.
func PostJSON(ctx context.Context, client *http.Client, dest URL, body []byte) (retry bool, err error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.Reveal(), bytes.NewReader(body))
	if err != nil {
		return false, errors.New("build request: invalid destination URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookscope-alerts/1")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error embeds the URL: keep only the cause, and scrub that too.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("send: %w", ctx.Err())
		}
		return true, fmt.Errorf("send: %s", dest.Scrub(err.Error()))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	he := &HTTPError{
		Status:     resp.StatusCode,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Body:       dest.Scrub(strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?"))),
	}
	if len(he.Body) > 200 {
		he.Body = he.Body[:200]
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, he
}

// Truncate cuts s to at most n runes, ending in "…" when it cut; providers
// count their limits in characters and refuse the whole message over one.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n-1 {
			if len([]rune(s[j:])) > 1 {
				return s[:j] + "…"
			}
			return s
		}
		i++
	}
	return s
}

// Title is the one-line headline of a notification.
func Title(n *Notification) string {
	switch n.State {
	case StateResolved:
		return fmt.Sprintf("Resolved: %s on bin %s", n.RuleName, n.BinID)
	case StateTest:
		return fmt.Sprintf("Test: %s on bin %s", n.RuleName, n.BinID)
	}
	return fmt.Sprintf("Firing [%s]: %s on bin %s", n.Severity, n.RuleName, n.BinID)
}

// FormatValue prints an observed value or threshold in its unit.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "share":
		return fmt.Sprintf("%.1f%%", v*100)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "":
		return fmt.Sprintf("%g", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

// ScrubError returns err with every occurrence of dest's secret removed from
// its text, keeping an *HTTPError (and so its Retry-After) when err is one.
func ScrubError(dest URL, err error) error {
	if err == nil {
		return nil
	}
	var he *HTTPError
	if errors.As(err, &he) {
		c := *he
		c.Body = dest.Scrub(c.Body)
		return &c
	}
	return errors.New(dest.Scrub(err.Error()))
}

// BySeverity picks one of four values for n: resolved when n announces a
// resolution, else the one of its severity (info for anything unknown).
// Notifiers colour their messages with it.
func BySeverity[T any](n *Notification, critical, warning, info, resolved T) T {
	if n.State == StateResolved {
		return resolved
	}
	switch n.Severity {
	case SeverityCritical:
		return critical
	case SeverityWarning:
		return warning
	}
	return info
}

// HTTPOptions configures a notifier that only needs an HTTP client.
type HTTPOptions struct {
	// Client sends the request; plug an SSRF-guarded client here. Default:
	// a client with a 10 s timeout.
	Client *http.Client
}

// JSONNotifier is the shape of every webhook-style provider (Slack,
// Discord, Teams, the generic webhook): render the notification into the
// provider's document and PostJSON it to the destination.
type JSONNotifier struct {
	Provider string                  // prefixes errors: "slack: receiver answered 404"
	Client   *http.Client            // plug an SSRF-guarded client here; nil: 10 s timeout
	Render   func(*Notification) any // the provider's document
}

// Notify implements Notifier.
func (j JSONNotifier) Notify(ctx context.Context, dest URL, n *Notification) (bool, error) {
	body, err := json.Marshal(j.Render(n))
	if err != nil {
		return false, fmt.Errorf("%s: encode message: %w", j.Provider, err)
	}
	client := j.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	retry, err := PostJSON(ctx, client, dest, body)
	if err != nil {
		return retry, fmt.Errorf("%s: %w", j.Provider, err)
	}
	return false, nil
}
