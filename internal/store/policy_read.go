package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// This file reads Conditional Access policies for the policy pages: the
// policies themselves, their versions, and what the current evaluation
// says about the service accounts each one excludes or misses.

// Policy is a stored Conditional Access policy with the counts its list
// shows.
type Policy struct {
	ID          string
	DisplayName string
	State       string          // enabled | disabled | enabledForReportingButNotEnforced
	Raw         json.RawMessage // nil from Policies when Summary is set
	ContentHash string
	CreatedAt   *time.Time
	ModifiedAt  *time.Time
	DeletedAt   *time.Time // set once a complete sync no longer saw it
	FirstSeen   int64      // sync run
	LastSeen    int64      // sync run
	// Versions is how many distinct contents the policy has had.
	Versions int
	// ExcludedServiceAccounts counts the likely and confirmed service
	// accounts the current evaluation finds excluded from the policy (by
	// user, group, role, guest type or service principal; app exclusions
	// are not exclusions of the account).
	ExcludedServiceAccounts int
	// Summary is the policy in one sentence (exposure.SummarizePolicy): as
	// the current evaluation stored it for this content, with the names the
	// directory had then, or summarised from Raw when it stored none (no
	// evaluation yet, or the content changed since).
	Summary string
}

// serviceAccountLevels are the classification levels the policy pages count
// as service accounts.
var serviceAccountLevels = []string{string(exposure.ServiceConfirmed), string(exposure.ServiceLikely)}

// policySelect reads policies with their counts and stored summaries, and
// raw as their JSON; the caller adds the WHERE. The version count is a
// correlated subquery on a (tenant_id, policy_id) index (a tenant has at
// most a few hundred policies); the exclusion count and the summary are
// primary-key probes of what SaveEvaluation stored with the current
// evaluation (policy_summary.go).
func policySelect(raw string) string {
	return `
	SELECT p.id, p.display_name, p.state, ` + raw + `, p.content_hash, p.created_at, p.modified_at, p.deleted_at,
	       p.first_seen_run, p.last_seen_run,
	       (SELECT count(*) FROM ca_policy_versions v WHERE v.tenant_id = p.tenant_id AND v.policy_id = p.id),
	       coalesce(x.count, 0), coalesce(s.summary, '')
	FROM ca_policies p
	LEFT JOIN exposure_current c ON c.tenant_id = p.tenant_id
	LEFT JOIN exposure_aggregates x ON x.evaluation_id = c.evaluation_id AND x.dimension = '` + dimPolicyExcluded + `'
	     AND x.key = p.id
	LEFT JOIN exposure_policy_summaries s ON s.evaluation_id = c.evaluation_id AND s.policy_id = p.id
	     AND s.content_hash = p.content_hash`
}

// scanPolicy reads a row of policySelect. The raw JSON is read as bytes:
// PostgreSQL validated it, and validating it again in Go cost a millisecond
// per policies list.
func scanPolicy(row pgx.Row) (Policy, error) {
	var p Policy
	var raw []byte
	err := row.Scan(&p.ID, &p.DisplayName, &p.State, &raw, &p.ContentHash, &p.CreatedAt, &p.ModifiedAt, &p.DeletedAt,
		&p.FirstSeen, &p.LastSeen, &p.Versions, &p.ExcludedServiceAccounts, &p.Summary)
	p.Raw = raw
	return p, err
}

// Policies returns a tenant's live policies by name. Raw is nil where
// Summary is set: a list has no other use for it, and writing every
// policy's JSON out as text was half the list's time in the database.
func (db *DB) Policies(ctx context.Context, tenantID string) (_ []Policy, err error) {
	defer derr.Wrap(&err, "store.Policies(%s)", tenantID)
	rows, err := db.pool.Query(ctx, policySelect(`CASE WHEN s.summary IS NULL THEN p.raw END`)+`
		WHERE p.tenant_id = $1 AND p.deleted_at IS NULL
		ORDER BY p.display_name, p.id`, tenantID)
	if err != nil {
		return nil, mapError(err, "policies")
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, mapError(err, "policies")
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err, "policies")
	}
	return out, db.fillSummaries(ctx, tenantID, out)
}

