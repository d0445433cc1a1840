-- Evaluation results (EXPOSURE.md): what the exposure engine concluded from
-- a tenant's stored data after a sync or import. Every row belongs to one
-- evaluation; exposure_current points at each tenant's newest complete one,
-- and is switched in the transaction that finishes writing it, so readers
-- (who always join through it) never see half an evaluation.

CREATE TABLE exposure_evaluations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The sync run whose data was evaluated (NULL: evaluated on demand).
    sync_run_id   bigint REFERENCES sync_runs (id) ON DELETE SET NULL,
    evaluated_at  timestamptz NOT NULL,       -- the evaluation's "now"
    created_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer NOT NULL DEFAULT 0,
    accounts      integer NOT NULL DEFAULT 0,
    notes         jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX exposure_evaluations_tenant ON exposure_evaluations (tenant_id, id DESC);

CREATE TABLE exposure_current (
    tenant_id     text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE
);

-- Per-evaluation counts for trend charts, kept after the rows they count
-- are replaced: (dimension, key) like ('exposure', 'exposed'),
-- ('kind', 'user'), ('serviceAccount', 'likely'), ('finding', 'DORMANT'),
-- ('severity', 'high'), ('exposureByKind', 'user/exposed').
CREATE TABLE exposure_aggregates (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    dimension     text NOT NULL,
    key           text NOT NULL,
    count         integer NOT NULL,
    PRIMARY KEY (evaluation_id, dimension, key)
);

-- One row per account: users, service principals, managed identities.
-- resources is the per-resource verdict list with the deciding policies
-- (id, effect, path, conditions); signals the classification's reasons.
-- Partitioned by evaluation: an evaluation's rows are copied into a table of
-- their own, indexed in bulk and attached (far cheaper than maintaining every
-- index row by row on 125,000 accounts), and a replaced evaluation's
-- partition is dropped whole.
CREATE TABLE exposure_accounts (
    evaluation_id   bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    account_id      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('user', 'servicePrincipal', 'managedIdentity')),
    upn             text NOT NULL DEFAULT '',
    display_name    text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL,
    exposure        text NOT NULL CHECK (exposure IN ('protected', 'partial', 'exposed', 'notApplicable')),
    workload        text NOT NULL DEFAULT '',
    sa_level        text NOT NULL CHECK (sa_level IN ('confirmed', 'likely', 'possible', 'no')),
    sa_score        integer NOT NULL DEFAULT 0,
    signals         jsonb NOT NULL DEFAULT '[]'::jsonb,
    privileged      text[] NOT NULL DEFAULT '{}',
    finding_codes   text[] NOT NULL DEFAULT '{}',
    max_severity    text NOT NULL DEFAULT '',
    resources       json NOT NULL DEFAULT '[]'::json, -- json, not jsonb: written in bulk, read whole
    PRIMARY KEY (evaluation_id, account_id)
) PARTITION BY LIST (evaluation_id);
CREATE INDEX exposure_accounts_filter ON exposure_accounts (evaluation_id, exposure, sa_level, kind);
CREATE INDEX exposure_accounts_codes ON exposure_accounts USING gin (finding_codes);

-- Exclusions from MFA (or block) policies, with the path that excludes.
CREATE TABLE exposure_exclusions (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    account_id    text NOT NULL,
    policy_id     text NOT NULL,
    policy_name   text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT '',
    via           text NOT NULL,
    path          text NOT NULL,
    apps          text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX exposure_exclusions_account ON exposure_exclusions (evaluation_id, account_id);
CREATE INDEX exposure_exclusions_policy ON exposure_exclusions (evaluation_id, policy_id);

CREATE TABLE exposure_findings (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    account_id    text NOT NULL,
    code          text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('high', 'medium', 'low', 'info')),
    message       text NOT NULL,
    remediation   text NOT NULL DEFAULT '',
    evidence      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX exposure_findings_account ON exposure_findings (evaluation_id, account_id);
CREATE INDEX exposure_findings_code ON exposure_findings (evaluation_id, code, severity);
