// Package client holds hookscope's command-line clients of the public API:
// send (a signed test delivery), tail and forward (follow a bin's live
// feed), and token (mint a token with the server's key). Each is a
// function of (ctx, args, getenv, stdout, stderr) that cmd/hookscope
// dispatches to from its subcommand switch. It talks to servers through
// the API's JSON views (web/wire) and imports neither web nor cmd.
package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/forward"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// The client side of the live feed: `hookscope tail` prints each request
// of a (remote) bin as it arrives, `hookscope forward` replays each one to
// a local URL, like `stripe listen` or smee. Both follow the websocket
// /api/v1/bins/{bin}/live and resume after a disconnect with
// after=<last id>, so nothing is lost; ids already handled are skipped, so
// nothing is handled twice.

// binRef is a bin on a hookscope server, parsed from any URL a user has:
// the capture URL (/h/{bin}), the inspector URL (/bins/{bin}, maybe a share
// link with ?token=) or the API URL (/api/v1/bins/{bin}).
type binRef struct {
	base  string // scheme://host[/prefix], no trailing slash
	bin   string
	token string
}

func parseBinRef(raw string) (binRef, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return binRef{}, fmt.Errorf("%q is not a bin URL like http://localhost:8080/h/<bin>", raw)
	}
	for _, marker := range []string{"/api/v1/bins/", "/h/", "/bins/"} {
		i := strings.Index(u.Path, marker)
		if i < 0 {
			continue
		}
		id, _, _ := strings.Cut(u.Path[i+len(marker):], "/")
		if id == "" {
			break
		}
		return binRef{base: u.Scheme + "://" + u.Host + u.Path[:i], bin: id, token: u.Query().Get("token")}, nil
	}
	return binRef{}, fmt.Errorf("%q is not a bin URL: expected /h/<bin>, /bins/<bin> or /api/v1/bins/<bin>", raw)
}

func (b binRef) api(path string) string { return b.base + "/api/v1/bins/" + b.bin + path }

func (b binRef) authorize(h http.Header) {
	if b.token != "" {
		h.Set("Authorization", "Bearer "+b.token)
	}
}

// splitPositional lets the bin URL come before the flags.
func splitPositional(fs *flag.FlagSet, args []string) (string, error) {
	var pos string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if pos == "" {
		pos = fs.Arg(0)
	}
	if pos == "" {
		fs.Usage()
		return "", errors.New("a bin URL is required")
	}
	return pos, nil
}

// follower keeps one live-feed subscription alive across disconnects.
type follower struct {
	ref    binRef
	log    io.Writer // connection notices
	dialer *websocket.Dialer
	client *http.Client

	last uuid.UUID     // resume point: the newest id handled
	seen *recentIDs    // ids handled, against duplicates on resume
	wait time.Duration // current reconnect backoff
}

func newFollower(ref binRef, log io.Writer) *follower {
	return &follower{ref: ref, log: log, dialer: &websocket.Dialer{HandshakeTimeout: 10 * time.Second},
		client: &http.Client{Timeout: 30 * time.Second}, seen: newRecentIDs(10_000)}
}

// start picks the resume point: the bin's newest stored request, or (for
// an empty bin) a synthetic UUIDv7 of "now", so that a disconnect before
// the first message loses nothing either.
func (f *follower) start(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ref.api("/requests?limit=1"), nil)
	f.ref.authorize(req.Header)
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("reach %s: %w", f.ref.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("bin %s: %s", f.ref.bin, apiError(resp))
	}
	var page wire.Page
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return fmt.Errorf("read newest request: %w", err)
	}
	if len(page.Requests) > 0 {
		f.last = page.Requests[0].ID
	} else {
		f.last = v7At(time.Now().Add(-time.Second))
	}
	return nil
}

// v7At is the smallest UUIDv7 of a millisecond: every id generated later sorts after it.
func v7At(t time.Time) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[:8], uint64(t.UnixMilli())<<16|0x7000)
	id[8] = 0x80
	return id
}

func apiError(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e wire.Error
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, e.Error)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
}

// errFatal marks errors that reconnecting cannot fix.
type errFatal struct{ error }

