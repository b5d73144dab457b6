package clickhouse

import (
	"context"
	"time"
)

// sqlRunningInserts counts the request inserts the server is still
// executing, whichever client sent them.
const sqlRunningInserts = `SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO requests (%'`

// Settle waits (up to ctx, at most 30s) until the server runs no insert into
// the requests table. A process killed in the middle of WriteRequests leaves
// an INSERT whose data the server already received: it completes after the
// client died (measured: tens of ms on 18.16). The next process re-writes
// that batch from its capture log, and WriteRequests' existence check only
// sees rows that are committed, so without this wait the batch could land
// twice. The ingest store writer calls it once before its first write.
func (s *Store) Settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var n uint64
		if err := s.conn.QueryRow(ctx, sqlRunningInserts).Scan(&n); err != nil {
			return classify("wait for running inserts", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return classify("wait for running inserts", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
