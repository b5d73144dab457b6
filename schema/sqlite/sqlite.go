// Package sqlite is hookscope's embedded default store: one SQLite database
// file in WAL mode, driven by the pure-Go modernc.org/sqlite (no cgo).
//
// One writer connection serialises every write (SQLite allows one writer at a
// time anyway; a single connection avoids SQLITE_BUSY between our own
// writers), and a small pool of query-only reader connections serves the read
// side concurrently with writes (WAL readers never block the writer).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookscope/hookscope/schema"
)

var _ schema.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune the store. The zero value is the default.
type Options struct {
	// Logger receives migration and lifecycle logs; nil discards.
	Logger *slog.Logger
	// Now is the clock used where the contract says "now" (Stats with a zero
	// Until). Default time.Now.
	Now func() time.Time
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing with ErrUnavailable. Default 5s.
	BusyTimeout time.Duration
	// Readers is the number of read-only connections. Default 4.
	Readers int
	// Synchronous is SQLite's synchronous setting: "NORMAL" (default) or
	// "FULL". In WAL mode NORMAL never corrupts the database and loses
	// nothing on a crash of the process (kill -9 included: committed pages
	// are in the OS page cache), but the last transactions before a power
	// loss or kernel crash may roll back, because commits are fsynced only at
	// checkpoints. FULL fsyncs the WAL on every commit and so survives power
	// loss, at the price of one fsync per batch. Capture batches writes
	// (1 000 requests per transaction under load), so the loss window of
	// NORMAL is small and its throughput is what lets capture keep up.
	Synchronous string
}

func (o *Options) defaults() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	switch strings.ToUpper(o.Synchronous) {
	case "":
		o.Synchronous = "NORMAL"
	case "NORMAL", "FULL":
		o.Synchronous = strings.ToUpper(o.Synchronous)
	default:
		return fmt.Errorf("%w: synchronous must be NORMAL or FULL, got %q", schema.ErrInvalid, o.Synchronous)
	}
	return nil
}

// Store is the SQLite implementation of schema.Store. It is safe for
// concurrent use.
type Store struct {
	w      *sql.DB // exactly one connection: every write
	r      *sql.DB // query-only pool: every read
	insert *sql.Stmt
	// insertMany inserts insertChunk rows in one statement.
	insertMany *sql.Stmt
	log        *slog.Logger
	now        func() time.Time
}

// Open opens (creating when missing) the database at path, applies pending
// migrations and returns the store. The parent directory is created too.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty database path", schema.ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve database path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// Create the file 0600 ourselves (the driver would use 0644): captured
	// bodies and bin secrets are nobody else's business. SQLite gives the
	// -wal and -shm files the database file's mode.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	} else if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	log := opts.Logger.With("component", "store.sqlite")

	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	common := url.Values{}
	common.Set("_busy_timeout", busy)
	common.Set("_journal_mode", "WAL")
	common.Set("_synchronous", opts.Synchronous)
	common.Add("_pragma", "temp_store(MEMORY)")
	// 32 KiB pages (only effective when the file is created): a 1 KB body
	// row plus its index entries costs far fewer WAL frames, pwrite calls and
	// checkpoint copies than with 4 KiB pages. Measured with
	// BenchmarkWriteRequests: ~29 µs of CPU per request at 4 KiB, ~14 µs at
	// 32 KiB (see README.md).
	common.Add("_pragma", "page_size(32768)")
	// Bound the WAL file after checkpoints so a burst does not leave a huge file.
	common.Add("_pragma", "journal_size_limit(67108864)")

	wq := cloneValues(common)
	wq.Set("_txlock", "immediate") // take the write lock at BEGIN, never mid-transaction
	// Page caches are small on purpose: with 32 KiB pages, 16 MB + 4 x 8 MB of
	// caches held ~100 MB in modernc's C heap and pushed peak RSS under load
	// to 290-390 MB; 4 MB + 4 x 2 MB gives 185-195 MB at the same capture
	// rate (BENCHMARKS.md, Memory). Reads of hot index pages come from the
	// OS page cache anyway.
	wq.Add("_pragma", "cache_size(-4000)")
	registerFunctions() // before the first connection: the search functions
	w, err := sql.Open("sqlite", dsn(abs, wq))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, log: log, now: opts.Now}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}

	rq := cloneValues(common)
	rq.Set("_query_only", "1")
	rq.Add("_pragma", "cache_size(-2000)")
	r, err := sql.Open("sqlite", dsn(abs, rq))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open readers: %w", wrapErr(err))
	}
	s.r = r

	if s.insert, err = w.PrepareContext(ctx, insertRequestSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare insert: %w", wrapErr(err))
	}
	if s.insertMany, err = w.PrepareContext(ctx, insertRowsSQL(insertChunk)); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare multi-row insert: %w", wrapErr(err))
	}
	log.InfoContext(ctx, "store opened", "path", abs, "synchronous", opts.Synchronous, "readers", opts.Readers)
	return s, nil
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func dsn(abs string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: abs, OmitHost: true, RawQuery: q.Encode()}
	return u.String()
}

// Close closes every connection. It does not flush anything: every
// WriteRequests that returned nil is already committed.
func (s *Store) Close() error {
	var errs []error
	if s.insert != nil {
		errs = append(errs, s.insert.Close())
	}
	if s.insertMany != nil {
		errs = append(errs, s.insertMany.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

const createMigrationsSQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`

// migrate applies every embedded migration not yet recorded in
// schema_migrations, each in its own transaction together with its record.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := schema.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, createMigrationsSQL); err != nil {
		return fmt.Errorf("create migrations table: %w", wrapErr(err))
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, m schema.Migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.Name, wrapErr(err))
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("migration %s: check: %w", m.Name, wrapErr(err))
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.Body); err != nil {
		return fmt.Errorf("migration %s: apply: %w", m.Name, wrapErr(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, s.now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, wrapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, wrapErr(err))
	}
	s.log.InfoContext(ctx, "migration applied", "version", m.Version, "name", m.Name)
	return nil
}

// wrapErr marks errors the caller may retry (locked database, I/O trouble,
// closed store) with schema.ErrUnavailable.
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
			return fmt.Errorf("%w: %w", schema.ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("%w: %w", schema.ErrUnavailable, err)
	}
	return err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
