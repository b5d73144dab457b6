package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const secret = "very-secret-token"

func TestURLNeverPrints(t *testing.T) {
	u := NewURL("https://hooks.slack.com/services/T000/B000/" + secret)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "url", u)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "url", u)
	js, _ := json.Marshal(map[string]any{"u": u})
	outs := map[string]string{
		"%v": fmt.Sprintf("%v", u), "%s": fmt.Sprintf("%s", u), "%+v": fmt.Sprintf("%+v", u),
		"%#v": fmt.Sprintf("%#v", u), "%q": fmt.Sprintf("%q", u), "struct %+v": fmt.Sprintf("%+v", struct{ U URL }{u}),
		"json": string(js), "slog": logs.String(), "hint": u.Hint(), "error": fmt.Errorf("send to %v: %w", u, errors.New("x")).Error(),
	}
	for name, s := range outs {
		if strings.Contains(s, secret) || strings.Contains(s, "/services/") {
			t.Errorf("%s leaks the URL: %s", name, s)
		}
	}
	if got := u.Hint(); got != "https://hooks.slack.com/…oken" {
		t.Errorf("Hint = %q", got)
	}
	if u.Reveal() != "https://hooks.slack.com/services/T000/B000/"+secret {
		t.Error("Reveal lost the URL")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	}
	for in, want := range tests {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestPostJSONClassifies runs against a real loopback server whose paths
// carry the secret, like Slack's.
func TestPostJSONClassifies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/ok/"):
			w.WriteHeader(200)
		case strings.HasPrefix(r.URL.Path, "/slow-down/"):
			w.Header().Set("Retry-After", "12")
			w.WriteHeader(429)
		case strings.HasPrefix(r.URL.Path, "/down/"):
			w.WriteHeader(503)
			fmt.Fprintf(w, "upstream %s unavailable", r.URL.Path) // echoes the secret path
		case strings.HasPrefix(r.URL.Path, "/gone/"):
			w.WriteHeader(404)
			_, _ = w.Write([]byte("no_service"))
		case strings.HasPrefix(r.URL.Path, "/redirect/"):
			http.Redirect(w, r, "/ok/"+secret, http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		url        string
		retry, ok  bool
		retryAfter time.Duration
	}{
		{srv.URL + "/ok/" + secret, false, true, 0},
		{srv.URL + "/redirect/" + secret, false, true, 0},
		{srv.URL + "/slow-down/" + secret, true, false, 12 * time.Second},
		{srv.URL + "/down/" + secret, true, false, 0},
		{srv.URL + "/gone/" + secret, false, false, 0},
		{closed + "/refused/" + secret, true, false, 0},
		{srv.URL + "/ok/" + secret + "?token=" + secret, false, true, 0},
	}
	for _, tt := range tests {
		u := NewURL(tt.url)
		t.Run(strings.SplitN(strings.TrimPrefix(tt.url, "http://"), "/", 3)[1], func(t *testing.T) {
			retry, err := PostJSON(context.Background(), srv.Client(), u, []byte(`{}`))
			if retry != tt.retry || (err == nil) != tt.ok {
				t.Fatalf("retry=%v err=%v, want retry=%v ok=%v", retry, err, tt.retry, tt.ok)
			}
			if d, _ := RetryAfter(err); d != tt.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", d, tt.retryAfter)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), tt.url)) {
				t.Errorf("error leaks the URL: %v", err)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"ééééé", 3, "éé…"},
		{"", 3, ""},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.n); got != tt.want || len([]rune(got)) > max(tt.n, 0) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
