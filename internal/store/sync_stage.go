package store

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
)

// stageBatch is how many rows a Stage buffers before copying them to
// PostgreSQL: enough to make COPY efficient, small enough to keep a large
// tenant's sync in bounded memory.
const stageBatch = 2000

// Stage collects one collection's rows for a run in an UNLOGGED staging
// table. Nothing in the live tables changes until ApplyStaged. A Stage is safe
// for concurrent use.
type Stage struct {
	db    *DB
	spec  *tableSpec
	run   int64
	table string // sync_stage.r<run>_<table>
	scope string // sync_stage.r<run>_<table>_scope

	mu     gosync.Mutex
	seq    int64
	buf    [][]any
	scopes [][]any
}

// stageColumns are the staging table's columns, in COPY order.
func (s *Stage) columns() []string {
	cols := append([]string{"seq", "op"}, s.spec.key...)
	cols = append(cols, "raw")
	return append(cols, s.spec.cols...)
}

// NewStage creates the staging table of collection c for a run.
func (db *DB) NewStage(ctx context.Context, runID int64, c directory.Collection) (*Stage, error) {
	st, err := db.NewStages(ctx, runID, []directory.Collection{c})
	if err != nil {
		return nil, err
	}
	return st[c], nil
}

// NewStages creates the staging tables of several collections for a run, in
// one statement: each creation is a catalog change with its own commit and
// file syncs, and one by one they took 20 ms each, as long as the rest of a
// small delta run's staging.
func (db *DB) NewStages(ctx context.Context, runID int64, cs []directory.Collection) (_ map[directory.Collection]*Stage, err error) {
	defer derr.Wrap(&err, "store.NewStages(%d)", runID)
	stages := make(map[directory.Collection]*Stage, len(cs))
	var ddl strings.Builder
	for _, c := range cs {
		spec, err := specFor(c)
		if err != nil {
			return nil, err
		}
		s := &Stage{db: db, spec: spec, run: runID,
			table: fmt.Sprintf("sync_stage.r%d_%s", runID, spec.table),
			scope: fmt.Sprintf("sync_stage.r%d_%s_scope", runID, spec.table)}
		stages[c] = s
		// CREATE TABLE AS copies the column types but no NOT NULL constraint: a
		// removal row has a key and nothing else.
		cols := append(append(append([]string{}, spec.key...), "raw"), spec.cols...)
		fmt.Fprintf(&ddl, `
			DROP TABLE IF EXISTS %[1]s, %[4]s;
			CREATE UNLOGGED TABLE %[1]s AS SELECT 0::bigint AS seq, ''::text AS op, %[2]s FROM %[3]s WITH NO DATA;
			CREATE UNLOGGED TABLE %[4]s (parent text NOT NULL);`,
			s.table, strings.Join(cols, ", "), spec.table, s.scope)
	}
	if _, err := db.pool.Exec(ctx, ddl.String()); err != nil {
		return nil, mapError(err, "staging tables")
	}
	return stages, nil
}

// Put stages an object.
func (s *Stage) Put(ctx context.Context, o directory.Object) error {
	rows, err := s.spec.rows(o)
	if err != nil {
		return fmt.Errorf("%s %q: %w", s.spec.collection, o.Key(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		s.seq++
		vals := make([]any, 0, 3+len(r.key)+len(r.vals))
		vals = append(vals, s.seq, "put")
		vals = append(vals, r.key...)
		vals = append(vals, r.raw)
		vals = append(vals, r.vals...)
		s.buf = append(s.buf, vals)
	}
	return s.flushIfFull(ctx)
}

// Remove stages the removal of the object (or, for edge collections, the
// edge "parent/child") with this key.
func (s *Stage) Remove(ctx context.Context, key string) error {
	k, err := splitKey(key, len(s.spec.key))
	if err != nil {
		return fmt.Errorf("%s: remove: %w", s.spec.collection, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	vals := make([]any, 0, 3+len(k)+len(s.spec.cols))
	vals = append(vals, s.seq, "remove")
	vals = append(vals, k...)
	vals = append(vals, nil)
	for range s.spec.cols {
		vals = append(vals, nil)
	}
	s.buf = append(s.buf, vals)
	return s.flushIfFull(ctx)
}

// Scope declares that the children of parentKey were listed completely.
func (s *Stage) Scope(ctx context.Context, parentKey string) error {
	if len(s.spec.parent) == 0 {
		return fmt.Errorf("%s has no parent to scope", s.spec.collection)
	}
	if _, err := splitKey(parentKey, len(s.spec.parent)); err != nil {
		return fmt.Errorf("%s: scope: %w", s.spec.collection, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = append(s.scopes, []any{parentKey})
	return s.flushIfFull(ctx)
}

func (s *Stage) flushIfFull(ctx context.Context) error {
	if len(s.buf) < stageBatch && len(s.scopes) < stageBatch {
		return nil
	}
	return s.flushLocked(ctx)
}

// Flush copies buffered rows to the staging table.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(ctx)
}

func (s *Stage) flushLocked(ctx context.Context) error {
	if len(s.buf) > 0 {
		if _, err := s.db.pool.CopyFrom(ctx, pgx.Identifier{"sync_stage", strings.TrimPrefix(s.table, "sync_stage.")},
			s.columns(), pgx.CopyFromRows(s.buf)); err != nil {
			return mapError(err, "staging "+string(s.spec.collection))
		}
		s.buf = s.buf[:0]
	}
	if len(s.scopes) > 0 {
		if _, err := s.db.pool.CopyFrom(ctx, pgx.Identifier{"sync_stage", strings.TrimPrefix(s.scope, "sync_stage.")},
			[]string{"parent"}, pgx.CopyFromRows(s.scopes)); err != nil {
			return mapError(err, "staging "+string(s.spec.collection))
		}
		s.scopes = s.scopes[:0]
	}
	return nil
}

// DropStaging drops every staging table of a run (after a failed run, or
// once applied). Staging tables of runs no longer running are orphans of
// crashed processes; DropOrphanStaging removes those.
func (db *DB) DropStaging(ctx context.Context, runID int64) (err error) {
	defer derr.Wrap(&err, "store.DropStaging(%d)", runID)
	return db.dropStagingWhere(ctx, fmt.Sprintf("r%d\\_%%", runID))
}

// DropOrphanStaging drops the staging tables of runs that are not running.
func (db *DB) DropOrphanStaging(ctx context.Context) (err error) {
	defer derr.Wrap(&err, "store.DropOrphanStaging")
	rows, err := db.pool.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'sync_stage' AND c.relkind = 'r'
		  AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.status = 'running'
		                  AND c.relname LIKE 'r' || r.id || '\_%')`)
	if err != nil {
		return mapError(err, "staging tables")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapError(err, "staging tables")
	}
	return db.dropTables(ctx, names)
}

func (db *DB) dropStagingWhere(ctx context.Context, like string) error {
	rows, err := db.pool.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'sync_stage' AND c.relkind = 'r' AND c.relname LIKE $1`, like)
	if err != nil {
		return mapError(err, "staging tables")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapError(err, "staging tables")
	}
	return db.dropTables(ctx, names)
}

func (db *DB) dropTables(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = pgx.Identifier{"sync_stage", n}.Sanitize()
	}
	_, err := db.pool.Exec(ctx, "DROP TABLE IF EXISTS "+strings.Join(ids, ", "))
	return mapError(err, "drop staging tables")
}
