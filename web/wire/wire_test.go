package wire

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func sample(body []byte) *schema.Request {
	return &schema.Request{
		ID: uuid.Must(uuid.NewV7()), BinID: "b", ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Method: "POST", Path: "/x", Query: "a=1", RemoteIP: "192.0.2.1", ContentType: "application/octet-stream",
		Headers: []schema.Header{{Name: "X-A", Value: "1"}, {Name: "x-a", Value: "2"}}, Body: body, BodySize: int64(len(body)),
		ResponseStatus: 200, Signature: schema.Signature{Scheme: "stripe", Status: schema.SigValid},
	}
}

// TestFullRoundTrip: what the server encodes, a client decodes back into
// the same record, binary bodies included.
func TestFullRoundTrip(t *testing.T) {
	for _, body := range [][]byte{[]byte(`{"ok":true}`), {0xff, 0x00, 0xfe}, nil} {
		r := sample(body)
		b, err := json.Marshal(Full(r))
		if err != nil {
			t.Fatal(err)
		}
		var v Request
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		got, err := v.Record()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != r.ID || got.Method != r.Method || !bytes.Equal(got.Body, r.Body) || len(got.Headers) != 2 ||
			got.Headers[1] != r.Headers[1] || !got.ReceivedAt.Equal(r.ReceivedAt) || got.Signature != r.Signature {
			t.Errorf("round trip of %q: %+v", body, got)
		}
	}
}

// TestLiveMarksReplays: replay_of is set on a replay's record only (the
// marker header alone, without forward.mode "replay", is a sender's header).
func TestLiveMarksReplays(t *testing.T) {
	orig := uuid.Must(uuid.NewV7())
	plain := sample(nil)
	forged := sample(nil)
	forged.Headers = append(forged.Headers, schema.Header{Name: ReplayHeader, Value: orig.String()})
	replay := sample(nil)
	replay.Headers = append(replay.Headers, schema.Header{Name: ReplayHeader, Value: orig.String()})
	replay.Forward = &schema.Forward{Mode: "replay", Status: 204}
	for name, tt := range map[string]struct {
		r    *schema.Request
		want *uuid.UUID
	}{"capture": {plain, nil}, "sender's forged header": {forged, nil}, "replay": {replay, &orig}} {
		var m Live
		if err := json.Unmarshal(EncodeLive(tt.r), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != LiveRequest || m.Request == nil || m.Request.ID != tt.r.ID {
			t.Fatalf("%s: message %+v", name, m)
		}
		if (m.Request.ReplayOf == nil) != (tt.want == nil) || (tt.want != nil && *m.Request.ReplayOf != *tt.want) {
			t.Errorf("%s: replay_of %v, want %v", name, m.Request.ReplayOf, tt.want)
		}
		if m.Request.BodyPreview == nil || m.Request.Body != nil {
			t.Errorf("%s: a live message carries a preview, not the body", name)
		}
	}
}