// Policy returns one of a tenant's policies, deleted ones included (their
// history stays readable); ENOTFOUND when the tenant never had it.
func (db *DB) Policy(ctx context.Context, tenantID, id string) (_ Policy, err error) {
	defer derr.Wrap(&err, "store.Policy(%s, %s)", tenantID, id)
	p, err := scanPolicy(db.pool.QueryRow(ctx, policySelect(`p.raw`)+`
		WHERE p.tenant_id = $1 AND p.id = $2`, tenantID, id))
	if err != nil {
		return p, mapError(err, "policy")
	}
	ps := []Policy{p}
	err = db.fillSummaries(ctx, tenantID, ps)
	return ps[0], err
}

// PolicyVersion is one distinct content a policy has had.
type PolicyVersion struct {
	ContentHash string
	Raw         json.RawMessage
	FirstSeen   int64 // sync run
	LastSeen    int64 // sync run
	// When those runs started (nil if a run is gone).
	FirstSeenAt, LastSeenAt *time.Time
}

// PolicyVersions returns up to limit versions of a policy, newest first.
func (db *DB) PolicyVersions(ctx context.Context, tenantID, policyID string, limit int) (_ []PolicyVersion, err error) {
	defer derr.Wrap(&err, "store.PolicyVersions(%s, %s)", tenantID, policyID)
	rows, err := db.pool.Query(ctx, `
		SELECT v.content_hash, v.raw, v.first_seen_run, v.last_seen_run, f.started_at, l.started_at
		FROM ca_policy_versions v
		LEFT JOIN sync_runs f ON f.id = v.first_seen_run
		LEFT JOIN sync_runs l ON l.id = v.last_seen_run
		WHERE v.tenant_id = $1 AND v.policy_id = $2
		ORDER BY v.first_seen_run DESC, v.last_seen_run DESC, v.content_hash
		LIMIT $3`, tenantID, policyID, limit)
	if err != nil {
		return nil, mapError(err, "policy versions")
	}
	defer rows.Close()
	var out []PolicyVersion
	for rows.Next() {
		var v PolicyVersion
		if err := rows.Scan(&v.ContentHash, &v.Raw, &v.FirstSeen, &v.LastSeen, &v.FirstSeenAt, &v.LastSeenAt); err != nil {
			return nil, mapError(err, "policy versions")
		}
		out = append(out, v)
	}
	return out, mapError(rows.Err(), "policy versions")
}

// PolicyAccount is an account of the current evaluation as the policy page
// lists it.
type PolicyAccount struct {
	ID             string
	Kind           string // user | servicePrincipal | managedIdentity
	DisplayName    string
	UPN            string
	ServiceAccount string // confirmed | likely
	Exposure       string
	// Via and Path say how the policy excludes the account (exclusions).
	Via, Path string
	// Resources are the resources the policy leaves uncovered for the
	// account (misses); NotTargeted those of them the policy names with
	// effect notTargeted (it reaches the account, not the resource).
	Resources   []string
	NotTargeted []string
}

