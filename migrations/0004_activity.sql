-- MFA registration and sign-in activity.

-- userRegistrationDetails: id is the user's object id.
CREATE TABLE registration_details (
    tenant_id                 text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                        text NOT NULL,
    raw                       jsonb NOT NULL,
    user_principal_name       text NOT NULL DEFAULT '',
    is_admin                  boolean,
    is_mfa_registered         boolean,
    is_mfa_capable            boolean,
    is_passwordless_capable   boolean,
    methods_registered        text[] NOT NULL DEFAULT '{}',
    first_seen_run            bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run             bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at                timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- Sign-in events in the synced time window (interactive and non-interactive).
-- Events age out of the window rather than being deleted in the tenant, but the
-- table keeps the common shape so one sync path serves every collection.
CREATE TABLE sign_ins (
    tenant_id                   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                          text NOT NULL,
    raw                         jsonb NOT NULL,
    created_at                  timestamptz NOT NULL,
    user_id                     text NOT NULL DEFAULT '',
    user_principal_name         text NOT NULL DEFAULT '',
    app_id                      text NOT NULL DEFAULT '',
    app_display_name            text NOT NULL DEFAULT '',
    resource_id                 text NOT NULL DEFAULT '',
    client_app_used             text NOT NULL DEFAULT '',
    sign_in_event_types         text[] NOT NULL DEFAULT '{}',
    error_code                  integer NOT NULL DEFAULT 0,
    failure_reason              text NOT NULL DEFAULT '',
    conditional_access_status   text NOT NULL DEFAULT '',
    first_seen_run              bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run               bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at                  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Recent sign-ins of one account (account detail).
CREATE INDEX sign_ins_user ON sign_ins (tenant_id, user_id, created_at DESC);
-- Accounts failing MFA now (overview tile, findings): failures only.
CREATE INDEX sign_ins_failures ON sign_ins (tenant_id, error_code, created_at DESC) WHERE error_code <> 0;

-- Beta servicePrincipalSignInActivity, keyed by its id (Graph uses the appId-based id).
CREATE TABLE service_principal_sign_in_activities (
    tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  text NOT NULL,
    raw                 jsonb NOT NULL,
    app_id              text NOT NULL DEFAULT '',
    last_sign_in_at     timestamptz,
    first_seen_run      bigint NOT NULL REFERENCES sync_runs (id),
    last_seen_run       bigint NOT NULL REFERENCES sync_runs (id),
    deleted_at          timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX service_principal_sign_in_activities_app ON service_principal_sign_in_activities (tenant_id, app_id);
