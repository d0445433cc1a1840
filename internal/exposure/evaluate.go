package exposure

import (
	"cmp"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
)

// Evaluate evaluates every account of a tenant: users, then service
// principals and managed identities. It is pure: the same snapshot and
// Config always give the same Evaluation, whatever the order of the
// snapshot's collections. Accounts hold only the policies that decide each
// verdict; Find gives one account with every policy that touches it.
func Evaluate(s *directory.Snapshot, cfg Config) *Evaluation {
	x := newIndex(s, cfg)
	ev := &Evaluation{TenantID: x.tenantID, EvaluatedAt: cfg.Now, x: x}
	for _, u := range x.users {
		ev.Accounts = append(ev.Accounts, x.evalUser(u, false, nil))
	}
	for _, sp := range x.sps {
		ev.Accounts = append(ev.Accounts, x.evalSP(sp, false))
	}
	slices.SortFunc(ev.Accounts, func(a, b *Account) int { return cmp.Compare(a.ID, b.ID) })
	ev.Notes = x.notes()
	return ev
}

// Find returns the account with an id, a userPrincipalName or (service
// principals) an appId, evaluated with every policy that includes or
// excludes it listed per resource. An unknown account is ENOTFOUND.
func (e *Evaluation) Find(idOrName string) (*Account, error) {
	return e.Explain(idOrName, "")
}

// Explain is Find with one more resource: appID (when not empty) is
// evaluated even if it is outside the catalog, and only it is listed.
func (e *Evaluation) Explain(idOrName, appID string) (*Account, error) {
	x := e.x
	key := strings.TrimSpace(idOrName)
	var extra *Resource
	if appID != "" {
		id := directory.ID(appID)
		r, ok := resourceByAppID(id)
		if !ok {
			r = Resource{AppID: id, Name: x.appName(id)}
		}
		extra = &r
	}
	var a *Account
	if u := x.userByID[directory.ID(key)]; u != nil {
		a = x.evalUser(u, true, extra)
	} else if u := x.userByUPN[strings.ToLower(key)]; u != nil {
		a = x.evalUser(u, true, extra)
	} else if sp := x.spByID[directory.ID(key)]; sp != nil {
		a = x.evalSP(sp, true)
	} else if sp := x.spByAppID[directory.ID(key)]; sp != nil {
		a = x.evalSP(sp, true)
	}
	if a == nil {
		return nil, derr.Errorf(derr.ENOTFOUND, "no account %q in tenant %s (give an object id, a userPrincipalName or an appId)", idOrName, e.TenantID)
	}
	if extra != nil {
		a.Resources = slices.DeleteFunc(a.Resources, func(r ResourceVerdict) bool { return r.AppID != extra.AppID })
	}
	return a, nil
}

// evalUser evaluates a user account. detail keeps every policy that
// includes or excludes the user on every resource; otherwise only the
// deciding ones. extra is a resource to evaluate besides the catalog.
func (x *index) evalUser(u *directory.User, detail bool, extra *Resource) *Account {
	s := x.subject(u)
	a := &Account{ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName, Kind: KindUser, Enabled: u.Enabled()}
	for _, h := range sortedRoles(s.roles) {
		if name, ok := adminRoles[h.template]; ok {
			a.Privileged = append(a.Privileged, name)
		}
	}
	scopes := make([]scope, len(x.policies))
	for i, c := range x.policies {
		if !c.workload {
			scopes[i] = x.scopeOf(c, s)
		}
	}
	for _, r := range x.resourcesOf(u, extra) {
		a.Resources = append(a.Resources, x.verdict(r, scopes, detail))
	}
	a.Exposure = exposureOf(a)
	a.Exclusions = x.exclusions(scopes)
	a.ServiceAccount = x.classify(u, s, a)
	a.Findings = x.userFindings(u, s, a, scopes)
	return a
}

func sortedRoles(m map[string]heldRole) []heldRole {
	out := make([]heldRole, 0, len(m))
	for _, h := range m {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b heldRole) int { return cmp.Compare(a.template, b.template) })
	return out
}

// usedResource is a resource with whether the account was seen using it.
type usedResource struct {
	Resource
	used bool
}

