package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/hookscope/hookscope/web"
)

// quotaApp is an app whose clock the test moves: quotas refill from it, so
// "recovery after the window" needs no sleeping.
func quotaApp(t *testing.T, env map[string]string) (*testApp, func(time.Duration)) {
	t.Helper()
	if _, ok := env["HOOKSCOPE_QUOTAS"]; !ok {
		env["HOOKSCOPE_QUOTAS"] = "open"
	}
	a := startApp(t, t.TempDir(), env)
	now := time.Now()
	a.InjectNow(now)
	return a, func(d time.Duration) { now = now.Add(d); a.InjectNow(now) }
}

// expect429 checks a refusal: 429, a Retry-After within [lo, hi] seconds,
// and the limit named in the body.
func expect429(t *testing.T, what string, status int, h http.Header, body []byte, limit string, lo, hi int) {
	t.Helper()
	if status != 429 {
		t.Fatalf("%s: %d %s, want 429", what, status, body)
	}
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || ra < lo || ra > hi {
		t.Errorf("%s: Retry-After %q, want %d..%d", what, h.Get("Retry-After"), lo, hi)
	}
	var e struct{ Error, Limit string }
	if json.Unmarshal(body, &e) != nil || e.Limit != limit || e.Error == "" {
		t.Errorf("%s: body %s, want limit %q and a message", what, body, limit)
	}
}

func TestQuotaRates(t *testing.T) {
	tests := []struct {
		name, env, val string
		limit          string
		do             func(t *testing.T, a *testApp, bin binResp) (int, http.Header, []byte)
		allowed        int
		window         time.Duration // after which one more is allowed
		lo, hi         int           // Retry-After bounds
	}{
		{name: "bin creation", env: "HOOKSCOPE_QUOTA_CREATE_RATE", val: "3/m", limit: "rate_create", allowed: 3, window: 20 * time.Second, lo: 19, hi: 21,
			do: func(t *testing.T, a *testApp, _ binResp) (int, http.Header, []byte) {
				return call(t, "POST", a.base+"/api/v1/bins", nil, "{}")
			}},
		{name: "bins per day", env: "HOOKSCOPE_QUOTA_BINS_PER_DAY", val: "2", limit: "bins_per_day", allowed: 2, window: 12 * time.Hour, lo: 43199, hi: 43201,
			do: func(t *testing.T, a *testApp, _ binResp) (int, http.Header, []byte) {
				return call(t, "POST", a.base+"/api/v1/bins", nil, "{}")
			}},
		{name: "writes", env: "HOOKSCOPE_QUOTA_WRITE_RATE", val: "2/s", limit: "rate_write", allowed: 2, window: 500 * time.Millisecond, lo: 1, hi: 1,
			do: func(t *testing.T, a *testApp, bin binResp) (int, http.Header, []byte) {
				return call(t, "PATCH", a.base+"/api/v1/bins/"+bin.ID, ownerOf(bin), `{"name":"x"}`)
			}},
		{name: "reads", env: "HOOKSCOPE_QUOTA_READ_RATE", val: "5/s", limit: "rate_read", allowed: 5, window: 200 * time.Millisecond, lo: 1, hi: 1,
			do: func(t *testing.T, a *testApp, bin binResp) (int, http.Header, []byte) {
				return call(t, "GET", a.base+"/api/v1/bins/"+bin.ID+"/requests", nil, "")
			}},
		{name: "share links per bin", env: "HOOKSCOPE_QUOTA_SHARES_PER_BIN", val: "2", limit: "shares_per_bin", allowed: 2, window: 12 * time.Hour, lo: 43199, hi: 43201,
			do: func(t *testing.T, a *testApp, bin binResp) (int, http.Header, []byte) {
				return call(t, "POST", a.base+"/api/v1/bins/"+bin.ID+"/share", ownerOf(bin), "{}")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, advance := quotaApp(t, map[string]string{tt.env: tt.val})
			bin := a.newBin(t, nil) // with every other limit open, creating the bin is free
			if strings.Contains(tt.env, "CREATE") || strings.Contains(tt.env, "BINS") {
				advance(24 * time.Hour) // refill what creating the bin took
			}
			for i := 0; i < tt.allowed; i++ {
				if s, _, b := tt.do(t, a, bin); s >= 300 {
					t.Fatalf("request %d within the quota: %d %s", i, s, b)
				}
			}
			s, h, b := tt.do(t, a, bin)
			expect429(t, "over the quota", s, h, b, tt.limit, tt.lo, tt.hi)
			// Still refused just before the window ends, allowed after it.
			advance(tt.window - tt.window/10)
			if s, _, _ := tt.do(t, a, bin); s != 429 {
				t.Fatalf("before the window ended: %d, want 429", s)
			}
			advance(tt.window / 10)
			if s, _, b := tt.do(t, a, bin); s >= 300 {
				t.Fatalf("after the window: %d %s", s, b)
			}
			if v := metricValue(t, a.base, fmt.Sprintf(`hookscope_quota_refused_total{limit=%q}`, tt.limit)); v != 2 {
				t.Errorf("refusal metric %v, want 2", v)
			}
		})
	}
}

