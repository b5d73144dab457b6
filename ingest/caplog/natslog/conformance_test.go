package natslog

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/caplogtest"
	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
)

var streamSeq atomic.Int64

// opener opens the stream named fresh for this test on the cluster; each
// call reconnects (a new connection, like a restarted process).
func opener(c *natstest.Cluster, opts Options) caplogtest.Opener {
	if opts.Stream == "" {
		n := streamSeq.Add(1)
		opts.Stream = fmt.Sprintf("T%d", n)
		opts.Subject = fmt.Sprintf("t%d.cap", n)
	}
	return func(t *testing.T) caplog.Log {
		t.Helper()
		nc, err := Connect(c.URLs())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		l, err := Open(ctx, nc, opts)
		if err != nil {
			nc.Close()
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
}

func harness(c *natstest.Cluster, replicas int) caplogtest.Harness {
	return caplogtest.Harness{
		New: func(t *testing.T) caplogtest.Opener {
			return opener(c, Options{Replicas: replicas})
		},
		NewCapped: func(t *testing.T, capBytes int64) caplogtest.Opener {
			return opener(c, Options{Replicas: replicas, MaxBytes: capBytes})
		},
	}
}

func TestConformanceSingleNode(t *testing.T) {
	c := natstest.Start(t, 1)
	caplogtest.Run(t, harness(c, 1))
}

func TestConformanceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("3-node cluster")
	}
	c := natstest.Start(t, 3)
	caplogtest.Run(t, harness(c, 3))
}
