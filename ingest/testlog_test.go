package ingest

import (
	"testing"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
)

// openTestLog opens the real segment-file log in dir (capBytes 0: the
// default cap), closed at the end of the test.
func openTestLog(t testing.TB, dir string, capBytes int64) caplog.Log {
	t.Helper()
	l, err := disklog.Open(dir, disklog.Options{MaxBytes: capBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openBenchLog(b *testing.B, dir string, fast bool) caplog.Log {
	b.Helper()
	ack := disklog.AckDurable
	if fast {
		ack = disklog.AckFast
	}
	l, err := disklog.Open(dir, disklog.Options{Ack: ack})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}