// run follows the feed until ctx ends, calling handle for each request
// once, in order. handle returning an error stops run.
func (f *follower) run(ctx context.Context, handle func(ctx context.Context, r *wire.Request) error) error {
	for {
		err := f.session(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		var fatal errFatal
		if errors.As(err, &fatal) {
			return fatal.error
		}
		f.wait = min(max(2*f.wait, 250*time.Millisecond), 5*time.Second)
		fmt.Fprintf(f.log, "disconnected (%v); reconnecting in %v\n", err, f.wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.wait):
		}
	}
}

func (f *follower) session(ctx context.Context, handle func(ctx context.Context, r *wire.Request) error) error {
	ws := "ws" + strings.TrimPrefix(f.ref.api("/live"), "http") + "?after=" + f.last.String()
	hdr := http.Header{}
	f.ref.authorize(hdr)
	conn, resp, err := f.dialer.DialContext(ctx, ws, hdr)
	if err != nil {
		if resp != nil && (resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode == 404) {
			return errFatal{fmt.Errorf("live feed: %s", apiError(resp))}
		}
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	f.wait = 0
	fmt.Fprintf(f.log, "connected to %s (bin %s)\n", f.ref.base, f.ref.bin)
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		var m wire.Live
		if err := json.Unmarshal(msg, &m); err != nil {
			return fmt.Errorf("bad message: %w", err)
		}
		switch m.Type {
		case wire.LiveLagged:
			return errors.New("fell behind the live feed")
		case wire.LiveRequest:
		default:
			continue
		}
		r := m.Request
		if r == nil || f.seen.has(r.ID) {
			continue
		}
		if err := handle(ctx, r); err != nil {
			return errFatal{err}
		}
		f.seen.add(r.ID)
		if r.ID.String() > f.last.String() {
			f.last = r.ID
		}
	}
}

// recentIDs is a bounded set of handled ids (oldest forgotten first).
type recentIDs struct {
	mu    sync.Mutex
	set   map[uuid.UUID]struct{}
	order []uuid.UUID
	max   int
}

func newRecentIDs(max int) *recentIDs {
	return &recentIDs{set: make(map[uuid.UUID]struct{}), max: max}
}

func (s *recentIDs) has(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[id]
	return ok
}

func (s *recentIDs) add(id uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set[id] = struct{}{}
	s.order = append(s.order, id)
	if len(s.order) > s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
}

func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt)
}

func humanSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%dB", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1fkB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1fMB", float64(n)/1e6)
}

func pathQuery(r *wire.Request) string {
	if r.Query == "" {
		return r.Path
	}
	return r.Path + "?" + r.Query
}

// redactToken hides a share link's ?token= (and any other token-looking
// parameter) in a bin URL shown to the user.
func redactToken(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bin URL)"
	}
	q := u.Query()
	if q.Has("token") {
		q.Set("token", "REDACTED")
		u.RawQuery = q.Encode()
	}
	u.User = nil
	return u.String()
}

// binArg parses the flags and the one positional bin URL of tail and
// forward; a -token flag (read after parsing, hence the pointer) overrides
// a share link's ?token=.
func binArg(fs *flag.FlagSet, args []string, token *string) (string, binRef, error) {
	raw, err := splitPositional(fs, args)
	if err != nil {
		return "", binRef{}, err
	}
	ref, err := parseBinRef(raw)
	if err != nil {
		return "", binRef{}, err
	}
	if *token != "" {
		ref.token = *token
	}
	return raw, ref, nil
}

