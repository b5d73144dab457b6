package clickhouse

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Features are the server capabilities the DDL and queries depend on,
// derived from the server version at start-up.
type Features struct {
	LowCardinality bool // LowCardinality(String) without the experimental flag
	Codecs         bool // column CODEC(...)
	DateTime64     bool // DateTime64 and fromUnixTimestamp64Micro
	TTL            bool // table TTL
	SkipIndexes    bool // bloom_filter / minmax data-skipping indexes
}

// FeaturesOf maps a server version to the features hookscope uses.
func FeaturesOf(v driver.ServerVersion) Features {
	at := func(major, minor uint64) bool {
		return v.Version.Major > major || (v.Version.Major == major && v.Version.Minor >= minor)
	}
	return Features{
		LowCardinality: at(19, 3),
		Codecs:         at(19, 10),
		DateTime64:     at(20, 5),
		TTL:            at(19, 6),
		SkipIndexes:    at(20, 3),
	}
}

type migration struct {
	version int
	name    string
	body    string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %q: want NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), body: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// render expands a migration's template for the server's features and
// splits it into statements.
func render(m migration, f Features) ([]string, error) {
	funcs := template.FuncMap{
		"lc": func(t string) string {
			if f.LowCardinality {
				return "LowCardinality(" + t + ")"
			}
			return t
		},
		"codec": func(c string) string {
			if f.Codecs {
				return " CODEC(" + c + ")"
			}
			return ""
		},
	}
	tpl, err := template.New(m.name).Funcs(funcs).Parse(m.body)
	if err != nil {
		return nil, fmt.Errorf("parse migration %s: %w", m.name, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, f); err != nil {
		return nil, fmt.Errorf("render migration %s: %w", m.name, err)
	}
	var stmts []string
	for _, s := range strings.Split(buf.String(), ";\n") {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if st := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")); st != "" {
			stmts = append(stmts, st)
		}
	}
	return stmts, nil
}

const sqlCreateMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime,
    server     String
) ENGINE = MergeTree ORDER BY version`

// migrate applies the migrations not yet recorded in schema_migrations, in
// order. Each statement is idempotent (CREATE ... IF NOT EXISTS; an ALTER
// TABLE ... ADD COLUMN whose column exists counts as done, since 18.16 does
// not parse ADD COLUMN IF NOT EXISTS), so a run interrupted between a
// statement and its record is safe to repeat.
func migrate(ctx context.Context, conn driver.Conn, f Features, server string, now time.Time) (applied []string, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, sqlCreateMigrations); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		done[int(v)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		stmts, err := render(m, f)
		if err != nil {
			return applied, err
		}
		for _, st := range stmts {
			if err := conn.Exec(ctx, st); err != nil && !columnExists(st, err) {
				return applied, fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		if err := record(ctx, conn, m, server, now); err != nil {
			return applied, fmt.Errorf("record migration %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

func record(ctx context.Context, conn driver.Conn, m migration, server string, now time.Time) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at, server)")
	if err != nil {
		return err
	}
	defer batch.Abort()
	if err := batch.Append(uint32(m.version), m.name, now.UTC().Truncate(time.Second), server); err != nil {
		return err
	}
	return batch.Send()
}

// columnExists reports whether err answers an ADD COLUMN statement with
// "column already exists": a repeat of a migration that was applied but not
// recorded. 18.16 (and current servers) say so with code 44 ILLEGAL_COLUMN
// ("Cannot add column x: column with this name already exists"; measured,
// bins_gen_test.go), others with 15 DUPLICATE_COLUMN.
func columnExists(stmt string, err error) bool {
	var exc *clickhouse.Exception
	return strings.HasPrefix(stmt, "ALTER TABLE ") && strings.Contains(stmt, " ADD COLUMN ") &&
		errors.As(err, &exc) && (exc.Code == 15 || (exc.Code == 44 && strings.Contains(exc.Message, "already exists")))
}
