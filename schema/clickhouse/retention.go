package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

var maxID = uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// DeleteRequests removes every request of a bin: a tombstone hides them at
// once, and an asynchronous ALTER TABLE ... DELETE removes them from disk.
func (s *Store) DeleteRequests(ctx context.Context, binID string) error {
	if binID == "" {
		return fmt.Errorf("delete requests: %w: bin id required", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.deleteRequestsLocked(ctx, []string{binID})
}

// deleteRequestsLocked tombstones every request of bins ingested so far and
// starts one mutation for them all. Callers hold writeMu, so no write of this
// process lands between the cut and the tombstone.
func (s *Store) deleteRequestsLocked(ctx context.Context, bins []string) error {
	if len(bins) == 0 {
		return nil
	}
	cut := s.tick()
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertTombstone)
	if err != nil {
		return classify("prepare tombstones", err)
	}
	defer batch.Abort()
	for _, b := range bins {
		if err := batch.Append(b, cut, int64(math.MaxInt64), maxID, cut); err != nil {
			return fmt.Errorf("append tombstone: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify("insert tombstones", err)
	}
	if s.opts.NoDeleteMutations {
		return nil
	}
	list := make([]any, len(bins))
	for i, b := range bins {
		list[i] = b
	}
	// ALTER ... DELETE only queues the mutation; the server applies it in
	// the background. Failing to queue it is logged, not returned: the
	// tombstone already hides the rows.
	if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlDeleteBinsMutation, s.alterTable("requests")),
		clickhouse.GroupSet{Value: list}, cut); err != nil {
		s.log.Warn("queue delete mutation", "bins", len(bins), "err", err)
	}
	// The bins' forward updates go too (they are read only over rows of
	// requests, so what remains until the mutation runs is never shown).
	if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlDeleteForwardUpdatesMutation, s.alterTable("forward_updates")),
		clickhouse.GroupSet{Value: list}, s.opts.Now().UnixMicro()); err != nil {
		s.log.Warn("queue forward updates delete mutation", "bins", len(bins), "err", err)
	}
	return nil
}

// TrimRequests keeps the newest keep requests of a bin: it finds the newest
// request to drop, tombstones everything at or before it, and queues the
// matching mutation.
func (s *Store) TrimRequests(ctx context.Context, binID string, keep int) (int64, error) {
	if binID == "" || keep < 0 {
		return 0, fmt.Errorf("trim requests: %w: bin id and keep >= 0 required", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q, err := s.binQuery(ctx, &schema.Filter{BinID: binID})
	if err != nil {
		return 0, err
	}
	// Most bins are under the limit on most ticks: a count answers that
	// without sorting the bin's keys.
	var total uint64
	if err := s.conn.QueryRow(ctx, sqlCountRequests+q.sql(), q.args...).Scan(&total); err != nil {
		return 0, classify("trim: count", err)
	}
	if total <= uint64(keep) {
		return 0, nil
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(sqlTrimCut, q.sql()), append(q.args, keep)...)
	if err != nil {
		return 0, classify("trim: find cut", err)
	}
	var uptoUS int64
	var uptoID uuid.UUID
	found := rows.Next()
	if found {
		err = rows.Scan(&uptoUS, &uptoID)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, classify("trim: find cut", err)
	}
	if !found {
		return 0, nil
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountRequests+q.sql()+` AND `+condUpTo,
		append(q.args, uptoUS, uptoUS, uptoID.String())...).Scan(&n); err != nil {
		return 0, classify("trim: count", err)
	}
	cut := s.tick()
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertTombstone)
	if err != nil {
		return 0, classify("prepare tombstone", err)
	}
	defer batch.Abort()
	if err := batch.Append(binID, cut, uptoUS, uptoID, cut); err != nil {
		return 0, fmt.Errorf("append tombstone: %w", err)
	}
	if err := batch.Send(); err != nil {
		return 0, classify("insert tombstone", err)
	}
	if s.opts.NoDeleteMutations {
		return int64(n), nil
	}
	// A trim that runs on every tick would queue a mutation a minute per
	// bin. The tombstone already hides the rows, and a later trim's
	// mutation removes everything earlier trims hid (its condition reaches
	// further), so the mutation waits until enough rows are on disk.
	var onDisk uint64
	if err := s.conn.QueryRow(ctx, sqlCountTrimmedOnDisk,
		binID, cut, uptoUS, uptoUS, uptoID.String()).Scan(&onDisk); err != nil {
		s.log.Warn("count trimmed rows on disk", "bin_id", binID, "err", err)
		return int64(n), nil
	}
	if int(onDisk) < s.opts.TrimMutationMinRows {
		return int64(n), nil
	}
	if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlTrimMutation, s.alterTable("requests")),
		binID, cut, uptoUS, uptoUS, uptoID.String()); err != nil {
		s.log.Warn("queue trim mutation", "bin_id", binID, "err", err)
	}
	return int64(n), nil
}

