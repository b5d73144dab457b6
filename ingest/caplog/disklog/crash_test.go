package disklog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

const (
	crashEnvDir = "CAPLOG_CRASH_DIR"
	crashEnvAck = "CAPLOG_CRASH_ACK"
)

// TestCrashChild is the process the crash test kills: it appends from 8
// goroutines and prints "A <id>" after each Append returned nil, while a
// consumer fetches and prints "C <position>" after each Commit returned
// nil. It runs only when started by TestCrashKill9.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("started by TestCrashKill9 only")
	}
	mode, prealloc := strings.CutSuffix(os.Getenv(crashEnvAck), "-prealloc")
	ack, err := ParseAckMode(mode)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, Options{Ack: ack, SegmentBytes: 256 << 10, Retention: 24 * time.Hour, Preallocate: prealloc})
	if err != nil {
		t.Fatal(err)
	}
	var out sync.Mutex
	say := func(s string) {
		out.Lock()
		os.Stdout.WriteString(s + "\n")
		out.Unlock()
	}
	c, err := l.Consumer(context.Background(), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			b, err := c.Fetch(context.Background(), 200)
			if err != nil {
				return
			}
			if c.Commit(context.Background(), b) == nil {
				say(fmt.Sprintf("C %d", b.Last()))
			}
		}
	}()
	say("READY")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := mkEntry(g*1000000+i, 1024)
				if err := l.Append(context.Background(), e); err != nil {
					say("E " + err.Error())
					return
				}
				say("A " + e.ID.String())
			}
		})
	}
	wg.Wait() // never returns: the parent kills the process
}

// TestCrashKill9: 10 rounds of a child process appending concurrently,
// killed with SIGKILL at a random point; after each round the log is opened
// again and every acknowledged record must be there exactly once, and the
// consumer's persisted position must not be behind any commit it reported.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	for _, mode := range []string{"durable", "fast", "durable-prealloc"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			acked := map[uuid.UUID]bool{}
			var committed, torn uint64
			for round := range 10 {
				n, c := crashRound(t, dir, mode, rand.IntN(3000)+1)
				for _, id := range n {
					acked[id] = true
				}
				committed = max(committed, c)
				torn += verifyAfterCrash(t, dir, acked, committed, round)
			}
			t.Logf("%d acknowledged records over 10 kills; %d torn tails repaired", len(acked), torn)
		})
	}
}

// crashRound starts the child, lets it acknowledge `after` records, kills it
// and returns what it acknowledged and the highest commit it reported.
func crashRound(t *testing.T, dir string, mode string, after int) ([]uuid.UUID, uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvAck+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	var ids []uuid.UUID
	var committed uint64
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "A "):
			id, err := uuid.Parse(line[2:])
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			ids = append(ids, id)
		case strings.HasPrefix(line, "C "):
			p, err := strconv.ParseUint(line[2:], 10, 64)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			committed = max(committed, p)
		case strings.HasPrefix(line, "E "):
			t.Fatalf("child append failed: %s", line)
		}
		if len(ids) >= after && !killed {
			// SIGKILL mid-stream: appends, syncs and commits are in flight.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if !killed {
		t.Fatalf("child ended after %d acknowledgements without being killed", len(ids))
	}
	_ = cmd.Wait()
	return ids, committed
}

// verifyAfterCrash returns how many torn tails the reopen cut off.
func verifyAfterCrash(t *testing.T, dir string, acked map[uuid.UUID]bool, committed uint64, round int) uint64 {
	t.Helper()
	l, err := Open(dir, Options{Retention: 24 * time.Hour})
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer l.Close()
	seen := map[uuid.UUID]int{}
	for _, r := range readAll(t, l) {
		seen[r.ID]++
		if seen[r.ID] > 1 {
			t.Fatalf("round %d: record %s stored twice", round, r.ID)
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("round %d: acknowledged record %s lost", round, id)
		}
	}
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Position(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if uint64(p) < committed {
		t.Fatalf("round %d: consumer position %d behind its reported commit %d", round, p, committed)
	}
	_ = c.Close()
	if n := l.Metrics().CorruptFrames.Load(); n != 0 {
		t.Fatalf("round %d: a kill -9 left %d damaged regions (only a torn tail is expected)", round, n)
	}
	return l.Metrics().TornTruncations.Load()
}
