package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/schema"
)

// errRefused: admit refused the capture and answered the sender.
var errRefused = errors.New("capture refused")

// maxDrainBytes bounds how much of an oversize body we read (and discard)
// to count it; past that the connection is closed.
const maxDrainBytes = 1 << 30

// capture handles ANY /h/{bin} and /h/{bin}/{path...}. It copies everything
// it keeps out of fasthttp's buffers, which are reused after return.
func (s *Server) capture(ctx *fasthttp.RequestCtx) {
	defer sandbox(ctx)
	raw := ctx.URI().PathOriginal() // as sent, percent-encoding kept
	rest := raw[len("/h/"):]
	binID, path := rest, []byte("/")
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		binID, path = rest[:i], rest[i:]
	}
	if !schema.ValidBinID(binID) {
		writeJSONError(ctx, 404, "bin not found")
		return
	}
	// fasthttp recycles *RequestCtx when the handler returns, but a
	// context.Context handed to database/sql or an HTTP client may be read
	// later by their own goroutines; so capture runs on a context of its own
	// (found by the race detector: a store lookup's cancel watcher read the
	// recycled RequestCtx).
	ip := s.remoteIP(ctx)
	resp, err := s.deps.Pipeline.Capture(context.Background(), string(binID), &ingest.Incoming{
		Method:      string(ctx.Method()),
		Path:        string(path),
		Query:       string(ctx.URI().QueryString()),
		Headers:     parseRawHeaders(ctx.Request.Header.RawHeaders()),
		RemoteIP:    ip,
		ContentType: string(ctx.Request.Header.ContentType()),
		Admit: func(bin *schema.Bin) error {
			if !s.admit(ctx, bin.ID, ip) {
				return errRefused
			}
			return nil
		},
		ReadBody: func() ([]byte, int64, bool, error) {
			body, size, truncated, aborted := s.readBody(ctx)
			if aborted {
				return body, size, truncated, ingest.ErrAborted
			}
			return body, size, truncated, nil
		},
		PublicURL: func() string { return s.publicURL(ctx, raw) },
	})
	switch {
	case errors.Is(err, errRefused):
		return // admit answered
	case errors.Is(err, ingest.ErrAborted):
		// Recorded, marked (unless the log failed: then logged); the
		// connection is gone, nobody to answer.
		if err != ingest.ErrAborted {
			s.log.Error("capture: aborted upload", "err", err)
		}
		ctx.SetConnectionClose()
		return
	case errors.Is(err, ingest.ErrUnknownBin):
		s.drainBody(ctx)
		writeJSONError(ctx, 404, "bin not found")
		return
	case err != nil && !errors.Is(err, ingest.ErrOverloaded):
		s.log.Error("capture", "err", err)
		if resp.Status == 0 { // the bin lookup failed: nothing was read or recorded
			writeJSONError(ctx, 503, "storage unavailable; retry later")
			return
		}
	}
	if resp.Delay > 0 {
		time.Sleep(resp.Delay)
	}
	ctx.SetStatusCode(resp.Status)
	for _, h := range resp.Headers {
		ctx.Response.Header.Add(h.Name, h.Value)
	}
	if resp.RequestID != "" {
		ctx.Response.Header.Set("X-Hookscope-Request-Id", resp.RequestID)
	}
	if errors.Is(err, ingest.ErrOverloaded) {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	ctx.SetBody(resp.Body)
}

// captureCSP makes whatever a capture answers (a bin's custom response, a
// proxied target's answer) a document with an opaque origin: no script,
// no storage, no cookies of the origin it was served from.
const captureCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

// sandbox sets the capture answer's protective headers last, replacing any
// a custom response or a proxied target set.
func sandbox(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Del("Content-Security-Policy")
	h.Del("Content-Security-Policy-Report-Only")
	h.Del("X-Content-Type-Options")
	h.Set("Content-Security-Policy", captureCSP)
	h.Set("X-Content-Type-Options", "nosniff")
}

