package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/migrations"
)

// Steward applies its own migrations with this small runner rather than goose or
// tern: it needs exactly four things (embedded files, one transaction each, an
// advisory lock so replicas starting together do not race, and a refusal to run
// against a schema newer than the binary), which fit in this file, while either
// library would add a dependency and still need the last check written by hand.

// migrationLockKey is the advisory lock key serialising migrations ("stewmig").
const migrationLockKey = 0x737465776d6967

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string // file name, e.g. 0001_core.sql
	SQL     string
}

// SchemaStatus compares the database's schema with the binary's migrations.
type SchemaStatus struct {
	Current int // highest applied version; 0 on an empty database
	Latest  int // highest version this binary knows
}

// UpToDate reports whether every known migration has been applied.
func (s SchemaStatus) UpToDate() bool { return s.Current == s.Latest }

// Migrations returns the embedded migrations in order. A malformed file name is
// a programming error caught by the tests, reported as an error all the same.
func Migrations() ([]Migration, error) {
	return loadMigrations(migrations.FS)
}

func loadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: path.Base(name), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies every migration the database has not seen, in order, each in
// its own transaction, and returns the names it applied. It refuses to touch a
// database whose schema is newer than this binary (a newer Steward migrated it;
// running old code against it could corrupt data).
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	defer derr.Wrap(&err, "store.Migrate")
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return db.migrate(ctx, ms)
}

func (db *DB) migrate(ctx context.Context, ms []Migration) ([]string, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, mapError(err, "acquire")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, mapError(err, "migration lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, mapError(err, "schema_migrations")
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, mapError(err, "schema version")
	}
	if latest := latestVersion(ms); current > latest {
		return nil, newerSchema(current, latest)
	}

	var applied []string
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return applied, mapError(err, "begin")
		}
		// No arguments: pgx sends the file with the simple protocol, which
		// accepts several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// SchemaStatus reports the applied and known schema versions. An empty database
// (no schema_migrations table yet) is at version 0.
func (db *DB) SchemaStatus(ctx context.Context) (_ SchemaStatus, err error) {
	defer derr.Wrap(&err, "store.SchemaStatus")
	ms, err := Migrations()
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Latest: latestVersion(ms)}
	// Two statements: a CASE around the subquery would still be planned, and
	// fail, when the table does not exist.
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return st, mapError(err, "schema version")
	}
	err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&st.Current)
	return st, mapError(err, "schema version")
}

// CheckSchema returns an error unless the schema is exactly the binary's:
// behind means "run migrate", ahead means "this binary is too old".
func (db *DB) CheckSchema(ctx context.Context) error {
	st, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	switch {
	case st.Current > st.Latest:
		return newerSchema(st.Current, st.Latest)
	case st.Current < st.Latest:
		return derr.Errorf(derr.EUNAVAILABLE, "database schema is at version %d, this Steward needs %d: run `server migrate`", st.Current, st.Latest)
	}
	return nil
}

func newerSchema(current, latest int) error {
	return derr.Errorf(derr.ECONFLICT,
		"database schema is at version %d but this Steward knows only up to %d: a newer Steward migrated it; upgrade this binary", current, latest)
}

func latestVersion(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
