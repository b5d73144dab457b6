package schematest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// testGetRequests: GetRequests answers exactly what GetRequest answers for
// each id, in the order asked, once per id; it leaves out ids it does not
// hold in the bin (unknown, of another bin, deleted) and finds both
// requests captured now (ids carrying their time) and requests whose ids
// do not carry it (imports: a v4 id, a v7 id minted hours off).
func testGetRequests(t *testing.T, s schema.Store) {
	ctx := t.Context()
	bin, other := newBin(t, s), newBin(t, s)
	now := time.Now().UTC()
	var reqs []*schema.Request
	for i, size := range []int{0, 10, schema.PreviewBytes, schema.PreviewBytes + 1, 5000, 64 << 10} {
		// As captured: ReceivedAt is the id's time.
		r := req(t, bin.ID, now.Add(time.Duration(i-10)*time.Millisecond))
		if ts, ok := schema.IDTime(r.ID); ok {
			r.ReceivedAt = schema.Truncate(ts.Add(time.Duration(i) * time.Microsecond))
		}
		r.Body = bytes.Repeat([]byte{byte('a' + i), 0, 0xff}, size/3+1)[:size]
		r.BodySize = int64(size)
		reqs = append(reqs, r)
	}
	old := req(t, bin.ID, baseTime()) // a v7 id three hours from its ReceivedAt
	old.Body = bytes.Repeat([]byte("o"), 3000)
	old.BodySize = 3000
	v4 := req(t, bin.ID, baseTime().Add(time.Second))
	v4.ID = uuid.New()
	trunc := req(t, bin.ID, now)
	trunc.Body = bytes.Repeat([]byte("t"), 1000)
	trunc.BodySize, trunc.BodyTruncated = 9000, true
	gone := req(t, bin.ID, now)
	foreign := req(t, other.ID, now)
	reqs = append(reqs, old, v4, trunc, gone)
	write(t, s, reqs...)
	write(t, s, foreign)
	if err := s.DeleteRequest(ctx, bin.ID, gone.ID); err != nil {
		t.Fatalf("DeleteRequest: %v", err)
	}

	// Asked in a mixed order, with a repeat and ids the bin does not hold.
	ask := []uuid.UUID{reqs[4].ID, old.ID, newV7(t), reqs[0].ID, foreign.ID, v4.ID, reqs[4].ID, gone.ID, trunc.ID,
		reqs[5].ID, reqs[1].ID, reqs[2].ID, reqs[3].ID, uuid.New()}
	want := []*schema.Request{reqs[4], old, reqs[0], v4, trunc, reqs[5], reqs[1], reqs[2], reqs[3]}
	got, err := s.GetRequests(ctx, bin.ID, ask)
	if err != nil {
		t.Fatalf("GetRequests: %v", err)
	}
	equalIDs(t, "GetRequests", ids(got), ids(want))
	for i, w := range want {
		if i >= len(got) {
			break
		}
		checkRequest(t, got[i], w, w.Body)
		one, err := s.GetRequest(ctx, bin.ID, w.ID)
		if err != nil {
			t.Fatalf("GetRequest(%s): %v", w.ID, err)
		}
		if !reflect.DeepEqual(got[i], one) {
			t.Errorf("GetRequests[%d] = %+v\nGetRequest    = %+v", i, got[i], one)
		}
	}

	// The other bin sees only its own.
	if got, err := s.GetRequests(ctx, other.ID, ask); err != nil || len(got) != 1 || got[0].ID != foreign.ID {
		t.Errorf("other bin: GetRequests = %v, %v; want only %s", ids(got), err, foreign.ID)
	}
	// No ids: nothing, no error.
	if got, err := s.GetRequests(ctx, bin.ID, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: GetRequests = %d requests, %v", len(got), err)
	}
	// The bound: MaxGetRequests ids are one call, one more is ErrInvalid.
	many := make([]uuid.UUID, schema.MaxGetRequests)
	for i := range many {
		many[i] = newV7(t)
	}
	many[len(many)-1] = reqs[3].ID
	if got, err := s.GetRequests(ctx, bin.ID, many); err != nil || len(got) != 1 || got[0].ID != reqs[3].ID {
		t.Errorf("%d ids: GetRequests = %v, %v; want only %s", len(many), ids(got), err, reqs[3].ID)
	}
	if got, err := s.GetRequests(ctx, bin.ID, append(many, newV7(t))); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("%d ids: GetRequests = %d requests, %v; want ErrInvalid", len(many)+1, len(got), err)
	}
}
