package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

const crashChildEnv = "HOOKSCOPE_SQLITE_CRASH_CHILD"

// TestCrashKeepsCommitted runs a child process that writes batches and then
// kills itself with SIGKILL without closing the store: every batch whose
// WriteRequests returned nil must be there when the parent reopens the file.
func TestCrashKeepsCommitted(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashKeepsCommitted$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	var committed int
	for _, line := range strings.Split(string(out), "\n") {
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			fmt.Sscan(n, &committed)
		}
	}
	if committed == 0 {
		t.Fatalf("child reported nothing committed:\n%s", out)
	}
	s := openTemp(t, dir)
	defer s.Close()
	n, err := s.CountRequests(t.Context(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(committed) {
		t.Errorf("after SIGKILL: %d requests on disk, child committed %d", n, committed)
	}
	if _, err := s.GetBin(t.Context(), "crash"); err != nil {
		t.Errorf("bin lost: %v", err)
	}
}

func crashChild(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(dir, "hookscope.db"), Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	if err := s.CreateBin(ctx, &schema.Bin{ID: "crash", CreatedAt: time.Now()}); err != nil {
		fmt.Println("create bin:", err)
		os.Exit(2)
	}
	committed := 0
	start := time.Now().Add(-time.Hour)
	for i := range 5 {
		reqs := benchRequests("crash", start.Add(time.Duration(i)*time.Second), 1000)
		if err := s.WriteRequests(ctx, reqs); err != nil {
			fmt.Println("write:", err)
			os.Exit(2)
		}
		committed += len(reqs)
		fmt.Printf("committed %d\n", committed)
	}
	os.Stdout.Sync()
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
