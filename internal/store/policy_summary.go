package store

import (
	"context"
	"slices"

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

// savePolicySummaries stores the summaries of the tenant's live policies,
// as the policies list shows them (summarizePolicies).
func savePolicySummaries(ctx context.Context, tx pgx.Tx, tenantID string, evalID int64) error {
	rows, err := tx.Query(ctx, `SELECT id, content_hash, raw FROM ca_policies WHERE tenant_id = $1 AND deleted_at IS NULL`, tenantID)
	if err != nil {
		return mapError(err, "policies to summarise")
	}
	var ids, hashes []string
	var raws [][]byte
	var id, hash string
	var raw []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &hash, &raw}, func() error {
		ids, hashes, raws = append(ids, id), append(hashes, hash), append(raws, slices.Clone(raw))
		return nil
	}); err != nil {
		return mapError(err, "policies to summarise")
	}
	summaries, err := summarizePolicies(ctx, tx, tenantID, raws)
	if err != nil || len(summaries) == 0 {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO exposure_policy_summaries (evaluation_id, policy_id, content_hash, summary)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])`, evalID, ids, hashes, summaries)
	return mapError(err, "policy summaries")
}

// unreadablePolicy is the summary of a policy whose JSON does not decode.
const unreadablePolicy = "The stored policy could not be read."

// summarizePolicies summarises policies from their JSON in words
// (exposure.SummarizePolicy), with the names of what they reference looked
// up once for all of them. Decoding is most of the work: SaveEvaluation
// does it once per evaluation, Policies only for the policies that changed
// since (fillSummaries).
func summarizePolicies(ctx context.Context, q queryer, tenantID string, raws [][]byte) ([]string, error) {
	out := make([]string, len(raws))
	decoded := make([]*directory.ConditionalAccessPolicy, len(raws))
	var refs exposure.PolicyRefs
	for i, raw := range raws {
		out[i] = unreadablePolicy
		if p, err := directory.DecodeLean[directory.ConditionalAccessPolicy](raw); err == nil {
			decoded[i] = &p
			refs.Add(&p)
		}
	}
	if !slices.ContainsFunc(decoded, func(p *directory.ConditionalAccessPolicy) bool { return p != nil }) {
		return out, nil
	}
	names, err := policyNames(ctx, q, tenantID, refs)
	if err != nil {
		return nil, err
	}
	for i, p := range decoded {
		if p != nil {
			out[i] = exposure.SummarizePolicy(p, names)
		}
	}
	return out, nil
}

// fillSummaries summarises the policies the current evaluation stored no
// summary for: there is no evaluation yet, or a policy changed since.
func (db *DB) fillSummaries(ctx context.Context, tenantID string, ps []Policy) error {
	var missing []int
	var raws [][]byte
	for i := range ps {
		if ps[i].Summary == "" {
			missing, raws = append(missing, i), append(raws, ps[i].Raw)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	summaries, err := summarizePolicies(ctx, db.pool, tenantID, raws)
	if err != nil {
		return err
	}
	for j, i := range missing {
		ps[i].Summary = summaries[j]
	}
	return nil
}
