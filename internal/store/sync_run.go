package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
)

// Run statuses.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunCancelled   = "cancelled"
	RunNeedsReview = "needs_review"
)

// SyncRun is one attempt to bring a tenant's data up to date.
type SyncRun struct {
	ID         int64
	TenantID   string
	Source     string // graph | snapshot
	Mode       string // full | delta
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	// Resources holds each collection's status, counts, timing and error.
	Resources map[string]ResourceStatus
	// Error is a short, user-safe reason for a failed or needs-review run.
	Error string
}

// ResourceStatus is one collection's part of a run.
type ResourceStatus struct {
	Status     string `json:"status"` // running | staged | applied | not_captured | failed | skipped | needs_review
	Fetched    int    `json:"fetched"`
	Requests   int    `json:"requests,omitempty"`
	Added      int    `json:"added"`
	Changed    int    `json:"changed"`
	Deleted    int    `json:"deleted"`
	Withheld   int    `json:"withheld,omitempty"` // deletions held back by the mass-deletion breaker
	Complete   bool   `json:"complete,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	Note       string `json:"note,omitempty"`
}

const syncRunColumns = `id, tenant_id, source, mode, status, started_at, finished_at, resources, error`

func scanSyncRun(row pgx.Row) (SyncRun, error) {
	var r SyncRun
	var resources []byte
	if err := row.Scan(&r.ID, &r.TenantID, &r.Source, &r.Mode, &r.Status, &r.StartedAt, &r.FinishedAt, &resources, &r.Error); err != nil {
		return r, err
	}
	return r, json.Unmarshal(resources, &r.Resources)
}

// StartSyncRun records the start of a run for a known tenant.
func (db *DB) StartSyncRun(ctx context.Context, tenantID, source, mode string) (_ SyncRun, err error) {
	defer derr.Wrap(&err, "store.StartSyncRun(%s)", tenantID)
	r, err := scanSyncRun(db.pool.QueryRow(ctx, `
		INSERT INTO sync_runs (tenant_id, source, mode) VALUES (lower($1), $2, $3)
		RETURNING `+syncRunColumns, tenantID, source, mode))
	return r, mapError(err, "sync run")
}

// UpdateSyncRunResources records progress of a running run, for the sync page.
func (db *DB) UpdateSyncRunResources(ctx context.Context, id int64, resources map[string]ResourceStatus) (err error) {
	defer derr.Wrap(&err, "store.UpdateSyncRunResources(%d)", id)
	b, err := json.Marshal(resources)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `UPDATE sync_runs SET resources = $2 WHERE id = $1 AND status = 'running'`, id, b)
	return mapError(err, "sync run")
}

// FinishSyncRun closes a run with its final status.
func (db *DB) FinishSyncRun(ctx context.Context, id int64, status string, resources map[string]ResourceStatus, msg string) (err error) {
	defer derr.Wrap(&err, "store.FinishSyncRun(%d)", id)
	b, err := json.Marshal(resources)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `
		UPDATE sync_runs SET status = $2, resources = $3, error = $4, finished_at = now()
		WHERE id = $1`, id, status, b, msg)
	return mapError(err, "sync run")
}

// SyncRun returns one run.
func (db *DB) SyncRun(ctx context.Context, id int64) (_ SyncRun, err error) {
	defer derr.Wrap(&err, "store.SyncRun(%d)", id)
	r, err := scanSyncRun(db.pool.QueryRow(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1`, id))
	return r, mapError(err, "sync run")
}

// SyncRunFilter selects runs; nil fields do not filter.
type SyncRunFilter struct {
	TenantID *string
	Status   *string
	BeforeID *int64 // keyset pagination: runs older than this one
	Limit    int    // default 50
}

// SyncRuns lists runs newest first.
func (db *DB) SyncRuns(ctx context.Context, f SyncRunFilter) (_ []SyncRun, err error) {
	defer derr.Wrap(&err, "store.SyncRuns")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := db.pool.Query(ctx, `SELECT `+syncRunColumns+` FROM sync_runs
		WHERE ($1::text IS NULL OR tenant_id = lower($1))
		  AND ($2::text IS NULL OR status = $2)
		  AND ($3::bigint IS NULL OR id < $3)
		ORDER BY id DESC LIMIT $4`, f.TenantID, f.Status, f.BeforeID, f.Limit)
	if err != nil {
		return nil, mapError(err, "sync runs")
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SyncRun, error) { return scanSyncRun(r) })
	return runs, mapError(err, "sync runs")
}

// FailOrphanedRuns closes runs of a tenant left "running" by a process that
// died. Only the holder of the tenant's sync lock may call it: while it holds
// the lock no other run of the tenant can be alive.
func (db *DB) FailOrphanedRuns(ctx context.Context, tenantID string) (n int64, err error) {
	defer derr.Wrap(&err, "store.FailOrphanedRuns(%s)", tenantID)
	tag, err := db.pool.Exec(ctx, `
		UPDATE sync_runs SET status = 'failed', finished_at = now(),
			error = 'the process running this sync stopped before it finished; nothing it fetched was applied'
		WHERE tenant_id = lower($1) AND status = 'running'`, tenantID)
	return tag.RowsAffected(), mapError(err, "sync runs")
}

// DeltaLinks returns the stored delta link of each collection of a tenant.
func (db *DB) DeltaLinks(ctx context.Context, tenantID string) (_ map[string]string, err error) {
	defer derr.Wrap(&err, "store.DeltaLinks(%s)", tenantID)
	rows, err := db.pool.Query(ctx, `SELECT collection, delta_link FROM sync_state WHERE tenant_id = lower($1)`, tenantID)
	if err != nil {
		return nil, mapError(err, "delta links")
	}
	links := map[string]string{}
	var c, l string
	_, err = pgx.ForEachRow(rows, []any{&c, &l}, func() error { links[c] = l; return nil })
	return links, mapError(err, "delta links")
}

// LastRun returns the newest run of a tenant with the given status.
func (db *DB) LastRun(ctx context.Context, tenantID, status string) (_ SyncRun, err error) {
	defer derr.Wrap(&err, "store.LastRun(%s, %s)", tenantID, status)
	r, err := scanSyncRun(db.pool.QueryRow(ctx, `SELECT `+syncRunColumns+` FROM sync_runs
		WHERE tenant_id = lower($1) AND status = $2 ORDER BY id DESC LIMIT 1`, tenantID, status))
	return r, mapError(err, "sync run")
}
