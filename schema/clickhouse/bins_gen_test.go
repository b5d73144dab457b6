package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// TestBinTokenGenRoundTrip: the token generation is stored with the bin,
// kept by UpdateBin, and the ADD COLUMN migration runs again without harm
// when a crash left it unrecorded.
func TestBinTokenGenRoundTrip(t *testing.T) {
	chtest.Each(t, testBinTokenGenRoundTrip)
}

func testBinTokenGenRoundTrip(t *testing.T, srv *chtest.Server) {
	ctx := context.Background()
	dsn := srv.Database(t)
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &schema.Bin{ID: "gen-bin", Name: "g", CreatedAt: schema.Truncate(time.Now())}
	if err := s.CreateBin(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetBin(ctx, b.ID)
	if err != nil || got.TokenGen != 0 {
		t.Fatalf("new bin: gen %v, %v", got, err)
	}
	b.TokenGen = 7
	if err := s.UpdateBin(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetBin(ctx, b.ID); err != nil || got.TokenGen != 7 {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	// Forget that 0005 ran, as if the process died between the ALTER and
	// its record, and open again.
	if err := s.conn.Exec(ctx, "ALTER TABLE schema_migrations DELETE WHERE version = 5"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM schema_migrations WHERE version = 5").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the mutation did not remove the record")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Close()
	s2, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatalf("re-running 0005 over an existing column: %v", err)
	}
	defer s2.Close()
	if got, err = s2.GetBin(ctx, b.ID); err != nil || got.TokenGen != 7 {
		t.Fatalf("after re-migration: %+v, %v", got, err)
	}
}
