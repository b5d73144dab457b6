package client

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hookscope/hookscope/query"
)

// Export: hookscope export <bin url> [-format ndjson|har|csv] [-o file]
// [-token T] [-method POST -status 5xx -q text ...]. It streams GET
// /api/v1/bins/{bin}/export to stdout or a file without holding it: the
// list's filters are flags named like the API's parameters. A file is
// written as <file>.partial and renamed when the export is complete; an
// export the server cut short (its in-band marker, or a HAR that does not
// end) is an error and leaves the .partial file.
func Export(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookscope export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", getenv("HOOKSCOPE_TOKEN"), "token of a private bin (env HOOKSCOPE_TOKEN; a share link's ?token= works too)")
	format := fs.String("format", "ndjson", "ndjson, har or csv")
	out := fs.String("o", "", "write to this file instead of stdout")
	filters := map[string]*string{}
	for _, p := range append(append([]string{}, query.MatchParams...), "forward") {
		filters[p] = fs.String(p, "", "the list's "+p+" filter")
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hookscope export <bin url> [-format ndjson|har|csv] [-o file] [-token T] [-method M -status 5xx -q text ...]\n\nStreams the bin's requests matching the filters, newest first.")
		fs.PrintDefaults()
	}
	_, ref, err := binArg(fs, args, token)
	if err != nil {
		return err
	}
	switch *format {
	case "ndjson", "har", "csv":
	default:
		return fmt.Errorf("-format must be ndjson, har or csv")
	}
	v := url.Values{"format": {*format}}
	for k, p := range filters {
		if *p != "" {
			v.Set(k, *p)
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.api("/export?"+v.Encode()), nil)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ref.authorize(req.Header)
	// No overall timeout (a large export takes long); the server must
	// start answering within a minute.
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("export: %s", apiError(resp))
	}

	w, finish := stdout, func(ok bool) error { return nil }
	if *out != "" {
		partial := *out + ".partial"
		f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w = f
		finish = func(ok bool) error {
			if err := f.Close(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if !ok {
				return nil
			}
			return os.Rename(partial, filepath.Clean(*out))
		}
	}
	tail := &tailWriter{w: w}
	n, err := io.Copy(tail, resp.Body)
	if err == nil {
		err = checkComplete(*format, tail.last)
	}
	if ferr := finish(err == nil); err == nil {
		err = ferr
	}
	if err != nil {
		if *out != "" {
			return fmt.Errorf("export: %w (%d bytes kept in %s.partial)", err, n, *out)
		}
		return fmt.Errorf("export: %w", err)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "exported %d bytes to %s\n", n, *out)
	}
	return nil
}

// tailWriter passes writes on and keeps the last bytes written, for the
// completeness check.
type tailWriter struct {
	w    io.Writer
	last []byte
}

const tailKeep = 512

func (t *tailWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.last = append(t.last, p[:n]...)
	if len(t.last) > tailKeep {
		t.last = append(t.last[:0], t.last[len(t.last)-tailKeep:]...)
	}
	return n, err
}

var errCut = errors.New("the server stopped the export before the end (see its log)")

// checkComplete recognises the server's end-of-stream marker of a broken
// export (web/export.go): NDJSON's {"error": ...} line, CSV's #error row,
// a HAR that does not close.
func checkComplete(format string, last []byte) error {
	last = bytes.TrimRight(last, "\n")
	switch format {
	case "ndjson":
		i := bytes.LastIndexByte(last, '\n')
		if bytes.HasPrefix(last[i+1:], []byte(`{"error":`)) {
			return errCut
		}
	case "csv":
		i := bytes.LastIndexByte(last, '\n')
		if bytes.HasPrefix(last[i+1:], []byte("#error,")) {
			return errCut
		}
	case "har":
		if !bytes.HasSuffix(last, []byte("]}}")) {
			return errCut
		}
	}
	return nil
}
