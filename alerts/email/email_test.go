package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
	"github.com/hookscope/hookscope/alerts/notify/notifytest"
)

const password = "hunter2-very-secret-password"

var fixedNow = func() time.Time { return time.Date(2026, 1, 1, 10, 0, 6, 0, time.UTC) }

// TestNotifyEmailDelivers sends a firing alert through a local SMTP
// receiver with STARTTLS and AUTH PLAIN (the default mode) and checks the
// envelope, the credentials, that the session was encrypted, and the
// delivered RFC 5322 message: headers, encoded subject, body.
func TestNotifyEmailDelivers(t *testing.T) {
	srvTLS, pool := notifytest.TestCert(t)
	s := notifytest.StartSMTPD(t, &notifytest.SMTPD{TLS: srvTLS, User: "alerts", Pass: password})
	n, err := New(Options{Addr: s.Addr, From: "alerts@hookscope.test", Username: "alerts", Password: notify.NewURL(password),
		TLSConfig: &tls.Config{RootCAs: pool}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	note := notifytest.Sample(notify.StateFiring, notify.SeverityCritical)
	note.RuleName = "bad signatures\r\nBcc: victim@evil.test" // header injection attempt
	note.Summary = "7 of 9 checked signatures failed (78%) — ünïcode"
	if retry, err := n.Notify(context.Background(), notify.NewURL("mailto:ops@example.test,oncall@example.test"), note); err != nil {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	got := s.Delivered()
	if len(got) != 1 {
		t.Fatalf("%d messages delivered", len(got))
	}
	d := got[0]
	if d.From != "alerts@hookscope.test" || strings.Join(d.To, ",") != "ops@example.test,oncall@example.test" || !d.OverTLS {
		t.Errorf("envelope from %q to %v over TLS %v", d.From, d.To, d.OverTLS)
	}
	if len(s.Auth()) != 1 || s.Auth()[0] != "\x00alerts\x00"+password {
		t.Errorf("auth %q", s.Auth())
	}
	m, err := mail.ReadMessage(strings.NewReader(d.Data))
	if err != nil {
		t.Fatalf("delivered message does not parse: %v\n%s", err, d.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(subject, "Firing [critical]: bad signatures  Bcc: victim@evil.test on bin bin42: 7 of 9") || !strings.Contains(subject, "ünïcode") {
		t.Errorf("subject %q", subject)
	}
	if m.Header.Get("Bcc") != "" {
		t.Errorf("header injection: Bcc %q", m.Header.Get("Bcc"))
	}
	from, _ := m.Header.AddressList("From")
	to, _ := m.Header.AddressList("To")
	if len(from) != 1 || from[0].Address != "alerts@hookscope.test" || len(to) != 2 || to[1].Address != "oncall@example.test" {
		t.Errorf("From %v To %v", from, to)
	}
	for k, want := range map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
		"Mime-Version": "1.0", "Auto-Submitted": "auto-generated", "Date": "Thu, 01 Jan 2026 10:00:06 +0000", "X-Hookscope-Episode": "ep1"} {
		if v := m.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if id := m.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@hookscope>") {
		t.Errorf("Message-ID %q", id)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ünïcode", "Observed:    78.0%", "Threshold:   50.0%", "Top sender:  203.0.113.9 (7 requests)",
		"https://hooks.example/bins/bin42/requests/0190a0b0-0000-7000-8000-000000000001", "Open the bin: https://hooks.example/bins/bin42", "episode ep1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

// TestNotifyEmailDotStuffing: a detail line that is a lone "." must not
// end the message early.
func TestNotifyEmailDotStuffing(t *testing.T) {
	s := notifytest.StartSMTPD(t, &notifytest.SMTPD{})
	n, err := New(Options{Addr: s.Addr, From: "alerts@hookscope.test", TLS: TLSNone, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	note := notifytest.Sample(notify.StateResolved, notify.SeverityInfo)
	note.Details = []string{"before", ".", "after the dot"}
	if _, err := n.Notify(context.Background(), notify.NewURL("mailto:ops@example.test"), note); err != nil {
		t.Fatal(err)
	}
	got := s.Delivered()
	if len(got) != 1 || !strings.Contains(got[0].Data, "after the dot") || !strings.Contains(got[0].Data, "Resolved: ") {
		t.Fatalf("delivered %+v", got)
	}
}

// TestNotifyEmailFailures: STARTTLS missing is refused before anything is
// sent; 4xx replies retry, 5xx do not; the password never reaches an error
// or a log line, even when the server quotes the AUTH exchange.
func TestNotifyEmailFailures(t *testing.T) {
	srvTLS, pool := notifytest.TestCert(t)
	tests := []struct {
		name    string
		srv     *notifytest.SMTPD
		opt     Options
		retry   bool
		errPart string
	}{
		{"no starttls offered", &notifytest.SMTPD{User: "alerts", Pass: password}, Options{Username: "alerts"}, false, "does not offer STARTTLS"},
		{"wrong password", &notifytest.SMTPD{TLS: srvTLS, User: "alerts", Pass: "other"}, Options{Username: "alerts"}, false, "535"},
		{"mailbox busy", &notifytest.SMTPD{TLS: srvTLS, RcptReply: "451 4.2.1 mailbox busy"}, Options{}, true, "451"},
		{"no such user", &notifytest.SMTPD{TLS: srvTLS, RcptReply: "550 5.1.1 no such user"}, Options{}, false, "550"},
		{"nothing listening", nil, Options{Addr: "127.0.0.1:1"}, true, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			if tt.srv != nil {
				opt.Addr = notifytest.StartSMTPD(t, tt.srv).Addr
			}
			opt.From, opt.Password, opt.TLSConfig, opt.Now = "alerts@hookscope.test", notify.NewURL(password), &tls.Config{RootCAs: pool}, fixedNow
			n, err := New(opt)
			if err != nil {
				t.Fatal(err)
			}
			retry, err := n.Notify(context.Background(), notify.NewURL("mailto:ops@example.test"), notifytest.Sample(notify.StateFiring, notify.SeverityInfo))
			if err == nil || retry != tt.retry || !strings.Contains(err.Error(), tt.errPart) {
				t.Fatalf("retry=%v err=%v, want retry=%v and %q", retry, err, tt.retry, tt.errPart)
			}
			var logs bytes.Buffer
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("notification failed", "err", err, "options", opt, "password", opt.Password)
			for what, s := range map[string]string{"error": fmt.Sprintf("%v %+v", err, err), "log": logs.String(), "options": fmt.Sprintf("%v %+v %#v", opt, opt, opt)} {
				if strings.Contains(s, "hunter2") || strings.Contains(s, "aHVudGVyM") || strings.Contains(s, "AGFsZXJ0cwBodW50ZXIy") {
					t.Errorf("password leaks into the %s: %s", what, s)
				}
			}
			if tt.srv != nil && len(tt.srv.Delivered()) != 0 {
				t.Errorf("a message was delivered")
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{Addr: "nohost", From: "a@x.test"},
		{Addr: "mail.test:25", From: "not an address"},
		{Addr: "mail.test:25", From: "Ops <a@x.test>"},
		{Addr: "mail.test:25", From: "a@x.test", TLS: "ssl3"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	for _, d := range []string{"", "ops@example.test", "mailto:", "mailto:a@x.test,Evil <b@x.test>", "mailto:a@x.test\r\nBcc: c@x.test"} {
		if _, err := Recipients(notify.NewURL(d)); err == nil {
			t.Errorf("Recipients(%q) accepted", d)
		}
	}
}
