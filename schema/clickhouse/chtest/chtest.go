// Package chtest runs throw-away ClickHouse servers for tests and for the
// benchmark harness: Debian's clickhouse-server 18.16 (Legacy) and a modern
// 26.7 (Modern, chDB's library run as a native-protocol server by the small
// C launcher in launcher/, installed by scripts/test.sh), and a replicated
// 18.16 cluster over ZooKeeper (StartCluster).
//
// Each starts a server shared by the whole test binary (started on first use,
// stopped by Main); Each runs a test once per server kind as sub-tests named
// by version ("18.16", "26.7"); StartOwn starts a private server that a fault
// test may kill and restart. When HOOKSCOPE_TEST_CLICKHOUSE_URL is set, tests
// use that server instead of starting one (fault tests then skip). When a
// server binary is missing, tests skip loudly, unless the environment
// variable CI is set, in which case they fail.
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
// e.g. clickhouse://127.0.0.1:9000 (the path, if any, is ignored). Each
// then runs once, on that server, named by its version.
const EnvURL = "HOOKSCOPE_TEST_CLICKHOUSE_URL"

// EnvBinary overrides the 18.16 server binary (clickhouse-server or clickhouse).
const EnvBinary = "HOOKSCOPE_CLICKHOUSE_SERVER"

// EnvModern overrides the modern server's launcher (chlaunch, built by
// scripts/test.sh next to libchdb.so).
const EnvModern = "HOOKSCOPE_CLICKHOUSE_MODERN"

// ModernPackage is the npm package (pinned) whose libchdb.so the launcher
// runs: ClickHouse 26.7.2.1 built as a library.
const ModernPackage = "@chdb/lib-linux-x64-gnu@26.7.3-stable.1"

// ReadyTimeout bounds how long a start waits for the server to answer.
const ReadyTimeout = 60 * time.Second

// Kind is a ClickHouse server this package can start, named by its version.
type Kind string

const (
	// Legacy is Debian's clickhouse-server 18.16.
	Legacy Kind = "18.16"
	// Modern is ClickHouse 26.7 from chDB's library (ModernPackage).
	Modern Kind = "26.7"
)

// Kinds are the servers Each runs against, oldest first.
var Kinds = []Kind{Legacy, Modern}

// Config describes a server to Launch.
type Config struct {
	// Kind picks the server (default Legacy).
	Kind Kind
	// Dir holds config, data and logs; empty: a new temporary directory,
	// removed by Remove.
	Dir string
	// CPUs, when set, pins the server with taskset -c (e.g. "0").
	CPUs string
	// ExtraConfig is XML added inside the server config's root element.
	ExtraConfig string
	// ExtraProfile is XML added inside the default user's profile.
	ExtraProfile string
	// TCPPort is the native port; 0 picks a free one.
	TCPPort int
}

// Server is a running ClickHouse server.
type Server struct {
	// Addr is host:port of the native protocol.
	Addr string
	// Kind is the server it is; Version what it reports (e.g. 26.7.2).
	Kind    Kind
	Version string

	external bool
	ownDir   bool
	dir      string // config, data and logs
	bin      []string
	cpus     string

	mu  sync.Mutex
	cmd *exec.Cmd
}

var (
	sharedMu sync.Mutex
	shared   = map[Kind]*sharedServer{}
)

type sharedServer struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs the tests of a package and stops the shared servers afterwards.
// Use it from TestMain: func TestMain(m *testing.M) { chtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	for _, s := range shared {
		if s.srv != nil && !s.srv.external {
			s.srv.Stop()
			s.srv.Remove()
		}
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// Start returns the 18.16 server shared by the test binary.
func Start(t testing.TB) *Server { return StartKind(t, Legacy) }

// StartKind returns the server of kind k shared by the test binary, starting
// it on first use. Tests must not kill it; each test should use its own
// database (see Database) or its own bins.
func StartKind(t testing.TB, k Kind) *Server {
	t.Helper()
	sharedMu.Lock()
	sh := shared[k]
	if sh == nil {
		sh = &sharedServer{}
		shared[k] = sh
	}
	sharedMu.Unlock()
	sh.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			sh.srv, sh.err = external(u)
			return
		}
		sh.srv, sh.err = Launch(Config{Kind: k})
	})
	if sh.err != nil {
		unavailable(t, k, sh.err)
	}
	return sh.srv
}

// Each runs fn as one sub-test per server kind (named "18.16", "26.7"), on
// the shared server of that kind. With EnvURL set it runs once, on that
// server, named by its version.
func Each(t *testing.T, fn func(t *testing.T, srv *Server)) {
	t.Helper()
	for _, k := range kinds() {
		t.Run(string(k), func(t *testing.T) { fn(t, StartKind(t, k)) })
	}
}

// EachOwn runs fn as one sub-test per server kind on a private server that
// fn may kill and restart (see StartOwn).
func EachOwn(t *testing.T, fn func(t *testing.T, srv *Server)) {
	t.Helper()
	for _, k := range kinds() {
		t.Run(string(k), func(t *testing.T) { fn(t, StartOwnKind(t, k)) })
	}
}

func kinds() []Kind {
	if os.Getenv(EnvURL) != "" {
		return []Kind{"external"}
	}
	return Kinds
}

// StartOwn starts a private 18.16 server for t (see StartOwnKind).
func StartOwn(t testing.TB) *Server { return StartOwnKind(t, Legacy) }

