package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/event"
	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// Incoming is one request as the web layer copied it out of its buffers.
// The pipeline takes ownership of every slice.
type Incoming struct {
	Method      string
	Path        string
	Query       string
	Headers     []schema.Header
	RemoteIP    string
	ContentType string
	// Body, BodySize and BodyTruncated describe a body already read. When
	// ReadBody is set they are ignored and filled from it.
	Body          []byte
	BodySize      int64
	BodyTruncated bool

	// Admit, when set, is asked once the bin is known to exist, before the
	// body is read: the web layer's per-bin limits. It answers the sender
	// itself when it refuses; its error is returned by Capture unchanged,
	// and nothing is recorded.
	Admit func(bin *schema.Bin) error
	// ReadBody, when set, reads the body after Admit: a delivery to an
	// unknown bin is never buffered. An error wrapping ErrAborted (the
	// sender stopped mid-body) records what arrived, marked aborted, and
	// Capture returns ErrAborted: nobody is answered. Any other error stops
	// the capture: nothing is recorded and Capture returns the error.
	ReadBody func() (body []byte, size int64, truncated bool, err error)
	// PublicURL returns the full URL the sender used. It is asked only
	// when the bin's signature scheme signs the URL (Twilio).
	PublicURL func() string
}

// Response is what capture answers.
type Response struct {
	// RequestID is the recorded request's id (empty when not recorded).
	RequestID string
	Status    int
	Headers   []schema.Header
	Body      []byte
	Delay     time.Duration
}

// Capture records one request to binID and returns the answer to send. The
// whole walk is here, in order: bin lookup, admission, body, id and receive
// time, signature verdict, forwarding (loop check, proxy or async), the
// bin's answer, latency, record.
//
// A 2xx is returned only once the record is durable in the capture log.
//
// Errors: ErrUnknownBin (the caller answers 404), ErrOverloaded (the
// returned Response is the 503 to send; nothing was answered), Admit's and
// ReadBody's errors unchanged, else a failed bin lookup (the store is down
// and the bin is not cached). It never waits for storage.
func (p *Pipeline) Capture(ctx context.Context, binID string, in *Incoming) (Response, error) {
	start := p.opts.Now()
	t, err := p.bin(ctx, binID)
	if err != nil {
		return Response{}, err
	}
	bin := t.Bin
	if in.Admit != nil {
		if err := in.Admit(bin); err != nil {
			return Response{}, err
		}
	}
	aborted := false
	if in.ReadBody != nil {
		in.Body, in.BodySize, in.BodyTruncated, err = in.ReadBody()
		if errors.Is(err, ErrAborted) {
			aborted = true
		} else if err != nil {
			return Response{}, err
		}
	}

	id, at := p.newID()
	r := &schema.Request{
		ID:            id,
		BinID:         bin.ID,
		ReceivedAt:    at,
		Method:        in.Method,
		Path:          in.Path,
		Query:         in.Query,
		Headers:       in.Headers,
		RemoteIP:      in.RemoteIP,
		ContentType:   in.ContentType,
		Body:          in.Body,
		BodySize:      in.BodySize,
		BodyTruncated: in.BodyTruncated,
	}
	if r.Path == "" {
		r.Path = "/"
	}
	// What the delivery says about itself: pure, bounded, never fails
	// (ingest/event). Retry chains (duplicate_of, counted attempts) are
	// resolved later by the store writer, off this path.
	setEvent(r, bin, in)
	if aborted {
		t.redact.apply(r) // what arrived is stored redacted too
		return Response{}, p.recordAborted(ctx, r, p.opts.Now().Sub(start).Microseconds())
	}
	r.Signature, r.DeliveryLagMS = p.verdict(t, in, at)
	// Enforcement and redaction (redact.go), after the verdict on the raw
	// request and before the record exists anywhere: sent is the request
	// as it arrived, for the forward and the response rules.
	cors := bin.Settings.Response != nil && bin.Settings.Response.CORS
	pre := cors && isPreflight(r)
	refusal, refused := t.enforce.refuse(r, pre)
	sent := t.redact.apply(r)

	// Forwarding: a truncated body is not relayed (the target would get a
	// body that differs from what the sender sent); a capture that went
	// through MaxHops relays already is recorded with an error instead.
	fc := bin.Settings.Forward
	if fc == nil || fc.URL == "" || p.opts.Forwarder == nil || in.BodyTruncated || refused {
		fc = nil
	} else if loop := forwardLoop(fc, in); loop != nil {
		r.Forward, fc = loop, nil
	} else if skip := t.skipForward(sent); skip != nil {
		r.Forward, fc = skip, nil // forwarding.go
	}
	var resp Response
	switch {
	case refused:
		resp = refusal
	case pre:
		resp, fc = preflight(r), nil // the browser's question, not a delivery
	case fc != nil && fc.Mode == forward.ModeProxy:
		resp = p.proxy(ctx, *fc, r, sent)
	default:
		resp = respond(bin, sent) // respond.go
	}
	if in.BodyTruncated {
		resp = jsonError(413, "body larger than the limit; recorded truncated", r.ID)
	}
	if cors {
		resp = withCORS(resp)
	}
	r.ResponseStatus = resp.Status
	r.LatencyUS = max(p.opts.Now().Sub(start).Microseconds(), 0)

	if fc != nil && fc.Mode != forward.ModeProxy {
		err = p.forwardAsync(ctx, *fc, r, sent)
	} else {
		err = p.record(ctx, r)
	}
	if err != nil {
		msg := "capture log unavailable (disk full or unwritable); retry later"
		if errors.Is(err, caplog.ErrFull) {
			msg = "capture log full: the store is behind; retry later"
		}
		return jsonError(503, msg, uuid.Nil), err
	}
	resp.RequestID = r.ID.String()
	return resp, nil
}

