package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// spoolFrame encodes a batch as the removed spool wrote it.
func spoolFrame(t *testing.T, batch []*schema.Request) []byte {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(batch); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 8, 8+buf.Len())
	frame = append(frame, buf.Bytes()...)
	binary.BigEndian.PutUint32(frame[0:4], uint32(len(frame)-8))
	binary.BigEndian.PutUint32(frame[4:8], crc32.Checksum(frame[8:], crc32.MakeTable(crc32.Castagnoli)))
	return frame
}

// TestMigrateSpool: what an older version left in its spool (two segments,
// the second with a torn tail) reaches the store through the log, in
// order, and the spool directory is gone.
func TestMigrateSpool(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	var want []uuid.UUID
	mk := func(i int) *schema.Request {
		id, _ := uuid.NewV7()
		want = append(want, id)
		return &schema.Request{ID: id, BinID: "b1", ReceivedAt: schema.Truncate(time.Now()), Method: "POST", Path: "/",
			Body: []byte{byte(i), 0, 0xff}, BodySize: 3}
	}
	seg1 := append(spoolFrame(t, []*schema.Request{mk(0), mk(1)}), spoolFrame(t, []*schema.Request{mk(2)})...)
	seg2 := spoolFrame(t, []*schema.Request{mk(3)})
	seg2 = append(seg2, spoolFrame(t, []*schema.Request{{ID: uuid.New(), BinID: "b1"}})[:12]...) // torn: never answered
	if err := os.WriteFile(filepath.Join(spool, "00000000000000000001.seg"), seg1, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spool, "00000000000000000002.seg"), seg2, 0o600); err != nil {
		t.Fatal(err)
	}

	l := openTestLog(t, filepath.Join(dir, "log"), 0)
	n, err := MigrateSpool(context.Background(), spool, l, nil)
	if err != nil || n != 4 {
		t.Fatalf("migrated %d, %v; want 4", n, err)
	}
	if _, err := os.Stat(spool); !os.IsNotExist(err) {
		t.Fatalf("spool dir still there: %v", err)
	}
	w := newMemWriter()
	c, err := StartConsumers(context.Background(), l, w, nil, nil, ConsumerOptions{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	waitUntil(t, "4 stored", func() bool { return w.count() == 4 })
	order, _, _ := w.snapshot()
	for i, id := range want {
		if order[i] != id || w.rows[id].Body[0] != byte(i) {
			t.Fatalf("request %d: stored %v", i, order)
		}
	}
	if n, err := MigrateSpool(context.Background(), spool, l, nil); n != 0 || err != nil {
		t.Fatalf("second migration: %d %v", n, err)
	}
}
