-- The accounts list's text search (q=): a case-insensitive substring of the
-- display name or UPN. It must stay fast for a term a few accounts contain
-- (svc) and for one every user contains (the tenant's domain), with exact
-- counts next to the filters whenever the list shows them.

-- What a search reads, lower-cased once when the evaluation is written
-- rather than on every row a search rechecks: `s LIKE lower(p)` is
-- `s ILIKE p` in a UTF-8 database. The display name and UPN are joined by a
-- newline, which a search term never holds (AccountList refuses one), so no
-- match spans the two. Each kind of account gets a column of its own, with
-- statistics of its own: the planner's histograms then tell how many users,
-- service principals and managed identities hold a term (AccountList reads
-- them), and a term every user holds (the domain) is looked up in the index
-- of service principals, which none holds, instead of read in all of them.
ALTER TABLE exposure_accounts
    ADD COLUMN user_search text GENERATED ALWAYS AS (
        CASE WHEN kind = 'user' THEN lower(display_name) || E'\n' || lower(upn) END) STORED,
    ADD COLUMN service_principal_search text GENERATED ALWAYS AS (
        CASE WHEN kind = 'servicePrincipal' THEN lower(display_name) || E'\n' || lower(upn) END) STORED,
    ADD COLUMN managed_identity_search text GENERATED ALWAYS AS (
        CASE WHEN kind = 'managedIdentity' THEN lower(display_name) || E'\n' || lower(upn) END) STORED,
    -- The account's row of exposure_account_counts, as one number: a
    -- search counts its matches by this key instead of by six columns (a
    -- third of its time on 570 matches).
    ADD COLUMN facet_key bigint GENERATED ALWAYS AS (hashtextextended(
        sa_level || ' ' || kind || ' ' || exposure || ' ' || (cardinality(privileged) > 0)::text || ' ' ||
        (signals @> '[{"code": "ownsAutomation"}]')::text, hash_array_extended(finding_codes, 0))) STORED;

DROP INDEX exposure_accounts_search;
CREATE INDEX exposure_accounts_user_search ON exposure_accounts
    USING gin (user_search gin_trgm_ops) WHERE user_search IS NOT NULL;
CREATE INDEX exposure_accounts_service_principal_search ON exposure_accounts
    USING gin (service_principal_search gin_trgm_ops) WHERE service_principal_search IS NOT NULL;
CREATE INDEX exposure_accounts_managed_identity_search ON exposure_accounts
    USING gin (managed_identity_search gin_trgm_ops) WHERE managed_identity_search IS NOT NULL;

-- The counts carry the key of their accounts. Unique per evaluation: two
-- rows sharing a key (a hash collision, about 1 in 10^15 for 200 rows)
-- fail the evaluation loudly instead of merging two rows' counts.
ALTER TABLE exposure_account_counts ADD COLUMN facet_key bigint;
DELETE FROM exposure_account_counts;
INSERT INTO exposure_account_counts
    (evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, facet_key, accounts)
SELECT a.evaluation_id, a.kind, a.sa_level, a.exposure, a.is_privileged, a.owns_flows, a.finding_codes, a.facet_key, count(*)
FROM exposure_current c JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id
GROUP BY a.evaluation_id, a.kind, a.sa_level, a.exposure, a.is_privileged, a.owns_flows, a.finding_codes, a.facet_key;
ALTER TABLE exposure_account_counts ALTER COLUMN facet_key SET NOT NULL;
DROP INDEX exposure_account_counts_evaluation;
CREATE UNIQUE INDEX exposure_account_counts_key ON exposure_account_counts (evaluation_id, facet_key);

CREATE OR REPLACE FUNCTION exposure_account_counts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.evaluation_id = NEW.evaluation_id THEN
            RETURN NULL;
        END IF;
        DELETE FROM exposure_account_counts WHERE evaluation_id = OLD.evaluation_id;
    END IF;
    INSERT INTO exposure_account_counts
        (evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, facet_key, accounts)
    SELECT NEW.evaluation_id, kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, facet_key, count(*)
    FROM exposure_accounts WHERE evaluation_id = NEW.evaluation_id
    GROUP BY kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, facet_key;
    RETURN NULL;
END
$$;
