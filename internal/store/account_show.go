package store

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// How much of an account's automation and failures the account page lists;
// the counts say how many there are in all.
const (
	accountFlowLimit          = 100
	accountConnectionLimit    = 100
	accountSignInFailureLimit = 20
)

// AccountDetail is one account of a tenant's current evaluation with what
// the synced directory says about it: the account page.
type AccountDetail struct {
	EvaluationID int64
	EvaluatedAt  time.Time
	// Account is the account as the evaluation stored it, with every
	// resource's Reason filled in.
	Account *exposure.Account
	// User is set for users, ServicePrincipal for service principals and
	// managed identities, while their directory row exists.
	User             *AccountUser
	ServicePrincipal *AccountServicePrincipal
	// Raw is the directory object as the source returned it (nil: gone).
	Raw []byte

	Flows           []AccountFlow // created or owned, by name; at most accountFlowLimit
	FlowCount       int
	Connections     []AccountConnection // created, those in error first; at most accountConnectionLimit
	ConnectionCount int
	SignInFailures  []AccountSignInFailure // newest first; at most accountSignInFailureLimit
}

// AccountUser is what the directory says about a user account.
type AccountUser struct {
	UserType, EmployeeType, Mail string
	Created                      *time.Time
	LastPasswordChange           *time.Time
	LastInteractiveSignIn        *time.Time // success or not
	LastNonInteractiveSignIn     *time.Time
	LastSuccessfulSignIn         *time.Time
	Deleted                      *time.Time
	// MFA is the user's registration details; nil when none were synced.
	MFA *AccountMFA
}

// AccountMFA is a user's MFA registration.
type AccountMFA struct {
	Registered, Capable, PasswordlessCapable *bool
	Methods                                  []string
	DefaultMethod                            string
}

// AccountServicePrincipal is what the directory says about a service
// principal or managed identity.
type AccountServicePrincipal struct {
	AppID, Type, AppOwnerOrganizationID string
	LastSignIn                          *time.Time // servicePrincipalSignInActivity
	Deleted                             *time.Time
}

// AccountFlow is a flow the account created or owns.
type AccountFlow struct {
	EnvironmentName, EnvironmentDisplayName string
	Name, DisplayName                       string
	State                                   string // Started | Stopped | Suspended
	SuspensionReason                        string
	LastModified                            *time.Time
	Created, Owner                          bool     // the account is its creator / has an Owner permission
	Connectors                              []string // display names of the connections it references, sorted
	// ConnectionsInError counts the connections it references that are in
	// error; ConnectionError is one of their messages.
	ConnectionsInError int
	ConnectionError    string
}

// AccountConnection is a connection the account created.
type AccountConnection struct {
	EnvironmentName, EnvironmentDisplayName string
	Name, DisplayName                       string
	APIID                                   string
	Status                                  string // Connected | Error | …
	ErrorMessage                            string
}

// AccountSignInFailure is one failed sign-in of a user.
type AccountSignInFailure struct {
	At                      time.Time
	AppID, AppDisplayName   string
	ResourceDisplayName     string
	ClientAppUsed           string
	EventTypes              []string
	ErrorCode               int
	FailureReason           string
	ConditionalAccessStatus string
}

// EvaluatedAccount returns one account of the tenant's current evaluation,
// rebuilt from the stored rows; ENOTFOUND when the tenant has no evaluation
// or the evaluation has no such account.
func (db *DB) EvaluatedAccount(ctx context.Context, tenantID, accountID string) (_ *exposure.Account, err error) {
	defer derr.Wrap(&err, "store.EvaluatedAccount(%s, %s)", tenantID, accountID)
	var d AccountDetail
	b := &pgx.Batch{}
	var found bool
	queueEvaluatedAccount(b, tenantID, accountID, &d, &found)
	if err := db.readBatch(ctx, b); err != nil {
		return nil, mapError(err, "account")
	}
	if err := accountFound(found); err != nil {
		return nil, err
	}
	return d.Account, nil
}

// AccountDetail returns one account of the tenant's current evaluation with
// its directory facts, automation and recent sign-in failures; ENOTFOUND
// when the tenant has no evaluation or the evaluation has no such account.
// Every query is a primary-key or index lookup of this one account, sent
// together in one round trip and read from one snapshot.
func (db *DB) AccountDetail(ctx context.Context, tenantID, accountID string) (_ AccountDetail, err error) {
	defer derr.Wrap(&err, "store.AccountDetail(%s, %s)", tenantID, accountID)
	var d AccountDetail
	b := &pgx.Batch{}
	// Every query is a lookup by key: a plan made once per connection serves
	// every account (planning them was a fifth of the database's time).
	b.Queue(genericPlans)
	var found bool
	queueEvaluatedAccount(b, tenantID, accountID, &d, &found)
	queueAccountDirectory(b, tenantID, accountID, &d)
	if err := db.readBatch(ctx, b); err != nil {
		return d, mapError(err, "account")
	}
	return d, accountFound(found)
}

