// Package clickhouse is the ClickHouse implementation of schema.Store, over
// the native protocol of github.com/ClickHouse/clickhouse-go/v2. It works on
// ClickHouse 18.16 (what Debian ships and the tests run against) and uses
// newer features (LowCardinality, codecs, DateTime64, skip indexes) where the
// server has them. See schema/README.md for the table design.
package clickhouse

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

var _ schema.Store = (*Store)(nil)

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxAge, when positive, makes PurgeExpired drop whole daily partitions of
	// requests received before now-MaxAge, whatever their bin, and delete the
	// forward updates written before the first day it keeps. 0 keeps
	// requests until their bin expires or is deleted.
	MaxAge time.Duration
	// NoDeleteMutations disables the ALTER TABLE ... DELETE that physically
	// removes deleted requests in the background; tombstones alone then hide
	// them (until their partitions are dropped).
	NoDeleteMutations bool
	// TrimMutationMinRows is how many trimmed rows of a bin must be on disk
	// before TrimRequests queues the mutation that removes them (default
	// 10 000; 1 removes them on every trim). Until then its tombstone hides
	// them.
	TrimMutationMinRows int
	// DialTimeout bounds connecting (default 5 s).
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for a server answer (default 60 s).
	ReadTimeout time.Duration
	// MaxOpenConns bounds the connection pool (default 8).
	MaxOpenConns int
	// Cluster, when set, names the cluster (remote_servers) the schema lives
	// on: migrations run ON CLUSTER, tables are Replicated*MergeTree
	// <name>_local behind Distributed <name> tables sharded by bin, and the
	// store reads and writes through the Distributed tables (synchronous
	// inserts). See schema/README.md.
	Cluster string
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TrimMutationMinRows <= 0 {
		o.TrimMutationMinRows = 10000
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 60 * time.Second
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 8
	}
}

// Store is the ClickHouse schema.Store. It is safe for concurrent use.
type Store struct {
	conn     driver.Conn
	opts     Options
	log      *slog.Logger
	features Features
	version  string
	database string
	env      schemaEnv // what the migrations were rendered for

	clockMu sync.Mutex
	lastUS  int64 // last value handed out by tick

	// writeMu serialises the check-then-insert of WriteRequests, CreateBin
	// and AppendEvent so that concurrent callers of this process cannot both
	// insert the same id.
	writeMu sync.Mutex

	// rollupAfter is stats_rollup_start.covered_after_us: the stats rollups
	// hold every request received after it (see migration 0004).
	rollupAfter int64

	// fwdUpdatesCut is the cut of the last retention mutation of
	// forward_updates this process queued (under writeMu).
	fwdUpdatesCut int64
	// replayPurged: the replay jobs whose deletion this process queued
	// and the server has not finished (under writeMu).
	replayPurged map[uuid.UUID]bool

	// searchIndex: requests has idx_search (migration 0010), so q= adds
	// the condition it answers.
	searchIndex bool

	// applied names the migrations Open applied.
	applied []string

	// skipExistingCheck turns off the idempotency check of WriteRequests;
	// only the benchmark that measures its cost sets it.
	skipExistingCheck bool
}

// Open connects to the server named by dsn (clickhouse://host:port/database,
// with optional username/password and driver parameters), creates the
// database when it is missing and applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts.defaults()
	conn, db, version, err := connect(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		conn:     conn,
		opts:     opts,
		log:      opts.Logger.With("component", "clickhouse"),
		features: FeaturesOf(version),
		version:  version.Version.String(),
		database: db,
	}
	s.env = schemaEnv{Features: s.features, Cluster: opts.Cluster, Database: db}
	s.applied, err = migrate(ctx, conn, s.env, s.version, opts.Now())
	if err != nil {
		conn.Close()
		return nil, classify("migrate", err)
	}
	if s.features.SkipIndexes {
		var n uint64
		table := strings.TrimPrefix(s.env.local("requests"), db+".")
		if err := conn.QueryRow(ctx, sqlHasSearchIndex, db, table).Scan(&n); err != nil {
			s.log.Warn("cannot tell whether the search index exists; q= scans", "err", err)
		}
		s.searchIndex = n > 0
	}
	if err := s.seedClock(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.QueryRow(ctx, `SELECT toInt64(max(covered_after_us)) FROM stats_rollup_start`).Scan(&s.rollupAfter); err != nil {
		conn.Close()
		return nil, classify("read stats rollup start", err)
	}
	s.log.Info("clickhouse store open", "database", db, "cluster", opts.Cluster, "server_version", s.version,
		"features", fmt.Sprintf("%+v", s.features), "search_index", s.searchIndex, "migrations_applied", s.applied)
	return s, nil
}

// Features reports what the connected server supports.
func (s *Store) Features() Features { return s.features }

// ServerVersion reports the connected server's version.
func (s *Store) ServerVersion() string { return s.version }

// Close closes the connection pool.
func (s *Store) Close() error { return s.conn.Close() }

