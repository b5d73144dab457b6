// Package export writes a bin's requests as NDJSON, HAR 1.2 or CSV
// (issue 17.5), in constant memory: it pages through the store with a
// cursor and writes each page out before reading the next, so a million
// rows cost one page of summaries plus one full body at a time.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// Format is an export format.
type Format string

const (
	NDJSON Format = "ndjson"
	HAR    Format = "har"
	CSV    Format = "csv"
)

// Formats lists every format, in the order the API documents them.
var Formats = []Format{NDJSON, HAR, CSV}

// ErrFormat: the format is not one of Formats.
var ErrFormat = errors.New("format must be ndjson, har or csv")

// ParseFormat validates a format name; "" is NDJSON.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "":
		return NDJSON, nil
	case NDJSON, HAR, CSV:
		return Format(s), nil
	}
	return "", ErrFormat
}

// ContentType is the media type of a format.
func (f Format) ContentType() string {
	switch f {
	case HAR:
		return "application/json"
	case CSV:
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// Ext is the file extension of a format.
func (f Format) Ext() string {
	if f == NDJSON {
		return "ndjson"
	}
	return string(f)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Filename is a safe download name: only [A-Za-z0-9_-] of the bin id, the
// time, the extension (never a quote, a slash or a control character).
func Filename(binID string, at time.Time, f Format) string {
	id := unsafeName.ReplaceAllString(binID, "_")
	if len(id) > 64 {
		id = id[:64]
	}
	return fmt.Sprintf("hookscope-%s-%s.%s", id, at.UTC().Format("20060102T150405Z"), f.Ext())
}

// Source is the read side an export needs (schema.Reader satisfies it):
// the list's pages, then the rows whose preview is cut, read in full by
// batches of ids.
type Source interface {
	ListRequests(ctx context.Context, f schema.Filter) (schema.Page, error)
	GetRequests(ctx context.Context, binID string, ids []uuid.UUID) ([]*schema.Request, error)
}

// Meta is what the records do not say about themselves.
type Meta struct {
	// BinURL is the bin's capture URL (https://host/h/{bin}): HAR request
	// URLs are it plus the path and query.
	BinURL string
	// Response is the bin's configured answer (nil: the default), which
	// HAR shows as each entry's response headers and body.
	Response *schema.ResponseConfig
	// Version names the exporting hookscope in HAR's creator.
	Version string
}

// Options tune Write; zero values take the defaults.
type Options struct {
	// PageSize is how many summaries one store read returns (default 500).
	PageSize int
	// BatchBytes bounds the body bytes (by BodySize) of the full rows one
	// GetRequests call asks for (default 8 MiB; a batch holds at least one
	// row, so memory is at most this plus one body); a batch also holds
	// at most schema.MaxGetRequests ids.
	BatchBytes int64
	// AfterPage runs after each page is written and flushed (the web layer
	// extends the connection's write deadline there).
	AfterPage func(rows int64)
}

// flusher is what bufio.Writer (fasthttp's stream writer) provides: a
// flush after each page both sends the rows and reports a client that went
// away.
type flusher interface{ Flush() error }

// encoder writes one format.
type encoder interface {
	begin() error
	write(r *schema.Request) error
	end() error
}

func newEncoder(f Format, w io.Writer, m Meta) encoder {
	switch f {
	case HAR:
		return newHAR(w, m)
	case CSV:
		return newCSV(w)
	}
	return newNDJSON(w)
}

// Write exports the requests of f.BinID matching f's match fields, newest
// first (the list's order), and returns how many it wrote. Cursor and
// Limit of f are replaced. Rows whose body is longer than the summary's
// preview are read again in full, by batches of ids (one GetRequests per
// batch, bounded by Options.BatchBytes); a row deleted meanwhile is
// skipped. On an error the output stops where it was: a caller that
// already sent headers can only cut the stream (HAR is then invalid JSON,
// NDJSON and CSV end mid-way; see the web layer for the in-band marker).
func Write(ctx context.Context, w io.Writer, src Source, f schema.Filter, format Format, m Meta, opts Options) (int64, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 8 << 20
	}
	enc := newEncoder(format, w, m)
	if err := enc.begin(); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	f.After, f.Before, f.Limit = nil, nil, opts.PageSize
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		page, err := src.ListRequests(ctx, f)
		if err != nil {
			return n, fmt.Errorf("list page: %w", err)
		}
		rows := page.Requests
		for len(rows) > 0 {
			// One batch: the rows up to the one whose full body would
			// overflow the budget, their cut ones read in one call.
			batch, full, err := readBatch(ctx, src, f.BinID, rows, opts.BatchBytes)
			if err != nil {
				return n, err
			}
			for _, r := range rows[:batch] {
				if needsFull(r) {
					if r = full[r.ID]; r == nil {
						continue // deleted since the list read it
					}
				}
				if err := enc.write(r); err != nil {
					return n, fmt.Errorf("write row: %w", err)
				}
				n++
			}
			rows = rows[batch:]
		}
		if fl, ok := w.(flusher); ok {
			if err := fl.Flush(); err != nil {
				return n, fmt.Errorf("flush: %w", err)
			}
		}
		if opts.AfterPage != nil {
			opts.AfterPage(n)
		}
		if page.Next == nil || len(page.Requests) == 0 {
			break
		}
		f.Before = page.Next
	}
	if err := enc.end(); err != nil {
		return n, fmt.Errorf("write trailer: %w", err)
	}
	if fl, ok := w.(flusher); ok {
		if err := fl.Flush(); err != nil {
			return n, fmt.Errorf("flush: %w", err)
		}
	}
	return n, nil
}

// readBatch takes the longest prefix of rows whose cut rows number at most
// schema.MaxGetRequests and whose full bodies (BodySize) fit in budget (at
// least one row), and reads those cut rows in full with one GetRequests.
// It returns the prefix's length and the full rows by id (nil when none
// was cut).
func readBatch(ctx context.Context, src Source, binID string, rows []*schema.Request, budget int64) (int, map[uuid.UUID]*schema.Request, error) {
	var ids []uuid.UUID
	var bytes int64
	end := 0
	for ; end < len(rows); end++ {
		r := rows[end]
		if !needsFull(r) {
			continue
		}
		if len(ids) == schema.MaxGetRequests || (len(ids) > 0 && bytes+r.BodySize > budget) {
			break
		}
		ids = append(ids, r.ID)
		bytes += r.BodySize
	}
	if len(ids) == 0 {
		return end, nil, nil
	}
	got, err := src.GetRequests(ctx, binID, ids)
	if err != nil {
		return 0, nil, fmt.Errorf("read %d full bodies: %w", len(ids), err)
	}
	full := make(map[uuid.UUID]*schema.Request, len(got))
	for _, r := range got {
		full[r.ID] = r
	}
	return end, full, nil
}

// needsFull: a summary carries the first PreviewBytes of the stored body;
// a preview that long of a longer body is cut.
func needsFull(r *schema.Request) bool {
	return len(r.Body) >= schema.PreviewBytes && r.BodySize > int64(len(r.Body))
}
