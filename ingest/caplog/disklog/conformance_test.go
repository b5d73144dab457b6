package disklog

import (
	"testing"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/caplogtest"
)

// opener reopens one directory with opts; each Log it opens is closed at the
// end of the test (closing twice is a no-op).
func opener(dir string, opts Options) caplogtest.Opener {
	return func(t *testing.T) caplog.Log {
		t.Helper()
		l, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("open %s: %v", dir, err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
}

func TestConformance(t *testing.T) {
	for _, v := range []struct {
		name     string
		mode     AckMode
		prealloc bool
	}{{"durable", AckDurable, false}, {"fast", AckFast, false}, {"durable-prealloc", AckDurable, true}} {
		t.Run(v.name, func(t *testing.T) {
			caplogtest.Run(t, caplogtest.Harness{
				New: func(t *testing.T) caplogtest.Opener {
					return opener(t.TempDir(), Options{Ack: v.mode, Preallocate: v.prealloc})
				},
				NewCapped: func(t *testing.T, capBytes int64) caplogtest.Opener {
					return opener(t.TempDir(), Options{Ack: v.mode, Preallocate: v.prealloc, MaxBytes: capBytes, SegmentBytes: capBytes / 8})
				},
			})
		})
	}
}