// resourcesOf lists the resources a user is evaluated against: those it
// was seen using first (catalog order, then others by name), then the rest
// of the catalog.
func (x *index) resourcesOf(u *directory.User, extra *Resource) []usedResource {
	seen := map[string]string{} // appId → name from the evidence
	note := func(appID, name string) {
		appID = directory.ID(appID)
		if appID == "" || !directory.IsGUID(appID) {
			return
		}
		if _, ok := seen[appID]; !ok || seen[appID] == "" {
			seen[appID] = name
		}
	}
	for _, si := range x.signIns[u.ID] {
		note(si.AppID, si.AppDisplayName)
		note(si.ResourceID, si.ResourceDisplayName)
	}
	for _, c := range x.connsOf[u.ID] {
		if id, ok := connectorResources[connectorName(c.Properties.APIID)]; ok {
			note(id, "")
		}
	}
	for _, f := range x.flowsOf[u.ID] {
		for _, ref := range f.Properties.ConnectionReferences {
			if id, ok := connectorResources[connectorName(ref.ID)]; ok {
				note(id, "")
			}
		}
	}
	var used, rest, others []usedResource
	for _, r := range Catalog {
		if _, ok := seen[r.AppID]; ok {
			used = append(used, usedResource{r, true})
			delete(seen, r.AppID)
		} else {
			rest = append(rest, usedResource{r, false})
		}
	}
	for id, name := range seen {
		r, ok := resourceByAppID(id)
		if !ok {
			r = Resource{AppID: id, Name: name}
			if sp := x.spByAppID[id]; sp != nil && sp.DisplayName != "" {
				r.Name = sp.DisplayName
			}
			if r.Name == "" {
				r.Name = "app " + id
			}
		}
		others = append(others, usedResource{r, true})
	}
	slices.SortFunc(others, func(a, b usedResource) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.AppID, b.AppID)) })
	out := append(append(used, others...), rest...)
	if extra != nil && !slices.ContainsFunc(out, func(r usedResource) bool { return r.AppID == extra.AppID }) {
		out = append(out, usedResource{*extra, false})
	}
	return out
}

// connectorName is the last segment of a connector's apiId
// (/providers/Microsoft.PowerApps/apis/shared_office365 → shared_office365).
func connectorName(apiID string) string {
	return strings.ToLower(apiID[strings.LastIndexByte(apiID, '/')+1:])
}

// effectOf is what a user policy does for a user (scope sc) on resource r.
// ok is false when the policy neither includes nor excludes the user.
func (x *index) effectOf(c *policy, sc scope, r Resource) (pe PolicyEffect, appExcluded, ok bool) {
	if c.workload || !sc.included && !sc.excluded {
		return pe, false, false
	}
	pe = PolicyEffect{ID: c.id, Name: c.name, State: c.state, Path: sc.inPath}
	switch {
	case c.disabled():
		pe.Effect = EffectDisabled
		if sc.excluded {
			pe.Path = sc.exPath
		}
		return pe, false, true
	case sc.excluded:
		pe.Effect, pe.Path = EffectExcluded, sc.exPath
		return pe, false, true
	}
	targeted, why, appEx := c.targets(r)
	if !targeted {
		pe.Effect, pe.Conditions = EffectNotTargeted, []string{why}
		return pe, appEx, true
	}
	switch {
	case c.grant == grantNone:
		pe.Effect, pe.Conditions = EffectNotTargeted, []string{c.grantReason}
		return pe, false, true
	case c.grant == grantBlock && len(c.conditions) > 0 && !c.allButLocations:
		// A block of some sign-ins (legacy clients, some countries, risky
		// ones) demands nothing of the others: a password alone still
		// works there, so it protects nothing. Only "blocked everywhere but
		// these locations" confines password-only sign-in, and is
		// conditional below, like MFA that trusted locations skip.
		pe.Effect = EffectNotTargeted
		pe.Conditions = append([]string{"blocks only some sign-ins; the others need only a password"}, c.conditions...)
		return pe, false, true
	}
	switch c.grant {
	case grantBlock:
		pe.Effect = EffectBlock
	case grantMFA:
		pe.Effect = EffectMFA
	case grantConditional:
		pe.Effect = EffectConditional
		pe.Conditions = append(pe.Conditions, c.grantReason)
	}
	if len(c.conditions) > 0 {
		pe.Effect = EffectConditional
		pe.Conditions = append(pe.Conditions, c.conditions...)
	}
	if c.reportOnly() {
		pe.Effect = EffectReportOnly
	}
	return pe, false, true
}

// verdictOf maps an effect to the verdict it gives.
func verdictOf(e Effect) Verdict {
	switch e {
	case EffectBlock:
		return VerdictBlocked
	case EffectMFA:
		return VerdictMFA
	case EffectConditional:
		return VerdictConditional
	case EffectReportOnly:
		return VerdictReportOnly
	}
	return VerdictNone
}

