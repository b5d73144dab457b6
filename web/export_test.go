package web_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
	"github.com/hookscope/hookscope/web"
)

// failingPages is the real store whose ListRequests fails from its second
// call on: the store going away in the middle of an export.
type failingPages struct {
	schema.Store
	calls atomic.Int64
}

func (f *failingPages) ListRequests(ctx context.Context, fl schema.Filter) (schema.Page, error) {
	if f.calls.Add(1) > 1 {
		return schema.Page{}, errors.New("disk on fire")
	}
	return f.Store.ListRequests(ctx, fl)
}

type noCache struct{}

func (noCache) InvalidateBin(string) {}

// TestExportCutShortSaysSo: when the store fails after the headers went out,
// the export ends with the documented marker (NDJSON's error line, CSV's
// #error row, an unclosed HAR), never as a complete-looking file, and the
// store's message stays in the log.
func TestExportCutShortSaysSo(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	binSvc := bins.New(store, noCache{}, bins.Options{})
	b, err := binSvc.Create(ctx, &bins.Input{})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []*schema.Request
	for i := 0; i < 1200; i++ { // more than one 500-row page
		reqs = append(reqs, &schema.Request{ID: uuid.Must(uuid.NewV7()), BinID: b.ID, ReceivedAt: schema.Truncate(time.Now().Add(time.Duration(i) * time.Millisecond)),
			Method: "POST", Path: "/", Body: []byte("{}"), BodySize: 2, ResponseStatus: 200})
	}
	if err := store.WriteRequests(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ format, wantEnd string }{
		{"ndjson", "{\"error\":\"export stopped before the end; see the server log\"}\n"},
		{"csv", "\n#error,export stopped before the end; see the server log\n"},
		{"har", "}"}, // the last entry, and no "]}}"
	} {
		srv := web.New(web.Deps{Store: &failingPages{Store: store}, Bins: binSvc}, web.Options{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/bins/" + b.ID + "/export?format=" + tc.format)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d, %v", tc.format, resp.StatusCode, err)
		}
		s := string(body)
		if !strings.HasSuffix(s, tc.wantEnd) || strings.HasSuffix(strings.TrimSpace(s), "]}}") || strings.Count(s, "\"POST\"")+strings.Count(s, ",POST,") != 500 {
			t.Fatalf("%s export cut after one page ends %q (%d bytes); want the marker after 500 rows", tc.format, s[max(0, len(s)-120):], len(s))
		}
		_ = srv.Shutdown(ctx)
	}
}