// PurgeExpired deletes bins expired at now with their requests (one
// tombstone each, one mutation for all), and, when Options.MaxAge is set,
// drops whole daily partitions older than now-MaxAge.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	all, err := s.listBinRows(ctx)
	if err != nil {
		return 0, err
	}
	var expired []*binRow
	var ids []string
	for _, b := range all {
		if !b.deleted && b.bin.Expired(now) {
			expired = append(expired, b)
			ids = append(ids, b.bin.ID)
		}
	}
	if err := s.deleteRequestsLocked(ctx, ids); err != nil {
		return 0, err
	}
	for i, b := range expired {
		if err := s.putBin(ctx, &b.bin, true); err != nil {
			return i, err
		}
	}
	if s.opts.MaxAge > 0 {
		cutoff := now.Add(-s.opts.MaxAge)
		if err := s.dropOldPartitions(ctx, cutoff); err != nil {
			return len(expired), err
		}
		if err := s.dropOldForwardUpdates(ctx, cutoff); err != nil {
			return len(expired), err
		}
	}
	return len(expired), nil
}

// dropOldForwardUpdates removes the forward updates written before the
// first day of requests that dropOldPartitions keeps. forward_updates has
// no daily partitions (ordered by (bin_id, id), versions of one request
// must meet in one part for ReplacingMergeTree), and TTL is 19.6+, so it
// is a mutation on every server version: an update is written after its
// request was received, so one written before the cut belongs to a request
// already dropped. (The updates of an old request retried recently go one
// MaxAge after their last write.) The cut moves once a day, so the
// mutation is queued at most once a day per process: it is skipped when
// nothing is that old, or when this process already queued it for the
// same cut (the server applies it in the background).
func (s *Store) dropOldForwardUpdates(ctx context.Context, cutoff time.Time) error {
	c := cutoff.UTC()
	cut := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC).UnixMicro()
	if cut <= s.fwdUpdatesCut {
		return nil
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, sqlCountOldForwardUpdates, cut).Scan(&n); err != nil {
		return classify("count old forward updates", err)
	}
	if n == 0 {
		return nil
	}
	if err := s.conn.Exec(s.ddlContext(ctx), fmt.Sprintf(sqlDropOldForwardUpdates, s.alterTable("forward_updates")), cut); err != nil {
		return classify("queue the deletion of old forward updates", err)
	}
	s.fwdUpdatesCut = cut
	s.log.Info("queued the deletion of old forward updates", "rows", n, "written_before", time.UnixMicro(cut).UTC())
	return nil
}

// partitionedTables are the tables with daily partitions, rollups first:
// a failure between drops then leaves the rollups short of a day that is
// about to go, never counting one already gone.
var partitionedTables = []string{"request_counts_5m", "request_latency_5m", "requests"}

// dropOldPartitions drops the daily partitions of requests and its stats
// rollups whose whole day lies before cutoff.
func (s *Store) dropOldPartitions(ctx context.Context, cutoff time.Time) error {
	for _, table := range partitionedTables {
		if err := s.dropOldPartitionsOf(ctx, table, cutoff); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) dropOldPartitionsOf(ctx context.Context, table string, cutoff time.Time) error {
	var rows driver.Rows
	var err error
	if s.opts.Cluster != "" {
		rows, err = s.conn.Query(ctx, sqlClusterDays, cutoff.UnixMicro())
	} else {
		rows, err = s.conn.Query(ctx, sqlPartitions, s.database, table)
	}
	if err != nil {
		return classify("list partitions", err)
	}
	var old []int
	limit, _ := strconv.Atoi(cutoff.UTC().Format("20060102"))
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return classify("scan partitions", err)
		}
		if day, err := strconv.Atoi(p); err == nil && day < limit {
			old = append(old, day)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify("list partitions", err)
	}
	for _, day := range old {
		// Table names are constants; partition ids are integers we read
		// from system.parts, not input.
		if err := s.conn.Exec(s.ddlContext(ctx), "ALTER TABLE "+s.alterTable(table)+" DROP PARTITION "+strconv.Itoa(day)); err != nil {
			return classify(fmt.Sprintf("drop partition %d of %s", day, table), err)
		}
		s.log.Info("dropped partition", "table", table, "partition", day)
	}
	return nil
}

// alterTable names table for an ALTER: on a cluster the local replicated
// table on every shard (ON CLUSTER; each shard's replicas share the change).
func (s *Store) alterTable(table string) string {
	return s.env.local(table) + s.env.on()
}

// ddlWait bounds how long an ON CLUSTER statement waits for every node: a
// node that is down would hold it for the server default (180 s). The task
// stays queued in ZooKeeper and runs when the node is back.
const ddlWait = 10

// ddlContext is ctx with the ON CLUSTER wait bound on a cluster.
func (s *Store) ddlContext(ctx context.Context) context.Context {
	if s.opts.Cluster == "" {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"distributed_ddl_task_timeout": ddlWait}))
}
