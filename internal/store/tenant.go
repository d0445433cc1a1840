package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
)

// Tenant is one Entra tenant governed by this deployment.
type Tenant struct {
	ID            string // tenant GUID, lower-case
	DisplayName   string
	DefaultDomain string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const tenantColumns = `id, display_name, default_domain, created_at, updated_at`

func scanTenant(row pgx.Row) (Tenant, error) {
	var t Tenant
	err := row.Scan(&t.ID, &t.DisplayName, &t.DefaultDomain, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// UpsertTenant records a tenant, or refreshes its names if it is known.
func (db *DB) UpsertTenant(ctx context.Context, t Tenant) (_ Tenant, err error) {
	defer derr.Wrap(&err, "store.UpsertTenant(%s)", t.ID)
	t.ID = normalizeTenant(t.ID)
	if t.ID == "" {
		return Tenant{}, derr.Errorf(derr.EINVALID, "a tenant needs an id")
	}
	var out Tenant
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanTenant(tx.QueryRow(ctx, `
			INSERT INTO tenants (id, display_name, default_domain) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET
				display_name = EXCLUDED.display_name,
				default_domain = EXCLUDED.default_domain,
				updated_at = now()
			RETURNING `+tenantColumns, t.ID, t.DisplayName, t.DefaultDomain))
		return mapError(err, "tenant")
	})
	return out, err
}

// EnsureTenant records a tenant known only by its id, keeping the names of a
// tenant already known (a Graph sync learns the id before anything else).
func (db *DB) EnsureTenant(ctx context.Context, id string) (err error) {
	defer derr.Wrap(&err, "store.EnsureTenant(%s)", id)
	if id = normalizeTenant(id); id == "" {
		return derr.Errorf(derr.EINVALID, "a tenant needs an id")
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO tenants (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, id)
	return mapError(err, "tenant")
}

// Tenant returns one tenant by id (case-insensitive).
func (db *DB) Tenant(ctx context.Context, id string) (_ Tenant, err error) {
	defer derr.Wrap(&err, "store.Tenant(%s)", id)
	t, err := scanTenant(db.pool.QueryRow(ctx,
		`SELECT `+tenantColumns+` FROM tenants WHERE id = lower($1)`, id))
	return t, mapError(err, "tenant "+id)
}

// Tenants lists every tenant by display name.
func (db *DB) Tenants(ctx context.Context) (_ []Tenant, err error) {
	defer derr.Wrap(&err, "store.Tenants")
	rows, err := db.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY display_name, id`)
	if err != nil {
		return nil, mapError(err, "tenants")
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) { return scanTenant(r) })
	return ts, mapError(err, "tenants")
}

// normalizeTenant is how tenant ids are stored: trimmed and lower-case.
func normalizeTenant(id string) string { return strings.ToLower(strings.TrimSpace(id)) }
