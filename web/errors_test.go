package web

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/search"
	"github.com/hookscope/hookscope/web/wire"
)

// TestMapError: every kind of error the handlers return, wrapped as the
// services wrap them, gets its status and a public message; internals never
// reach the message.
func TestMapError(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:9000: connection refused (password=hunter2)")
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{errorf(401, "authentication required"), 401, "authentication required"},
		{fmt.Errorf("update bin: %w", &bins.FieldError{Field: "response", Msg: "status: must be a final status"}), 400, "response: status: must be a final status"},
		{&query.ParamError{Param: "limit", Msg: "too big"}, 400, `parameter "limit": too big`},
		{fmt.Errorf("get bin: %w", schema.ErrNotFound), 404, "not found"},
		{fmt.Errorf("list requests: %w: q: %w", schema.ErrInvalid, &search.SyntaxError{Pos: 3, Msg: "unterminated quote"}), 400,
			`parameter "q": syntax error at position 3: unterminated quote`},
		{fmt.Errorf("replay: %w", ingest.ErrUnknownBin), 404, "bin not found"},
		{&ingest.InputError{Param: "url", Msg: "must be http"}, 400, "url: must be http"},
		{ingest.ErrForwardingDisabled, 501, "forwarding is not enabled on this server"},
		{fmt.Errorf("%w: kind: unknown", schema.ErrInvalid), 400, "kind: unknown"},
		{schema.ErrInvalid, 400, "invalid request"},
		{fmt.Errorf("create bin: %w", schema.ErrConflict), 409, "already exists"},
		{fmt.Errorf("list: %w: %w", schema.ErrUnavailable, secret), 503, "storage unavailable; retry later"},
		{fmt.Errorf("stats: %w", context.DeadlineExceeded), 503, "storage unavailable; retry later"},
		{secret, 500, "internal error"},
	}
	for _, tt := range tests {
		status, msg := mapError(tt.err)
		if status != tt.status || msg != tt.msg {
			t.Errorf("mapError(%v) = %d %q, want %d %q", tt.err, status, msg, tt.status, tt.msg)
		}
	}
}

// The record's replay marker is written by ingest and read by the views.
func TestReplayHeaderAgrees(t *testing.T) {
	if wire.ReplayHeader != ingest.ReplayHeader {
		t.Fatalf("wire reads %q, ingest writes %q", wire.ReplayHeader, ingest.ReplayHeader)
	}
}
