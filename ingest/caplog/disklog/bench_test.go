package disklog

import (
	"context"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

// BenchmarkAppend: 16 concurrent appenders of 1 KB entries, one entry per
// Append (as capture does), durable and fast, on the data disk and on
// tmpfs (where fsync is free: the CPU cost of the log alone). Reports
// appends per fdatasync: the group-commit factor.
//
// The -think variants pause 200µs between an appender's appends, off CPU,
// as an HTTP client's round trip does between a 2xx and its next request:
// that is what splits appenders into alternating cohorts and what gathering
// (flushLoop) merges; -nogather is the same without gathering.
//
//	go test -run '^$' -bench BenchmarkAppend -benchtime 20000x ./ingest/caplog/disklog
func BenchmarkAppend(b *testing.B) {
	for _, disk := range []string{"disk", "tmpfs"} {
		for _, v := range []struct {
			name     string
			mode     AckMode
			prealloc bool
			think    time.Duration
			noGather bool
		}{
			{name: "durable", mode: AckDurable},
			{name: "durable-prealloc", mode: AckDurable, prealloc: true},
			{name: "durable-prealloc-think", mode: AckDurable, prealloc: true, think: 200 * time.Microsecond},
			{name: "durable-prealloc-think-nogather", mode: AckDurable, prealloc: true, think: 200 * time.Microsecond, noGather: true},
			{name: "fast", mode: AckFast},
		} {
			b.Run(disk+"/"+v.name, func(b *testing.B) {
				dir := b.TempDir()
				if disk == "tmpfs" {
					if _, err := os.Stat("/dev/shm"); err != nil {
						b.Skip("no /dev/shm")
					}
					d, err := os.MkdirTemp("/dev/shm", "caplog-bench-")
					if err != nil {
						b.Skip(err)
					}
					b.Cleanup(func() { os.RemoveAll(d) })
					dir = d
				}
				benchAppend(b, dir, Options{Ack: v.mode, Preallocate: v.prealloc, NoGather: v.noGather}, v.think)
			})
		}
	}
}

func benchAppend(b *testing.B, dir string, opts Options, think time.Duration) {
	opts.MaxBytes, opts.SegmentBytes = 8<<30, 32<<20
	l, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	id := uuid.Must(uuid.NewV7())
	// RunParallel starts parallelism*GOMAXPROCS goroutines: 16 appenders.
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	syncs0, recs0 := l.m.Syncs.Load(), l.m.SyncedRecords.Load()
	b.SetBytes(int64(len(data)))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		e := caplog.Entry{Key: "bench-bin", ID: id, Data: data}
		for pb.Next() {
			if err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
			if think > 0 {
				time.Sleep(think)
			}
		}
	})
	b.StopTimer()
	// The process's CPU per append, kernel time (the fdatasyncs) included:
	// on a shared machine it varies far less than ns/op.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if syncs := l.m.Syncs.Load() - syncs0; syncs > 0 {
		b.ReportMetric(float64(l.m.SyncedRecords.Load()-recs0)/float64(syncs), "appends/sync")
	}
}

// processCPU is the process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsumerFetch: reading the log back in batches of 1000 (what the
// store writer does), per record.
func BenchmarkConsumerFetch(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir, Options{MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, 1024)
	batch := make([]caplog.Entry, 1000)
	for i := range batch {
		batch[i] = caplog.Entry{Key: "bench-bin", ID: uuid.Must(uuid.NewV7()), Data: data}
	}
	for n := 0; n < b.N; n += len(batch) {
		if err := l.Append(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	c, err := l.Consumer(context.Background(), "bench", caplog.ConsumerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for got := 0; got < b.N; {
		bt, err := c.Fetch(context.Background(), 1000)
		if err != nil {
			b.Fatal(err)
		}
		got += len(bt.Records)
		if err := c.Commit(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
}
