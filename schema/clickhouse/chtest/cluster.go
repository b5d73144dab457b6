package chtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ZooKeeperJar is Debian's zookeeper 3.8 (apt-get install zookeeper).
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// ZooKeeper is a standalone ZooKeeper server for a test cluster.
type ZooKeeper struct {
	Addr string
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// zooCfg: a 500 ms tick lets sessions time out in ~6 s (ClickHouse asks for
// session_timeout_ms 6000), so a replica killed with -9 can rejoin soon:
// its old ephemeral nodes must expire first.
const zooCfg = `tickTime=500
initLimit=10
syncLimit=5
dataDir={{dir}}/data
clientPort={{port}}
clientPortAddress=127.0.0.1
maxClientCnxns=0
minSessionTimeout=1000
maxSessionTimeout=20000
4lw.commands.whitelist=srvr,ruok
admin.enableServer=false
`

// StartZooKeeper starts ZooKeeper on a free loopback port and waits until it
// serves (it reports "Mode: standalone"; it accepts TCP before it serves,
// and an 18.16 server that meets it then crashes on its first ON CLUSTER
// query). It is stopped and removed at t's cleanup.
func StartZooKeeper(t testing.TB) *ZooKeeper {
	t.Helper()
	java, err := exec.LookPath("java")
	if err == nil {
		_, err = os.Stat(ZooKeeperJar)
	}
	if err != nil {
		unavailable(t, "zookeeper", fmt.Errorf("%w: zookeeper (apt-get install zookeeper): %v", errNoBinary, err))
	}
	dir := t.TempDir()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("{{dir}}", dir, "{{port}}", strconv.Itoa(port)).Replace(zooCfg)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(java, "-Xmx256m", "-cp", ZooKeeperJar,
		"-Dzookeeper.log.dir="+dir, "-Dzookeeper.root.logger=WARN,CONSOLE",
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(dir, "zoo.cfg"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start zookeeper: %v", err)
	}
	go func() { cmd.Wait(); out.Close() }()
	z := &ZooKeeper{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, cmd: cmd}
	t.Cleanup(z.stop)
	deadline := time.Now().Add(ReadyTimeout)
	for {
		mode, err := z.mode()
		if mode == "standalone" {
			return z
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "zookeeper.log"))
			t.Fatalf("zookeeper not serving after %v (mode %q, %v): %s", ReadyTimeout, mode, err, lastBytes(b, 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mode asks the server's srvr command for its Mode line.
func (z *ZooKeeper) mode() (string, error) {
	c, err := net.DialTimeout("tcp", z.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", sc.Err()
}

func (z *ZooKeeper) stop() {
	z.mu.Lock()
	cmd := z.cmd
	z.cmd = nil
	z.mu.Unlock()
	if cmd != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Cluster is a ClickHouse 18.16 cluster on 127.0.0.1: Shards × Replicas
// servers over one ZooKeeper, with remote_servers (cluster ClusterName,
// internal_replication), {shard}/{replica} macros and distributed DDL.
type Cluster struct {
	ZooKeeper *ZooKeeper
	// Nodes are the servers, shard by shard: Nodes[s*Replicas+r].
	Nodes            []*Server
	Shards, Replicas int
}

// ClusterName is the name of the test cluster in remote_servers.
const ClusterName = "hookscope"

// StartCluster starts ZooKeeper and shards × replicas 18.16 servers as one
// cluster, stopped and removed at t's cleanup. Replicas of a shard share
// its tables through ZooKeeper; a killed node may be restarted (Start).
func StartCluster(t testing.TB, shards, replicas int) *Cluster {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		t.Skipf("chtest: %s is set; the cluster test starts its own servers", EnvURL)
	}
	if _, err := findBinary(Legacy); err != nil {
		unavailable(t, Legacy, err)
	}
	zk := StartZooKeeper(t)
	n := shards * replicas
	tcp := make([]int, n)
	inter := make([]int, n)
	for i := range n {
		var err1, err2 error
		tcp[i], err1 = FreePort()
		inter[i], err2 = FreePort()
		if err1 != nil || err2 != nil {
			t.Fatalf("free port: %v %v", err1, err2)
		}
	}
	var remote strings.Builder
	for s := range shards {
		remote.WriteString("<shard><internal_replication>true</internal_replication>")
		for r := range replicas {
			fmt.Fprintf(&remote, "<replica><host>127.0.0.1</host><port>%d</port></replica>", tcp[s*replicas+r])
		}
		remote.WriteString("</shard>")
	}
	zhost, zport, _ := net.SplitHostPort(zk.Addr)
	c := &Cluster{ZooKeeper: zk, Shards: shards, Replicas: replicas}
	for i := range n {
		s, r := i/replicas, i%replicas
		extra := fmt.Sprintf(`  <zookeeper><node><host>%s</host><port>%s</port></node><session_timeout_ms>6000</session_timeout_ms></zookeeper>
  <remote_servers><%s>%s</%s></remote_servers>
  <macros><shard>%02d</shard><replica>r%d</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>%d</interserver_http_port>
`, zhost, zport, ClusterName, remote.String(), ClusterName, s+1, r+1, inter[i])
		// load_balancing in_order: a Distributed read or write goes to the
		// first healthy replica of the shard, so reads see the writes just
		// acknowledged (schema/README.md asks the same of real clusters).
		srv, err := Launch(Config{Kind: Legacy, Dir: t.TempDir(), TCPPort: tcp[i], ExtraConfig: extra,
			ExtraProfile: "<load_balancing>in_order</load_balancing>"})
		if err != nil {
			t.Fatalf("chtest: cluster node %d: %v", i, err)
		}
		t.Cleanup(srv.Stop)
		c.Nodes = append(c.Nodes, srv)
	}
	return c
}

// DSN is a clickhouse:// URL naming every node (the driver fails over
// between them) and database db.
func (c *Cluster) DSN(db string) string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return "clickhouse://" + strings.Join(addrs, ",") + "/" + db
}
