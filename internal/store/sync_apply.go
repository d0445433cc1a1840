package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
)

// StagedCollection is one collection a run staged, and how to apply it.
type StagedCollection struct {
	Collection directory.Collection
	// Complete: the listing was complete, live objects not staged are gone.
	Complete bool
	// DeltaLink, when set, is stored with the data in the same transaction.
	DeltaLink string
}

// ApplyOptions configure the mass-deletion breaker.
type ApplyOptions struct {
	// MaxDeleteFraction: when a collection would lose more than this share of
	// its live objects, its deletions are withheld and the run needs review.
	MaxDeleteFraction float64
	// MinDeletes: fewer deletions than this never trip the breaker, so small
	// collections (three environments, a dozen policies) can shrink normally.
	MinDeletes int
	// AcceptDeletions disables the breaker for this run (after a person
	// reviewed a needs-review run and confirmed the deletions are real).
	AcceptDeletions bool
}

// DefaultApplyOptions: withhold deletions of more than 20% of a collection,
// from 10 objects up.
var DefaultApplyOptions = ApplyOptions{MaxDeleteFraction: 0.2, MinDeletes: 10}

// CollectionResult is what applying one collection did.
type CollectionResult struct {
	Fetched  int // distinct objects (rows, for edge collections) staged as present
	Added    int // new, or back after a deletion
	Changed  int // raw JSON differs from the stored one
	Deleted  int // soft-deleted (missing from a complete listing, removed by a delta, or with their parent)
	Withheld int // deletions held back by the breaker
	// Breaker explains a tripped breaker: the numbers a reviewer needs.
	Breaker string
}

// ApplyStaged applies a run's staged collections to the live tables in one
// transaction: upserts, soft deletes (never removals), policy versions, delta
// links (unless the breaker tripped), cascades to edges of deleted objects;
// then drops the staging tables.
// Readers see the previous data until it commits, and all of it after.
func (db *DB) ApplyStaged(ctx context.Context, runID int64, tenantID string, staged []StagedCollection, opts ApplyOptions) (_ map[directory.Collection]CollectionResult, err error) {
	defer derr.Wrap(&err, "store.ApplyStaged(%d)", runID)
	tenantID = normalizeTenant(tenantID)
	results := map[directory.Collection]CollectionResult{}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		// Every statement here joins whole collections. Table statistics lag
		// behind a first sync (a table analysed while empty), and with them the
		// planner picks nested loops that take minutes instead of hash joins
		// that take milliseconds; forbid them for this transaction only.
		// work_mem: the de-duplicating sorts and the hash joins of a 400,000
		// edge collection spill to disk in PostgreSQL's default 4 MB.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '256MB'`); err != nil {
			return mapError(err, "apply settings")
		}
		if err := analyzeNeverAnalyzed(ctx, tx, staged); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE deleted_objects (kind text NOT NULL, id text NOT NULL) ON COMMIT DROP`); err != nil {
			return mapError(err, "deleted objects")
		}
		tripped := false
		for _, sc := range staged {
			spec, err := specFor(sc.Collection)
			if err != nil {
				return err
			}
			res, err := applyCollection(ctx, tx, runID, tenantID, spec, sc, opts)
			if err != nil {
				return fmt.Errorf("apply %s: %w", sc.Collection, err)
			}
			results[sc.Collection] = res
			tripped = tripped || res.Breaker != ""
		}
		// A tripped breaker keeps every delta link where it was: the next
		// delta run reports the withheld deletions again, for a run that
		// accepts them to apply. One link can feed several collections
		// (groups/delta feeds group members), so none moves.
		for _, sc := range staged {
			if sc.DeltaLink == "" || tripped {
				continue
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO sync_state (tenant_id, collection, delta_link, run_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, collection) DO UPDATE
				SET delta_link = EXCLUDED.delta_link, run_id = EXCLUDED.run_id, updated_at = now()`,
				tenantID, string(sc.Collection), sc.DeltaLink, runID); err != nil {
				return mapError(err, "delta link")
			}
		}
		if err := cascade(ctx, tx, tenantID, results); err != nil {
			return err
		}
		if err := analyzeChanged(ctx, tx, results); err != nil {
			return err
		}
		return dropStagingTx(ctx, tx, runID)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// smallStage is the most staged rows a collection's apply joins with nested
