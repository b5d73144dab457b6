package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookscope/hookscope/web/wire"
)

// proc is a server the harness started: hookscope or the ceiling.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string
	dir  string // hookscope's data dir ("" for the ceiling)
	log  *os.File
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// pinned prefixes argv with taskset when the harness pins processes.
func pinned(cpus string, argv []string) []string {
	if cpus == "" {
		return argv
	}
	return append([]string{"taskset", "-c", cpus}, argv...)
}

// startHookscope starts the hookscope binary on a free loopback port with
// dataDir (created when missing) and extra environment.
func (h *harness) startHookscope(name, dataDir string, env ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	argv := pinned(h.serverCPUs, []string{h.hookscopeBin})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"HOOKSCOPE_ADDR="+addr,
		"HOOKSCOPE_DATA_DIR="+dataDir,
		"HOOKSCOPE_LOG_LEVEL=warn",
		"HOOKSCOPE_RATE_PER_IP=0", // the load comes from one IP by design
		// The public-instance quotas (issue 18) are per client address too:
		// 50 live subscribers and the harness's polling come from one
		// address, and the byte quota would drop what the count waits for.
		"HOOKSCOPE_QUOTA_LIVE_PER_IP=0",
		"HOOKSCOPE_QUOTA_LIVE_PER_BIN=0",
		"HOOKSCOPE_QUOTA_READ_RATE=0",
		"HOOKSCOPE_QUOTA_BYTES_PER_BIN=0",
	)
	cmd.Env = append(cmd.Env, env...)
	p := &proc{name: name, cmd: cmd, addr: addr, dir: dataDir}
	return p, h.launch(p, "/healthz")
}

// startCeiling starts the bare Fiber server; with logDir set, the durable
// ceiling (bench/ceiling -log: every answer waits for a capture log's group
// commit).
func (h *harness) startCeiling(name, logDir string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{h.ceilingBin, "-addr", addr}
	if logDir != "" {
		args = append(args, "-log", logDir)
	}
	argv := pinned(h.serverCPUs, args)
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), addr: addr}
	return p, h.launch(p, "/h/ready")
}

func (h *harness) launch(p *proc, readyPath string) error {
	f, err := os.Create(h.tmpPath(p.name + ".log"))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	p.log = f
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.addr + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	b, _ := os.ReadFile(f.Name())
	return fmt.Errorf("%s did not become ready: %s", p.name, lastLines(string(b), 5))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// pid is the server's own pid (taskset execs it, so the pid is kept).
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM (hookscope flushes its batcher) and waits.
func (p *proc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	if p.log != nil {
		p.log.Close()
	}
}

// procStatus reads kB fields (VmRSS, VmHWM) from /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// cpuTime is the user+system CPU time the process has used so far
// (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// createBin makes a bin through the API and returns its id.
func createBin(addr string) (string, error) {
	resp, err := http.Post("http://"+addr+"/api/v1/bins", "application/json", strings.NewReader(`{"name":"bench","expires_in":null}`))
	if err != nil {
		return "", fmt.Errorf("create bin: %w", err)
	}
	defer resp.Body.Close()
	var out wire.Bin
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ID == "" {
		return "", fmt.Errorf("create bin: status %d: %v", resp.StatusCode, err)
	}
	return out.ID, nil
}

// requestCount is the bin's stored request count.
func requestCount(ctx context.Context, addr, bin string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/bins/"+bin, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out wire.Bin
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || out.RequestCount == nil {
		return 0, fmt.Errorf("bin count: %s: %v", b, err)
	}
	return *out.RequestCount, nil
}

// waitPersisted polls the bin's count until it reaches want or stops
// moving, and returns the last count.
func waitPersisted(addr, bin string, want int64) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var last int64 = -1
	stable := 0
	for ctx.Err() == nil {
		n, err := requestCount(ctx, addr, bin)
		if err == nil {
			if n >= want {
				return n
			}
			if n == last {
				stable++
				if stable >= 30 { // 3 s without progress: a stalled writer, not a finished one
					return n
				}
			} else {
				stable = 0
			}
			last = n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}
