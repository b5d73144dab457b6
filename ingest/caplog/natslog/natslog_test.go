package natslog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
)

// With its only NATS server gone, Append fails with ErrUnavailable (capture
// answers 503) instead of hanging or claiming durability; once the server is
// back, appends succeed again on the same Log.
func TestUnavailableThenBack(t *testing.T) {
	c := natstest.Start(t, 1)
	l := opener(c, Options{AckTimeout: time.Second})(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	e := caplog.Entry{Key: "bin", ID: uuid.Must(uuid.NewV7()), Data: []byte("x")}
	if err := l.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	c.Stop(c.Nodes[0])
	e.ID = uuid.Must(uuid.NewV7())
	if err := l.Append(ctx, e); !errors.Is(err, caplog.ErrUnavailable) {
		t.Fatalf("append with nats down: %v, want ErrUnavailable", err)
	}
	c.Restart(c.Nodes[0])
	c.WaitReady()
	for {
		err := l.Append(ctx, e)
		if err == nil {
			break
		}
		if !errors.Is(err, caplog.ErrUnavailable) {
			t.Fatalf("append after restart: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("appends still failing 30s after the server came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