// verdict decides one resource: the strongest effect of the policies.
func (x *index) verdict(r usedResource, scopes []scope, detail bool) ResourceVerdict {
	rv := ResourceVerdict{AppID: r.AppID, Name: r.Name, Used: r.used, Verdict: VerdictNone}
	var all []PolicyEffect
	var appEx []bool
	for i, c := range x.policies {
		pe, ex, ok := x.effectOf(c, scopes[i], r.Resource)
		if !ok {
			continue
		}
		all = append(all, pe)
		appEx = append(appEx, ex)
		if c.demandsMFA() && c.enabled() {
			rv.excluded = rv.excluded || pe.Effect == EffectExcluded
			rv.appExcluded = rv.appExcluded || ex
		}
		if v := verdictOf(pe.Effect); v.Stronger(rv.Verdict) {
			rv.Verdict = v
		}
	}
	for i, pe := range all {
		keep := detail
		switch {
		case rv.Verdict != VerdictNone:
			keep = keep || verdictOf(pe.Effect) == rv.Verdict
		default:
			keep = keep || pe.Effect == EffectExcluded || pe.Effect == EffectDisabled || appEx[i]
		}
		if keep {
			rv.Policies = append(rv.Policies, pe)
		}
	}
	rv.Reason = reasonOf(rv, all, appEx)
	return rv
}

// reasonOf sums a verdict up in a sentence.
func reasonOf(rv ResourceVerdict, all []PolicyEffect, appEx []bool) string {
	names := func(e Effect) string {
		var n []string
		for _, pe := range all {
			if pe.Effect == e {
				n = append(n, pe.Name)
			}
		}
		return strings.Join(n, ", ")
	}
	switch rv.Verdict {
	case VerdictBlocked:
		return "Sign-in blocked by " + names(EffectBlock) + "."
	case VerdictMFA:
		return "MFA required by " + names(EffectMFA) + "."
	case VerdictConditional:
		for _, pe := range all {
			if pe.Effect == EffectConditional {
				return "MFA only in some sign-ins: " + strings.Join(pe.Conditions, "; ") + " (" + pe.Name + ")."
			}
		}
	case VerdictReportOnly:
		return "Only report-only policies would require MFA: " + names(EffectReportOnly) + "."
	}
	var why []string
	for i, pe := range all {
		switch {
		case pe.Effect == EffectExcluded:
			why = append(why, "excluded from "+pe.Name+" via "+pe.Path)
		case appEx[i]:
			why = append(why, rv.Name+" excluded from "+pe.Name)
		}
	}
	if len(why) > 0 {
		return "Password-only sign-in possible: " + strings.Join(why, "; ") + "."
	}
	for _, pe := range all {
		if pe.Effect == EffectDisabled {
			why = append(why, pe.Name+" is disabled")
		}
	}
	if len(why) > 0 {
		return "Password-only sign-in possible: no enabled policy requires MFA (" + strings.Join(why, "; ") + ")."
	}
	return "Password-only sign-in possible: no policy requires MFA for " + rv.Name + "."
}

// exposureOf is the account's level over its resources (EXPOSURE.md §5).
func exposureOf(a *Account) Level {
	if !a.Enabled {
		return LevelNotApplicable
	}
	level := LevelProtected
	for _, r := range a.Resources {
		switch r.Verdict {
		case VerdictNone, VerdictReportOnly:
			return LevelExposed
		case VerdictConditional:
			level = LevelPartial
		}
	}
	return level
}

// exclusions lists the MFA (or block) policies that would include the user
// but exclude it, and those that leave out apps, with their paths.
func (x *index) exclusions(scopes []scope) []Exclusion {
	var out []Exclusion
	for i, c := range x.policies {
		sc := scopes[i]
		if c.workload || c.disabled() || !c.demandsMFA() || !sc.included {
			continue
		}
		if sc.excluded && strings.HasPrefix(sc.exPath, "unknown group") {
			continue // a doubt, not a known exclusion: UNKNOWN_REFERENCE reports it
		}
		if sc.excluded {
			out = append(out, Exclusion{PolicyID: c.id, PolicyName: c.name, State: c.state, Via: sc.exVia, Path: sc.exPath})
			continue
		}
		if len(c.excludedAppsListed) > 0 && c.onlyActions == "" {
			out = append(out, Exclusion{PolicyID: c.id, PolicyName: c.name, State: c.state, Via: "app",
				Path: "apps excluded: " + strings.Join(c.excludedAppsListed, ", "), Apps: slices.Clone(c.excludedAppsListed)})
		}
	}
	return out
}

// notes are tenant-wide remarks on what could not be known.
func (x *index) notes() []string {
	var n []string
	for _, c := range []struct {
		coll directory.Collection
		what string
	}{
		{directory.ConditionalAccessPolicies, "Conditional Access policies were not captured: every verdict is none for want of them"},
		{directory.GroupMembers, "group memberships were not captured: exclusions and inclusions by group are unknown"},
		{directory.RoleAssignments, "role assignments were not captured: conditions on roles are unknown"},
		{directory.RegistrationDetails, "MFA registrations were not captured"},
		{directory.SignIns, "sign-in logs were not captured: MFA failures and mandatory MFA are unknown"},
	} {
		if !x.captured[c.coll] {
			n = append(n, c.what)
		}
	}
	if len(x.users) > 0 && !x.anyActivity {
		n = append(n, "no user has signInActivity (it needs Entra ID P1/P2): dormancy is unknown")
	}
	return n
}
