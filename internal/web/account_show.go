package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// accountShow is the account page: one account of the tenant's current
// evaluation, with the evidence behind every verdict.
func (h *handler) accountShow(w http.ResponseWriter, r *http.Request) error {
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if !ok {
		return errNoAccount
	}
	d, err := h.db.AccountDetail(r.Context(), t.ID, directory.ID(chi.URLParam(r, "id")))
	if err != nil {
		return accountError(err)
	}
	m := newAccountShow(t, d)
	return render(w, r, http.StatusOK, view.AccountShowPage(view.Page{
		Title: clip(m.Name, accountTitleRunes), Nav: "accounts", Styles: []string{"account.css"}, Demo: h.demo,
	}, m))
}

// apiAccountShow is the account in the whatif contract (EXPOSURE.md §9).
func (h *handler) apiAccountShow(w http.ResponseWriter, r *http.Request) error {
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if !ok {
		return errNoAccount
	}
	a, err := h.db.EvaluatedAccount(r.Context(), t.ID, directory.ID(chi.URLParam(r, "id")))
	if err != nil {
		return accountError(err)
	}
	return writeJSON(w, http.StatusOK, a.WhatIf())
}

// accountTitleRunes is as much of a name as a title shows; the identity
// facts show a longer one whole.
const accountTitleRunes = 120

var errNoAccount = derr.Errorf(derr.ENOTFOUND, "There is no page at this address. No account with this id is in the tenant's current evaluation.")

// accountError turns the store's not-found into the page's.
func accountError(err error) error {
	if derr.Code(err) == derr.ENOTFOUND {
		return errNoAccount
	}
	return err
}

// newAccountShow builds the page model: every value in words, every link
// carrying the tenant.
func newAccountShow(t store.Tenant, d store.AccountDetail) view.AccountShow {
	a := d.Account
	q := "?tenant=" + url.QueryEscape(t.ID)
	m := view.AccountShow{
		TenantID: t.ID, TenantName: cmp.Or(t.DisplayName, t.ID),
		ID: a.ID, Name: cmp.Or(a.DisplayName, a.UPN, a.ID), Kind: string(a.Kind), KindLabel: accountWords.kind[a.Kind],
		EvaluatedAt: d.EvaluatedAt,
		Level:       string(a.ServiceAccount.Level), LevelLabel: accountWords.level[a.ServiceAccount.Level], Score: a.ServiceAccount.Score,
		Exposure: string(a.Exposure), ExposureLabel: accountWords.exposure[a.Exposure],
		Workload: string(a.Workload), WorkloadLabel: accountWords.workload[a.Workload], WorkloadHelp: accountWords.workloadHelp[a.Workload],
		FlowCount: d.FlowCount, ConnectionCount: d.ConnectionCount,
		IsUser:   a.Kind == exposure.KindUser,
		ListHref: "/accounts" + q,
		APIHref:  "/api/v1/accounts/" + url.PathEscape(a.ID) + q,
	}
	policyHref := func(id string) string { return "/policies/" + url.PathEscape(id) + q }

	m.Facts = append(m.Facts, view.AccountShowFact{Label: "Kind", Text: m.KindLabel})
	if title := []rune(m.Name); len(title) > accountTitleRunes {
		m.Facts = append(m.Facts, view.AccountShowFact{Label: "Display name", Text: m.Name,
			Collapsed: "All " + strconv.Itoa(len(title)) + " characters"})
	}
	if a.Kind == exposure.KindUser {
		m.UPN = a.UPN
		m.Facts = append(m.Facts, accountUserFacts(a, d.User)...)
	} else {
		m.Facts = append(m.Facts, accountSPFacts(t, a, d.ServicePrincipal)...)
	}
	m.Facts = append(m.Facts, view.AccountShowFact{Label: "Admin roles", Items: a.Privileged, Empty: "None"})
	switch {
	case d.User != nil && d.User.Deleted != nil:
		m.Gone = "The account was deleted from the directory on " + d.User.Deleted.UTC().Format("2006-01-02") + "."
	case d.ServicePrincipal != nil && d.ServicePrincipal.Deleted != nil:
		m.Gone = "The service principal was deleted from the directory on " + d.ServicePrincipal.Deleted.UTC().Format("2006-01-02") + "."
	case d.User == nil && d.ServicePrincipal == nil:
		m.Gone = "The directory object is no longer stored; what follows is its last evaluation."
	}

	m.ExposureHelp = accountWords.exposureHelp[a.Exposure]
	switch {
	case !m.IsUser:
		m.ExposureHelp = "A workload identity has no password or MFA: its exposure follows the workload verdict."
	case a.Exposure == exposure.LevelNotApplicable:
		m.ExposureHelp = "The account is disabled and cannot sign in; the verdicts below apply if it is enabled again."
	}
	for _, s := range a.ServiceAccount.Signals {
		m.Signals = append(m.Signals, view.AccountShowSignal{Detail: s.Detail, Weight: s.Weight})
	}
	m.Resources = accountShowResources(a, policyHref)
	for _, e := range a.Exclusions {
		m.Exclusions = append(m.Exclusions, view.AccountShowExclusion{PolicyName: cmp.Or(e.PolicyName, e.PolicyID),
			PolicyHref: policyHref(e.PolicyID), StateLabel: accountPolicyState(e.State, ""), App: e.Via == "app", Path: e.Path, Apps: e.Apps})
	}
	for _, f := range a.Findings {
		m.Findings = append(m.Findings, view.AccountShowFinding{Severity: string(f.Severity), Code: f.Code,
			Message: f.Message, Remediation: f.Remediation, Evidence: accountEvidence(f.Evidence)})
	}
	m.Flows, m.Connections = accountShowAutomation(d)
	m.SignInFailures = accountShowFailures(d.SignInFailures)
	var raw bytes.Buffer
	if len(d.Raw) > 0 && json.Indent(&raw, d.Raw, "", "  ") == nil {
		m.RawJSON = raw.String()
	}
	return m
}

