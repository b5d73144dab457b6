package client

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// headerFlags collects repeated -H "Name: value" flags.
type headerFlags []schema.Header

func (h *headerFlags) String() string { return fmt.Sprint(*h) }
func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return errors.New(`want "Name: value"`)
	}
	*h = append(*h, schema.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	return nil
}

// Send sends a correctly signed test request, to a hookscope bin or to
// any receiver the user wants to check.
func Send(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookscope send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://localhost:8080", "hookscope base URL (when -bin is an id)")
	bin := fs.String("bin", "", "bin id, or a full URL to send to")
	path := fs.String("path", "", "path appended to the bin URL")
	method := fs.String("method", "POST", "HTTP method")
	data := fs.String("data", "", "body, or @file to read it from a file (@- for stdin)")
	ctype := fs.String("content-type", "application/json", "Content-Type of the body")
	var cfg schema.SignatureConfig
	fs.StringVar(&cfg.Scheme, "scheme", "", "signature scheme: "+strings.Join(signature.Schemes(), ", "))
	fs.StringVar(&cfg.Secret, "secret", "", "signing secret (private key for discord/sendgrid)")
	fs.StringVar(&cfg.Header, "header", "", "hmac scheme: header name")
	fs.StringVar(&cfg.Algorithm, "algorithm", "", "hmac scheme: sha1, sha256 or sha512")
	fs.StringVar(&cfg.Encoding, "encoding", "", "hmac scheme: hex or base64")
	fs.StringVar(&cfg.Prefix, "prefix", "", "hmac scheme: signature prefix such as sha256=")
	var extra headerFlags
	fs.Var(&extra, "H", `extra header "Name: value" (repeatable)`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope send -bin <id|url> [-scheme stripe -secret whsec_...] [-data @event.json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		return errors.New("send: -bin is required")
	}
	url := *bin
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = strings.TrimRight(*server, "/") + "/h/" + url
	}
	url += *path
	body, err := readData(*data)
	if err != nil {
		return fmt.Errorf("send: read -data: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, *method, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if *ctype != "" {
		req.Header.Set("Content-Type", *ctype)
	}
	if cfg.Scheme != "" {
		signed, err := signature.Sign(&cfg, body, url, time.Now())
		if err != nil {
			return fmt.Errorf("send: sign: %w", err)
		}
		for _, h := range signed {
			req.Header.Set(h.Name, h.Value)
		}
	}
	for _, h := range extra {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stdout, "%s %s -> %d\n", *method, url, resp.StatusCode)
	if id := resp.Header.Get("X-Hookscope-Request-Id"); id != "" {
		fmt.Fprintf(stdout, "request id: %s\n", id)
	}
	if len(rb) > 0 {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(rb))
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("send: receiver answered %d", resp.StatusCode)
	}
	return nil
}

func readData(v string) ([]byte, error) {
	switch {
	case v == "@-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(v, "@"):
		return os.ReadFile(v[1:])
	}
	return []byte(v), nil
}
