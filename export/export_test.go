package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "plain": "plain", "1=1": "1=1", "'=x": "'=x", "[\"a\"]": "[\"a\"]",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestFilenameIsSafe(t *testing.T) {
	at := time.Date(2026, 11, 28, 19, 0, 0, 0, time.UTC)
	for _, bin := range []string{"abc", `a"b/../c\d;e` + "\r\n", strings.Repeat("x", 300)} {
		n := Filename(bin, at, CSV)
		if strings.ContainsAny(n, "\"/\\;\r\n ") || !strings.HasPrefix(n, "hookscope-") || !strings.HasSuffix(n, "-20261128T190000Z.csv") || len(n) > 120 {
			t.Errorf("Filename(%q) = %q", bin, n)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": NDJSON, "ndjson": NDJSON, "har": HAR, "csv": CSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"xml", "CSV", "har "} {
		if _, err := ParseFormat(in); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseFormat(%q) = %v; want ErrFormat", in, err)
		}
	}
}

// pages is a Source that serves fixed pages and then fails, to show what
// Write does on a store error half-way.
type pages struct {
	pages [][]*schema.Request
	full  map[uuid.UUID]*schema.Request
	calls int
}

func (p *pages) ListRequests(_ context.Context, f schema.Filter) (schema.Page, error) {
	if p.calls >= len(p.pages) {
		return schema.Page{}, errors.New("store down")
	}
	pg := schema.Page{Requests: p.pages[p.calls]}
	p.calls++
	last := pg.Requests[len(pg.Requests)-1]
	pg.Next = schema.CursorOf(last)
	return pg, nil
}

func (p *pages) GetRequests(_ context.Context, _ string, ids []uuid.UUID) ([]*schema.Request, error) {
	var out []*schema.Request
	for _, id := range ids {
		if r, ok := p.full[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func req(i int, body []byte) *schema.Request {
	return &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: "b", ReceivedAt: time.Unix(int64(i), 0).UTC(), Method: "POST", Path: "/p",
		Query: "a=1&b=x%20y&bad=%zz", Body: body, BodySize: int64(len(body)), ResponseStatus: 200}
}

// TestWriteReadsFullBodiesAndStopsOnError: a summary whose preview is cut
// is read again in full, one deleted meanwhile is skipped, and a store
// error after the first page stops the export with the rows written so far.
func TestWriteReadsFullBodiesAndStopsOnError(t *testing.T) {
	long := bytes.Repeat([]byte("y"), 1000)
	cut := req(1, long[:schema.PreviewBytes])
	cut.BodySize = 1000
	gone := req(2, long[:schema.PreviewBytes])
	gone.BodySize = 1000
	full := *cut
	full.Body = long
	small := req(3, []byte(`{"a":1}`))
	src := &pages{pages: [][]*schema.Request{{small, cut, gone}}, full: map[uuid.UUID]*schema.Request{cut.ID: &full}}
	var out bytes.Buffer
	n, err := Write(context.Background(), &out, src, schema.Filter{BinID: "b"}, NDJSON, Meta{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "store down") || n != 2 {
		t.Fatalf("Write = %d, %v; want 2 rows then the store error", n, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	var v struct {
		ID   string
		Body struct{ Data string }
	}
	if err := json.Unmarshal([]byte(lines[1]), &v); err != nil || v.ID != cut.ID.String() || v.Body.Data != string(long) {
		t.Fatalf("second line %s (%v); want the full 1000-byte body of %s", lines[1], err, cut.ID)
	}
}

// TestHARShape: a HAR export is one JSON document with HAR 1.2's required
// fields, the query split in order (an undecodable pair kept raw), the
// bin's answer as the response.
func TestHARShape(t *testing.T) {
	r := req(1, []byte{0xff, 0})
	src := &pages{pages: [][]*schema.Request{{r}}}
	var out bytes.Buffer
	// One page then an error: check the error path keeps HAR unterminated.
	if _, err := Write(context.Background(), &out, src, schema.Filter{BinID: "b"}, HAR, Meta{BinURL: "https://h.example/h/b",
		Response: &schema.ResponseConfig{Status: 202, Headers: []schema.Header{{Name: "Content-Type", Value: "text/plain"}}, Body: "ok"}}, Options{}); err == nil {
		t.Fatal("want the store error")
	}
	if json.Valid(out.Bytes()) {
		t.Fatal("a cut HAR must not be valid JSON")
	}
	src = &pages{pages: [][]*schema.Request{{r}}}
	out.Reset()
	w := &onePage{src}
	if _, err := Write(context.Background(), &out, w, schema.Filter{BinID: "b"}, HAR, Meta{BinURL: "https://h.example/h/b",
		Response: &schema.ResponseConfig{Headers: []schema.Header{{Name: "Content-Type", Value: "text/plain"}}, Body: "ok"}}, Options{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Version string
			Entries []struct {
				StartedDateTime string
				Request         struct {
					Method, URL string
					QueryString []struct{ Name, Value string }
					PostData    struct {
						Text     string
						Encoding string `json:"_encoding"`
					}
					HeadersSize int
				}
				Response struct {
					Status  int
					Content struct{ MimeType, Text string }
				}
				Timings map[string]float64
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("HAR is not JSON: %v\n%s", err, out.String())
	}
	if doc.Log.Version != "1.2" || len(doc.Log.Entries) != 1 {
		t.Fatalf("HAR %+v", doc.Log)
	}
	e := doc.Log.Entries[0]
	q := e.Request.QueryString
	if e.Request.URL != "https://h.example/h/b/p?a=1&b=x%20y&bad=%zz" || len(q) != 3 || q[1].Value != "x y" || q[2].Value != "%zz" ||
		e.Request.PostData.Encoding != "base64" || e.Request.PostData.Text != "/wA=" || e.Request.HeadersSize != -1 ||
		e.Response.Status != 200 || e.Response.Content.Text != "ok" || e.Response.Content.MimeType != "text/plain" || e.StartedDateTime == "" {
		t.Fatalf("HAR entry %+v", e)
	}
	for _, k := range []string{"send", "wait", "receive"} {
		if _, ok := e.Timings[k]; !ok {
			t.Fatalf("timings lack %s: %v", k, e.Timings)
		}
	}
}

// onePage serves its source's pages and then an empty last page.
type onePage struct{ *pages }

func (o *onePage) ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error) {
	if o.calls >= len(o.pages.pages) {
		return schema.Page{}, nil
	}
	pg, err := o.pages.ListRequests(ctx, f)
	pg.Next = nil
	return pg, err
}