// TestQuotaKeying: clients are keyed by address, X-Forwarded-For only from
// a trusted proxy; admin tokens are exempt.
func TestQuotaKeying(t *testing.T) {
	t.Run("trusted proxy", func(t *testing.T) {
		a, _ := quotaApp(t, map[string]string{"HOOKSCOPE_QUOTA_CREATE_RATE": "1/h", "HOOKSCOPE_TRUSTED_PROXIES": "127.0.0.1/32"})
		from := func(ip string) int {
			s, _, _ := call(t, "POST", a.base+"/api/v1/bins", map[string]string{"X-Forwarded-For": ip}, "{}")
			return s
		}
		if from("203.0.113.1") != 201 || from("203.0.113.1") != 429 || from("203.0.113.2") != 201 {
			t.Fatal("behind a trusted proxy, each forwarded address has its own budget")
		}
	})
	t.Run("untrusted peer", func(t *testing.T) {
		a, _ := quotaApp(t, map[string]string{"HOOKSCOPE_QUOTA_CREATE_RATE": "1/h"})
		s1, _, _ := call(t, "POST", a.base+"/api/v1/bins", map[string]string{"X-Forwarded-For": "203.0.113.1"}, "{}")
		s2, _, _ := call(t, "POST", a.base+"/api/v1/bins", map[string]string{"X-Forwarded-For": "203.0.113.2"}, "{}")
		if s1 != 201 || s2 != 429 {
			t.Fatalf("X-Forwarded-For from an untrusted peer changed the key: %d %d", s1, s2)
		}
	})
	t.Run("creation keyed by address even with a bin token", func(t *testing.T) {
		a, _ := quotaApp(t, map[string]string{"HOOKSCOPE_QUOTA_CREATE_RATE": "2/h"})
		var b struct{ Token string }
		doJSON(t, "POST", a.base+"/api/v1/bins", nil, 201, &b)
		if b.Token == "" {
			t.Skip("bins carry no owner token on this branch")
		}
		if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", bearerHdr(b.Token), "{}"); s != 201 {
			t.Fatalf("second create: %d", s)
		}
		if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", bearerHdr(b.Token), "{}"); s != 429 {
			t.Fatalf("a bin's owner token opened a fresh creation budget: %d", s)
		}
	})
	t.Run("admin exempt", func(t *testing.T) {
		dir := t.TempDir()
		a := startApp(t, dir, map[string]string{"HOOKSCOPE_QUOTAS": "public", "HOOKSCOPE_QUOTA_CREATE_RATE": "1/h", "HOOKSCOPE_QUOTA_READ_RATE": "1/h"})
		admin := bearerHdr(mint(t, serverKey(t, dir), web.ScopeAdmin, "", time.Hour))
		for i := 0; i < 5; i++ {
			if s, _, b := call(t, "POST", a.base+"/api/v1/bins", admin, "{}"); s != 201 {
				t.Fatalf("admin create %d: %d %s", i, s, b)
			}
			if s, _, b := call(t, "GET", a.base+"/api/v1/openapi.yaml", admin, ""); s != 200 {
				t.Fatalf("admin read %d: %d %s", i, s, b)
			}
		}
		if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", nil, "{}"); s != 201 {
			t.Fatal("the anonymous budget was spent by the admin")
		}
		if s, _, _ := call(t, "POST", a.base+"/api/v1/bins", nil, "{}"); s != 429 {
			t.Fatal("anonymous clients are limited")
		}
		if s, _, _ := call(t, "GET", a.base+"/api/v1/openapi.yaml", nil, ""); s != 200 {
			t.Fatal("the anonymous read budget was spent by the admin")
		}
		if s, _, _ := call(t, "GET", a.base+"/api/v1/openapi.yaml", nil, ""); s != 429 {
			t.Fatal("anonymous reads are limited")
		}
	})
}

