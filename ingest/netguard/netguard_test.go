package netguard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"192.168.1.1", false},
		{"100.64.0.1", false}, // CGNAT
		{"100.127.255.1", false},
		{"100.128.0.1", true},
		{"169.254.169.254", false}, // metadata
		{"169.254.1.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"::1", false},
		{"::", false},
		{"::ffff:127.0.0.1", false}, // IPv4-mapped loopback
		{"::ffff:10.0.0.1", false},
		{"::ffff:8.8.8.8", true},
		{"fc00::1", false},
		{"fd00:ec2::254", false}, // AWS metadata over IPv6
		{"fe80::1", false},
		{"ff02::1", false},
		{"64:ff9b::7f00:1", false},                      // NAT64 of 127.0.0.1
		{"64:ff9b::808:808", true},                      // NAT64 of 8.8.8.8
		{"::127.0.0.1", false},                          // IPv4-compatible loopback
		{"::7f00:1", false},                             // the same, hex spelling
		{"::10.0.0.1", false},                           // IPv4-compatible private
		{"::8.8.8.8", false},                            // IPv4-compatible is deprecated: refused whatever it embeds
		{"::ffff:0:7f00:1", false},                      // IPv4-translated loopback
		{"2002:7f00:1::1", false},                       // 6to4 of 127.0.0.1
		{"2002:a00:1::1", false},                        // 6to4 of 10.0.0.1
		{"2002:808:808::1", true},                       // 6to4 of 8.8.8.8
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false}, // Teredo (embeds 127.0.0.1, obfuscated)
		{"64:ff9b::a9fe:a9fe", false},                   // NAT64 of the metadata address
		{"64:ff9b:1::a00:1", false},                     // local-use NAT64
		{"::ffff:169.254.169.254", false},
		{"2002:7f00:1::", false}, // 6to4 of 127.0.0.1
		{"2002:808:808::", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := Allowed(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	g := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}})
	tests := []struct {
		network, addr string
		ok            bool
	}{
		{"tcp", "8.8.8.8:443", true},
		{"tcp4", "127.0.0.1:80", false},
		{"tcp6", "[::1]:80", false},
		{"tcp", "10.9.1.1:80", true}, // explicitly allowed
		{"tcp", "10.8.1.1:80", false},
		{"unix", "/tmp/sock", false},
		{"tcp", "not-an-address", false},
	}
	for _, tt := range tests {
		err := g.Check(tt.network, tt.addr)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s, %s) = %v, want ok=%v", tt.network, tt.addr, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("Check(%s, %s) error %v does not wrap ErrBlocked", tt.network, tt.addr, err)
		}
	}
	if err := New(Options{AllowPrivate: true}).Check("tcp", "127.0.0.1:80"); err != nil {
		t.Errorf("AllowPrivate guard refused loopback: %v", err)
	}
}

// TestClientRefusesInternalTargets uses a real loopback server: the guard
// must refuse it however the URL spells the address, and follow redirects
// only to allowed addresses.
func TestClientRefusesInternalTargets(t *testing.T) {
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		io.WriteString(w, "secret")
	}))
	defer target.Close()
	port := target.URL[strings.LastIndexByte(target.URL, ':')+1:]
	// The redirector listens on 127.0.0.1 too; allowing exactly that
	// address lets us test that the redirect's next hop is checked.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer redirector.Close()

	guarded := New(Options{}).Client()
	allowOne := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}).Client()

	tests := []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"loopback literal", guarded, target.URL},
		{"localhost name resolves to loopback", guarded, "http://localhost:" + port + "/"},
		{"unspecified 0.0.0.0", guarded, "http://0.0.0.0:" + port + "/"},
		{"ipv6 loopback", guarded, "http://[::1]:" + port + "/"},
		{"ipv4-mapped ipv6", guarded, "http://[::ffff:127.0.0.1]:" + port + "/"},
		{"ipv4-compatible ipv6", guarded, "http://[::127.0.0.1]:" + port + "/"},
		{"6to4 of loopback", guarded, "http://[2002:7f00:1::1]:" + port + "/"},
		{"private 10/8", guarded, "http://10.255.255.1:" + port + "/"},
		{"metadata", guarded, "http://169.254.169.254/latest/meta-data/"},
		{"redirect to another loopback address", allowOne, redirector.URL + "/?to=http://127.0.0.2:" + port + "/"},
		{"redirect to ipv6 loopback", allowOne, redirector.URL + "/?to=http://[::1]:" + port + "/"},
		{"redirect to metadata", allowOne, redirector.URL + "/?to=http://169.254.169.254/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded with %d, want a refusal", tt.url, resp.StatusCode)
			}
			if !IsBlocked(err) {
				t.Fatalf("GET %s: error %v is not a guard refusal", tt.url, err)
			}
		})
	}
	if hits != 0 {
		t.Fatalf("target was reached %d times", hits)
	}

	// The positive controls: the allow-listed address, a redirect to it, and
	// the AllowPrivate switch reach the target.
	for _, c := range []struct {
		client *http.Client
		url    string
	}{
		{allowOne, target.URL},
		{allowOne, redirector.URL + "/?to=" + target.URL},
		{New(Options{AllowPrivate: true}).Client(), "http://localhost:" + port + "/"},
	} {
		resp, err := c.client.Get(c.url)
		if err != nil {
			t.Fatalf("GET %s: %v", c.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "secret" {
			t.Fatalf("GET %s = %q", c.url, b)
		}
	}
}

func TestRedirectLimit(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/again", http.StatusFound)
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, MaxRedirects: 3}).Client()
	_, err := c.Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "stopped after 3 redirects") {
		t.Fatalf("err = %v, want a redirect limit", err)
	}
	noFollow := New(Options{AllowPrivate: true, MaxRedirects: -1}).Client()
	resp, err := noFollow.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want the 302 itself", resp.StatusCode)
	}
}