// loops over indexes rather than by hashing whole tables.
const smallStage = 20000

func applyCollection(ctx context.Context, tx pgx.Tx, runID int64, tenantID string, spec *tableSpec, sc StagedCollection, opts ApplyOptions) (_ CollectionResult, retErr error) {
	var res CollectionResult
	t := spec.table
	stage := fmt.Sprintf("sync_stage.r%d_%s", runID, t)
	scope := stage + "_scope"
	d := "d_" + t // the staged rows, last operation per key
	keys := strings.Join(spec.key, ", ")
	on := joinOn("t", "d", spec.key)

	// The staged rows, last operation per key. Usually every key was staged
	// once, and the staging table itself serves: copying it through a sort
	// of whole rows, then analysing the copy, was most of an unchanged
	// tenant's apply (6 of 8 s on the large profile). Unanalysed, the
	// staging table is estimated from its size, and with nested loops off
	// (above) its joins are hashed either way. A copy made to drop
	// duplicates is analysed: a temporary table has no size estimate.
	var staged, distinct int
	if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), (SELECT count(*) FROM (SELECT 1 FROM %[1]s GROUP BY %[2]s) k) FROM %[1]s`,
		stage, keys)).Scan(&staged, &distinct); err != nil {
		return res, mapError(err, "staged "+t)
	}
	if staged == distinct {
		d = stage
	} else if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %[1]s ON COMMIT DROP AS
		SELECT DISTINCT ON (%[2]s) * FROM %[3]s ORDER BY %[2]s, seq DESC; ANALYZE %[1]s`, d, keys, stage)); err != nil {
		return res, mapError(err, "staged "+t)
	}
	// A few staged rows (a delta run) are best joined by looking each up in
	// the live table's indexes: the staged rows get an index too, so that no
	// nested loop can scan a table per row, and nested loops are allowed for
	// this collection. Many are best hashed, with nested loops off (see
	// ApplyStaged; the statistics they are planned on are kept fresh by
	// analyzeChanged).
	if staged <= smallStage {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE INDEX ON %s (%s)`, d, keys)); err != nil {
			return res, mapError(err, "staged "+t)
		}
		restore, err := lookupJoins(ctx, tx)
		if err != nil {
			return res, err
		}
		defer restore(&retErr)
	}
	var removes, scoped int
	if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM %s WHERE op = 'remove'), (SELECT count(*) FROM %s)`, d, scope)).
		Scan(&removes, &scoped); err != nil {
		return res, mapError(err, t)
	}
	// The rows to write: new, changed, or back from a deletion. Found with
	// one hashed join and written alone: on a known tenant most staged rows
	// are unchanged, and an upsert of every one of them (each probing the
	// primary key and comparing its JSON) was most of the apply's time.
	// last_seen_run is therefore the last run that wrote the row; that a
	// live row was present in a later complete listing is what that run's
	// record says (see 0007_seen.sql).
	w := "w_" + t
	_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %[1]s ON COMMIT DROP AS
		SELECT d.*, (t.tenant_id IS NULL OR t.deleted_at IS NOT NULL) AS is_new
		FROM %[2]s d LEFT JOIN %[3]s t ON t.tenant_id = $1 AND %[4]s
		WHERE d.op = 'put' AND (t.tenant_id IS NULL OR t.deleted_at IS NOT NULL OR t.raw IS DISTINCT FROM d.raw)`,
		w, d, t, on), tenantID)
	if err != nil {
		return res, mapError(err, t)
	}
	if err := tx.QueryRow(ctx, fmt.Sprintf(`
		SELECT (SELECT count(*) FROM %s WHERE op = 'put'),
		       count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new)
		FROM %s`, d, w)).Scan(&res.Fetched, &res.Added, &res.Changed); err != nil {
		return res, mapError(err, t)
	}
	all := append(append(append([]string{}, spec.key...), "raw"), spec.cols...)
	var set []string
	for _, c := range append([]string{"raw"}, spec.cols...) {
		set = append(set, c+" = EXCLUDED."+c)
	}
	if res.Added+res.Changed > 0 {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`
			INSERT INTO %[1]s AS t (tenant_id, %[2]s, first_seen_run, last_seen_run)
			SELECT $1, %[2]s, $2, $2 FROM %[3]s
			ON CONFLICT (tenant_id, %[4]s) DO UPDATE SET %[5]s, last_seen_run = EXCLUDED.last_seen_run, deleted_at = NULL`,
			t, strings.Join(all, ", "), w, keys, strings.Join(set, ", ")), tenantID, runID); err != nil {
			return res, mapError(err, t)
		}
	}
	if spec.collection == directory.ConditionalAccessPolicies {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`
			INSERT INTO ca_policy_versions (tenant_id, policy_id, content_hash, raw, first_seen_run, last_seen_run)
			SELECT $1, id, content_hash, raw, $2, $2 FROM %s WHERE op = 'put'
			ON CONFLICT (tenant_id, policy_id, content_hash) DO UPDATE SET last_seen_run = EXCLUDED.last_seen_run`, d),
			tenantID, runID); err != nil {
			return res, mapError(err, "policy versions")
		}
	}

	// What would be deleted: missing from a complete listing, children of a
	// scoped parent not seen again, or removed explicitly. Three plain
	// queries under UNION.
	keysT := prefixed("t", spec.key)
	live := "t.tenant_id = $1 AND t.deleted_at IS NULL"
	notPut := fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s d WHERE d.op = 'put' AND %s)", d, on)
	var gone []string
	if sc.Complete {
		gone = append(gone, fmt.Sprintf("SELECT %s FROM %s t WHERE %s AND %s", keysT, t, live, notPut))
	}
	// Scoped parents and explicit removals: joins from them (hashed, like
	// every join here: statistics on the live tables can be far off, and a
	// nested loop chosen on them scans a whole table per row).
	if len(spec.parent) > 0 && scoped > 0 {
		gone = append(gone, fmt.Sprintf("SELECT %s FROM %s s JOIN %s t ON %s AND %s = s.parent WHERE %s",
			keysT, scope, t, live, parentExpr("t", spec.parent), notPut))
	}
	if removes > 0 {
		gone = append(gone, fmt.Sprintf("SELECT %s FROM %s d JOIN %s t ON %s AND %s WHERE d.op = 'remove'",
			keysT, d, t, live, on))
	}
	if len(gone) == 0 {
		return res, nil
	}
	x := "x_" + t
	tag, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE %s ON COMMIT DROP AS %s`, x, strings.Join(gone, " UNION ")), tenantID)
	if err != nil {
		return res, mapError(err, t)
	}
	n := int(tag.RowsAffected())
	if n == 0 {
		return res, nil
	}
	// The breaker compares with what was live before this run: now, less
	// what the upsert above added or brought back. Counting stops once the
	// count clears the breaker's threshold: a delta run's few deletions are
	// then weighed against a few thousand rows, not a whole table.
	var liveBefore int
	check := !opts.AcceptDeletions && n >= opts.MinDeletes
	if check {
		enough := res.Added + int(float64(n)/max(opts.MaxDeleteFraction, 1e-9)) + 1
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT FROM %s WHERE tenant_id = $1 AND deleted_at IS NULL LIMIT $2) l`, t),
			tenantID, enough).Scan(&liveBefore); err != nil {
			return res, mapError(err, t)
		}
		liveBefore -= res.Added
	}
	if check && float64(n) > opts.MaxDeleteFraction*float64(liveBefore) {
		res.Withheld = n
		res.Breaker = fmt.Sprintf("%s: %d of %d (%.1f%%) would be deleted, more than the %.0f%% allowed; deletions withheld until reviewed",
			spec.collection, n, liveBefore, 100*float64(n)/float64(max(liveBefore, 1)), 100*opts.MaxDeleteFraction)
		return res, nil
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s t SET deleted_at = now() FROM %s x WHERE t.tenant_id = $1 AND %s`,
		t, x, joinOn("t", "x", spec.key)), tenantID); err != nil {
		return res, mapError(err, t)
	}
	if spec.parentOf != "" {
		// Remember what was deleted, for the cascades to the edges that point at it.
		if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO deleted_objects (kind, id) SELECT '%s', %s FROM %s`,
			spec.parentOf, parentExpr(x, spec.key), x)); err != nil {
			return res, mapError(err, "deleted objects")
		}
	}
	res.Deleted = n
	return res, nil
}

// analyzeChanged refreshes the planner statistics of the tables a run
// changed much (a first sync, a mass change): the apply's joins of the next
// runs are planned on them, and autovacuum may be off or not yet round.
// Nested loops chosen on a table's statistics from when it was nearly empty
// scan it whole for every row.
func analyzeChanged(ctx context.Context, tx pgx.Tx, results map[directory.Collection]CollectionResult) error {
	for c, r := range results {
		n := r.Added + r.Changed + r.Deleted
		if n < analyzeAfter {
			continue
		}
		spec, err := specFor(c)
		if err != nil {
			return err
		}
		// Autovacuum's rule: analyse once a tenth of the rows the statistics
		// describe has changed. A delta run's thousand changes to 100,000
		// users leave them fit; a first sync (estimated at zero rows or
		// never analysed, -1) does not.
		var estimated float64
		if err := tx.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, spec.table).Scan(&estimated); err != nil {
			return mapError(err, "table statistics")
		}
		if estimated > 0 && float64(n) < analyzeFraction*estimated {
			continue
		}
		if _, err := tx.Exec(ctx, `ANALYZE `+spec.table); err != nil {
			return mapError(err, "analyze "+spec.table)
		}
	}
	return nil
}

// analyzeNeverAnalyzed analyses the live tables of the staged collections
// that hold rows but were never analysed (autovacuum off, a database from
// before analyzeChanged): a small stage's nested loops would be planned on
// their empty-table estimates.
func analyzeNeverAnalyzed(ctx context.Context, tx pgx.Tx, staged []StagedCollection) error {
	var tables []string
	for _, sc := range staged {
		spec, err := specFor(sc.Collection)
		if err != nil {
			return err
		}
		tables = append(tables, spec.table)
	}
	rows, err := tx.Query(ctx, `SELECT relname FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = ANY($1) AND n_live_tup + n_dead_tup > $2
		  AND last_analyze IS NULL AND last_autoanalyze IS NULL`, tables, analyzeAfter)
	if err != nil {
		return mapError(err, "table statistics")
	}
	never, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapError(err, "table statistics")
	}
	for _, t := range never {
		if _, err := tx.Exec(ctx, `ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return mapError(err, "analyze "+t)
		}
	}
	return nil
}

