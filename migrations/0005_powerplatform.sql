-- Power Platform: environments, flows, flow permissions and connections.
-- Their ids are Power Platform "names" (GUIDs, or Default-<tenant guid> for the
-- default environment); flows and connections are unique within an environment.

CREATE TABLE environments (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL,
    raw             jsonb NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    sku             text NOT NULL DEFAULT '',
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE flows (
    tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment_name    text NOT NULL,
    name                text NOT NULL,
    raw                 jsonb NOT NULL,
    display_name        text NOT NULL DEFAULT '',
    state               text NOT NULL DEFAULT '',   -- Started | Stopped | Suspended
    creator_object_id   text NOT NULL DEFAULT '',
    last_modified_at    timestamptz,
    first_seen_run      bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run       bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at          timestamptz,
    PRIMARY KEY (tenant_id, environment_name, name)
);
CREATE INDEX flows_live_name ON flows (tenant_id, display_name, environment_name, name) WHERE deleted_at IS NULL;
CREATE INDEX flows_creator ON flows (tenant_id, creator_object_id) WHERE deleted_at IS NULL;

-- One row per permission entry of a flow; id is the permission's name.
CREATE TABLE flow_permissions (
    tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment_name    text NOT NULL,
    flow_name           text NOT NULL,
    id                  text NOT NULL,
    raw                 jsonb NOT NULL,
    role_name           text NOT NULL DEFAULT '',   -- Owner | CanEdit | CanView
    principal_id        text NOT NULL DEFAULT '',
    principal_type      text NOT NULL DEFAULT '',   -- User | Group | ServicePrincipal | Tenant
    first_seen_run      bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run       bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at          timestamptz,
    PRIMARY KEY (tenant_id, environment_name, flow_name, id)
);
-- "Flows this account owns" (account detail, flows page by owner type).
CREATE INDEX flow_permissions_principal ON flow_permissions (tenant_id, principal_id, role_name) WHERE deleted_at IS NULL;

CREATE TABLE connections (
    tenant_id               text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    environment_name        text NOT NULL,
    name                    text NOT NULL,
    raw                     jsonb NOT NULL,
    api_id                  text NOT NULL DEFAULT '',
    display_name            text NOT NULL DEFAULT '',
    created_by_id           text NOT NULL DEFAULT '',
    created_by_upn          text NOT NULL DEFAULT '',
    created_by_type         text NOT NULL DEFAULT '',
    overall_status          text NOT NULL DEFAULT '',   -- Connected | Error | …
    error_message           text NOT NULL DEFAULT '',   -- first status error, e.g. the AADSTS50076 refresh failure
    first_seen_run          bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run           bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at              timestamptz,
    PRIMARY KEY (tenant_id, environment_name, name)
);
CREATE INDEX connections_creator ON connections (tenant_id, created_by_id) WHERE deleted_at IS NULL;
CREATE INDEX connections_errors ON connections (tenant_id, overall_status) WHERE deleted_at IS NULL AND overall_status <> 'Connected';
