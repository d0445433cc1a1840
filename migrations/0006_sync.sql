-- Sync bookkeeping: delta links and the schema that holds a run's staged rows.

-- The delta link of a collection, written in the same transaction as the data
-- it covers, so a crash can never leave a link ahead of the stored objects.
CREATE TABLE sync_state (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    collection   text NOT NULL,
    delta_link   text NOT NULL,
    run_id       bigint NOT NULL REFERENCES sync_runs (id),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, collection)
);

-- A run stages what its sources fetch in UNLOGGED tables here (one per
-- collection, named after the run), then applies them in one transaction.
-- Tables of runs that died are dropped by the next run of any tenant.
CREATE SCHEMA IF NOT EXISTS sync_stage;

-- The mode of the last successful run decides the next one (delta needs links).
CREATE INDEX sync_runs_tenant_status ON sync_runs (tenant_id, status, id DESC);