func accountFound(found bool) error {
	if !found {
		return derr.Errorf(derr.ENOTFOUND, "No such account in the tenant's current evaluation.")
	}
	return nil
}

// queueEvaluatedAccount queues the reads of the account's evaluation: its
// row, exclusions and findings, each through exposure_current by the
// evaluation tables' (evaluation_id, account_id) keys.
func queueEvaluatedAccount(b *pgx.Batch, tenantID, accountID string, d *AccountDetail, found *bool) {
	a := &exposure.Account{ID: accountID}
	b.Queue(`
		SELECT e.id, e.evaluated_at, a.kind, a.upn, a.display_name, a.enabled, a.exposure, a.workload,
		       a.sa_level, a.sa_score, a.signals, a.privileged, a.resources
		FROM exposure_current c
		JOIN exposure_evaluations e ON e.id = c.evaluation_id
		JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id AND a.account_id = $2
		WHERE c.tenant_id = $1`, tenantID, accountID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var kind, exp, workload, level string
			var signals, resources []byte
			if err := rows.Scan(&d.EvaluationID, &d.EvaluatedAt, &kind, &a.UPN, &a.DisplayName, &a.Enabled, &exp, &workload,
				&level, &a.ServiceAccount.Score, &signals, &a.Privileged, &resources); err != nil {
				return mapError(err, "account")
			}
			a.Kind, a.Exposure, a.Workload = exposure.Kind(kind), exposure.Level(exp), exposure.Workload(workload)
			a.ServiceAccount.Level = exposure.ServiceAccountLevel(level)
			if err := decodeAccountJSON(a, signals, resources); err != nil {
				return err
			}
			*found = true
		}
		return mapError(rows.Err(), "account")
	})
	b.Queue(`
		SELECT x.policy_id, x.policy_name, x.state, x.via, x.path, x.apps
		FROM exposure_current c
		JOIN exposure_exclusions x ON x.evaluation_id = c.evaluation_id AND x.account_id = $2
		WHERE c.tenant_id = $1
		ORDER BY x.via = 'app', x.policy_name, x.policy_id, x.path`, tenantID, accountID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var e exposure.Exclusion
			if err := rows.Scan(&e.PolicyID, &e.PolicyName, &e.State, &e.Via, &e.Path, &e.Apps); err != nil {
				return mapError(err, "account exclusions")
			}
			a.Exclusions = append(a.Exclusions, e)
		}
		return mapError(rows.Err(), "account exclusions")
	})
	b.Queue(`
		SELECT f.code, f.severity, f.message, f.remediation, f.evidence
		FROM exposure_current c
		JOIN exposure_findings f ON f.evaluation_id = c.evaluation_id AND f.account_id = $2
		WHERE c.tenant_id = $1
		ORDER BY array_position(ARRAY['high', 'medium', 'low', 'info'], f.severity), f.code, f.message`,
		tenantID, accountID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var f exposure.Finding
			var sev string
			var ev []byte
			if err := rows.Scan(&f.Code, &sev, &f.Message, &f.Remediation, &ev); err != nil {
				return mapError(err, "account findings")
			}
			f.Severity = exposure.Severity(sev)
			if err := json.Unmarshal(ev, &f.Evidence); err != nil {
				return err
			}
			a.Findings = append(a.Findings, f)
		}
		if err := rows.Err(); err != nil {
			return mapError(err, "account findings")
		}
		// The exclusions were read before the findings: the account is whole.
		explainResources(a)
		d.Account = a
		return nil
	})
}

// decodeAccountJSON fills the account's signals and resources from their
// stored JSON.
func decodeAccountJSON(a *exposure.Account, signals, resources []byte) error {
	var sigs []storedSignal
	if err := json.Unmarshal(signals, &sigs); err != nil {
		return err
	}
	for _, s := range sigs {
		a.ServiceAccount.Signals = append(a.ServiceAccount.Signals, exposure.Signal(s))
	}
	var res []storedResource
	if err := json.Unmarshal(resources, &res); err != nil {
		return err
	}
	for _, r := range res {
		rv := exposure.ResourceVerdict{AppID: r.AppID, Name: r.Name, Used: r.Used, Verdict: exposure.Verdict(r.Verdict), Reason: r.Reason}
		for _, p := range r.Policies {
			rv.Policies = append(rv.Policies, exposure.PolicyEffect{ID: p.ID, Name: p.Name, State: p.State,
				Effect: exposure.Effect(p.Effect), Path: p.Path, Conditions: p.Conditions})
		}
		a.Resources = append(a.Resources, rv)
	}
	return nil
}