// StartOwnKind starts a private server of kind k for t, stopped and removed
// at cleanup. It may be killed and restarted. With EnvURL set, the test
// skips: an external server cannot be killed.
func StartOwnKind(t testing.TB, k Kind) *Server {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		t.Skipf("chtest: %s is set; a private server is needed to kill and restart it", EnvURL)
	}
	s, err := Launch(Config{Kind: k})
	if err != nil {
		unavailable(t, k, err)
	}
	t.Cleanup(func() {
		s.Stop()
		s.Remove()
	})
	return s
}

var errNoBinary = errors.New("no ClickHouse server binary found")

func unavailable(t testing.TB, k Kind, err error) {
	t.Helper()
	if errors.Is(err, errNoBinary) && os.Getenv("CI") == "" {
		t.Skipf("\n"+
			"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"+
			"!!! SKIPPED: ClickHouse %s tests did NOT run: %v\n"+
			"!!! scripts/test.sh installs both servers (18.16: apt-get install -y\n"+
			"!!! clickhouse-server; 26.7: npm %s + the launcher), or set\n"+
			"!!! %s / %s to the binaries, or %s=clickhouse://host:9000.\n"+
			"!!! CI never skips: with CI set this is a failure.\n"+
			"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
			k, err, ModernPackage, EnvBinary, EnvModern, EnvURL)
	}
	t.Fatalf("chtest: %s: %v", k, err)
}

func external(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s=%q: want clickhouse://host:port", EnvURL, raw)
	}
	s := &Server{Addr: u.Host, external: true, Kind: "external"}
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
	name := UniqueName("t_")
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

// UniqueName returns prefix followed by 12 random hex digits.
func UniqueName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Exec runs one statement on the server (for test set-up and the bench).
func (s *Server) Exec(ctx context.Context, q string, args ...any) error {
	conn, err := s.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Exec(ctx, q, args...)
}

// PID is the server process (0 when external or stopped).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Dir is the server's config, data and log directory.
func (s *Server) Dir() string { return s.dir }

// Remove deletes the server's directory when Launch created it.
func (s *Server) Remove() {
	if s.ownDir && s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func findBinary(k Kind) ([]string, error) {
	if k == Modern {
		p := os.Getenv(EnvModern)
		if p == "" {
			p = DefaultModernLauncher()
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: 26.7 launcher %s: %v (scripts/test.sh installs %s and builds it)", errNoBinary, p, err, ModernPackage)
		}
		return []string{p}, nil
	}
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

// DefaultModernLauncher is where scripts/test.sh builds the 26.7 launcher:
// $XDG_CACHE_HOME (or ~/.cache)/hookscope/chdb-26.7.3-stable.1/chlaunch.
func DefaultModernLauncher() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "hookscope", "chdb-26.7.3-stable.1", "chlaunch")
}

// FreePort returns a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Launch starts a server and waits until it answers. The caller stops it
// (Stop) and removes its directory (Remove).
func Launch(c Config) (*Server, error) {
	if c.Kind == "" {
		c.Kind = Legacy
	}
	bin, err := findBinary(c.Kind)
	if err != nil {
		return nil, err
	}
	s := &Server{Kind: c.Kind, dir: c.Dir, bin: bin, cpus: c.CPUs}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "hookscope-chtest-"); err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		s.ownDir = true
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		tcp := c.TCPPort
		if tcp == 0 {
			if tcp, err = FreePort(); err != nil {
				return nil, fmt.Errorf("free port: %w", err)
			}
		}
		http, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(tcp)
		if err := s.writeConfig(tcp, http, c); err != nil {
			return nil, err
		}
		if lastErr = s.run(); lastErr == nil {
			return s, nil
		}
	}
	s.Remove()
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
{{extra}}</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
  <profiles><default>{{profile}}</default></profiles>
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

func (s *Server) writeConfig(tcp, http int, c Config) error {
	r := strings.NewReplacer("{{dir}}", s.dir, "{{tcp}}", strconv.Itoa(tcp), "{{http}}", strconv.Itoa(http),
		"{{extra}}", strings.ReplaceAll(c.ExtraConfig, "{{dir}}", s.dir), "{{profile}}", c.ExtraProfile)
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("config dir: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.dir, "config.xml"), []byte(r.Replace(configXML)), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(r.Replace(usersXML)), 0o644); err != nil {
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
	argv := append(append([]string{}, s.bin...), "--config-file="+filepath.Join(s.dir, "config.xml"))
	if s.cpus != "" {
		argv = append([]string{"taskset", "-c", s.cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	// The server dies with the test binary even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()

	ready := make(chan error, 1)
	go func() { ready <- s.waitReady(ReadyTimeout) }()
	select {
	case err := <-ready:
		if err != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return fmt.Errorf("%w; server log: %s", err, s.logTail())
		}
		// Reap the process in the background; Stop/Kill poll for it.
		go func() { <-exited }()
		return nil
	case err := <-exited:
		return fmt.Errorf("clickhouse %s exited at start-up (%v); server log: %s", s.Kind, err, s.logTail())
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
		ReadTimeout: 30 * time.Minute, // the bench's INSERT ... SELECT of millions of rows
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
			if err == nil {
				if v, verr := conn.ServerVersion(); verr == nil {
					s.Version = v.Version.String()
				}
			}
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
	if err := s.Start(); err != nil {
		t.Fatalf("chtest: restart: %v", err)
	}
}

// Start starts a stopped or killed server again (see Restart).
func (s *Server) Start() error {
	if s.external {
		return errors.New("cannot restart an external server")
	}
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("start of a running server; Kill or Stop it first")
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ { // the port may linger briefly
		if err = s.run(); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