// TestQuotaLiveFeeds: open live feeds per address and per bin; a slot is
// free again once a feed closes.
func TestQuotaLiveFeeds(t *testing.T) {
	for _, tc := range []struct{ env, limit string }{{"HOOKSCOPE_QUOTA_LIVE_PER_IP", "live_per_ip"}, {"HOOKSCOPE_QUOTA_LIVE_PER_BIN", "live_per_bin"}} {
		t.Run(tc.limit, func(t *testing.T) {
			a, _ := quotaApp(t, map[string]string{tc.env: "2"})
			bin := a.newBin(t, nil).ID
			c1 := dialLive(t, a, bin, "")
			dialLive(t, a, bin, "")
			u := "ws://" + a.Addr() + "/api/v1/bins/" + bin + "/live"
			_, resp, err := websocket.DefaultDialer.Dial(u, nil)
			if err == nil || resp == nil {
				t.Fatalf("third feed opened (%v)", err)
			}
			b := make([]byte, 512)
			n, _ := resp.Body.Read(b)
			expect429(t, "third feed", resp.StatusCode, resp.Header, b[:n], tc.limit, 1, 10)
			// A browser cannot read a failed handshake: a plain GET tells why.
			s, h, body := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/live", nil, "")
			expect429(t, "plain GET while full", s, h, body, tc.limit, 1, 10)
			c1.Close()
			deadline := time.Now().Add(10 * time.Second)
			for {
				c, _, err := websocket.DefaultDialer.Dial(u, nil)
				if err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no slot after a feed closed: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// With a slot free (the probe's feed closed), the plain GET is
			// the route's own 426.
			for {
				s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin+"/live", nil, "")
				if s == 426 {
					break
				}
				if s != 429 || time.Now().After(deadline) {
					t.Fatalf("plain GET with a slot free: %d, want 426", s)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// ownerOf is the Authorization header of a bin's owner token.
func ownerOf(b binResp) map[string]string {
	return map[string]string{"Authorization": "Bearer " + b.Token}
}

// TestQuotaBytesPerBin: past the stored-bytes quota the oldest requests are
// dropped (capture is never refused for it), and the drops are counted.
func TestQuotaBytesPerBin(t *testing.T) {
	a := startApp(t, t.TempDir(), map[string]string{"HOOKSCOPE_QUOTA_BYTES_PER_BIN": "10000", "HOOKSCOPE_PURGE_INTERVAL": "20ms"})
	bin := a.newBin(t, nil).ID
	var ids []string
	for i := 0; i < 10; i++ {
		s, h, b := call(t, "POST", a.base+"/h/"+bin, nil, strings.Repeat("x", 3000))
		if s != 200 {
			t.Fatalf("capture %d refused: %d %s", i, s, b)
		}
		ids = append(ids, h.Get("X-Hookscope-Request-Id"))
	}
	// Each request stores ~3.1 KB: three fit in 10000 bytes. Batches land
	// while the sweep runs, so wait for the settled state.
	want := fmt.Sprint(ids[9], ids[8], ids[7])
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := a.list(t, bin, "limit=100")
		var got []any
		for _, r := range l.Requests {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got...) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kept %v, want the newest three %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for metricOr0(t, a.base, `hookscope_quota_refused_total{limit="bytes_per_bin"}`) != 7 {
		if time.Now().After(deadline) {
			t.Fatalf("drops counted: %v, want 7", metricOr0(t, a.base, `hookscope_quota_refused_total{limit="bytes_per_bin"}`))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricOr0 is metricValue for a series that may not exist yet.
func metricOr0(t *testing.T, base, series string) float64 {
	t.Helper()
	_, _, m := call(t, "GET", base+"/metrics", nil, "")
	for _, line := range strings.Split(string(m), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