// Tail: hookscope tail <bin url> [-token T]
func Tail(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookscope tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", getenv("HOOKSCOPE_TOKEN"), "token of a private bin (env HOOKSCOPE_TOKEN; a share link's ?token= works too)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope tail <bin url> [-token T]\n\nPrints one line per request captured by the bin: time, method, path, status, size, signature.")
		fs.PrintDefaults()
	}
	_, ref, err := binArg(fs, args, token)
	if err != nil {
		return err
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	f := newFollower(ref, stderr)
	if err := f.start(ctx); err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	return f.run(ctx, func(_ context.Context, r *wire.Request) error {
		sig := string(r.Signature.Status)
		if r.Signature.Scheme != "" {
			sig = r.Signature.Scheme + ":" + sig
		}
		line := fmt.Sprintf("%s  %-7s %-40s %3d  %7s  %s", r.ReceivedAt.Local().Format("15:04:05.000"), r.Method, pathQuery(r), r.ResponseStatus, humanSize(r.BodySize), sig)
		if fw := r.Forward; fw != nil {
			if fw.Error != "" {
				line += "  forward: " + fw.Error
			} else {
				line += fmt.Sprintf("  forward: %d", fw.Status)
			}
		}
		_, err := fmt.Fprintln(stdout, line)
		return err
	})
}

// Forward: hookscope forward <bin url> -to http://localhost:3000/webhooks
// [-include-replays]. Replays (records with replay_of, which the server
// itself re-sent) are skipped unless asked for: a running forward would
// otherwise deliver every replay a second time.
func Forward(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookscope forward", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "local URL to replay each request to (its path suffix and query are appended)")
	token := fs.String("token", getenv("HOOKSCOPE_TOKEN"), "token of a private bin (env HOOKSCOPE_TOKEN)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each local delivery")
	replays := fs.Bool("include-replays", false, "also deliver replays (requests the server re-sent, marked replay_of), skipped by default")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope forward <bin url> -to http://localhost:3000/webhooks [-token T] [-include-replays]\n\nReplays every request the bin captures to a local URL, printing status and latency.")
		fs.PrintDefaults()
	}
	raw, ref, err := binArg(fs, args, token)
	if err != nil {
		return err
	}
	if _, err := forward.TargetURL(*to, &schema.Request{}); err != nil {
		return fmt.Errorf("forward: -to: %w", err)
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	f := newFollower(ref, stderr)
	if err := f.start(ctx); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	local := &http.Client{Timeout: *timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The banner names the bin, never its token (terminals are shared,
	// recorded and pasted).
	fmt.Fprintf(stderr, "forwarding %s to %s\n", redactToken(raw), *to)
	return f.run(ctx, func(ctx context.Context, s *wire.Request) error {
		if s.ReplayOf != nil && !*replays {
			fmt.Fprintf(stdout, "%s  %-7s %s  replay of %s: skipped (-include-replays delivers it)\n",
				s.ReceivedAt.Local().Format("15:04:05.000"), s.Method, pathQuery(s), s.ReplayOf)
			return nil
		}
		r, err := f.fetch(ctx, s.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(stdout, "%s  %-7s %s  fetch failed: %v\n", s.ReceivedAt.Local().Format("15:04:05.000"), s.Method, pathQuery(s), err)
			return nil
		}
		target, _ := forward.TargetURL(*to, r)
		start := time.Now()
		status, err := deliver(ctx, local, target, r)
		lat := time.Since(start).Round(100 * time.Microsecond)
		if err != nil {
			fmt.Fprintf(stdout, "%s  %-7s %s -> error: %v (%v)\n", s.ReceivedAt.Local().Format("15:04:05.000"), r.Method, target, err, lat)
			return nil
		}
		fmt.Fprintf(stdout, "%s  %-7s %s -> %d (%v)  [%s]\n", s.ReceivedAt.Local().Format("15:04:05.000"), r.Method, target, status, lat, r.ID)
		return nil
	})
}

// fetch gets the full request (the live feed carries summaries). The
// record may still be in the server's write batch: 404s are retried.
func (f *follower) fetch(ctx context.Context, id uuid.UUID) (*schema.Request, error) {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.ref.api("/requests/"+id.String()), nil)
		f.ref.authorize(req.Header)
		resp, err := f.client.Do(req)
		if err == nil && resp.StatusCode == 200 {
			defer resp.Body.Close()
			return decodeFull(resp.Body)
		}
		if err == nil {
			msg := apiError(resp)
			resp.Body.Close()
			err = errors.New(msg)
			if resp.StatusCode != 404 && resp.StatusCode < 500 {
				return nil, err
			}
		}
		if attempt >= 40 {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond):
		}
	}
}

func decodeFull(rd io.Reader) (*schema.Request, error) {
	var v wire.Request
	if err := json.NewDecoder(io.LimitReader(rd, maxFullBytes)).Decode(&v); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	return v.Record()
}

// maxFullBytes bounds one request's JSON view (a body of the server's
// largest limit, base64-encoded, plus headers).
const maxFullBytes = 256 << 20

func deliver(ctx context.Context, c *http.Client, target string, r *schema.Request) (int, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, target, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	forward.CopyHeaders(req.Header, r.Headers)
	req.ContentLength = int64(len(r.Body))
	if len(r.Body) == 0 {
		req.Body = http.NoBody
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return 0, ue.Err
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}