// PolicyExclusions returns up to limit likely and confirmed service
// accounts the current evaluation finds excluded from a policy, with the
// path of the exclusion, by name. Through exposure_exclusions_policy and
// the accounts' primary key.
func (db *DB) PolicyExclusions(ctx context.Context, tenantID, policyID string, limit int) (_ []PolicyAccount, err error) {
	defer derr.Wrap(&err, "store.PolicyExclusions(%s, %s)", tenantID, policyID)
	rows, err := db.pool.Query(ctx, `
		SELECT a.account_id, a.kind, a.display_name, a.upn, a.sa_level, a.exposure, e.via, e.path
		FROM exposure_current c
		JOIN exposure_exclusions e ON e.evaluation_id = c.evaluation_id AND e.policy_id = $2
		JOIN exposure_accounts a ON a.evaluation_id = e.evaluation_id AND a.account_id = e.account_id
		WHERE c.tenant_id = $1 AND e.via <> 'app' AND a.sa_level = ANY($3)
		ORDER BY a.display_name, a.account_id, e.path
		LIMIT $4`, tenantID, policyID, serviceAccountLevels, limit)
	if err != nil {
		return nil, mapError(err, "policy exclusions")
	}
	defer rows.Close()
	var out []PolicyAccount
	for rows.Next() {
		var a PolicyAccount
		if err := rows.Scan(&a.ID, &a.Kind, &a.DisplayName, &a.UPN, &a.ServiceAccount, &a.Exposure, &a.Via, &a.Path); err != nil {
			return nil, mapError(err, "policy exclusions")
		}
		out = append(out, a)
	}
	return out, mapError(rows.Err(), "policy exclusions")
}

// PolicyMisses returns up to limit likely and confirmed service accounts
// that the current evaluation leaves exposed or partly exposed on some
// resource the policy does not cover for them: it does not reach the
// account, or names the resource as not targeted. Excluded accounts are
// left out (PolicyExclusions lists them); so are accounts of the other
// side (users for a workload identity policy, workload identities for a
// user policy). The stored verdicts keep the policies that decided each
// resource, so a policy does not cover a resource when the resource's
// verdict is weaker than MFA and the policy is not among those that
// require, block, report or exclude there.
//
// Bounded: exposure_accounts_filter finds the candidates (exposed before
// partial, in index order), one jsonpath per candidate checks its stored
// resources, and the scan stops at limit; there is no ORDER BY to make it
// read them all (the caller sorts what it shows). The worst case is a
// policy that misses no one: every candidate is read once.
func (db *DB) PolicyMisses(ctx context.Context, tenantID, policyID string, workload bool, limit int) (_ []PolicyAccount, err error) {
	defer derr.Wrap(&err, "store.PolicyMisses(%s, %s)", tenantID, policyID)
	kinds := []string{string(exposure.KindUser)}
	if workload {
		kinds = []string{string(exposure.KindServicePrincipal), string(exposure.KindManagedIdentity)}
	}
	rows, err := db.pool.Query(ctx, `
		SELECT m.account_id, m.kind, m.display_name, m.upn, m.sa_level, m.exposure, m.missed,
		       jsonb_path_query_array(m.resources::jsonb, '`+notTargetedPath+`', jsonb_build_object('id', $2::text))
		FROM exposure_current c
		CROSS JOIN LATERAL (
			SELECT a.account_id, a.kind, a.display_name, a.upn, a.sa_level, a.exposure, a.resources,
			       jsonb_path_query_array(a.resources::jsonb, '`+missedPath+`', jsonb_build_object('id', $2::text)) AS missed
			FROM exposure_accounts a
			WHERE a.evaluation_id = c.evaluation_id
			  AND a.exposure IN ('exposed', 'partial') AND a.sa_level = ANY($3) AND a.kind = ANY($4)
			  AND NOT EXISTS (SELECT 1 FROM exposure_exclusions e
			                   WHERE e.evaluation_id = a.evaluation_id AND e.account_id = a.account_id
			                     AND e.policy_id = $2 AND e.via <> 'app')
			OFFSET 0 -- compute missed once per candidate, not again in the filter
		) m
		WHERE c.tenant_id = $1 AND m.missed <> '[]'::jsonb
		LIMIT $5`, tenantID, policyID, serviceAccountLevels, kinds, limit)
	if err != nil {
		return nil, mapError(err, "policy misses")
	}
	defer rows.Close()
	var out []PolicyAccount
	for rows.Next() {
		var a PolicyAccount
		if err := rows.Scan(&a.ID, &a.Kind, &a.DisplayName, &a.UPN, &a.ServiceAccount, &a.Exposure, &a.Resources, &a.NotTargeted); err != nil {
			return nil, mapError(err, "policy misses")
		}
		out = append(out, a)
	}
	return out, mapError(rows.Err(), "policy misses")
}

