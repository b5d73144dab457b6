// Package email sends alert notifications as plain-text e-mail over SMTP
// (RFC 5321) with the standard library's net/smtp client: STARTTLS by
// default (refusing a server that does not offer it, so neither the alert
// nor the credentials cross the network in clear), implicit TLS for port
// 465 relays, or plain for a local relay; AUTH PLAIN when a username is set.
// The message (RFC 5322) is text/plain UTF-8, quoted-printable, with an
// RFC 2047 encoded subject and "Auto-Submitted: auto-generated" (RFC 3834)
// so auto-responders stay quiet. A channel's destination is
// "mailto:a@example.com,b@example.com".
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/hookscope/hookscope/alerts/notify"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (required)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no TLS: only for a relay on the same host or network
)

// Options configures the notifier. Addr and From are required.
type Options struct {
	Addr     string     // SMTP relay, host:port
	From     string     // envelope and header sender, e.g. alerts@example.com
	Username string     // AUTH PLAIN user; empty: no authentication
	Password notify.URL // AUTH PLAIN password; prints redacted
	TLS      string     // TLSStartTLS (default), TLSImplicit or TLSNone
	// TLSConfig for STARTTLS and implicit TLS; ServerName defaults to the
	// host of Addr. Tests set RootCAs here.
	TLSConfig *tls.Config
	Hostname  string        // EHLO name; default "localhost"
	Timeout   time.Duration // one whole SMTP session; default 30s
	Now       func() time.Time
}

// Notifier sends e-mail through one SMTP relay.
type Notifier struct {
	opt  Options
	host string
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns an e-mail notifier. It checks the options, not the relay.
func New(opt Options) (*Notifier, error) {
	host, _, err := net.SplitHostPort(opt.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("email: smtp address %q: must be host:port", opt.Addr)
	}
	if a, err := mail.ParseAddress(opt.From); err != nil || a.Address != opt.From {
		return nil, fmt.Errorf("email: from %q: must be a plain e-mail address", opt.From)
	}
	switch opt.TLS {
	case "":
		opt.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("email: tls %q: must be starttls, tls or none", opt.TLS)
	}
	if opt.Hostname == "" {
		opt.Hostname = "localhost"
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Notifier{opt: opt, host: host}, nil
}

// Recipients parses a channel destination "mailto:a@x,b@y".
func Recipients(dest notify.URL) ([]string, error) {
	list, ok := strings.CutPrefix(dest.Reveal(), "mailto:")
	if !ok || list == "" {
		return nil, errors.New("destination must be mailto:addresses")
	}
	out := strings.Split(list, ",")
	for _, a := range out {
		if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
			return nil, fmt.Errorf("recipient %q is not a plain e-mail address", a)
		}
	}
	return out, nil
}

// oneLine keeps header text on one line whatever captured content holds.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r < ' ' {
			return ' '
		}
		return r
	}, s)
}

// Build renders the RFC 5322 message (CRLF line endings, before SMTP
// dot-stuffing, which net/smtp does).
func Build(from string, to []string, n *notify.Notification, now time.Time) []byte {
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\n%s\n\n", notify.Title(n), n.Summary)
	row := func(k, v string) { fmt.Fprintf(&text, "%-12s %s\n", k+":", v) }
	row("Rule", n.RuleName+" ("+n.Kind+")")
	row("Bin", n.BinID)
	row("Severity", string(n.Severity))
	row("Observed", notify.FormatValue(n.Observed, n.Unit))
	row("Threshold", notify.FormatValue(n.Threshold, n.Unit))
	row("Window", n.Window)
	if n.TopSender != nil {
		row("Top sender", fmt.Sprintf("%s (%d requests)", n.TopSender.IP, n.TopSender.Count))
	}
	if len(n.Details) > 0 {
		text.WriteString("\n")
		for _, d := range n.Details {
			fmt.Fprintf(&text, "- %s\n", d)
		}
	}
	if len(n.Samples) > 0 {
		text.WriteString("\nSample requests:\n")
		for _, id := range n.Samples {
			if n.BinURL != "" {
				fmt.Fprintf(&text, "  %s/requests/%s\n", n.BinURL, id)
			} else {
				fmt.Fprintf(&text, "  %s\n", id)
			}
		}
	}
	if n.BinURL != "" {
		fmt.Fprintf(&text, "\nOpen the bin: %s\n", n.BinURL)
	}
	fmt.Fprintf(&text, "\nStarted %s, episode %s.\n", n.StartedAt.UTC().Format("2006-01-02 15:04:05Z"), n.EpisodeID)

	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", (&mail.Address{Name: "hookscope", Address: from}).String())
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(notify.Title(n)+": "+n.Summary)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+randomID()+"@hookscope>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	h("X-Hookscope-Episode", oneLine(n.EpisodeID))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(text.String(), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

func randomID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// Notify mails n to the recipients of dest. SMTP 4xx replies and network
// failures are retryable, 5xx replies are not. Errors never contain the
// password.
func (e *Notifier) Notify(ctx context.Context, dest notify.URL, n *notify.Notification) (bool, error) {
	to, err := Recipients(dest)
	if err != nil {
		return false, fmt.Errorf("email: %w", err)
	}
	retry, err := e.send(ctx, to, Build(e.opt.From, to, n, e.opt.Now()))
	if err != nil {
		return retry, fmt.Errorf("email: %s", e.scrub(err.Error()))
	}
	return false, nil
}

// scrub removes the password, raw and as AUTH PLAIN sends it, from s.
func (e *Notifier) scrub(s string) string {
	pw := e.opt.Password.Reveal()
	if pw == "" {
		return s
	}
	s = strings.ReplaceAll(s, pw, "<redacted>")
	return strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte("\x00"+e.opt.Username+"\x00"+pw)), "<redacted>")
}

func (e *Notifier) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.opt.TLSConfig != nil {
		c = e.opt.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = e.host
	}
	return c
}

// classify: SMTP 4xx (transient) and network errors retry; 5xx does not.
func classify(step string, err error) (bool, error) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500, fmt.Errorf("%s: server replied %d %s", step, te.Code, te.Msg)
	}
	return true, fmt.Errorf("%s: %w", step, err)
}

func (e *Notifier) send(ctx context.Context, to []string, msg []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opt.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.opt.Addr)
	if err != nil {
		return true, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if e.opt.TLS == TLSImplicit {
		tc := tls.Client(conn, e.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return true, fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.opt.Hostname); err != nil {
		return classify("ehlo", err)
	}
	if e.opt.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return false, errors.New("starttls: the server does not offer STARTTLS (set the TLS mode to none only for a local relay)")
		}
		if err := c.StartTLS(e.tlsConfig()); err != nil {
			return classify("starttls", err)
		}
	}
	if e.opt.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.opt.Username, e.opt.Password.Reveal(), e.host)); err != nil {
			return classify("auth", err)
		}
	}
	if err := c.Mail(e.opt.From); err != nil {
		return classify("mail from", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return classify("rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify("data", err)
	}
	if err := w.Close(); err != nil {
		return classify("data", err)
	}
	// The message was accepted at the end of DATA: a failed QUIT does not
	// make it undelivered.
	_ = c.Quit()
	return false, nil
}