// readBody copies at most MaxBodyBytes of the body and counts the rest.
// aborted means the sender stopped before the end of the body (closed the
// connection or hit the read timeout). fasthttp reads the first 8 KiB of a
// body before calling any handler, so only uploads abandoned after that
// reach us as aborted; earlier ones are dropped by fasthttp unrecorded.
func (s *Server) readBody(ctx *fasthttp.RequestCtx) (body []byte, size int64, truncated, aborted bool) {
	limit := s.opts.MaxBodyBytes
	stream := ctx.RequestBodyStream()
	if stream == nil {
		b := ctx.Request.Body()
		if int64(len(b)) > limit {
			return append([]byte(nil), b[:limit]...), int64(len(b)), true, false
		}
		return append([]byte(nil), b...), int64(len(b)), false, false
	}
	cl := ctx.Request.Header.ContentLength()
	capHint := int64(4096)
	if cl > 0 {
		capHint = min(int64(cl), limit)
	}
	buf := bytes.NewBuffer(make([]byte, 0, capHint))
	n, err := io.Copy(buf, io.LimitReader(stream, limit))
	if err != nil {
		ctx.SetConnectionClose()
		return buf.Bytes(), n, true, true
	}
	extra, err := io.Copy(io.Discard, io.LimitReader(stream, maxDrainBytes))
	if err != nil {
		ctx.SetConnectionClose()
		return buf.Bytes(), n + extra, true, true
	}
	if extra == maxDrainBytes {
		ctx.SetConnectionClose()
	}
	// fasthttp's stream reports a connection closed before Content-Length
	// as a plain EOF: a short body is an abort too.
	if cl > 0 && n+extra < int64(cl) {
		ctx.SetConnectionClose()
		return buf.Bytes(), n + extra, true, true
	}
	return buf.Bytes(), n + extra, extra > 0, false
}

// drainBody discards a body we will not record, so keep-alive stays usable.
func (s *Server) drainBody(ctx *fasthttp.RequestCtx) {
	if stream := ctx.RequestBodyStream(); stream != nil {
		if n, err := io.Copy(io.Discard, io.LimitReader(stream, s.opts.MaxBodyBytes+1)); err != nil || n > s.opts.MaxBodyBytes {
			ctx.SetConnectionClose()
		}
	}
}

// remoteIP is the peer address; X-Forwarded-For only from trusted proxies,
// taking the right-most address that is not itself a trusted proxy.
func (s *Server) remoteIP(ctx *fasthttp.RequestCtx) string {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	peer = peer.Unmap()
	if len(s.opts.TrustedProxies) == 0 || !s.trusted(peer) {
		return peer.String()
	}
	xff := string(ctx.Request.Header.Peek("X-Forwarded-For"))
	if xff == "" {
		return peer.String()
	}
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// publicURL is the URL the sender used, for URL-signing schemes (Twilio).
func (s *Server) publicURL(ctx *fasthttp.RequestCtx, rawPath []byte) string {
	base := s.opts.PublicURL
	switch {
	case s.captureHost != "" && strings.EqualFold(string(ctx.Host()), s.captureHost):
		base = s.opts.CaptureURL
	case base == "":
		// The sender's own Host: this URL is only compared with what the
		// sender signed, never shown to anyone else.
		base = "http://" + string(ctx.Host())
	}
	u := base + string(rawPath)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		u += "?" + string(q)
	}
	return u
}

// parseRawHeaders splits the header block exactly as received: original
// name case, order and duplicates. Continuation lines (obsolete folding) are
// joined to the previous value with a space. Names and values are
// substrings of one copy of raw: two allocations per request instead of
// two per header.
func parseRawHeaders(rawBytes []byte) []schema.Header {
	raw := string(rawBytes)
	out := make([]schema.Header, 0, strings.Count(raw, "\n"))
	for len(raw) > 0 {
		line := raw
		if i := strings.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].Value += " " + strings.TrimSpace(line)
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		// fasthttp has already refused malformed header blocks; this only
		// keeps a stray CR from ever reaching a name.
		if !ok || strings.IndexByte(name, '\r') >= 0 {
			continue
		}
		out = append(out, schema.Header{
			Name:  strings.TrimSpace(name),
			Value: strings.Trim(value, " \t"),
		})
	}
	return out
}
