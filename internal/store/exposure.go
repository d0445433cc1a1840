package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// EvaluationSummary is one stored evaluation of a tenant.
type EvaluationSummary struct {
	ID          int64
	TenantID    string
	SyncRunID   *int64
	EvaluatedAt time.Time
	CreatedAt   time.Time
	DurationMS  int64
	Accounts    int
	Notes       []string
}

// SaveEvaluation stores a tenant's evaluation and makes it the current one,
// in one transaction: readers see the previous evaluation until it commits,
// then this one whole. runID is the sync run whose data was evaluated (0:
// none). The rows of the evaluations it replaces are deleted afterwards;
// their aggregates stay for trends.
func (db *DB) SaveEvaluation(ctx context.Context, tenantID string, runID int64, ev *exposure.Evaluation, took time.Duration) (id int64, err error) {
	defer derr.Wrap(&err, "store.SaveEvaluation(%s)", tenantID)
	notes, err := json.Marshal(nonNil(ev.Notes))
	if err != nil {
		return 0, err
	}
	var run *int64
	if runID != 0 {
		run = &runID
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			INSERT INTO exposure_evaluations (tenant_id, sync_run_id, evaluated_at, duration_ms, accounts, notes)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			tenantID, run, ev.EvaluatedAt, took.Milliseconds(), len(ev.Accounts), notes).Scan(&id); err != nil {
			return mapError(err, "evaluation")
		}
		if err := copyAccounts(ctx, tx, id, ev.Accounts); err != nil {
			return err
		}
		// Attaching builds the partition's indexes in bulk (see 0008).
		if _, err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE exposure_accounts ATTACH PARTITION %s FOR VALUES IN (%d)`,
			accountsPartition(id), id)); err != nil {
			return mapError(err, "evaluation accounts")
		}
		if _, err := tx.Exec(ctx, aggregateSQL, id); err != nil {
			return mapError(err, "evaluation aggregates")
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO exposure_current (tenant_id, evaluation_id) VALUES ($1, $2)
			ON CONFLICT (tenant_id) DO UPDATE SET evaluation_id = EXCLUDED.evaluation_id`, tenantID, id); err != nil {
			return mapError(err, "current evaluation")
		}
		// What the policy and flow pages would otherwise compute on every
		// request (0011). The flow summary reads the current evaluation, so
		// it comes after the switch; it is the last statement.
		if err := savePolicyEvaluation(ctx, tx, tenantID, id); err != nil {
			return err
		}
		return saveFlowSummary(ctx, tx, tenantID, id)
	})
	if err != nil {
		return 0, err
	}
	// Out of the transaction: readers already follow exposure_current.
	if err := db.pruneEvaluations(ctx, tenantID, id); err != nil {
		return id, err
	}
	return id, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// aggregateSQL counts an evaluation's accounts and findings for trends.
const aggregateSQL = `
INSERT INTO exposure_aggregates (evaluation_id, dimension, key, count)
SELECT $1, 'exposure', exposure, count(*) FROM exposure_accounts WHERE evaluation_id = $1 GROUP BY exposure
UNION ALL
SELECT $1, 'kind', kind, count(*) FROM exposure_accounts WHERE evaluation_id = $1 GROUP BY kind
UNION ALL
SELECT $1, 'exposureByKind', kind || '/' || exposure, count(*) FROM exposure_accounts WHERE evaluation_id = $1 GROUP BY kind, exposure
UNION ALL
SELECT $1, 'serviceAccount', kind || '/' || sa_level, count(*) FROM exposure_accounts WHERE evaluation_id = $1 GROUP BY kind, sa_level
UNION ALL
SELECT $1, 'finding', code, count(*) FROM exposure_findings WHERE evaluation_id = $1 GROUP BY code
UNION ALL
SELECT $1, 'severity', severity, count(*) FROM exposure_findings WHERE evaluation_id = $1 GROUP BY severity`

// pruneEvaluations deletes the rows of a tenant's evaluations other than
// keep. The evaluations themselves and their aggregates stay.
func (db *DB) pruneEvaluations(ctx context.Context, tenantID string, keep int64) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT e.id FROM exposure_evaluations e
			JOIN pg_class c ON c.relname = 'exposure_accounts_e' || e.id
			WHERE e.tenant_id = $1 AND e.id <> $2`, tenantID, keep)
		if err != nil {
			return mapError(err, "old evaluations")
		}
		old, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return mapError(err, "old evaluations")
		}
		for _, id := range old {
			if _, err := tx.Exec(ctx, `DROP TABLE `+accountsPartition(id)); err != nil {
				return mapError(err, "pruning evaluation accounts")
			}
		}
		for _, table := range []string{"exposure_exclusions", "exposure_findings",
			"exposure_flows_at_risk", "exposure_flow_broken_connections", "exposure_connections_not_connected",
			"exposure_policy_summaries"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE evaluation_id IN (
				SELECT id FROM exposure_evaluations WHERE tenant_id = $1 AND id <> $2)`, tenantID, keep); err != nil {
				return mapError(err, "pruning "+table)
			}
		}
		return nil
	})
}

