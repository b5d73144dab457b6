package natslog

import (
	"testing"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
)

// BenchmarkAppendParallel: capture's use of the log, one 1 KiB entry per
// Append from many goroutines (each waits for its PubAck), on one node and
// on a 3-node cluster with 3 replicas.
func BenchmarkAppendParallel(b *testing.B) {
	for _, tc := range []struct {
		name            string
		nodes, replicas int
	}{{"node1", 1, 1}, {"cluster3R3", 3, 3}} {
		b.Run(tc.name, func(b *testing.B) {
			c := natstest.Start(b, tc.nodes)
			nc, err := Connect(c.URLs())
			if err != nil {
				b.Fatal(err)
			}
			l, err := Open(b.Context(), nc, Options{Replicas: tc.replicas, Stream: "BENCH", Subject: "bench.cap"})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			data := make([]byte, 1024)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Append(b.Context(), caplog.Entry{Key: "bin", ID: uuid.Must(uuid.NewV7()), Data: data}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