// analyzeAfter is the fewest written rows that make analyzeChanged look at
// a table; analyzeFraction is the share of its estimated rows that must have
// changed (autovacuum's default analyze_scale_factor).
const (
	analyzeAfter    = 1000
	analyzeFraction = 0.1
)

// cascades soft-delete the edges of objects deleted in this transaction, as
// recorded in deleted_objects (kind = tableSpec.parentOf of the deleted object).
var cascades = []struct {
	c   directory.Collection
	sql string
}{
	// One statement per joined column: an OR in a join condition cannot be
	// hashed, and a nested loop over 400,000 edges takes seconds.
	{directory.GroupMembers, `UPDATE group_members e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind = 'group' AND e.group_id = d.id`},
	{directory.GroupMembers, `UPDATE group_members e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind IN ('user', 'group', 'servicePrincipal') AND e.member_id = d.id`},
	{directory.Owners, `UPDATE owners e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind IN ('servicePrincipal', 'application') AND e.object_id = d.id`},
	{directory.RoleAssignments, `UPDATE role_assignments e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind IN ('user', 'group', 'servicePrincipal') AND e.principal_id = d.id`},
	{directory.AppRoleAssignments, `UPDATE app_role_assignments e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind = 'servicePrincipal' AND e.principal_id = d.id`},
	{directory.AppRoleAssignments, `UPDATE app_role_assignments e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind = 'servicePrincipal' AND e.resource_id = d.id`},
	{directory.FlowPermissions, `UPDATE flow_permissions e SET deleted_at = now() FROM deleted_objects d
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND d.kind = 'flow' AND e.environment_name || '/' || e.flow_name = d.id`},
}