// accountShowResources is the coverage matrix.
func accountShowResources(a *exposure.Account, policyHref func(id string) string) []view.AccountShowResource {
	var out []view.AccountShowResource
	verdicts := accountWords.verdict
	if a.Kind != exposure.KindUser {
		verdicts = accountWords.workloadVerdict
	}
	for _, r := range a.Resources {
		vr := view.AccountShowResource{Name: r.Name, AppID: r.AppID, Used: r.Used, Verdict: string(r.Verdict),
			VerdictLabel: verdicts[r.Verdict], Reason: r.Reason}
		if r.AppID == "All" {
			vr.AppID = ""
		}
		for _, p := range r.Policies {
			vr.Policies = append(vr.Policies, view.AccountShowPolicy{Name: cmp.Or(p.Name, p.ID), Href: policyHref(p.ID),
				State: p.State, StateLabel: accountPolicyState(p.State, p.Effect), Effect: string(p.Effect), EffectLabel: accountWords.effect[p.Effect],
				Path: p.Path, Conditions: p.Conditions})
		}
		out = append(out, vr)
	}
	return out
}

// accountShowAutomation lists the flows and connections the account owns.
func accountShowAutomation(d store.AccountDetail) (flows []view.AccountShowFlow, conns []view.AccountShowConnection) {
	for _, f := range d.Flows {
		role := "owner"
		switch {
		case f.Created && f.Owner:
			role = "creator and owner"
		case f.Created:
			role = "creator"
		}
		flows = append(flows, view.AccountShowFlow{Name: cmp.Or(f.DisplayName, f.Name),
			Environment: cmp.Or(f.EnvironmentDisplayName, f.EnvironmentName), State: cmp.Or(f.State, "unknown"),
			SuspensionReason: f.SuspensionReason, Role: role, Connectors: f.Connectors,
			ConnectionsInError: f.ConnectionsInError, ConnectionError: f.ConnectionError, LastModified: f.LastModified})
	}
	for _, c := range d.Connections {
		conns = append(conns, view.AccountShowConnection{Name: cmp.Or(c.DisplayName, c.Name), ID: c.Name,
			Connector: accountConnector(c.APIID), Environment: cmp.Or(c.EnvironmentDisplayName, c.EnvironmentName),
			Status: cmp.Or(c.Status, "unknown"), ErrorMessage: c.ErrorMessage})
	}
	return flows, conns
}

