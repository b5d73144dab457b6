package chtest

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, addr, q string) (uint64, error) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: time.Second})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n uint64
	err = conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

func TestSharedServerAnswers(t *testing.T) {
	Each(t, testSharedServerAnswers)
}

func testSharedServerAnswers(t *testing.T, s *Server) {
	if s2 := StartKind(t, s.Kind); s2 != s {
		t.Fatal("Start returned a second server; want the shared one")
	}
	n, err := query(t, s.Addr, "SELECT toUInt64(41 + 1)")
	if err != nil || n != 42 {
		t.Fatalf("SELECT = %d, %v; want 42", n, err)
	}
}

func TestKillRestartKeepsData(t *testing.T) {
	EachOwn(t, testKillRestartKeepsData)
}

func testKillRestartKeepsData(t *testing.T, s *Server) {
	t.Logf("server %s reports version %s", s.Kind, s.Version)
	for _, q := range []string{
		"CREATE TABLE default.kept (x UInt64) ENGINE = MergeTree ORDER BY x",
		"INSERT INTO default.kept (x) SELECT number FROM system.numbers LIMIT 1000",
	} {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr}})
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		conn.Close()
	}
	addr := s.Addr
	s.Kill()
	if _, err := query(t, addr, "SELECT toUInt64(1)"); err == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("restarted on %s; want the same address %s", s.Addr, addr)
	}
	n, err := query(t, s.Addr, "SELECT count() FROM default.kept")
	if err != nil || n != 1000 {
		t.Fatalf("count after restart = %d, %v; want 1000", n, err)
	}
}
