// Package chtest runs throw-away ClickHouse servers for tests.
//
// Start returns the server shared by the whole test binary (started on first
// use, stopped by Main); StartOwn starts a private one that a fault test may
// kill and restart. When HOOKSCOPE_TEST_CLICKHOUSE_URL is set, tests use that
// server instead of starting one (fault tests then skip). When no server
// binary is found, tests skip loudly, unless the environment variable CI is
// set, in which case they fail.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// EnvURL names an existing server to use instead of a throw-away one,
// e.g. clickhouse://127.0.0.1:9000 (the path, if any, is ignored).
const EnvURL = "HOOKSCOPE_TEST_CLICKHOUSE_URL"

// EnvBinary overrides the server binary (clickhouse-server or clickhouse).
const EnvBinary = "HOOKSCOPE_CLICKHOUSE_SERVER"

// ReadyTimeout bounds how long a start waits for the server to answer.
const ReadyTimeout = 60 * time.Second

// Server is a running ClickHouse server.
type Server struct {
	// Addr is host:port of the native protocol.
	Addr string

	external bool
	dir      string // config, data and logs
	bin      []string
	httpPort int

	mu  sync.Mutex
	cmd *exec.Cmd
	out *os.File
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Main runs the tests of a package and stops the shared server afterwards.
// Use it from TestMain: func TestMain(m *testing.M) { chtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil && !shared.external {
		shared.Stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// Start returns the server shared by the test binary, starting it on first
// use. Tests must not kill it; each test should use its own database
// (see Database) or its own bins.
func Start(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared, sharedErr = external(u)
			return
		}
		shared, sharedErr = launch()
	})
	if sharedErr != nil {
		unavailable(t, sharedErr)
	}
	return shared
}

// StartOwn starts a private server for t, stopped and removed at cleanup.
// It may be killed and restarted. With EnvURL set, the test skips: an
// external server cannot be killed.
func StartOwn(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		t.Skipf("chtest: %s is set; a private server is needed to kill and restart it", EnvURL)
	}
	s, err := launch()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(s.dir)
	})
	return s
}

var errNoBinary = errors.New("no ClickHouse server binary found")

func unavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoBinary) && os.Getenv("CI") == "" {
		t.Skipf("\n"+
			"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"+
			"!!! SKIPPED: ClickHouse tests did NOT run: %v\n"+
			"!!! Install one (Debian: apt-get install -y clickhouse-server), set %s to the\n"+
			"!!! binary, or set %s=clickhouse://host:9000 to use a running server.\n"+
			"!!! CI never skips: with CI set this is a failure.\n"+
			"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
			err, EnvBinary, EnvURL)
	}
	t.Fatalf("chtest: %v", err)
}

func external(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s=%q: want clickhouse://host:port", EnvURL, raw)
	}
	s := &Server{Addr: u.Host, external: true}
	if err := s.waitReady(ReadyTimeout); err != nil {
		return nil, err
	}
	return s, nil
}

// DSN returns a clickhouse:// URL for database db on the server.
func (s *Server) DSN(db string) string {
	return "clickhouse://" + s.Addr + "/" + db
}

// Database returns the DSN of a fresh, unique database name for t (not yet
// created: the store creates it). The database is dropped at cleanup.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := s.conn(); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
			conn.Close()
		}
	})
	return s.DSN(name)
}

func findBinary() ([]string, error) {
	if b := os.Getenv(EnvBinary); b != "" {
		if strings.HasSuffix(filepath.Base(b), "clickhouse") {
			return []string{b, "server"}, nil
		}
		return []string{b}, nil
	}
	for _, name := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return []string{p}, nil
		}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, fmt.Errorf("%w (looked for clickhouse-server in PATH, /usr/sbin, /usr/bin, and clickhouse)", errNoBinary)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launch() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookscope-chtest-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		tcp, err1 := freePort()
		http, err2 := freePort()
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(tcp), dir: dir, bin: bin, httpPort: http}
		if err := s.writeConfig(tcp); err != nil {
			return nil, err
		}
		if lastErr = s.run(); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

const configXML = `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>{{dir}}/log/server.log</log>
    <errorlog>{{dir}}/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{{tcp}}</tcp_port>
  <http_port>{{http}}</http_port>
  <path>{{dir}}/data/</path>
  <tmp_path>{{dir}}/tmp/</tmp_path>
  <user_files_path>{{dir}}/user_files/</user_files_path>
  <format_schema_path>{{dir}}/format_schemas/</format_schema_path>
  <users_config>{{dir}}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`

func (s *Server) writeConfig(tcp int) error {
	r := strings.NewReplacer("{{dir}}", s.dir, "{{tcp}}", strconv.Itoa(tcp), "{{http}}", strconv.Itoa(s.httpPort))
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("config dir: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.dir, "config.xml"), []byte(r.Replace(configXML)), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	return nil
}

// run starts the process and waits until it answers.
func (s *Server) run() error {
	out, err := os.OpenFile(filepath.Join(s.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	args := append(append([]string{}, s.bin[1:]...), "--config-file="+filepath.Join(s.dir, "config.xml"))
	cmd := exec.Command(s.bin[0], args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	// The server dies with the test binary even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", s.bin[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()

	ready := make(chan error, 1)
	go func() { ready <- s.waitReady(ReadyTimeout) }()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			return fmt.Errorf("%w; server log: %s", err, s.logTail())
		}
		// Reap the process in the background; Stop/Kill wait on done.
		go func() { <-exited }()
		return nil
	case err := <-exited:
		return fmt.Errorf("clickhouse-server exited at start-up (%v); server log: %s", err, s.logTail())
	}
}

func (s *Server) logTail() string {
	var b []byte
	for _, f := range []string{"stdout.log", "server.err.log"} {
		d, _ := os.ReadFile(filepath.Join(s.dir, "log", f))
		if len(d) > 2000 {
			d = d[len(d)-2000:]
		}
		b = append(b, d...)
	}
	return string(b)
}

func (s *Server) conn() (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.Addr},
		DialTimeout: 2 * time.Second,
	})
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var conn clickhouse.Conn
		if conn, err = s.conn(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = conn.Ping(ctx)
			cancel()
			conn.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse at %s not ready after %v: %w", s.Addr, timeout, err)
}

// Kill stops the server with SIGKILL (a crash) and waits until it is gone.
func (s *Server) Kill() { s.signal(syscall.SIGKILL, 10*time.Second) }

// Stop stops the server with SIGTERM and waits (SIGKILL after 30 s).
func (s *Server) Stop() { s.signal(syscall.SIGTERM, 30*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || s.external {
		return
	}
	syscall.Kill(-cmd.Process.Pid, sig)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// Restart starts a stopped or killed server again on the same ports and
// data directory and waits until it answers.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.external {
		t.Fatal("chtest: cannot restart an external server")
	}
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatal("chtest: Restart of a running server; Kill or Stop it first")
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ { // the port may linger briefly
		if err = s.run(); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("chtest: restart: %v", err)
}