// weakVerdict matches a stored resource whose verdict is weaker than MFA.
const weakVerdict = `(@.verdict == "none" || @.verdict == "reportOnly" || @.verdict == "conditional")`

// missedPath names the resources, weaker than MFA, where policy $id does not
// require, block, report or exclude.
const missedPath = `$[*] ? (` + weakVerdict + ` && !exists(@.policies[*] ? (@.id == $id && (@.effect == "mfa" ||
	@.effect == "block" || @.effect == "conditional" || @.effect == "reportOnly" || @.effect == "excluded")))).name`

// notTargetedPath names the resources, weaker than MFA, that policy $id
// reaches the account for but does not target.
const notTargetedPath = `$[*] ? (` + weakVerdict + ` && exists(@.policies[*] ? (@.id == $id && @.effect == "notTargeted"))).name`

// PolicyNames looks up the names of the objects policies reference, live
// ones only: a deleted group reads as unknown, as it does to Entra ID.
// One round trip, every branch on a primary key or the role template and
// service principal appId indexes.
func (db *DB) PolicyNames(ctx context.Context, tenantID string, refs exposure.PolicyRefs) (_ exposure.Names, err error) {
	defer derr.Wrap(&err, "store.PolicyNames(%s)", tenantID)
	return policyNames(ctx, db.pool, tenantID, refs)
}

// queryer is what policyNames needs of a pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func policyNames(ctx context.Context, q queryer, tenantID string, refs exposure.PolicyRefs) (exposure.Names, error) {
	n := exposure.Names{Users: map[string]string{}, Groups: map[string]string{}, Roles: map[string]string{},
		Locations: map[string]string{}, Apps: map[string]string{}, ServicePrincipals: map[string]string{}}
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	rows, err := q.Query(ctx, `
		SELECT 'user', id, display_name FROM users WHERE tenant_id = $1 AND id = ANY($2) AND deleted_at IS NULL
		UNION ALL
		SELECT 'group', id, display_name FROM groups WHERE tenant_id = $1 AND id = ANY($3) AND deleted_at IS NULL
		UNION ALL
		SELECT 'role', template_id, display_name FROM role_definitions
		 WHERE tenant_id = $1 AND template_id = ANY($4) AND deleted_at IS NULL
		UNION ALL
		SELECT 'role', id, display_name FROM role_definitions WHERE tenant_id = $1 AND id = ANY($4) AND deleted_at IS NULL
		UNION ALL
		SELECT 'location', id, display_name FROM named_locations WHERE tenant_id = $1 AND id = ANY($5) AND deleted_at IS NULL
		UNION ALL
		SELECT 'app', app_id, display_name FROM service_principals
		 WHERE tenant_id = $1 AND app_id = ANY($6) AND deleted_at IS NULL
		UNION ALL
		SELECT 'sp', id, display_name FROM service_principals WHERE tenant_id = $1 AND id = ANY($7) AND deleted_at IS NULL`,
		tenantID, nz(refs.Users), nz(refs.Groups), nz(refs.Roles), nz(refs.Locations), nz(refs.Apps), nz(refs.ServicePrincipals))
	if err != nil {
		return n, mapError(err, "policy names")
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, name string
		if err := rows.Scan(&kind, &id, &name); err != nil {
			return n, mapError(err, "policy names")
		}
		if name == "" {
			name = id // known, but nameless: still not "unknown"
		}
		m := map[string]map[string]string{"user": n.Users, "group": n.Groups, "role": n.Roles,
			"location": n.Locations, "app": n.Apps, "sp": n.ServicePrincipals}[kind]
		m[id] = name
	}
	return n, mapError(rows.Err(), "policy names")
}
