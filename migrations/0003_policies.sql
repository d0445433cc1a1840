-- Conditional Access policies and named locations.

-- The current state of each policy. raw is normalised to camelCase by the reader
-- (PascalCase PowerShell exports are accepted), content_hash is the SHA-256 of
-- that canonical JSON and points at the version row below.
CREATE TABLE ca_policies (
    tenant_id         text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                text NOT NULL,
    raw               jsonb NOT NULL,
    display_name      text NOT NULL DEFAULT '',
    state             text NOT NULL DEFAULT '',   -- enabled | disabled | enabledForReportingButNotEnforced
    content_hash      text NOT NULL,
    created_at        timestamptz,
    modified_at       timestamptz,
    first_seen_run    bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run     bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at        timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ca_policies_live_name ON ca_policies (tenant_id, display_name, id) WHERE deleted_at IS NULL;

-- Every distinct content a policy has had, so the policy page can show a diff
-- between versions. A version seen again later just moves its last_seen_run.
CREATE TABLE ca_policy_versions (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    policy_id       text NOT NULL,
    content_hash    text NOT NULL,
    raw             jsonb NOT NULL,
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    -- Versions are never deleted; the column keeps the table shape uniform.
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, policy_id, content_hash)
);
CREATE INDEX ca_policy_versions_history ON ca_policy_versions (tenant_id, policy_id, first_seen_run DESC);

CREATE TABLE named_locations (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              text NOT NULL,
    raw             jsonb NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    kind            text NOT NULL DEFAULT '',   -- ip | country | other
    is_trusted      boolean NOT NULL DEFAULT false,
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, id)
);
