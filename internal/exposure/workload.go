package exposure

import (
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// workloadResource stands for everything a workload identity can reach:
// Conditional Access for workload identities targets all resources.
var workloadResource = Resource{AppID: keywordAll, Name: "All resources (workload identity)"}

// spApplies reports whether Conditional Access for workload identities can
// apply to a service principal: only single-tenant apps registered in the
// tenant, never managed identities, Microsoft's apps or other tenants' apps.
func (x *index) spApplies(sp *directory.ServicePrincipal) (bool, string) {
	switch {
	case sp.ManagedIdentity():
		return false, "managed identity: workload identity policies do not apply"
	case sp.FirstParty():
		return false, "Microsoft first-party app: workload identity policies do not apply"
	case !strings.EqualFold(sp.ServicePrincipalType, "Application") && sp.ServicePrincipalType != "":
		return false, sp.ServicePrincipalType + " service principal: workload identity policies do not apply"
	case sp.AppOwnerOrganizationID != "" && !directory.SameID(sp.AppOwnerOrganizationID, x.tenantID):
		return false, "multi-tenant app owned by another tenant: workload identity policies do not apply"
	}
	return true, ""
}

// evalSP evaluates a service principal or managed identity (EXPOSURE.md §6).
func (x *index) evalSP(sp *directory.ServicePrincipal, detail bool) *Account {
	a := &Account{ID: sp.ID, UPN: sp.AppID, DisplayName: sp.DisplayName, Kind: KindServicePrincipal,
		Enabled: sp.AccountEnabled == nil || *sp.AccountEnabled}
	if sp.ManagedIdentity() {
		a.Kind = KindManagedIdentity
	}
	a.ServiceAccount = Classification{Level: ServiceConfirmed, Signals: []Signal{{Code: "workloadIdentity",
		Detail: "a workload identity (" + string(a.Kind) + ")"}}}
	groups := x.memberships(sp.ID)
	for _, h := range sortedRoles(x.roles(sp.ID, groups)) {
		if name, ok := adminRoles[h.template]; ok {
			a.Privileged = append(a.Privileged, name)
		}
	}
	rv := ResourceVerdict{AppID: workloadResource.AppID, Name: workloadResource.Name, Verdict: VerdictNone}
	applies, why := x.spApplies(sp)
	if !applies {
		a.Workload, a.Exposure = WorkloadNotApplicable, LevelNotApplicable
		rv.Reason = why + "."
		a.Resources = []ResourceVerdict{rv}
		a.Findings = x.spFindings(sp, a)
		return a
	}
	a.Workload = WorkloadUnrestricted
	for _, c := range x.policies {
		if !c.workload {
			continue
		}
		included, path := spMatch(c.sps.IncludeServicePrincipals, sp.ID)
		excluded, exPath := spMatch(c.sps.ExcludeServicePrincipals, sp.ID)
		if !included && !excluded {
			continue
		}
		pe := PolicyEffect{ID: c.id, Name: c.name, State: c.state, Path: path}
		switch {
		case c.disabled():
			pe.Effect = EffectDisabled
		case excluded:
			pe.Effect, pe.Path = EffectExcluded, exPath
			if c.enabled() {
				a.Exclusions = append(a.Exclusions, Exclusion{PolicyID: c.id, PolicyName: c.name, State: c.state, Via: "servicePrincipal", Path: exPath})
			}
		case c.grant != grantBlock:
			// Workload policies can only block; anything else enforces nothing.
			pe.Effect, pe.Conditions = EffectNotTargeted, []string{"a workload identity policy without block enforces nothing"}
		case len(c.conditions) == 0:
			pe.Effect = EffectBlock
		default:
			pe.Effect, pe.Conditions = EffectConditional, slices.Clone(c.conditions)
		}
		if c.reportOnly() && (pe.Effect == EffectBlock || pe.Effect == EffectConditional) {
			pe.Effect = EffectReportOnly
		}
		if v := verdictOf(pe.Effect); v.Stronger(rv.Verdict) {
			rv.Verdict = v
		}
		// A block limited by location restricts where the identity can
		// sign in from; a block on risk alone does not restrict it.
		if c.enabled() && pe.Effect == EffectBlock || c.enabled() && pe.Effect == EffectConditional && c.locationOnly {
			a.Workload = WorkloadLocationRestricted
		}
		rv.Policies = append(rv.Policies, pe)
	}
	if !detail {
		rv.Policies = slices.DeleteFunc(rv.Policies, func(pe PolicyEffect) bool {
			return verdictOf(pe.Effect) != rv.Verdict && pe.Effect != EffectExcluded
		})
	}
	switch a.Workload {
	case WorkloadLocationRestricted:
		rv.Reason = "Sign-in restricted by location."
		a.Exposure = LevelPartial
		if rv.Verdict == VerdictBlocked {
			rv.Reason, a.Exposure = "Sign-in blocked.", LevelProtected
		}
	default:
		rv.Reason = "No enabled workload identity policy restricts where its credentials work."
		a.Exposure = LevelExposed
	}
	if !a.Enabled {
		a.Exposure = LevelNotApplicable
	}
	a.Resources = []ResourceVerdict{rv}
	a.Findings = x.spFindings(sp, a)
	return a
}

// spMatch matches a service principal against include/exclude lists.
func spMatch(ids []string, id string) (bool, string) {
	for _, v := range ids {
		switch {
		case strings.EqualFold(v, "ServicePrincipalsInMyTenant"):
			return true, "ServicePrincipalsInMyTenant"
		case directory.SameID(v, id):
			return true, "direct"
		}
	}
	return false, ""
}
