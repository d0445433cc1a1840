-- Directory objects from Microsoft Graph. Every table follows one shape:
--   tenant_id, the object id, raw (the object exactly as the source returned it),
--   typed columns that queries filter and sort on, first_seen_run / last_seen_run,
--   and deleted_at (a soft delete, set only by a complete run).
-- Ids are lower-cased text (see tenants). Partial indexes "WHERE deleted_at IS NULL"
-- serve the list pages, which only ever show live objects.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    tenant_id                   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                          text NOT NULL,
    raw                         jsonb NOT NULL,
    user_principal_name         text NOT NULL DEFAULT '',
    display_name                text NOT NULL DEFAULT '',
    mail                        text NOT NULL DEFAULT '',
    user_type                   text NOT NULL DEFAULT '',   -- Member | Guest
    employee_type               text NOT NULL DEFAULT '',
    account_enabled             boolean,                    -- NULL: not captured
    on_premises_sync_enabled    boolean,
    created_at                  timestamptz,
    last_password_change_at     timestamptz,
    last_sign_in_at             timestamptz,                -- interactive, success or not
    last_non_interactive_sign_in_at timestamptz,
    last_successful_sign_in_at  timestamptz,
    first_seen_run              bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run               bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at                  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX users_live_name ON users (tenant_id, display_name, id) WHERE deleted_at IS NULL;
CREATE INDEX users_live_upn ON users (tenant_id, lower(user_principal_name)) WHERE deleted_at IS NULL;
-- Text search on name and UPN (the accounts page) must not scan 100k rows.
CREATE INDEX users_search ON users USING gin ((display_name || ' ' || user_principal_name) gin_trgm_ops)
    WHERE deleted_at IS NULL;

CREATE TABLE groups (
    tenant_id             text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    text NOT NULL,
    raw                   jsonb NOT NULL,
    display_name          text NOT NULL DEFAULT '',
    security_enabled      boolean,
    mail_enabled          boolean,
    is_assignable_to_role boolean,
    is_dynamic            boolean NOT NULL DEFAULT false,  -- groupTypes contains DynamicMembership
    first_seen_run        bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run         bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at            timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX groups_live_name ON groups (tenant_id, display_name, id) WHERE deleted_at IS NULL;

-- Direct membership edges only; nesting is resolved by the exposure engine.
-- member_type is the Graph type name without its prefix (user, group, servicePrincipal, …).
-- No foreign key to groups or users: an edge may name an object the tenant no
-- longer has, and SNAPSHOT.md says such references are kept.
CREATE TABLE group_members (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    group_id        text NOT NULL,
    member_id       text NOT NULL,
    member_type     text NOT NULL DEFAULT '',
    raw             jsonb NOT NULL,
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, group_id, member_id)
);
-- "Which groups is this account in?" (account detail, exclusion paths).
CREATE INDEX group_members_member ON group_members (tenant_id, member_id) WHERE deleted_at IS NULL;

CREATE TABLE role_definitions (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              text NOT NULL,
    raw             jsonb NOT NULL,
    display_name    text NOT NULL DEFAULT '',
    template_id     text NOT NULL DEFAULT '',
    is_built_in     boolean,
    is_privileged   boolean,
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX role_definitions_template ON role_definitions (tenant_id, template_id);

-- Role assignment ids are not GUIDs in Graph (they look like base64), hence text.
CREATE TABLE role_assignments (
    tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  text NOT NULL,
    raw                 jsonb NOT NULL,
    principal_id        text NOT NULL DEFAULT '',
    role_definition_id  text NOT NULL DEFAULT '',
    directory_scope_id  text NOT NULL DEFAULT '',
    first_seen_run      bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run       bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at          timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX role_assignments_principal ON role_assignments (tenant_id, principal_id) WHERE deleted_at IS NULL;
CREATE INDEX role_assignments_role ON role_assignments (tenant_id, role_definition_id) WHERE deleted_at IS NULL;

CREATE TABLE service_principals (
    tenant_id                   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                          text NOT NULL,
    raw                         jsonb NOT NULL,
    app_id                      text NOT NULL DEFAULT '',
    display_name                text NOT NULL DEFAULT '',
    service_principal_type      text NOT NULL DEFAULT '',   -- Application | ManagedIdentity | Legacy | SocialIdp
    app_owner_organization_id   text NOT NULL DEFAULT '',
    account_enabled             boolean,
    first_seen_run              bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run               bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at                  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX service_principals_app ON service_principals (tenant_id, app_id);
CREATE INDEX service_principals_live_type ON service_principals (tenant_id, service_principal_type, display_name, id)
    WHERE deleted_at IS NULL;
CREATE INDEX service_principals_search ON service_principals USING gin (display_name gin_trgm_ops)
    WHERE deleted_at IS NULL;

-- Credentials (passwordCredentials, keyCredentials, federatedIdentityCredentials)
-- stay in raw: Graph never returns secret values, only their metadata.
CREATE TABLE applications (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              text NOT NULL,
    raw             jsonb NOT NULL,
    app_id          text NOT NULL DEFAULT '',
    display_name    text NOT NULL DEFAULT '',
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX applications_app ON applications (tenant_id, app_id);

CREATE TABLE app_role_assignments (
    tenant_id               text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                      text NOT NULL,
    raw                     jsonb NOT NULL,
    principal_id            text NOT NULL DEFAULT '',
    principal_type          text NOT NULL DEFAULT '',
    resource_id             text NOT NULL DEFAULT '',
    resource_display_name   text NOT NULL DEFAULT '',
    app_role_id             text NOT NULL DEFAULT '',
    first_seen_run          bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run           bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at              timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX app_role_assignments_principal ON app_role_assignments (tenant_id, principal_id) WHERE deleted_at IS NULL;
-- "Who holds Directory.ReadWrite.All?" (findings, privileged filter).
CREATE INDEX app_role_assignments_role ON app_role_assignments (tenant_id, app_role_id) WHERE deleted_at IS NULL;

-- Owners of service principals and applications (object_id is either).
CREATE TABLE owners (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_id       text NOT NULL,
    owner_id        text NOT NULL,
    owner_type      text NOT NULL DEFAULT '',
    raw             jsonb NOT NULL,
    first_seen_run  bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run   bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, object_id, owner_id)
);
CREATE INDEX owners_owner ON owners (tenant_id, owner_id) WHERE deleted_at IS NULL;
