package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/web/wire"
)

// LiveRow is one (rate, subscribers) cell of the live-feed table.
type LiveRow struct {
	Rate        int     `json:"rate_rps"`
	Subscribers int     `json:"subscribers"`
	AchievedRPS Summary `json:"achieved_rps"`
	P50US       Summary `json:"p50_us"`
	P99US       Summary `json:"p99_us"`
	// Delivered is messages received / (requests answered 2xx × subscribers),
	// over all runs; below 1 means the hub dropped or cut off subscribers.
	Delivered float64 `json:"delivered"`
	Lagged    int64   `json:"lagged_messages"`
}

// sentMarker is how a live message carries its send time: the request body
// starts with {"sent_ns":<unix ns>, and the summary's body_preview keeps the
// first 256 bytes of the body, JSON-escaped.
var sentMarker = []byte(`sent_ns\":`)

func liveBody(sentNS int64) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, `{"sent_ns":`...)
	b = strconv.AppendInt(b, sentNS, 10)
	b = append(b, `,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","amount":2000,"currency":"usd","pad":"`...)
	for len(b) < 1021 {
		b = append(b, 'x')
	}
	return append(b, `"}}}`...)
}

// runLive measures the time from sending a POST to receiving its live-feed
// message, for each rate and subscriber count.
func (h *harness) runLive() ([]LiveRow, error) {
	hs, err := h.startHookscope("hookscope-live", h.tmpPath("live"))
	if err != nil {
		return nil, err
	}
	defer hs.stop()
	var rows []LiveRow
	for _, rate := range h.liveRates {
		for _, nsub := range h.liveSubs {
			row := LiveRow{Rate: rate, Subscribers: nsub}
			var ach, p50, p99 []float64
			var recv, want int64
			for run := 0; run < h.runs; run++ {
				// A fresh bin per run: subscribers see only this run's requests.
				bin, err := createBin(hs.addr)
				if err != nil {
					return nil, err
				}
				r, err := h.liveRun(hs.addr, bin, rate, nsub, h.liveDur)
				if err != nil {
					return nil, fmt.Errorf("live rate=%d subs=%d: %w", rate, nsub, err)
				}
				ach = append(ach, r.achieved)
				p50 = append(p50, us(percentile(r.lat, 50)))
				p99 = append(p99, us(percentile(r.lat, 99)))
				recv += int64(len(r.lat))
				want += r.ok * int64(nsub)
				row.Lagged += r.lagged
				h.progress("live run %d/%d %5d req/s %2d subs: p50 %6.0fµs p99 %7.0fµs delivered %d/%d",
					run+1, h.runs, rate, nsub, p50[len(p50)-1], p99[len(p99)-1], len(r.lat), r.ok*int64(nsub))
			}
			row.AchievedRPS, row.P50US, row.P99US = summarize(ach), summarize(p50), summarize(p99)
			if want > 0 {
				row.Delivered = float64(recv) / float64(want)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

type liveResult struct {
	lat      []time.Duration // sorted, every message every subscriber got
	ok       int64           // requests answered 2xx
	achieved float64
	lagged   int64
}

func (h *harness) liveRun(addr, bin string, rate, nsub int, d time.Duration) (liveResult, error) {
	var res liveResult
	// Subscribers.
	var (
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, rate*int(d.Seconds())*nsub)
		lagged atomic.Int64
		wg     sync.WaitGroup
	)
	conns := make([]*websocket.Conn, 0, nsub)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < nsub; i++ {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/bins/"+bin+"/live", nil)
		if err != nil {
			return res, fmt.Errorf("subscribe: %w", err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			defer func() { mu.Lock(); lat = append(lat, local...); mu.Unlock() }()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				i := bytes.Index(msg, sentMarker)
				if i < 0 {
					if bytes.Contains(msg, []byte(`"`+wire.LiveLagged+`"`)) {
						lagged.Add(1)
					}
					continue
				}
				rest := msg[i+len(sentMarker):]
				j := bytes.IndexByte(rest, ',')
				if j < 0 {
					continue
				}
				sent, err := strconv.ParseInt(string(rest[:j]), 10, 64)
				if err != nil {
					continue
				}
				local = append(local, time.Duration(now-sent))
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // every subscription registered with the hub

	// Open-loop sender: request i is due at start + i/rate; a pool of
	// workers sends it, stamping the time it actually leaves.
	client := &fasthttp.HostClient{Addr: addr, MaxConns: 256}
	url := "http://" + addr + "/h/" + bin + "/live-bench"
	total := rate * int(d.Seconds())
	jobs := make(chan struct{}, 1024)
	var ok atomic.Int64
	var sw sync.WaitGroup
	for range 64 {
		sw.Add(1)
		go func() {
			defer sw.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for range jobs {
				req.Reset()
				req.SetRequestURI(url)
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
				req.SetBody(liveBody(time.Now().UnixNano()))
				if err := client.DoTimeout(req, resp, 5*time.Second); err == nil && resp.StatusCode() < 300 {
					ok.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		jobs <- struct{}{}
	}
	close(jobs)
	sw.Wait()
	res.achieved = float64(total) / time.Since(start).Seconds()
	res.ok = ok.Load()

	// Let the last messages arrive, then close the subscribers.
	time.Sleep(500 * time.Millisecond)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	slices.Sort(lat)
	res.lat = lat
	res.lagged = lagged.Load()
	if len(lat) == 0 {
		return res, fmt.Errorf("no live message received (%s)", strings.TrimSpace(fmt.Sprint(res.ok, " requests answered 2xx")))
	}
	return res, nil
}