// accountsPartition names the exposure_accounts partition of an evaluation.
func accountsPartition(evalID int64) string { return fmt.Sprintf("exposure_accounts_e%d", evalID) }

// storedResource is a resource verdict as exposure_accounts.resources keeps it.
type storedResource struct {
	AppID    string         `json:"appId"`
	Name     string         `json:"name"`
	Used     bool           `json:"used,omitempty"`
	Verdict  string         `json:"verdict"`
	Reason   string         `json:"reason,omitempty"`
	Policies []storedPolicy `json:"policies,omitempty"`
}

type storedPolicy struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	State      string   `json:"state"`
	Effect     string   `json:"effect"`
	Path       string   `json:"path,omitempty"`
	Conditions []string `json:"conditions,omitempty"`
}

type storedSignal struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Weight int    `json:"weight"`
}

// copyAccounts writes accounts, their exclusions and findings with COPY.
func copyAccounts(ctx context.Context, tx pgx.Tx, evalID int64, accounts []*exposure.Account) error {
	i := 0
	var rowErr error
	// A table of the evaluation's own, attached as a partition once filled.
	// The CHECK lets the attach skip its validation scan.
	part := accountsPartition(evalID)
	if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE %[1]s (LIKE exposure_accounts INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS);
		ALTER TABLE %[1]s ADD CONSTRAINT %[1]s_evaluation CHECK (evaluation_id = %[2]d)`, part, evalID)); err != nil {
		return mapError(err, "evaluation accounts")
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{part},
		[]string{"evaluation_id", "account_id", "kind", "upn", "display_name", "enabled", "exposure", "workload",
			"sa_level", "sa_score", "signals", "privileged", "finding_codes", "max_severity", "resources"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i >= len(accounts) {
				return nil, nil
			}
			a := accounts[i]
			i++
			row, err := accountRow(evalID, a)
			if err != nil {
				rowErr = err
			}
			return row, err
		}))
	if rowErr != nil {
		return rowErr
	}
	if err != nil {
		return mapError(err, "evaluation accounts")
	}

	var excl [][]any
	var finds [][]any
	for _, a := range accounts {
		for _, e := range a.Exclusions {
			excl = append(excl, []any{evalID, a.ID, e.PolicyID, e.PolicyName, e.State, e.Via, e.Path, nonNil(e.Apps)})
		}
		for _, f := range a.Findings {
			ev, err := json.Marshal(f.Evidence)
			if err != nil {
				return err
			}
			finds = append(finds, []any{evalID, a.ID, f.Code, string(f.Severity), f.Message, f.Remediation, ev})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"exposure_exclusions"},
		[]string{"evaluation_id", "account_id", "policy_id", "policy_name", "state", "via", "path", "apps"},
		pgx.CopyFromRows(excl)); err != nil {
		return mapError(err, "evaluation exclusions")
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"exposure_findings"},
		[]string{"evaluation_id", "account_id", "code", "severity", "message", "remediation", "evidence"},
		pgx.CopyFromRows(finds))
	return mapError(err, "evaluation findings")
}

func accountRow(evalID int64, a *exposure.Account) ([]any, error) {
	res := make([]storedResource, len(a.Resources))
	for i, r := range a.Resources {
		sr := storedResource{AppID: r.AppID, Name: r.Name, Used: r.Used, Verdict: string(r.Verdict), Reason: r.Reason}
		for _, p := range r.Policies {
			sr.Policies = append(sr.Policies, storedPolicy{ID: p.ID, Name: p.Name, State: p.State, Effect: string(p.Effect), Path: p.Path, Conditions: p.Conditions})
		}
		res[i] = sr
	}
	resources, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	sigs := make([]storedSignal, len(a.ServiceAccount.Signals))
	for i, s := range a.ServiceAccount.Signals {
		sigs[i] = storedSignal(s)
	}
	signals, err := json.Marshal(sigs)
	if err != nil {
		return nil, err
	}
	var codes []string
	maxSev := ""
	for _, f := range a.Findings {
		codes = append(codes, f.Code)
		if maxSev == "" {
			maxSev = string(f.Severity) // findings are sorted by severity, highest first
		}
	}
	return []any{evalID, a.ID, string(a.Kind), a.UPN, a.DisplayName, a.Enabled, string(a.Exposure), string(a.Workload),
		string(a.ServiceAccount.Level), a.ServiceAccount.Score, signals, nonNil(a.Privileged), nonNil(codes), maxSev, resources}, nil
}

// CurrentEvaluation returns the tenant's current evaluation; ENOTFOUND when
// the tenant has never been evaluated.
func (db *DB) CurrentEvaluation(ctx context.Context, tenantID string) (_ EvaluationSummary, err error) {
	defer derr.Wrap(&err, "store.CurrentEvaluation(%s)", tenantID)
	var s EvaluationSummary
	var notes []byte
	err = db.pool.QueryRow(ctx, `
		SELECT e.id, e.tenant_id, e.sync_run_id, e.evaluated_at, e.created_at, e.duration_ms, e.accounts, e.notes
		FROM exposure_current c JOIN exposure_evaluations e ON e.id = c.evaluation_id
		WHERE c.tenant_id = $1`, tenantID).Scan(&s.ID, &s.TenantID, &s.SyncRunID, &s.EvaluatedAt, &s.CreatedAt, &s.DurationMS, &s.Accounts, &notes)
	if err != nil {
		return s, mapError(err, "evaluation of tenant "+tenantID)
	}
	return s, json.Unmarshal(notes, &s.Notes)
}

// EvaluationCounts returns the aggregates of a tenant's evaluations, oldest
// first, for trend charts: one map per evaluation, keyed "dimension/key".
func (db *DB) EvaluationCounts(ctx context.Context, tenantID string, limit int) (_ []EvaluationCounts, err error) {
	defer derr.Wrap(&err, "store.EvaluationCounts(%s)", tenantID)
	rows, err := db.pool.Query(ctx, `
		SELECT e.id, e.sync_run_id, e.evaluated_at, a.dimension, a.key, a.count
		FROM (SELECT * FROM exposure_evaluations WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2) e
		JOIN exposure_aggregates a ON a.evaluation_id = e.id
		ORDER BY e.id, a.dimension, a.key`, tenantID, limit)
	if err != nil {
		return nil, mapError(err, "evaluation counts")
	}
	defer rows.Close()
	var out []EvaluationCounts
	for rows.Next() {
		var id int64
		var run *int64
		var at time.Time
		var dim, key string
		var n int
		if err := rows.Scan(&id, &run, &at, &dim, &key, &n); err != nil {
			return nil, mapError(err, "evaluation counts")
		}
		if len(out) == 0 || out[len(out)-1].EvaluationID != id {
			out = append(out, EvaluationCounts{EvaluationID: id, SyncRunID: run, EvaluatedAt: at, Counts: map[string]int{}})
		}
		out[len(out)-1].Counts[dim+"/"+key] = n
	}
	return out, mapError(rows.Err(), "evaluation counts")
}

// EvaluationCounts are one evaluation's aggregates.
type EvaluationCounts struct {
	EvaluationID int64
	SyncRunID    *int64
	EvaluatedAt  time.Time
	Counts       map[string]int // "exposure/exposed" → 12
}

// EvaluateTenant reads a tenant's stored directory, evaluates it with the
// exposure engine and stores the results as its current evaluation, tagged
// with runID (0: none): what follows every sync and import.
func (db *DB) EvaluateTenant(ctx context.Context, tenantID string, runID int64, cfg exposure.Config) (_ EvaluationStats, err error) {
	defer derr.Wrap(&err, "store.EvaluateTenant(%s)", tenantID)
	var st EvaluationStats
	began := time.Now()
	snap, err := db.LoadForEvaluation(ctx, tenantID)
	if err != nil {
		return st, err
	}
	loaded := time.Now()
	ev := exposure.Evaluate(snap, cfg)
	evaluated := time.Now()
	// Only the results are stored: let the directory go before writing them
	// (on a large tenant it is most of the memory).
	ev.Forget()
	st.ID, err = db.SaveEvaluation(ctx, tenantID, runID, ev, evaluated.Sub(loaded))
	st.Accounts = len(ev.Accounts)
	st.Load, st.Evaluate, st.Save = loaded.Sub(began), evaluated.Sub(loaded), time.Since(evaluated)
	return st, err
}

// EvaluationStats describes one EvaluateTenant.
type EvaluationStats struct {
	ID                   int64
	Accounts             int
	Load, Evaluate, Save time.Duration
}
