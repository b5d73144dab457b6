package bins

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Lister pages bins in the store (schema.Store satisfies it).
type Lister interface {
	ListBinsPage(ctx context.Context, q schema.BinListQuery) (schema.BinPage, error)
}

// List limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
	MaxListQuery     = 200
)

// ListQuery selects a page of bins, newest first.
type ListQuery struct {
	Q      string      // case-insensitive substring of the name ("" = all)
	Cursor *ListCursor // only bins strictly older than this
	Limit  int         // 1..MaxListLimit; 0 = DefaultListLimit
}

// ListCursor is the (created_at, id) position of the last bin of a page.
type ListCursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes the cursor for the API (opaque to clients).
func (c *ListCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

// ParseListCursor decodes String's form; a *FieldError naming "cursor".
func ParseListCursor(s string) (*ListCursor, error) {
	bad := invalid("cursor", "not a cursor from a previous page's next")
	if len(s) > 512 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	us, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || !ValidID(id) {
		return nil, bad
	}
	return &ListCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// newer orders bins newest first: created_at descending, then id descending
// (the stores' order for ListBinsPage).
func newer(a, b *schema.Bin) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// List returns a page of live bins matching q, newest first, and the cursor
// of the next page (nil on the last). It is for admins: it sees every bin.
// The store reads the page (schema.Bins.ListBinsPage), so a listing costs
// one page whatever the number of bins.
func (s *Service) List(ctx context.Context, q ListQuery) ([]*schema.Bin, *ListCursor, error) {
	l, ok := s.store.(Lister)
	if !ok {
		return nil, nil, fmt.Errorf("list bins: store cannot list: %w", schema.ErrUnavailable)
	}
	if q.Limit <= 0 {
		q.Limit = DefaultListLimit
	}
	if q.Limit > MaxListLimit {
		return nil, nil, invalid("limit", "must be from 1 to %d", MaxListLimit)
	}
	if len(q.Q) > MaxListQuery {
		return nil, nil, invalid("q", "at most %d bytes", MaxListQuery)
	}
	sq := schema.BinListQuery{Q: q.Q, Now: s.opts.Now(), Limit: q.Limit}
	if c := q.Cursor; c != nil {
		sq.Before = &schema.BinCursor{CreatedAt: c.CreatedAt, ID: c.ID}
	}
	page, err := l.ListBinsPage(ctx, sq)
	if err != nil {
		return nil, nil, fmt.Errorf("list bins: %w", err)
	}
	var next *ListCursor
	if c := page.Next; c != nil {
		next = &ListCursor{CreatedAt: c.CreatedAt, ID: c.ID}
	}
	return page.Bins, next, nil
}

// FilterBins keeps the live bins whose name contains q (ASCII
// case-insensitive, as the stores' ListBinsPage; "" keeps all). It returns
// a new slice.
func FilterBins(list []*schema.Bin, q string, now time.Time) []*schema.Bin {
	q = schema.ASCIILower(q)
	out := make([]*schema.Bin, 0, len(list))
	for _, b := range list {
		if b.Expired(now) {
			continue
		}
		if q != "" && !strings.Contains(schema.ASCIILower(b.Name), q) {
			continue
		}
		out = append(out, b)
	}
	return out
}

// SortNewest orders bins newest first (as List does).
func SortNewest(list []*schema.Bin) { slices.SortFunc(list, newer) }
