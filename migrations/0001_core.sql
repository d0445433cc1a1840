-- Tenants and sync runs: every other table hangs off these two.

-- One row per Entra tenant this deployment governs. The id is the tenant GUID,
-- lower-cased (ids everywhere are stored lower-case and compared as text, so a
-- snapshot with odd casing or a non-GUID object id is kept rather than refused).
CREATE TABLE tenants (
    id              text PRIMARY KEY CHECK (id = lower(id) AND id <> ''),
    display_name    text NOT NULL DEFAULT '',
    default_domain  text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A sync run is one attempt to bring a tenant's data up to date, from Graph and
-- Power Platform or from a snapshot import. Objects point at the runs that first
-- and last saw them; soft deletes are only recorded by a complete run.
CREATE TABLE sync_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('graph', 'snapshot')),
    mode         text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'delta')),
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'needs_review')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- Per resource class: status, counts (fetched, added, changed, deleted), timings, error.
    resources    jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- A short, user-safe summary of why the run failed or needs review.
    error        text NOT NULL DEFAULT '',
    CHECK ((status = 'running') = (finished_at IS NULL))
);
-- The sync page lists a tenant's runs newest first.
CREATE INDEX sync_runs_tenant_started ON sync_runs (tenant_id, started_at DESC, id DESC);
-- At most one running run per tenant (the advisory lock is the real guard; this
-- catches a runner that died without closing its row).
CREATE INDEX sync_runs_running ON sync_runs (tenant_id) WHERE status = 'running';
