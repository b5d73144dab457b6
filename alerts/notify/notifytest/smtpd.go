package notifytest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPD is a minimal SMTP receiver (RFC 5321: greeting, EHLO, STARTTLS,
// AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) on a
// loopback port, recording what it accepts. It stands in for a mail relay.
type SMTPD struct {
	Addr string      // set by StartSMTPD
	TLS  *tls.Config // nil: no STARTTLS offered
	User string      // "": no AUTH offered
	Pass string
	// RcptReply, when set, answers RCPT TO with this line instead of 250.
	RcptReply string

	mu   sync.Mutex
	msgs []Delivered
	auth []string // decoded AUTH PLAIN strings
}

// Delivered is one accepted message: envelope, data (dot-unstuffed) and
// whether the session was encrypted.
type Delivered struct {
	From    string
	To      []string
	Data    string
	OverTLS bool
}

// StartSMTPD serves s on a loopback port until the test ends.
func StartSMTPD(t testing.TB, s *SMTPD) *SMTPD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *SMTPD) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			_, _ = w.WriteString(l + "\r\n")
		}
		_ = w.Flush()
	}
	reply("220 smtpd.test ESMTP ready")
	var cur Delivered
	overTLS := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			names := []string{"smtpd.test", "8BITMIME"}
			if s.TLS != nil && !overTLS {
				names = append(names, "STARTTLS")
			}
			if s.User != "" {
				names = append(names, "AUTH PLAIN")
			}
			lines := make([]string, len(names))
			for i, n := range names {
				sep := "-"
				if i == len(names)-1 {
					sep = " "
				}
				lines[i] = "250" + sep + n
			}
			reply(lines...)
		case "STARTTLS":
			if s.TLS == nil || overTLS {
				reply("502 5.5.1 not offered")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, overTLS = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
			cur = Delivered{}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			if !strings.EqualFold(mech, "PLAIN") || err != nil {
				reply("504 5.5.4 unsupported")
				continue
			}
			s.mu.Lock()
			s.auth = append(s.auth, string(b))
			s.mu.Unlock()
			if string(b) != "\x00"+s.User+"\x00"+s.Pass {
				// A careless server that quotes what it got.
				reply("535 5.7.8 authentication failed for " + resp)
				continue
			}
			reply("235 2.7.0 authenticated")
		case "MAIL":
			path, _, _ := strings.Cut(arg[min(len(arg), len("FROM:")):], " ") // drop BODY=8BITMIME
			cur = Delivered{From: strings.Trim(path, "<>"), OverTLS: overTLS}
			reply("250 2.1.0 ok")
		case "RCPT":
			if s.RcptReply != "" {
				reply(s.RcptReply)
				continue
			}
			path, _, _ := strings.Cut(arg[min(len(arg), len("TO:")):], " ")
			cur.To = append(cur.To, strings.Trim(path, "<>"))
			reply("250 2.1.5 ok")
		case "DATA":
			if len(cur.To) == 0 {
				reply("554 5.5.1 no valid recipients")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			cur.Data = data.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			cur = Delivered{}
			reply("250 2.0.0 queued")
		case "RSET":
			cur = Delivered{}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

// Delivered returns the accepted messages.
func (s *SMTPD) Delivered() []Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivered(nil), s.msgs...)
}

// Auth returns the decoded AUTH PLAIN responses received.
func (s *SMTPD) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// TestCert returns a server TLS config for 127.0.0.1 and a client pool
// trusting it.
func TestCert(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtpd.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