// accountShowFailures lists the recent failed sign-ins with what they mean.
func accountShowFailures(failures []store.AccountSignInFailure) []view.AccountShowSignInFailure {
	var out []view.AccountShowSignInFailure
	for _, s := range failures {
		how := "interactive"
		for _, e := range s.EventTypes {
			if strings.HasPrefix(e, "nonInteractive") {
				how = "non-interactive"
			}
		}
		out = append(out, view.AccountShowSignInFailure{At: s.At,
			App: cmp.Or(s.AppDisplayName, s.AppID), Resource: s.ResourceDisplayName,
			Code: "AADSTS" + strconv.Itoa(s.ErrorCode), Meaning: signInErrorMeaning(s.ErrorCode),
			FailureReason: s.FailureReason, ConditionalAccess: s.ConditionalAccessStatus, Interactive: how})
	}
	return out
}

func accountUserFacts(a *exposure.Account, u *store.AccountUser) []view.AccountShowFact {
	enabled := "Yes"
	if !a.Enabled {
		enabled = "No: the account cannot sign in"
	}
	facts := []view.AccountShowFact{
		{Label: "User principal name", Text: a.UPN},
		{Label: "Enabled", Text: enabled},
	}
	if u == nil {
		return facts
	}
	if u.UserType != "" {
		facts = append(facts, view.AccountShowFact{Label: "User type", Text: u.UserType})
	}
	if u.EmployeeType != "" {
		facts = append(facts, view.AccountShowFact{Label: "Employee type", Text: u.EmployeeType})
	}
	facts = append(facts,
		view.AccountShowFact{Label: "Created", At: u.Created, Empty: "Not recorded"},
		view.AccountShowFact{Label: "Last interactive sign-in", At: u.LastInteractiveSignIn, Empty: "Never (or not captured)"},
		view.AccountShowFact{Label: "Last non-interactive sign-in", At: u.LastNonInteractiveSignIn, Empty: "Never (or not captured)"},
		view.AccountShowFact{Label: "Last successful sign-in", At: u.LastSuccessfulSignIn, Empty: "Never (or not captured)"},
		view.AccountShowFact{Label: "Password last changed", At: u.LastPasswordChange, Empty: "Not recorded"},
	)
	mfa := view.AccountShowFact{Label: "MFA methods", Empty: "Registration details not synced"}
	if u.MFA != nil {
		mfa.Items = u.MFA.Methods
		mfa.Empty = "None registered"
		if u.MFA.DefaultMethod != "" && u.MFA.DefaultMethod != "none" && len(u.MFA.Methods) > 0 {
			mfa.Items = append(mfa.Items[:len(mfa.Items):len(mfa.Items)], "default: "+u.MFA.DefaultMethod)
		}
	}
	return append(facts, mfa)
}

func accountSPFacts(t store.Tenant, a *exposure.Account, sp *store.AccountServicePrincipal) []view.AccountShowFact {
	enabled := "Yes"
	if !a.Enabled {
		enabled = "No: it cannot sign in"
	}
	facts := []view.AccountShowFact{
		{Label: "Application (client) id", Text: a.UPN},
		{Label: "Enabled", Text: enabled},
	}
	if sp == nil {
		return facts
	}
	owner := sp.AppOwnerOrganizationID
	switch {
	case directory.SameID(owner, t.ID):
		owner = "This tenant"
	case directory.SameID(owner, accountMicrosoftTenant):
		owner = "Microsoft (first-party application)"
	}
	return append(facts,
		view.AccountShowFact{Label: "Service principal type", Text: sp.Type, Empty: "Not recorded"},
		view.AccountShowFact{Label: "Application owner tenant", Text: owner, Empty: "Not recorded"},
		view.AccountShowFact{Label: "Last sign-in", At: sp.LastSignIn, Empty: "None recorded"},
	)
}

// accountMicrosoftTenant owns Microsoft's first-party applications.
const accountMicrosoftTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// connectorName is a connector's short name from its API id
// (/providers/Microsoft.PowerApps/apis/shared_office365 → office365).
func accountConnector(apiID string) string {
	name := apiID[strings.LastIndexByte(apiID, '/')+1:]
	return strings.TrimPrefix(name, "shared_")
}