func parseDSN(dsn string, opts Options) (*clickhouse.Options, string, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "clickhouse" || u.Host == "" {
		return nil, "", fmt.Errorf("%w: clickhouse dsn must look like clickhouse://host:9000/database", schema.ErrInvalid)
	}
	co, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("%w: parse clickhouse dsn: %v", schema.ErrInvalid, err)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "hookscope"
	}
	if !isIdent(db) {
		return nil, "", fmt.Errorf("%w: database name %q: only letters, digits and _", schema.ErrInvalid, db)
	}
	co.Protocol = clickhouse.Native
	co.DialTimeout = opts.DialTimeout
	co.ReadTimeout = opts.ReadTimeout
	co.MaxOpenConns = opts.MaxOpenConns
	co.MaxIdleConns = opts.MaxOpenConns
	co.Auth.Database = ""
	if opts.Cluster != "" {
		if !isIdent(opts.Cluster) {
			return nil, "", fmt.Errorf("%w: cluster name %q: only letters, digits and _", schema.ErrInvalid, opts.Cluster)
		}
		if co.Settings == nil {
			co.Settings = clickhouse.Settings{}
		}
		// An insert into a Distributed table returns once the shard's
		// replica stored it (not when it is queued on the local disk of the
		// node we talk to): a nil error from WriteRequests stays durable.
		// A DSN parameter overrides it. (Read-your-writes across replicas
		// also needs load_balancing = 'in_order' in the user's profile, see
		// schema/README.md: 18.16's protocol carries only integer settings.)
		setDefault(co.Settings, "insert_distributed_sync", 1)
	}
	return co, db, nil
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func setDefault(s clickhouse.Settings, k string, v any) {
	if _, ok := s[k]; !ok {
		s[k] = v
	}
}

// connect creates the database if needed and returns a pool bound to it.
func connect(ctx context.Context, dsn string, opts Options) (driver.Conn, string, driver.ServerVersion, error) {
	co, db, err := parseDSN(dsn, opts)
	if err != nil {
		return nil, "", driver.ServerVersion{}, err
	}
	boot, err := clickhouse.Open(co)
	if err != nil {
		return nil, "", driver.ServerVersion{}, classify("open", err)
	}
	create := "CREATE DATABASE IF NOT EXISTS " + db
	if opts.Cluster != "" {
		create += " ON CLUSTER " + opts.Cluster
	}
	err = boot.Exec(ctx, create)
	boot.Close()
	if err != nil {
		return nil, "", driver.ServerVersion{}, classify("create database", err)
	}
	co.Auth.Database = db
	conn, err := clickhouse.Open(co)
	if err != nil {
		return nil, "", driver.ServerVersion{}, classify("open", err)
	}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, "", driver.ServerVersion{}, classify("server version", err)
	}
	return conn, db, *v, nil
}

// transientCodes are server exceptions worth retrying later: timeouts, too
// many parts or queries, memory limits, read-only tables, shutdown.
var transientCodes = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS
	394: true, // QUERY_WAS_CANCELLED
	999: true, // KEEPER_EXCEPTION
}

// classify wraps err with the step name, adding schema.ErrUnavailable when
// the failure is the server's reachability or load rather than the request.
func classify(step string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", step, err)
	}
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		if transientCodes[exc.Code] {
			return fmt.Errorf("%s: %w: %w", step, schema.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sqldriver.ErrBadConn) || errors.Is(err, clickhouse.ErrAcquireConnTimeout) {
		return fmt.Errorf("%s: %w: %w", step, schema.ErrUnavailable, err)
	}
	// Anything else from the driver that is not a server exception is a
	// transport problem as far as the caller can tell (closed connections,
	// protocol read errors after a crash): let it retry.
	return fmt.Errorf("%s: %w: %w", step, schema.ErrUnavailable, err)
}

// tick returns a strictly increasing microsecond timestamp from the wall
// clock, used for ingest times, tombstones and row versions. It is not the
// injectable Options.Now: a fake clock must not be able to order a new row
// before an old tombstone. Open seeds it with the largest value stored.
func (s *Store) tick() int64 {
	us := time.Now().UnixMicro()
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if us <= s.lastUS {
		us = s.lastUS + 1
	}
	s.lastUS = us
	return us
}

// seedClock makes tick continue after every sequence value already stored, so
// a server restart with a clock that went backwards cannot order new rows
// before old tombstones or bin versions.
func (s *Store) seedClock(ctx context.Context) error {
	var a, b, c int64
	err := s.conn.QueryRow(ctx, `SELECT
		(SELECT toInt64(max(cut_ingest_us)) FROM request_tombstones),
		(SELECT toInt64(max(version)) FROM bins),
		(SELECT toInt64(max(version)) FROM alert_rules)`).Scan(&a, &b, &c)
	if err != nil {
		return classify("seed clock", err)
	}
	s.lastUS = max(a, b, c)
	return nil
}