// verdict checks the bin's signature scheme on the request.
func (p *Pipeline) verdict(t *Target, in *Incoming, at time.Time) (schema.Signature, *int64) {
	switch {
	case t.verifier != nil:
		url := ""
		if t.verifier.NeedsURL() && in.PublicURL != nil {
			url = in.PublicURL()
		}
		res := t.verifier.Verify(signature.Input{Headers: in.Headers, Body: in.Body, URL: url, Now: at})
		// The lag is kept for invalid verdicts too: a stale timestamp is
		// exactly what a user debugging retries wants to see.
		var lagMS *int64
		if !res.SignedAt.IsZero() {
			lag := at.Sub(res.SignedAt).Milliseconds()
			lagMS = &lag
		}
		return res.Signature, lagMS
	case t.sigErr != nil:
		return schema.Signature{Scheme: t.Bin.Settings.Signature.Scheme, Status: schema.SigUnchecked, Reason: "configuration error: " + t.sigErr.Error()}, nil
	default:
		return schema.Signature{Status: schema.SigUnchecked}, nil
	}
}

// setEvent fills r's event type, delivery id and stated attempt.
func setEvent(r *schema.Request, bin *schema.Bin, in *Incoming) {
	scheme := ""
	if sc := bin.Settings.Signature; sc != nil {
		scheme = sc.Scheme
	}
	info := event.Extract(event.Request{Method: in.Method, Headers: in.Headers, Query: in.Query, Body: in.Body, Scheme: scheme})
	r.EventType, r.DeliveryID, r.Attempt = info.Type, info.DeliveryID, info.Attempt
}

// forwardLoop reports a capture that went through MaxHops relays already.
func forwardLoop(fc *schema.ForwardConfig, in *Incoming) *schema.Forward {
	if n := forward.Hops(in.Headers); n >= forward.MaxHops {
		mode := fc.Mode
		if mode == "" {
			mode = forward.ModeAsync
		}
		return &schema.Forward{URL: fc.URL, Mode: mode,
			Error: fmt.Sprintf("forward loop: %s is %d; not forwarded", forward.HopsHeader, n)}
	}
	return nil
}

// proxy relays sent (r as it arrived, before redaction) and answers with
// the target's answer, recorded in r; when the target cannot be reached the
// sender gets 502 (504 on a timeout).
func (p *Pipeline) proxy(ctx context.Context, fc schema.ForwardConfig, r, sent *schema.Request) Response {
	res := p.opts.Forwarder.Do(ctx, fc, sent, forward.ModeProxy, true)
	r.Forward = &res.Forward
	if res.Status == 0 {
		status := 502
		if len(res.Forward.Error) >= 7 && res.Forward.Error[:7] == "timeout" {
			status = 504
		}
		return jsonError(status, "forward target failed: "+res.Forward.Error, r.ID)
	}
	return Response{Status: res.Status, Headers: res.Headers, Body: res.Body}
}

// defaultResponse is {"ok":true,"request_id":"..."}, built without reflection
// because it is on every request's path.
func defaultResponse(id uuid.UUID) Response {
	b := make([]byte, 0, 64)
	b = append(b, `{"ok":true,"request_id":"`...)
	b = append(b, id.String()...)
	b = append(b, `"}`...)
	return Response{Status: 200, Headers: jsonHeaders, Body: b}
}

var jsonHeaders = []schema.Header{{Name: "Content-Type", Value: "application/json"}}

func jsonError(status int, msg string, id uuid.UUID) Response {
	b := make([]byte, 0, 96)
	b = append(b, `{"error":`...)
	b = strconv.AppendQuote(b, msg)
	if id != uuid.Nil {
		b = append(b, `,"request_id":"`...)
		b = append(b, id.String()...)
		b = append(b, '"')
	}
	b = append(b, '}')
	return Response{Status: status, Headers: jsonHeaders, Body: b}
}