func accountEvidence(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// accountPolicyState names a policy's state unless it is enabled, or the
// policy's effect already says it.
func accountPolicyState(state string, effect exposure.Effect) string {
	switch strings.ToLower(state) {
	case "", "enabled":
		return ""
	case "enabledforreportingbutnotenforced":
		if effect == exposure.EffectReportOnly {
			return ""
		}
		return "report-only"
	case "disabled":
		if effect == exposure.EffectDisabled {
			return ""
		}
	}
	return strings.ToLower(state)
}

// signInErrorMeaning says what an AADSTS error code of a failed sign-in means.
func signInErrorMeaning(code int) string {
	if m, ok := signInErrorMeanings[code]; ok {
		return m
	}
	return "See Microsoft's AADSTS reference."
}

var signInErrorMeanings = map[int]string{
	50076:  "MFA required (a policy or location change demands it).",
	50079:  "The user must register for MFA.",
	50074:  "Strong authentication required.",
	53003:  "Blocked by Conditional Access.",
	50158:  "External security challenge not satisfied (e.g. Terms of Use).",
	500121: "Strong authentication failed or was not completed.",
	700082: "Refresh token expired after 90 days of inactivity.",
	50173:  "Grant revoked after a password change: sign in again.",
	50126:  "Invalid username or password.",
}

// accountWords are the words the account page uses for the engine's values.
var accountWords = struct {
	kind         map[exposure.Kind]string
	level        map[exposure.ServiceAccountLevel]string
	exposure     map[exposure.Level]string
	exposureHelp map[exposure.Level]string
	workload     map[exposure.Workload]string
	workloadHelp map[exposure.Workload]string
	verdict      map[exposure.Verdict]string
	// workloadVerdict: only block policies apply to workload identities,
	// which have no password to protect with MFA.
	workloadVerdict map[exposure.Verdict]string
	effect          map[exposure.Effect]string
}{
	kind: map[exposure.Kind]string{
		exposure.KindUser:             "User",
		exposure.KindServicePrincipal: "Service principal",
		exposure.KindManagedIdentity:  "Managed identity",
	},
	level: map[exposure.ServiceAccountLevel]string{
		exposure.ServiceConfirmed: "Confirmed service account",
		exposure.ServiceLikely:    "Likely service account",
		exposure.ServicePossible:  "Possibly a service account",
		exposure.ServiceNo:        "Not a service account",
	},
	exposure: map[exposure.Level]string{
		exposure.LevelProtected:     "Protected",
		exposure.LevelPartial:       "Partial",
		exposure.LevelExposed:       "Exposed",
		exposure.LevelNotApplicable: "Not applicable",
	},
	exposureHelp: map[exposure.Level]string{
		exposure.LevelProtected:     "Every resource requires MFA or blocks the sign-in.",
		exposure.LevelPartial:       "Some resources require MFA only in some sign-ins; none allows a password alone in every case.",
		exposure.LevelExposed:       "A password alone is enough to sign in to at least one resource.",
		exposure.LevelNotApplicable: "Conditional Access for users does not apply to this account.",
	},
	workload: map[exposure.Workload]string{
		exposure.WorkloadLocationRestricted: "Location-restricted",
		exposure.WorkloadUnrestricted:       "Unrestricted",
		exposure.WorkloadNotApplicable:      "Not applicable",
	},
	workloadHelp: map[exposure.Workload]string{
		exposure.WorkloadLocationRestricted: "A workload identity policy blocks its sign-ins outside known locations.",
		exposure.WorkloadUnrestricted:       "No workload identity policy restricts where it can sign in from.",
		exposure.WorkloadNotApplicable:      "Workload identity policies do not apply (managed identity or Microsoft's own application).",
	},
	verdict: map[exposure.Verdict]string{
		exposure.VerdictBlocked:     "Blocked",
		exposure.VerdictMFA:         "MFA required",
		exposure.VerdictConditional: "MFA in some sign-ins",
		exposure.VerdictReportOnly:  "Report-only: no MFA",
		exposure.VerdictNone:        "No MFA: password only",
	},
	workloadVerdict: map[exposure.Verdict]string{
		exposure.VerdictBlocked:     "Blocked",
		exposure.VerdictMFA:         "MFA required",
		exposure.VerdictConditional: "Restricted by conditions",
		exposure.VerdictReportOnly:  "Report-only: not restricted",
		exposure.VerdictNone:        "Not restricted",
	},
	effect: map[exposure.Effect]string{
		exposure.EffectMFA:         "requires MFA",
		exposure.EffectBlock:       "blocks",
		exposure.EffectConditional: "conditional",
		exposure.EffectReportOnly:  "report-only",
		exposure.EffectExcluded:    "excludes the account",
		exposure.EffectNotTargeted: "does not target the resource",
		exposure.EffectDisabled:    "disabled",
	},
}
