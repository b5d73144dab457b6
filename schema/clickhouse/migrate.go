package clickhouse

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/hookscope/hookscope/schema"
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
	JSONExtract    bool // JSONExtractString/JSONExtractRaw (body.path: search terms)
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
		JSONExtract:    at(19, 6),
	}
}

// schemaEnv is what a migration template sees: the server's features, and
// the cluster (empty on a single server) and database the DDL is for.
type schemaEnv struct {
	Features
	Cluster  string
	Database string
}

// Template functions of the migrations (see schema/README.md):
//
//	{{lc "String"}}                   LowCardinality(String) where supported
//	{{codec "ZSTD(1)"}}               " CODEC(ZSTD(1))" where supported
//	{{local "requests"}}              the table holding the rows: <db>.requests_local on a cluster
//	{{table "requests"}}              the table to read: <db>.requests on a cluster (ON CLUSTER
//	                                  DDL runs on each node in its default database: qualify)
//	{{on}}                            " ON CLUSTER <name>" on a cluster
//	{{engine "ReplacingMergeTree(version)" "bins"}}
//	                                  Replicated...('/clickhouse/tables/{shard}/<db>/bins_local', '{replica}', version) on a cluster
//	{{addColumn "bins" "token_gen UInt64 DEFAULT 0" "cityHash64(id)"}}
//	                                  ALTER TABLE ... ADD COLUMN; on a cluster of the local table,
//	                                  and the Distributed table (sharded by the key) made again
//	{{distributed "requests" "cityHash64(bin_id)"}}
//	                                  on a cluster, the whole statement creating the Distributed
//	                                  table requests over requests_local, sharded by the key; else nothing
func (e schemaEnv) funcs() template.FuncMap {
	return template.FuncMap{
		"lc": func(t string) string {
			if e.LowCardinality {
				return "LowCardinality(" + t + ")"
			}
			return t
		},
		"codec": func(c string) string {
			if e.Codecs {
				return " CODEC(" + c + ")"
			}
			return ""
		},
		"local": e.local,
		"table": e.table,
		"on":    e.on,
		"engine": func(engine, table string) string {
			if e.Cluster == "" {
				return engine
			}
			name, args, _ := strings.Cut(strings.TrimSuffix(engine, ")"), "(")
			path := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s_local', '{replica}'", e.Database, table)
			if args != "" {
				path += ", " + args
			}
			return "Replicated" + name + "(" + path + ")"
		},
		// addColumn adds a column to a table. On a cluster the local
		// (replicated) table is altered ON CLUSTER, and the Distributed
		// table over it, which holds no rows, is dropped and created again
		// with the new structure: 18.16 refuses ALTER ON CLUSTER of a
		// table that is not replicated when the cluster's shards are.
		"addColumn": func(table, def, key string) string {
			st := fmt.Sprintf("ALTER TABLE %s%s ADD COLUMN %s", e.local(table), e.on(), def)
			if e.Cluster != "" {
				st += fmt.Sprintf(";\nDROP TABLE IF EXISTS %s%s;\n%s", e.table(table), e.on(), e.distributed(table, key))
			}
			return st
		},
		"distributed": e.distributed,
	}
}

// distributed is, on a cluster, the whole statement creating the
// Distributed table over table's local one, sharded by key; else nothing.
func (e schemaEnv) distributed(table, key string) string {
	if e.Cluster == "" {
		return ""
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s ENGINE = Distributed(%s, %s, %s_local, %s);",
		e.table(table), e.on(), e.local(table), e.Cluster, e.Database, table, key)
}

func (e schemaEnv) local(table string) string {
	if e.Cluster == "" {
		return table
	}
	return e.Database + "." + table + "_local"
}

func (e schemaEnv) table(table string) string {
	if e.Cluster == "" {
		return table
	}
	return e.Database + "." + table
}

func (e schemaEnv) on() string {
	if e.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + e.Cluster
}

// render expands a migration's template for the server and splits it into
// statements.
func render(m schema.Migration, env schemaEnv) ([]string, error) {
	funcs := env.funcs()
	tpl, err := template.New(m.Name).Funcs(funcs).Parse(m.Body)
	if err != nil {
		return nil, fmt.Errorf("parse migration %s: %w", m.Name, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, env); err != nil {
		return nil, fmt.Errorf("render migration %s: %w", m.Name, err)
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

const sqlCreateMigrations = `CREATE TABLE IF NOT EXISTS %s%s (
    version    UInt32,
    name       String,
    applied_at DateTime,
    server     String
) ENGINE = %s ORDER BY version`

// migrationsEngine: on a cluster every node holds every record (one
// replica set over the whole cluster), so any node knows what was applied.
func (e schemaEnv) migrationsEngine() string {
	if e.Cluster == "" {
		return "MergeTree"
	}
	return fmt.Sprintf("ReplicatedMergeTree('/clickhouse/hookscope/%s/schema_migrations', '{shard}-{replica}')", e.Database)
}

// migrate applies the migrations not yet recorded in schema_migrations, in
// order. Each statement is idempotent (CREATE ... IF NOT EXISTS; an ALTER
// TABLE ... ADD COLUMN whose column exists counts as done, since 18.16 does
// not parse ADD COLUMN IF NOT EXISTS), so a run interrupted between a
// statement and its record is safe to repeat.
func migrate(ctx context.Context, conn driver.Conn, env schemaEnv, server string, now time.Time) (applied []string, err error) {
	ms, err := schema.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, fmt.Sprintf(sqlCreateMigrations, env.table("schema_migrations"), env.on(), env.migrationsEngine())); err != nil {
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
		if done[m.Version] {
			continue
		}
		stmts, err := render(m, env)
		if err != nil {
			return applied, err
		}
		for _, st := range stmts {
			if err := conn.Exec(ctx, st); err != nil && !columnExists(st, err) {
				return applied, fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		if err := record(ctx, conn, m, server, now); err != nil {
			return applied, fmt.Errorf("record migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

func record(ctx context.Context, conn driver.Conn, m schema.Migration, server string, now time.Time) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at, server)")
	if err != nil {
		return err
	}
	defer batch.Abort()
	if err := batch.Append(uint32(m.Version), m.Name, now.UTC().Truncate(time.Second), server); err != nil {
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
