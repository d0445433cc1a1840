package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// Overview is what a tenant's overview counts in its current evaluation:
// the evaluation's stored aggregates, plus the few breakdowns the aggregates
// lack. Every count comes from an indexed aggregate query, never from
// loading accounts.
type Overview struct {
	Evaluation EvaluationSummary
	// Counts are the evaluation's aggregates, keyed "dimension/key" like
	// EvaluationCounts ("exposure/exposed", "serviceAccount/user/likely").
	Counts map[string]int
	// UserServiceAccounts counts the users classified as confirmed or likely
	// service accounts, keyed "level/exposure" ("likely/exposed").
	UserServiceAccounts map[string]int
	// AccountsWith counts, for each code of OverviewCodes, the accounts with
	// that finding (an account may have a code more than once; the
	// aggregates count findings).
	AccountsWith map[string]int
	// SecretAccounts counts the accounts with any of SecretCodes.
	SecretAccounts int
	// Severest is the highest severity each finding code has in the
	// evaluation: a code's severity depends on the account.
	Severest map[string]exposure.Severity
}

// SecretCodes are the findings about service principals' client secrets.
var SecretCodes = []string{exposure.CodeSecretExpired, exposure.CodeSecretExpiring, exposure.CodeSecretLongLived}

// OverviewCodes are the findings whose accounts Overview counts.
var OverviewCodes = append([]string{exposure.CodeMFAFailures, exposure.CodePrivilegedUserServiceAccount}, SecretCodes...)

// Overview counts a tenant's current evaluation for its overview page;
// ENOTFOUND when the tenant has not been evaluated yet. It reads in one
// repeatable-read transaction, so an evaluation that replaces the current
// one meanwhile (and prunes its rows) cannot leave it half counted: two
// round trips, the evaluation, then everything counted in it.
func (db *DB) Overview(ctx context.Context, tenantID string) (_ Overview, err error) {
	defer derr.Wrap(&err, "store.Overview(%s)", tenantID)
	o := Overview{Counts: map[string]int{}, UserServiceAccounts: map[string]int{},
		AccountsWith: map[string]int{}, Severest: map[string]exposure.Severity{}}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return o, err
	}
	defer tx.close(ctx)

	var notes []byte
	e := &o.Evaluation
	var b pgx.Batch
	b.Queue(`
		SELECT e.id, e.tenant_id, e.sync_run_id, e.evaluated_at, e.created_at, e.duration_ms, e.accounts, e.notes
		FROM exposure_current c JOIN exposure_evaluations e ON e.id = c.evaluation_id
		WHERE c.tenant_id = lower($1)`, tenantID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&e.ID, &e.TenantID, &e.SyncRunID, &e.EvaluatedAt, &e.CreatedAt, &e.DurationMS, &e.Accounts, &notes)
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return o, mapError(err, "evaluation of tenant "+tenantID)
	}
	if err := json.Unmarshal(notes, &e.Notes); err != nil {
		return o, err
	}

	var counts pgx.Batch
	var dim, key, level, exp, code, sev string
	var n int
	// The aggregates: primary key (evaluation_id, dimension, key).
	counts.Queue(`SELECT dimension, key, count FROM exposure_aggregates WHERE evaluation_id = $1`, e.ID).
		Query(eachRow([]any{&dim, &key, &n}, func() { o.Counts[dim+"/"+key] = n }))

	// Exposure of user service accounts: the aggregates have exposure by
	// kind, not by classification. Every column of exposure_accounts_filter
	// is bound (the arrays become one index descent per combination), so
	// only the service accounts' entries are read.
	counts.Queue(`
		SELECT sa_level, exposure, sum(accounts)::int FROM exposure_account_counts
		WHERE evaluation_id = $1 AND exposure = ANY($2) AND sa_level = ANY($3) AND kind = $4
		GROUP BY sa_level, exposure`, e.ID,
		[]string{string(exposure.LevelExposed), string(exposure.LevelPartial), string(exposure.LevelProtected), string(exposure.LevelNotApplicable)},
		[]string{string(exposure.ServiceConfirmed), string(exposure.ServiceLikely)}, string(exposure.KindUser)).
		Query(eachRow([]any{&level, &exp, &n}, func() { o.UserServiceAccounts[level+"/"+exp] = n }))

	// Accounts (not findings) per code, and the accounts with any secret
	// code: from the current evaluation's accounts counted by attributes
	// (exposure_account_counts, a few hundred rows kept by 0009's trigger),
	// not from the findings themselves, which took 10 of the page's 13 ms.
	counts.Queue(`
		SELECT c.code, coalesce(sum(a.accounts) FILTER (WHERE a.finding_codes @> ARRAY[c.code]), 0)::int
		FROM unnest($2::text[]) c (code) CROSS JOIN exposure_account_counts a
		WHERE a.evaluation_id = $1
		GROUP BY c.code
		UNION ALL
		SELECT '', coalesce(sum(accounts) FILTER (WHERE finding_codes && $3::text[]), 0)::int
		FROM exposure_account_counts WHERE evaluation_id = $1`, e.ID, OverviewCodes, SecretCodes).
		Query(eachRow([]any{&code, &n}, func() {
			switch {
			case code == "":
				o.SecretAccounts = n
			case n > 0:
				o.AccountsWith[code] = n
			}
		}))

	// The highest severity of each code present: at most four index probes
	// of exposure_findings_code per code, highest first.
	counts.Queue(`
		SELECT a.key, s.severity
		FROM exposure_aggregates a
		CROSS JOIN LATERAL (
			SELECT s.severity FROM unnest($2::text[]) WITH ORDINALITY s (severity, rank)
			WHERE EXISTS (SELECT 1 FROM exposure_findings f
				WHERE f.evaluation_id = a.evaluation_id AND f.code = a.key AND f.severity = s.severity)
			ORDER BY s.rank LIMIT 1) s
		WHERE a.evaluation_id = $1 AND a.dimension = 'finding'`, e.ID,
		[]string{string(exposure.SeverityHigh), string(exposure.SeverityMedium), string(exposure.SeverityLow), string(exposure.SeverityInfo)}).
		Query(eachRow([]any{&key, &sev}, func() { o.Severest[key] = exposure.Severity(sev) }))

	tx.commitWithNext = true
	return o, mapError(tx.SendBatch(ctx, &counts).Close(), "evaluation counts")
}
