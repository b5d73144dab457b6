package bins

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/sqlite"
)

type invalidations []string

func (i *invalidations) InvalidateBin(id string) { *i = append(*i, id) }

func newService(t *testing.T, now *time.Time) (*Service, *invalidations) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	inv := &invalidations{}
	return New(st, inv, Options{Now: func() time.Time { return *now }}), inv
}

func raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// signalled reports whether c holds a signal, without waiting.
func signalled(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestServiceLifecycle: the store sees every change, the cache is told,
// watchers hear about access changes (privacy, expiry, revoke, delete) and
// not about others.
func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, inv := newService(t, &now)
	b, err := s.Create(ctx, &Input{Name: ptr("a")})
	if err != nil {
		t.Fatal(err)
	}
	if b.ExpiresAt == nil || !b.ExpiresAt.Equal(now.Add(7*24*time.Hour)) || b.TokenGen != 0 {
		t.Fatalf("created %+v", b)
	}
	c, stop := s.Watch(b.ID)
	defer stop()
	if _, err := s.Update(ctx, b.ID, &Input{Name: ptr("renamed")}); err != nil {
		t.Fatal(err)
	}
	if signalled(c) {
		t.Error("a rename signalled an access change")
	}
	if _, err := s.Update(ctx, b.ID, &Input{Private: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if !signalled(c) {
		t.Error("making the bin private signalled nothing")
	}
	if _, err := s.Update(ctx, b.ID, &Input{ExpiresIn: raw("1h")}); err != nil {
		t.Fatal(err)
	}
	if !signalled(c) {
		t.Error("an expiry change signalled nothing")
	}
	r, err := s.Revoke(ctx, b.ID)
	if err != nil || r.TokenGen != 1 || !signalled(c) {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	got, err := s.Get(ctx, b.ID)
	if err != nil || got.TokenGen != 1 || got.Name != "renamed" || !got.Private {
		t.Fatalf("stored %+v %v", got, err)
	}
	if err := s.Delete(ctx, b.ID); err != nil || !signalled(c) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Get(ctx, b.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if n := strings.Count(strings.Join(*inv, ","), b.ID); n != 6 {
		t.Errorf("cache invalidated %d times, want 6 (create, 3 updates, revoke, delete)", n)
	}
	// An expired bin is gone for the service.
	e, _ := s.Create(ctx, &Input{ExpiresIn: raw("1m")})
	now = now.Add(2 * time.Minute)
	if _, err := s.Get(ctx, e.ID); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("expired bin: %v", err)
	}
	if _, err := s.Get(ctx, "../etc"); !errors.Is(err, schema.ErrNotFound) {
		t.Errorf("malformed id: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestShareTTL: the default, the request, and the cap at the bin's expiry.
func TestShareTTL(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, _ := newService(t, &now)
	in2h := now.Add(2 * time.Hour)
	past := now.Add(-time.Second)
	tests := []struct {
		name    string
		expires *time.Time
		req     *string
		want    time.Duration
		err     error
	}{
		{"default", nil, nil, 24 * time.Hour, nil},
		{"asked", nil, ptr("30d"), 30 * 24 * time.Hour, nil},
		{"capped", &in2h, ptr("30d"), 2 * time.Hour, nil},
		{"default capped", &in2h, nil, 2 * time.Hour, nil},
		{"shorter kept", &in2h, ptr("10m"), 10 * time.Minute, nil},
		{"bad", nil, ptr("forever"), 0, schema.ErrInvalid},
		{"expired bin", &past, nil, 0, schema.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.ShareTTL(&schema.Bin{ID: "x", ExpiresAt: tt.expires}, tt.req)
		if !errors.Is(err, tt.err) || (tt.err == nil && got != tt.want) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// TestValidateResponse: the rules of custom responses, field by field.
func TestValidateResponse(t *testing.T) {
	h := func(n, v string) []schema.Header { return []schema.Header{{Name: n, Value: v}} }
	tests := []struct {
		name  string
		rc    schema.ResponseConfig
		field string // "" = valid
	}{
		{"empty", schema.ResponseConfig{}, ""},
		{"200", schema.ResponseConfig{Status: 200}, ""},
		{"599", schema.ResponseConfig{Status: 599}, ""},
		{"100", schema.ResponseConfig{Status: 100}, "status"},
		{"199", schema.ResponseConfig{Status: 199}, "status"},
		{"600", schema.ResponseConfig{Status: 600}, "status"},
		{"tab ok", schema.ResponseConfig{Headers: h("X-A", "a\tb")}, ""},
		{"utf-8 ok", schema.ResponseConfig{Headers: h("X-A", "é")}, ""},
		{"VT", schema.ResponseConfig{Headers: h("X-A", "\v")}, "headers[0]"},
		{"BS", schema.ResponseConfig{Headers: h("X-A", "\b")}, "headers[0]"},
		{"DEL", schema.ResponseConfig{Headers: h("X-A", "\x7f")}, "headers[0]"},
		{"CR", schema.ResponseConfig{Headers: h("X-A", "\r")}, "headers[0]"},
		{"LF", schema.ResponseConfig{Headers: h("X-A", "\n")}, "headers[0]"},
		{"NUL", schema.ResponseConfig{Headers: h("X-A", "\x00")}, "headers[0]"},
		{"name DEL", schema.ResponseConfig{Headers: h("X\x7fA", "v")}, "headers[0]"},
		{"framing", schema.ResponseConfig{Headers: h("content-length", "1")}, "headers[0]"},
		{"negative delay", schema.ResponseConfig{DelayMS: -1}, "delay_ms"},
		{"rule 1xx", schema.ResponseConfig{Rules: []schema.ResponseRule{{Method: "post", Status: 103}}}, "rules[0].status"},
		{"rule ok, method upper-cased", schema.ResponseConfig{Rules: []schema.ResponseRule{{Method: "post", Status: 202}}}, ""},
	}
	for _, tt := range tests {
		err := ValidateResponse(&tt.rc)
		fe, ok := IsFieldError(err)
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.field != "" && (!ok || fe.Field != "response" || !strings.HasPrefix(fe.Msg, tt.field+":")):
			t.Errorf("%s: %v, want a response error at %s", tt.name, err, tt.field)
		case tt.field != "" && !errors.Is(err, schema.ErrInvalid):
			t.Errorf("%s: %v does not wrap ErrInvalid", tt.name, err)
		}
	}
	rc := schema.ResponseConfig{Rules: []schema.ResponseRule{{Method: "post"}}}
	if err := ValidateResponse(&rc); err != nil || rc.Rules[0].Method != "POST" {
		t.Errorf("method not normalised: %v %q", err, rc.Rules[0].Method)
	}
}

// FuzzValidateResponse: whatever a client sends, an accepted response has
// only final statuses and header lines that cannot split or inject.
func FuzzValidateResponse(f *testing.F) {
	f.Add(200, "X-A", "v", "/p", 0)
	f.Add(101, "X-A", "a\vb", "", 5)
	f.Add(599, "Set-Cookie", "a=b", "/", 30000)
	f.Fuzz(func(t *testing.T, status int, name, value, prefix string, delay int) {
		rc := schema.ResponseConfig{Status: status, Headers: []schema.Header{{Name: name, Value: value}}, DelayMS: delay,
			Rules: []schema.ResponseRule{{PathPrefix: prefix, Status: status, Headers: []schema.Header{{Name: name, Value: value}}}}}
		if ValidateResponse(&rc) != nil {
			return
		}
		if status != 0 && (status < 200 || status > 599) {
			t.Fatalf("status %d accepted", status)
		}
		for _, s := range []string{name, value, prefix} {
			for i := 0; i < len(s); i++ {
				if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
					t.Fatalf("control character %#x accepted in %q", c, s)
				}
			}
		}
		if strings.ContainsAny(name, " \t:") {
			t.Fatalf("header name %q accepted", name)
		}
	})
}
