package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
)

// This file stores, with each evaluation, what the policies list shows of
// every policy and would otherwise compute on every request
// (0011_flow_summary.sql): the service accounts each excludes, and its
// summary in words, whose decoding of the policies' JSON cost most of the
// list's time.

// dimPolicyExcluded is the exposure_aggregates dimension that counts, per
// policy (the key), the likely and confirmed service accounts an evaluation
// finds excluded from it.
const dimPolicyExcluded = "policyExcludedServiceAccounts"

// policyExclusionCountsSQL stores evaluation $1's excluded service accounts
// per policy ($2: serviceAccountLevels): one primary-key probe of
// exposure_accounts per exclusion (2,194 on the large tenant), once per
// evaluation instead of once per request. LATERAL … LIMIT 1 keeps the
// probes on the primary key: the evaluation's partition has no statistics
// yet, and a plain join let the planner probe an index led by sa_level
// instead, reading thousands of entries per exclusion (5 s). Policies
// without one have no row: zero.
const policyExclusionCountsSQL = `
	INSERT INTO exposure_aggregates (evaluation_id, dimension, key, count)
	SELECT $1, '` + dimPolicyExcluded + `', e.policy_id, count(DISTINCT e.account_id)
	FROM exposure_exclusions e
	CROSS JOIN LATERAL (SELECT sa_level FROM exposure_accounts
		WHERE evaluation_id = e.evaluation_id AND account_id = e.account_id LIMIT 1) a
	WHERE e.evaluation_id = $1 AND e.via <> 'app' AND a.sa_level = ANY($2)
	GROUP BY e.policy_id`

// savePolicyEvaluation stores the policies list's counts and summaries of
// a tenant's evaluation evalID, in SaveEvaluation's transaction tx.
func savePolicyEvaluation(ctx context.Context, tx pgx.Tx, tenantID string, evalID int64) error {
	if _, err := tx.Exec(ctx, policyExclusionCountsSQL, evalID, serviceAccountLevels); err != nil {
		return mapError(err, "policy exclusion counts")
	}
	return savePolicySummaries(ctx, tx, tenantID, evalID)
}

// savePolicySummaries summarises the tenant's live policies with the names
// of what they reference, as the policies list would. A policy whose JSON
// does not decode gets no summary (the list says so itself).
func savePolicySummaries(ctx context.Context, tx pgx.Tx, tenantID string, evalID int64) error {
	rows, err := tx.Query(ctx, `SELECT id, content_hash, raw FROM ca_policies WHERE tenant_id = $1 AND deleted_at IS NULL`, tenantID)
	if err != nil {
		return mapError(err, "policies to summarise")
	}
	var ids, hashes []string
	var policies []*directory.ConditionalAccessPolicy
	var refs exposure.PolicyRefs
	var id, hash string
	var raw []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &hash, &raw}, func() error {
		p, err := directory.DecodeLean[directory.ConditionalAccessPolicy](raw)
		if err != nil {
			return nil
		}
		ids, hashes, policies = append(ids, id), append(hashes, hash), append(policies, &p)
		refs.Add(&p)
		return nil
	}); err != nil {
		return mapError(err, "policies to summarise")
	}
	if len(policies) == 0 {
		return nil
	}
	names, err := policyNames(ctx, tx, tenantID, refs)
	if err != nil {
		return err
	}
	summaries := make([]string, len(policies))
	for i, p := range policies {
		summaries[i] = exposure.SummarizePolicy(p, names)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO exposure_policy_summaries (evaluation_id, policy_id, content_hash, summary)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])`, evalID, ids, hashes, summaries)
	return mapError(err, "policy summaries")
}
