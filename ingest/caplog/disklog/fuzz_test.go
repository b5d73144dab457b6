package disklog

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

var fuzzSalt = []byte("fuzzsalt")

// fuzzFrames encodes n small records with the fuzz salt's seed.
func fuzzFrames(n int) []byte {
	seed := seedOf(fuzzSalt)
	var b []byte
	for i := range n {
		e := caplog.Entry{Key: "bin-" + string(rune('a'+i)), ID: uuid.NewSHA1(uuid.Nil, []byte{byte(i)}), Data: bytes.Repeat([]byte{byte(i)}, i*7)}
		b = appendFrame(b, seed, uint64(i+1), int64(1e18+i), &e)
	}
	return b
}

// FuzzDecodeFrame: any bytes decode without panicking or allocating by a
// length field; a frame that decodes re-encodes to the same bytes; the
// scanner over any bytes terminates, advances, and reports damage inside
// the input.
func FuzzDecodeFrame(f *testing.F) {
	good := fuzzFrames(3)
	f.Add(good)
	f.Add(good[:len(good)-3])
	bad := slices.Clone(good)
	bad[40] ^= 1
	f.Add(bad)
	f.Add(append(bytes.Repeat([]byte{0}, 40), good...))
	f.Add([]byte("HCF1"))
	seed := seedOf(fuzzSalt)
	const maxPayload = 1 << 16
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, size, err := decodeFrame(b, seed, maxPayload)
		if err == nil {
			if size > len(b) || size < frameHeaderLen+minPayload {
				t.Fatalf("frame size %d of %d bytes", size, len(b))
			}
			e := caplog.Entry{Key: string(fr.key), ID: fr.id, Data: fr.data}
			again := appendFrame(nil, seed, fr.seq, fr.nanos, &e)
			if !bytes.Equal(again, b[:size]) {
				t.Fatal("decoded frame does not re-encode to its bytes")
			}
		} else if err == errBadPayload && (size < frameHeaderLen || size > len(b)) {
			t.Fatalf("bad payload with size %d of %d", size, len(b))
		}

		var last int64 = 0
		sc := &scanner{r: bytes.NewReader(b), seed: seed, maxPayload: maxPayload, end: int64(len(b)),
			corrupt: func(off, n int64, _ error) {
				if off < last || n <= 0 || off+n > int64(len(b)) {
					t.Fatalf("damage report [%d,+%d) out of order or bounds (last %d, len %d)", off, n, last, len(b))
				}
				last = off + n
			}}
		for steps := 0; ; steps++ {
			if steps > len(b)+1 {
				t.Fatal("scanner does not advance")
			}
			before := sc.pos
			_, err := sc.next()
			if err == io.EOF || err == errNoMoreFrame {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.pos <= before || sc.pos > int64(len(b)) {
				t.Fatalf("scanner moved from %d to %d", before, sc.pos)
			}
			last = sc.pos
		}
	})
}

// FuzzOpenSegment: a segment with any content opens without panicking;
// what the first open accepts is stable (a second open reads the same
// records), and an append after it reads back exactly once.
func FuzzOpenSegment(f *testing.F) {
	good := fuzzFrames(4)
	f.Add(good)
	f.Add(good[:len(good)-5])
	mid := slices.Clone(good)
	mid[frameHeaderLen+3] ^= 0x80
	f.Add(mid)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(fuzzOpenBody)
}

func fuzzOpenBody(t *testing.T, body []byte) {
	{
		dir := fastTempDir(t)
		seg := append(append([]byte(segMagic), fuzzSalt...), body...)
		if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o640); err != nil {
			t.Fatal(err)
		}
		opts := Options{MaxRecordBytes: 1 << 16}
		l, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		first := readQuick(t, l)
		e := caplog.Entry{Key: "after", ID: uuid.New(), Data: []byte("appended")}
		if err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l, err = Open(dir, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l.Close()
		second := readQuick(t, l)
		if len(second) != len(first)+1 {
			t.Fatalf("first open read %d records, second %d (want one more)", len(first), len(second))
		}
		for i, r := range first {
			if r.ID != second[i].ID || r.Position != second[i].Position || !bytes.Equal(r.Data, second[i].Data) {
				t.Fatalf("record %d changed between opens", i)
			}
		}
		if got := second[len(second)-1]; got.ID != e.ID || string(got.Data) != "appended" {
			t.Fatal("appended record not read back last")
		}
	}
}

// readQuick reads every visible record without waiting: a cursor's read
// does not block.
func readQuick(t *testing.T, l *Log) []caplog.Record {
	t.Helper()
	c, err := l.startCursor(caplog.FromOldest())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var out []caplog.Record
	for {
		recs, err := c.read(1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
	}
}

// fastTempDir is a temporary directory on tmpfs when there is one: fsync is
// free there, so the fuzzer runs thousands of opens instead of a handful
// on a shared disk. The format and recovery logic are the same.
func fastTempDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "caplog-fuzz-"); err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