func cascade(ctx context.Context, tx pgx.Tx, tenantID string, results map[directory.Collection]CollectionResult) (retErr error) {
	var some bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_objects)`).Scan(&some); err != nil || !some {
		return mapError(err, "deleted objects")
	}
	var n int
	if _, err := tx.Exec(ctx, `ANALYZE deleted_objects`); err != nil {
		return mapError(err, "deleted objects")
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM deleted_objects`).Scan(&n); err != nil {
		return mapError(err, "deleted objects")
	}
	if n <= smallStage {
		restore, err := lookupJoins(ctx, tx)
		if err != nil {
			return err
		}
		defer restore(&retErr)
	}
	for _, c := range cascades {
		tag, err := tx.Exec(ctx, c.sql, tenantID)
		if err != nil {
			return mapError(err, "cascade "+string(c.c))
		}
		if n := int(tag.RowsAffected()); n > 0 {
			r := results[c.c]
			r.Deleted += n
			results[c.c] = r
		}
	}
	return nil
}

// lookupJoins plans the statements that follow as lookups of a few rows in
// the live tables' indexes, until the returned function restores hashed
// joins (see ApplyStaged). random_page_cost: the live tables are cached, and
// at PostgreSQL's default (4, for spinning disks) 5,000 index lookups cost
// more than hashing 400,000 group memberships, which takes three times as
// long. The caller defers restore(&err) with its named error result.
func lookupJoins(ctx context.Context, tx pgx.Tx) (restore func(errp *error), err error) {
	if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = on; SET LOCAL random_page_cost = 1.1`); err != nil {
		return nil, mapError(err, "apply settings")
	}
	return func(errp *error) {
		_, err := tx.Exec(context.WithoutCancel(ctx), `SET LOCAL enable_nestloop = off; SET LOCAL random_page_cost = DEFAULT`)
		if err != nil && *errp == nil {
			*errp = mapError(err, "apply settings")
		}
	}, nil
}

func dropStagingTx(ctx context.Context, tx pgx.Tx, runID int64) error {
	rows, err := tx.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'sync_stage' AND c.relkind = 'r' AND c.relname LIKE $1`, fmt.Sprintf("r%d\\_%%", runID))
	if err != nil {
		return mapError(err, "staging tables")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) == 0 {
		return mapError(err, "staging tables")
	}
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = pgx.Identifier{"sync_stage", n}.Sanitize()
	}
	_, err = tx.Exec(ctx, "DROP TABLE "+strings.Join(ids, ", "))
	return mapError(err, "drop staging tables")
}

func joinOn(a, b string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s.%s = %s.%s", a, c, b, c)
	}
	return strings.Join(parts, " AND ")
}

func prefixed(alias string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = alias + "." + c
	}
	return strings.Join(parts, ", ")
}

// parentExpr renders a parent key as Scope received it ("env/flow").
func parentExpr(alias string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = alias + "." + c
	}
	return strings.Join(parts, " || '/' || ")
}
