// Package notifytest holds what the notifier packages' tests share: a local
// HTTP receiver standing in for a provider, and a sample notification.
package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// Sample is a notification carrying hostile-looking captured content
// (markup in the rule name and details) in every field a notifier renders.
func Sample(state string, sev notify.Severity) *notify.Notification {
	return &notify.Notification{State: state, EpisodeID: "ep1", RuleID: "r1", RuleName: "bad <signatures> *now*",
		Kind: "signature_failures", Severity: sev, BinID: "bin42", BinURL: "https://hooks.example/bins/bin42",
		Summary: "7 of 9 checked signatures failed (78%)", Details: []string{"new sender 203.0.113.9 failed 7 signature checks [click](http://evil.test) @everyone"},
		Observed: 0.78, Threshold: 0.5, Unit: "share", Window: "10s",
		Samples: []string{"0190a0b0-0000-7000-8000-000000000001"}, TopSender: &notify.Sender{IP: "203.0.113.9", Count: 7},
		StartedAt: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), At: time.Date(2026, 1, 1, 10, 0, 5, 0, time.UTC)}
}

// Request is one request the receiver got.
type Request struct {
	Method, Path, ContentType string
	Header                    http.Header
	Body                      []byte
}

// Receiver is a loopback HTTP server recording requests and answering with
// Status (default 200) and Body; Answer, when set, decides per request.
type Receiver struct {
	URL    string
	Client *http.Client

	mu     sync.Mutex
	got    []Request
	answer func(r Request) (status int, header http.Header, body string)
}

// NewReceiver starts a receiver closed with the test. answer may be nil
// (always 200 "ok").
func NewReceiver(t testing.TB, answer func(r Request) (int, http.Header, string)) *Receiver {
	t.Helper()
	rc := &Receiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		req := Request{Method: r.Method, Path: r.URL.RequestURI(), ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: b}
		rc.mu.Lock()
		rc.got = append(rc.got, req)
		answer := rc.answer
		rc.mu.Unlock()
		status, hdr, body := 200, http.Header(nil), "ok"
		if answer != nil {
			status, hdr, body = answer(req)
		}
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	rc.URL, rc.Client = srv.URL, srv.Client()
	return rc
}

// Requests returns what was received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}