// explainResources writes the sentence of each resource's verdict that the
// evaluation left empty (it keeps user accounts' small). Which policies
// leave a resource out is not stored with the resource; the account's app
// exclusions say it.
func explainResources(a *exposure.Account) {
	for i := range a.Resources {
		rv := &a.Resources[i]
		if rv.Reason != "" {
			continue
		}
		for j := range rv.Policies {
			pe := &rv.Policies[j]
			if pe.Effect != exposure.EffectNotTargeted {
				continue
			}
			pe.AppExcluded = slices.ContainsFunc(a.Exclusions, func(e exposure.Exclusion) bool {
				return e.Via == "app" && e.PolicyID == pe.ID && slices.Contains(e.Apps, rv.Name)
			})
		}
		rv.Reason = exposure.Reason(*rv)
	}
}

// queueAccountDirectory queues the reads of what the directory says about
// the account. Ids are unique across object types, so the user and the
// service principal lookups are both queued and at most one answers.
func queueAccountDirectory(b *pgx.Batch, tenantID, accountID string, d *AccountDetail) {
	b.Queue(`
		SELECT u.raw, u.user_type, u.employee_type, u.mail, u.created_at, u.last_password_change_at,
		       u.last_sign_in_at, u.last_non_interactive_sign_in_at, u.last_successful_sign_in_at, u.deleted_at,
		       r.id IS NOT NULL, r.is_mfa_registered, r.is_mfa_capable, r.is_passwordless_capable,
		       coalesce(r.methods_registered, '{}'), coalesce(r.raw ->> 'defaultMfaMethod', '')
		FROM users u
		LEFT JOIN registration_details r ON r.tenant_id = u.tenant_id AND r.id = u.id AND r.deleted_at IS NULL
		WHERE u.tenant_id = $1 AND u.id = $2`, tenantID, accountID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			u := &AccountUser{}
			m := &AccountMFA{}
			var registered bool
			if err := rows.Scan(&d.Raw, &u.UserType, &u.EmployeeType, &u.Mail, &u.Created, &u.LastPasswordChange,
				&u.LastInteractiveSignIn, &u.LastNonInteractiveSignIn, &u.LastSuccessfulSignIn, &u.Deleted,
				&registered, &m.Registered, &m.Capable, &m.PasswordlessCapable, &m.Methods, &m.DefaultMethod); err != nil {
				return mapError(err, "account user")
			}
			if registered {
				u.MFA = m
			}
			d.User = u
		}
		return mapError(rows.Err(), "account user")
	})
	b.Queue(`
		SELECT sp.raw, sp.app_id, sp.service_principal_type, sp.app_owner_organization_id, sp.deleted_at,
		       (SELECT max(a.last_sign_in_at) FROM service_principal_sign_in_activities a
		        WHERE a.tenant_id = sp.tenant_id AND a.app_id = sp.app_id AND a.deleted_at IS NULL)
		FROM service_principals sp
		WHERE sp.tenant_id = $1 AND sp.id = $2`, tenantID, accountID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			sp := &AccountServicePrincipal{}
			if err := rows.Scan(&d.Raw, &sp.AppID, &sp.Type, &sp.AppOwnerOrganizationID, &sp.Deleted, &sp.LastSignIn); err != nil {
				return mapError(err, "account service principal")
			}
			d.ServicePrincipal = sp
		}
		return mapError(rows.Err(), "account service principal")
	})
	// Flows it created (flows_creator) or holds an Owner permission on
	// (flow_permissions_principal), each flow once; then, per flow, the
	// connections it references that are in error (primary-key lookups).
	b.Queue(`
		WITH mine AS (
			SELECT environment_name, name, true AS created, false AS owner
			FROM flows WHERE tenant_id = $1 AND creator_object_id = $2 AND deleted_at IS NULL
			UNION ALL
			SELECT environment_name, flow_name, false, true
			FROM flow_permissions WHERE tenant_id = $1 AND principal_id = $2 AND role_name = 'Owner' AND deleted_at IS NULL
		), owned AS (
			SELECT environment_name, name, bool_or(created) AS created, bool_or(owner) AS owner
			FROM mine GROUP BY environment_name, name
		)
		SELECT f.environment_name, coalesce(e.display_name, ''), f.name, f.display_name, f.state,
		       coalesce(f.raw #>> '{properties,flowSuspensionReason}', ''), f.last_modified_at, o.created, o.owner,
		       refs.connectors, refs.in_error, refs.error, count(*) OVER ()
		FROM owned o
		JOIN flows f ON f.tenant_id = $1 AND f.environment_name = o.environment_name AND f.name = o.name AND f.deleted_at IS NULL
		LEFT JOIN environments e ON e.tenant_id = $1 AND e.name = f.environment_name
		CROSS JOIN LATERAL (
			-- Unsorted: Go sorts them (a sort per flow here was a fifth of the query).
			SELECT coalesce(array_agg(coalesce(ref.value ->> 'displayName', ref.key)), '{}') AS connectors,
			       count(c.error_message) AS in_error,
			       coalesce(min(nullif(c.error_message, '')), '') AS error
			FROM jsonb_each(CASE WHEN jsonb_typeof(f.raw #> '{properties,connectionReferences}') = 'object'
			                     THEN f.raw #> '{properties,connectionReferences}' ELSE '{}'::jsonb END) ref
			-- LIMIT keeps this an index lookup per reference (among the
			-- connections in error: connections_in_error of 0012) rather
			-- than a join with every connection of the environment.
			LEFT JOIN LATERAL (
				SELECT c.error_message FROM connections c
				WHERE c.tenant_id = $1 AND c.environment_name = f.environment_name
				  AND c.name = ref.value ->> 'connectionName' AND c.deleted_at IS NULL AND lower(c.overall_status) = 'error'
				LIMIT 1
			) c ON true
		) refs
		ORDER BY f.display_name, f.environment_name, f.name
		LIMIT $3`, tenantID, accountID, accountFlowLimit).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var f AccountFlow
			if err := rows.Scan(&f.EnvironmentName, &f.EnvironmentDisplayName, &f.Name, &f.DisplayName, &f.State,
				&f.SuspensionReason, &f.LastModified, &f.Created, &f.Owner,
				&f.Connectors, &f.ConnectionsInError, &f.ConnectionError, &d.FlowCount); err != nil {
				return mapError(err, "account flows")
			}
			slices.Sort(f.Connectors)
			d.Flows = append(d.Flows, f)
		}
		return mapError(rows.Err(), "account flows")
	})
	b.Queue(`
		SELECT c.environment_name,
		       -- a key lookup per connection, not a hash of every environment
		       coalesce((SELECT e.display_name FROM environments e
		                 WHERE e.tenant_id = c.tenant_id AND e.name = c.environment_name), ''),
		       c.name, c.display_name, c.api_id, c.overall_status, c.error_message, count(*) OVER ()
		FROM connections c
		WHERE c.tenant_id = $1 AND c.created_by_id = $2 AND c.deleted_at IS NULL
		ORDER BY lower(c.overall_status) <> 'error', c.display_name, c.environment_name, c.name
		LIMIT $3`, tenantID, accountID, accountConnectionLimit).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c AccountConnection
			if err := rows.Scan(&c.EnvironmentName, &c.EnvironmentDisplayName, &c.Name, &c.DisplayName, &c.APIID,
				&c.Status, &c.ErrorMessage, &d.ConnectionCount); err != nil {
				return mapError(err, "account connections")
			}
			d.Connections = append(d.Connections, c)
		}
		return mapError(rows.Err(), "account connections")
	})
	// sign_ins_user: (tenant_id, user_id, created_at DESC).
	b.Queue(`
		SELECT created_at, app_id, app_display_name, coalesce(raw ->> 'resourceDisplayName', ''), client_app_used,
		       sign_in_event_types, error_code, failure_reason, conditional_access_status
		FROM sign_ins
		WHERE tenant_id = $1 AND user_id = $2 AND error_code <> 0 AND deleted_at IS NULL
		ORDER BY created_at DESC, id
		LIMIT $3`, tenantID, accountID, accountSignInFailureLimit).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var s AccountSignInFailure
			if err := rows.Scan(&s.At, &s.AppID, &s.AppDisplayName, &s.ResourceDisplayName, &s.ClientAppUsed,
				&s.EventTypes, &s.ErrorCode, &s.FailureReason, &s.ConditionalAccessStatus); err != nil {
				return mapError(err, "account sign-in failures")
			}
			d.SignInFailures = append(d.SignInFailures, s)
		}
		return mapError(rows.Err(), "account sign-in failures")
	})
}
