package exposure

import "time"

// Kind is what an account is.
type Kind string

// Account kinds, as the whatif contract spells them.
const (
	KindUser             Kind = "user"
	KindServicePrincipal Kind = "servicePrincipal"
	KindManagedIdentity  Kind = "managedIdentity"
)

// Verdict is what Conditional Access demands of a password sign-in to one
// resource, strongest first: blocked > mfa > conditional > reportOnly > none.
type Verdict string

// Verdicts.
const (
	VerdictBlocked     Verdict = "blocked"
	VerdictMFA         Verdict = "mfa"
	VerdictConditional Verdict = "conditional"
	VerdictReportOnly  Verdict = "reportOnly"
	VerdictNone        Verdict = "none"
)

// rank orders verdicts: higher is stronger.
func (v Verdict) rank() int {
	switch v {
	case VerdictBlocked:
		return 4
	case VerdictMFA:
		return 3
	case VerdictConditional:
		return 2
	case VerdictReportOnly:
		return 1
	}
	return 0
}

// Stronger reports whether v is stronger than w.
func (v Verdict) Stronger(w Verdict) bool { return v.rank() > w.rank() }

// Level is an account's exposure over every resource it is evaluated against.
type Level string

// Exposure levels.
const (
	LevelProtected     Level = "protected"
	LevelPartial       Level = "partial"
	LevelExposed       Level = "exposed"
	LevelNotApplicable Level = "notApplicable"
)

// Workload is the verdict for a service principal or managed identity: only
// block policies with conditions apply to workload identities.
type Workload string

// Workload verdicts.
const (
	WorkloadLocationRestricted Workload = "locationRestricted"
	WorkloadUnrestricted       Workload = "unrestricted"
	WorkloadNotApplicable      Workload = "notApplicable"
)

// Effect is what one policy does for one account and resource.
type Effect string

// Effects.
const (
	EffectMFA         Effect = "mfa"
	EffectBlock       Effect = "block"
	EffectConditional Effect = "conditional"
	EffectReportOnly  Effect = "reportOnly"
	EffectExcluded    Effect = "excluded"
	EffectNotTargeted Effect = "notTargeted"
	EffectDisabled    Effect = "disabled"
)

// ServiceAccountLevel is how sure the classification is that a user is a
// service account.
type ServiceAccountLevel string

// Classification levels.
const (
	ServiceConfirmed ServiceAccountLevel = "confirmed"
	ServiceLikely    ServiceAccountLevel = "likely"
	ServicePossible  ServiceAccountLevel = "possible"
	ServiceNo        ServiceAccountLevel = "no"
)

// Severity of a finding.
type Severity string

// Severities.
const (
	SeverityHigh   Severity = "high"
	SeverityMedium Severity = "medium"
	SeverityLow    Severity = "low"
	SeverityInfo   Severity = "info"
)

// Evaluation is a whole tenant's evaluation.
type Evaluation struct {
	TenantID    string
	EvaluatedAt time.Time
	// Accounts are users, service principals and managed identities, by id.
	Accounts []*Account
	// Notes are tenant-wide remarks (security defaults, collections not
	// captured) that qualify every verdict.
	Notes []string

	x *index // for Find and Explain
}

// Account is one account's evaluation.
type Account struct {
	ID          string
	UPN         string // users; service principals carry their appId here
	DisplayName string
	Kind        Kind
	Enabled     bool
	// Privileged lists the admin roles the account holds (GRAPH.md §3),
	// directly or through a role-assignable group.
	Privileged []string

	ServiceAccount Classification
	Exposure       Level
	Workload       Workload // service principals and managed identities only
	// Resources may be shared with other accounts of the same evaluation
	// (same policies, same paths): read-only.
	Resources  []ResourceVerdict
	Exclusions []Exclusion
	Findings   []Finding
}

// Classification is whether a user is a service account, with its reasons.
type Classification struct {
	Level   ServiceAccountLevel
	Score   int
	Signals []Signal
}

// Signal is one reason in a classification.
type Signal struct {
	Code   string // stable: marked, serviceGroup, employeeType, ownsFlows, …
	Detail string // human-readable
	Weight int
}

// ResourceVerdict is the verdict for one resource.
type ResourceVerdict struct {
	AppID string
	Name  string
	// Used is set when the account was seen using the resource (its flows'
	// connectors, its connections, its sign-ins): such resources come first.
	Used    bool
	Verdict Verdict
	// Policies are the policies that decided the verdict or, for none,
	// why none applies.
	Policies []PolicyEffect
	// Reason sums the verdict up in one sentence. Set by Find and Explain
	// and for workload identities; a tenant evaluation leaves user
	// accounts' empty (see the Reason function) to stay small.
	Reason string

	excluded    bool // a policy requiring MFA here excludes the account
	appExcluded bool // a policy requiring MFA here excludes the app
}

// PolicyEffect is what one policy does for an account and resource.
type PolicyEffect struct {
	ID         string
	Name       string
	State      string
	Effect     Effect
	Path       string   // how the policy reaches (or excludes) the account
	Conditions []string // what narrows it, in words (shared: do not modify)
	// AppExcluded: notTargeted because the policy excludes this resource.
	AppExcluded bool
}

// Exclusion is an account's exclusion from a policy that requires MFA (or
// blocks), with the path through which it is excluded.
type Exclusion struct {
	PolicyID   string
	PolicyName string
	State      string
	Via        string // user | group | role | guest | app
	Path       string // "group CA-Exclude (via Flow-Owners)"
	// Apps are the excluded resources when Via is app.
	Apps []string
}

// Finding is one problem with its evidence and what to do about it.
type Finding struct {
	Code        string
	Severity    Severity
	Message     string
	Remediation string
	Evidence    map[string]any
}
