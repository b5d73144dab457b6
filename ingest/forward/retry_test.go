package forward

import (
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct {
		in   *schema.RetryConfig
		want Policy
		err  bool
	}{
		{nil, NoRetry, false},
		{&schema.RetryConfig{}, Policy{5, 10 * time.Second, time.Hour}, false},
		{&schema.RetryConfig{MaxAttempts: 3, Initial: "50ms"}, Policy{3, 50 * time.Millisecond, time.Hour}, false},
		{&schema.RetryConfig{MaxAttempts: 3, Initial: "2h"}, Policy{}, true},
		{&schema.RetryConfig{Initial: "2m", Max: "1m"}, Policy{}, true},
		{&schema.RetryConfig{MaxAttempts: MaxRetryAttempts + 1}, Policy{}, true},
		{&schema.RetryConfig{Max: "25h"}, Policy{}, true},
		{&schema.RetryConfig{Initial: "5ms"}, Policy{}, true},
	} {
		got, err := ParsePolicy(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParsePolicy(%+v) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestDelayBackoff: the pause doubles from Initial, stays within 80-120%
// of the nominal value, and never exceeds Max.
func TestDelayBackoff(t *testing.T) {
	p := Policy{MaxAttempts: 10, Initial: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 8; n++ {
		nominal := min(p.Initial<<(n-1), p.Max)
		for range 200 {
			d := p.Delay(n)
			if d < nominal*8/10 || d > nominal*12/10 || d > p.Max {
				t.Fatalf("Delay(%d) = %v, nominal %v", n, d, nominal)
			}
		}
	}
}

func TestFilterMatch(t *testing.T) {
	r := &schema.Request{Method: "POST", Path: "/gh/push", EventType: "push",
		Headers: []schema.Header{{Name: "X-Env", Value: "prod"}}, Body: []byte(`{"ref":"main"}`)}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"method=POST", true},
		{"method=post", true},
		{"method=GET", false},
		{"event_type=push&path_prefix=/gh", true},
		{"path_prefix=/gl", false},
		{"header=x-env", true},
		{"header=X-Env:prod", true},
		{"header=X-Env:dev", false},
		{"header=X-Other", false},
		{"q=MAIN", true},
		{"q=develop", false},
		{"signature=valid", false},
	} {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("%q: %v", tc.filter, err)
		}
		if ok, reason := f.Match(r); ok != tc.want || (!ok && reason == "") {
			t.Errorf("%q: match %v (%q), want %v", tc.filter, ok, reason, tc.want)
		}
	}
	for _, bad := range []string{"status=200", "method=a b", "header=a b:c", "%zz", "q=a&q=b", "limit=5"} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
