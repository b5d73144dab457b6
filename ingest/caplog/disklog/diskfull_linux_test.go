//go:build linux

package disklog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

// mountTmpfs mounts a small tmpfs for the test (root only) and unmounts it
// at the end; without the privilege the test is skipped.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the disk-full test needs root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// A real ENOSPC: appends fail with ErrUnavailable wrapping ENOSPC (not
// ErrFull, not success), every append that succeeded is in the log exactly
// once (before and after a reopen), and once a consumer commits and
// retention frees segments the log takes appends again.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "log")
	opts := Options{MaxBytes: 64 << 20, SegmentBytes: 128 << 10, Retention: -1}
	l := open(t, dir, opts)
	c, err := l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	acked := map[uuid.UUID]bool{}
	var failures []error
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				e := mkEntry(g*100000+i, 2000)
				err := l.Append(context.Background(), e)
				mu.Lock()
				if err == nil {
					acked[e.ID] = true
				} else {
					failures = append(failures, err)
				}
				stop := len(failures) >= 20
				mu.Unlock()
				if stop {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d appends before the disk filled", len(acked))
	}
	for _, err := range failures {
		if !errors.Is(err, caplog.ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) || errors.Is(err, caplog.ErrFull) {
			t.Fatalf("append on a full disk: %v; want ErrUnavailable wrapping ENOSPC", err)
		}
	}
	if l.Metrics().WriteErrors.Load() == 0 {
		t.Fatal("write errors not counted")
	}
	check := func(l *Log) {
		t.Helper()
		seen := map[uuid.UUID]int{}
		for _, r := range readAll(t, l) {
			seen[r.ID]++
		}
		for id := range acked {
			if seen[id] != 1 {
				t.Fatalf("acknowledged record %s found %d times", id, seen[id])
			}
		}
	}
	check(l)

	// The consumer commits everything: retention deletes the sealed
	// segments (the positions file is written in place, so committing
	// works on a full disk) and appends succeed again.
	for {
		fctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		b, err := c.Fetch(fctx, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break // drained
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx(t), b); err != nil {
			t.Fatalf("commit on a full disk: %v", err)
		}
	}
	if l.Metrics().SegmentsDeleted.Load() == 0 {
		t.Fatal("no segment deleted after the consumer committed everything")
	}
	more := appendN(t, l, 50, 2000)
	for _, e := range more {
		acked[e.ID] = true
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: what was acknowledged is there exactly once (the deleted
	// segments only held committed records, so compare from the
	// consumer's position on).
	l = open(t, dir, opts)
	c, err = l.Consumer(ctx(t), "store", caplog.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]int{}
	for _, r := range readAll(t, l) {
		seen[r.ID]++
	}
	for _, e := range more {
		if seen[e.ID] != 1 {
			t.Fatalf("record appended after the disk freed up found %d times after reopen", seen[e.ID])
		}
	}
	for id, n := range seen {
		if n != 1 || !acked[id] {
			t.Fatalf("record %s: %d copies, acknowledged=%v", id, n, acked[id])
		}
	}
}

// A log directory on a read-only file system cannot be opened: a clear
// ErrUnavailable naming the cause, not a log that accepts and loses.
func TestReadOnlyFileSystem(t *testing.T) {
	mnt := mountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "log")
	l := open(t, dir, Options{})
	appendN(t, l, 5, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
	_, err := Open(dir, Options{})
	if !errors.Is(err, caplog.ErrUnavailable) || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("open on a read-only file system: %v; want ErrUnavailable wrapping EROFS", err)
	}
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
