-- The accounts list (/accounts and /api/v1/accounts) reads the current
-- evaluation's exposure_accounts with filters, three sort orders, keyset
-- pagination and counts next to every filter value, and must stay fast on a
-- 100,000-user tenant.

-- Trusted since PostgreSQL 13: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Generated columns, so SaveEvaluation's COPY (an explicit column list)
-- fills them without knowing they exist.
ALTER TABLE exposure_accounts
    -- "Exposed first": exposed, partial, protected, notApplicable.
    ADD COLUMN exposure_rank smallint GENERATED ALWAYS AS (
        CASE exposure WHEN 'exposed' THEN 0 WHEN 'partial' THEN 1 WHEN 'protected' THEN 2 ELSE 3 END) STORED,
    -- The name sort key: the display name (the UPN or appId when it is
    -- empty), lower-cased, cut at the 256 characters Entra allows, so that
    -- a longer (imported) name still fits in a btree entry. The account id
    -- breaks ties: the order is total.
    ADD COLUMN name_key text GENERATED ALWAYS AS (
        lower(left(coalesce(nullif(display_name, ''), upn), 256))) STORED,
    ADD COLUMN is_privileged boolean GENERATED ALWAYS AS (cardinality(privileged) > 0) STORED,
    -- The classification's signal "owns or created flows or connections".
    ADD COLUMN owns_flows boolean GENERATED ALWAYS AS (signals @> '[{"code": "ownsAutomation"}]') STORED;

-- One index per sort order, each led by the classification and the kind:
-- the list reads one range per (service-account level, kind) it needs, in
-- the order of its keyset, and merges them; a page costs a few dozen
-- entries wherever it starts, whatever filters select those levels and
-- kinds.
CREATE INDEX exposure_accounts_by_exposure ON exposure_accounts
    (evaluation_id, sa_level, kind, exposure_rank, name_key, account_id);
CREATE INDEX exposure_accounts_by_name ON exposure_accounts
    (evaluation_id, sa_level, kind, name_key, account_id);
CREATE INDEX exposure_accounts_by_score ON exposure_accounts
    (evaluation_id, sa_level, kind, (-sa_score), name_key, account_id);
-- Few accounts hold admin roles or own flows: small indexes to gather them.
CREATE INDEX exposure_accounts_privileged ON exposure_accounts (evaluation_id) WHERE is_privileged;
CREATE INDEX exposure_accounts_owns_flows ON exposure_accounts (evaluation_id) WHERE owns_flows;

-- Case-insensitive substring search on the display name and UPN (ILIKE).
CREATE INDEX exposure_accounts_search ON exposure_accounts USING gin (display_name gin_trgm_ops, upn gin_trgm_ops);

-- The current evaluation's accounts counted by every filterable attribute
-- at once (a few hundred rows even for 100,000 accounts). The list's counts
-- next to each filter value, each with the other filters applied, are sums
-- over these rows, instead of a scan of every account on every request.
-- A trigger keeps them: written when an evaluation becomes current, in the
-- transaction that makes it current, and dropped when it stops being.
CREATE TABLE exposure_account_counts (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    sa_level      text NOT NULL,
    exposure      text NOT NULL,
    is_privileged boolean NOT NULL,
    owns_flows    boolean NOT NULL,
    finding_codes text[] NOT NULL,
    accounts      integer NOT NULL
);
CREATE INDEX exposure_account_counts_evaluation ON exposure_account_counts (evaluation_id);

CREATE FUNCTION exposure_account_counts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.evaluation_id = NEW.evaluation_id THEN
            RETURN NULL;
        END IF;
        DELETE FROM exposure_account_counts WHERE evaluation_id = OLD.evaluation_id;
    END IF;
    INSERT INTO exposure_account_counts
        (evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, accounts)
    SELECT NEW.evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, count(*)
    FROM exposure_accounts WHERE evaluation_id = NEW.evaluation_id
    GROUP BY kind, sa_level, exposure, is_privileged, owns_flows, finding_codes;
    RETURN NULL;
END
$$;

CREATE TRIGGER exposure_current_counts AFTER INSERT OR UPDATE OF evaluation_id ON exposure_current
    FOR EACH ROW EXECUTE FUNCTION exposure_account_counts_refresh();

-- Evaluations already current when this migration runs.
INSERT INTO exposure_account_counts
    (evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, accounts)
SELECT a.evaluation_id, a.kind, a.sa_level, a.exposure, a.is_privileged, a.owns_flows, a.finding_codes, count(*)
FROM exposure_current c JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id
GROUP BY a.evaluation_id, a.kind, a.sa_level, a.exposure, a.is_privileged, a.owns_flows, a.finding_codes;
