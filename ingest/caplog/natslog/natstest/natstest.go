// Package natstest starts real NATS servers with JetStream inside a test
// process (github.com/nats-io/nats-server/v2): one node, or a cluster of
// several routed nodes, each with its own store directory.
package natstest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Node is one server of a Cluster.
type Node struct {
	Name    string
	Opts    *server.Options
	Server  *server.Server
	URL     string
	stopped bool
}

// Cluster is a set of routed JetStream servers.
type Cluster struct {
	t     testing.TB
	Nodes []*Node
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts n JetStream servers (n == 1: a single node, no cluster) and
// stops them at the end of the test.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	clientPorts := make([]int, n)
	routePorts := make([]int, n)
	for i := range n {
		clientPorts[i] = freePort(t)
		routePorts[i] = freePort(t)
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   t.TempDir(),
			MaxPayload: 12 << 20, // hookscope's 10 MiB body default + headers
			NoSigs:     true,
			NoLog:      true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "hookscope", Host: "127.0.0.1", Port: routePorts[i]}
			for j := range n {
				if j != i {
					o.Routes = append(o.Routes, server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d", routePorts[j]))...)
				}
			}
		}
		c.Nodes = append(c.Nodes, &Node{Name: o.ServerName, Opts: o, URL: fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i])})
	}
	for _, nd := range c.Nodes {
		c.start(nd)
	}
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			c.Stop(nd)
		}
	})
	c.WaitReady()
	return c
}

func (c *Cluster) start(nd *Node) {
	c.t.Helper()
	s, err := server.NewServer(nd.Opts)
	if err != nil {
		c.t.Fatalf("nats %s: %v", nd.Name, err)
	}
	go s.Start()
	if !s.ReadyForConnections(60 * time.Second) { // a restarted node recovers its streams first; slow on a loaded machine
		c.t.Fatalf("nats %s not ready", nd.Name)
	}
	nd.Server = s
	nd.stopped = false
}

// WaitReady waits until JetStream has a meta leader (cluster) or is
// enabled (single node) on every running node.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, nd := range c.Nodes {
			if nd.stopped {
				continue
			}
			if !nd.Server.JetStreamEnabled() {
				ok = false
			} else if len(c.Nodes) > 1 && !nd.Server.JetStreamIsCurrent() {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("jetstream not ready within 30s")
}

// URLs is every node's client URL, comma-separated (nats.Connect's form).
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, nd := range c.Nodes {
		urls[i] = nd.URL
	}
	return strings.Join(urls, ",")
}

// JetStream connects a client to the cluster for the test, closed when the
// test ends.
func (c *Cluster) JetStream() jetstream.JetStream {
	c.t.Helper()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		c.t.Fatalf("connect to the nats cluster: %v", err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatalf("jetstream: %v", err)
	}
	return js
}

// Stop shuts a node down (its store stays; Restart brings it back).
func (c *Cluster) Stop(nd *Node) {
	if nd.stopped || nd.Server == nil {
		return
	}
	nd.Server.Shutdown()
	nd.Server.WaitForShutdown()
	nd.stopped = true
}

// Restart starts a stopped node again on the same ports and store.
func (c *Cluster) Restart(nd *Node) {
	c.t.Helper()
	c.start(nd)
}
