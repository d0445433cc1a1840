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

// Forget lets go of the directory the evaluation was made from: Accounts
// stay, Find and Explain no longer work. For callers that only store the
// results of a large tenant, it frees most of the memory before they do.
func (e *Evaluation) Forget() { e.x = nil }

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
	if x == nil {
		return nil, derr.Errorf(derr.EINTERNAL, "exposure: Explain after Forget")
	}
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
	// The policies that include or exclude the user, in policy order; the
	// buffer is reused from user to user (evaluation is sequential).
	// A tenant evaluation keeps only policies that include the user: an
	// exclusion from a policy that would not include it changes nothing.
	// Find lists those too.
	rel := x.relBuf[:0]
	for _, c := range x.userPolicies {
		if sc := x.scopeOf(c, s, detail); sc.included || sc.excluded {
			rel = append(rel, relPolicy{c, sc})
		}
	}
	x.relBuf = rel
	resources := x.resourcesOf(u, extra)
	switch {
	case detail:
		a.Resources = make([]ResourceVerdict, 0, len(resources))
		for _, r := range resources {
			a.Resources = append(a.Resources, x.verdict(r, rel, true))
		}
	case len(resources) > 0 && len(x.catalogOnly) > 0 && &resources[0] == &x.catalogOnly[0]:
		a.Resources = x.catalogVerdicts(rel) // shared, read-only
	default:
		cat := x.catalogVerdicts(rel)
		a.Resources = make([]ResourceVerdict, 0, len(resources))
		for _, r := range resources {
			if i, ok := catalogIndex[r.AppID]; ok {
				rv := cat[i]
				rv.Used = r.used
				a.Resources = append(a.Resources, rv)
			} else {
				a.Resources = append(a.Resources, x.verdict(r, rel, false))
			}
		}
	}
	a.Exposure = exposureOf(a)
	a.Exclusions = x.exclusions(rel)
	a.ServiceAccount = x.classify(u, s, a)
	a.Findings = x.userFindings(u, s, a, rel)
	return a
}

// relKey hashes a list of policies with the user's scope in each (FNV-1a
// over positions and path lengths: cheap, and sameRel settles collisions).
func relKey(rel []relPolicy) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v int) {
		h ^= uint64(v)
		h *= 1099511628211
	}
	for _, p := range rel {
		mix(p.c.pos)
		if p.sc.included {
			mix(1 + len(p.sc.inPath))
		}
		if p.sc.excluded {
			mix(-1 - len(p.sc.exPath))
		}
	}
	return h
}

// catalogVerdicts returns the catalog's verdicts, in catalog order, for a
// user the policies rel include or exclude. Users who reach the same
// policies by the same paths get the same verdicts: on a large tenant most
// users share a handful of lists, computed once and shared read-only.
func (x *index) catalogVerdicts(rel []relPolicy) []ResourceVerdict {
	if x.catalogOnly == nil {
		for _, r := range Catalog {
			x.catalogOnly = append(x.catalogOnly, usedResource{Resource: r, idx: x.resourceIndex(r.AppID)})
		}
	}
	key := relKey(rel)
	for _, e := range x.verdictMemo[key] {
		if sameRel(e.rel, rel) {
			return e.resources
		}
	}
	out := make([]ResourceVerdict, 0, len(x.catalogOnly))
	for _, r := range x.catalogOnly {
		out = append(out, x.verdict(r, rel, false))
	}
	x.verdictMemo[key] = append(x.verdictMemo[key], memoEntry{slices.Clone(rel), out})
	return out
}

// catalogIndex is each catalog resource's place in Catalog.
var catalogIndex = func() map[string]int {
	m := map[string]int{}
	for i, r := range Catalog {
		m[r.AppID] = i
	}
	return m
}()

// memoEntry is one shared verdict list and the policies it was made for.
type memoEntry struct {
	rel       []relPolicy
	resources []ResourceVerdict
}

func sameRel(a, b []relPolicy) bool {
	return slices.EqualFunc(a, b, func(p, q relPolicy) bool { return p.c == q.c && p.sc == q.sc })
}

// relPolicy is a user policy that includes or excludes the user at hand.
type relPolicy struct {
	c  *policy
	sc scope
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
	idx  int // see index.resourceIndex
}

// resourcesOf lists the resources a user is evaluated against: those it
// was seen using first (catalog order, then others by name), then the rest
// of the catalog.
func (x *index) resourcesOf(u *directory.User, extra *Resource) []usedResource {
	if extra == nil && len(x.signIns[u.ID]) == 0 && len(x.connsOf[u.ID]) == 0 && len(x.flowsOf[u.ID]) == 0 {
		// Most users: the catalog alone, shared read-only.
		if x.catalogOnly == nil {
			x.catalogVerdicts(nil)
		}
		return x.catalogOnly
	}
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
			used = append(used, usedResource{Resource: r, used: true})
			delete(seen, r.AppID)
		} else {
			rest = append(rest, usedResource{Resource: r})
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
		others = append(others, usedResource{Resource: r, used: true})
	}
	slices.SortFunc(others, func(a, b usedResource) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.AppID, b.AppID)) })
	out := append(append(used, others...), rest...)
	if extra != nil && !slices.ContainsFunc(out, func(r usedResource) bool { return r.AppID == extra.AppID }) {
		out = append(out, usedResource{Resource: *extra})
	}
	for i := range out {
		out[i].idx = x.resourceIndex(out[i].AppID)
	}
	return out
}

// connectorName is the last segment of a connector's apiId
// (/providers/Microsoft.PowerApps/apis/shared_office365 → shared_office365).
func connectorName(apiID string) string {
	return strings.ToLower(apiID[strings.LastIndexByte(apiID, '/')+1:])
}

// target is what a policy does on one resource for a user it includes and
// does not exclude: computed once per policy and resource, shared by every
// user (its Conditions are read-only).
type target struct {
	effect      Effect
	conditions  []string
	appExcluded bool // notTargeted because excludeApplications names the resource
}

// targetOn returns (and caches) the policy's target on a resource; idx is
// the resource's number in the index (see index.resourceIndex).
func (c *policy) targetOn(r Resource, idx int) *target {
	if idx < len(c.targetCache) && c.targetCache[idx] != nil {
		return c.targetCache[idx]
	}
	t := c.computeTarget(r)
	if idx >= len(c.targetCache) {
		c.targetCache = append(c.targetCache, make([]*target, idx+1-len(c.targetCache))...)
	}
	c.targetCache[idx] = t
	return t
}

// resourceIndex numbers resources by appId for the policies' target caches.
func (x *index) resourceIndex(appID string) int {
	if i, ok := x.resIdx[appID]; ok {
		return i
	}
	i := len(x.resIdx)
	x.resIdx[appID] = i
	return i
}

func (c *policy) computeTarget(r Resource) *target {
	targeted, why, appEx := c.targets(r)
	switch {
	case !targeted:
		return &target{effect: EffectNotTargeted, conditions: []string{why}, appExcluded: appEx}
	case c.grant == grantNone:
		return &target{effect: EffectNotTargeted, conditions: []string{c.grantReason}}
	case c.grant == grantBlock && len(c.conditions) > 0 && !c.allButLocations:
		// A block of some sign-ins (legacy clients, some countries, risky
		// ones) demands nothing of the others: a password alone still
		// works there, so it protects nothing. Only "blocked everywhere but
		// these locations" confines password-only sign-in, and is
		// conditional below, like MFA that trusted locations skip.
		return &target{effect: EffectNotTargeted,
			conditions: append([]string{"blocks only some sign-ins; the others need only a password"}, c.conditions...)}
	}
	t := &target{}
	switch c.grant {
	case grantBlock:
		t.effect = EffectBlock
	case grantMFA:
		t.effect = EffectMFA
	case grantConditional:
		t.effect = EffectConditional
		t.conditions = append(t.conditions, c.grantReason)
	}
	if len(c.conditions) > 0 {
		t.effect = EffectConditional
		t.conditions = append(t.conditions, c.conditions...)
	}
	if c.reportOnly() {
		t.effect = EffectReportOnly
	}
	return t
}

// effectOf is what a user policy does for a user (scope sc) on resource r.
// ok is false when the policy neither includes nor excludes the user.
func (x *index) effectOf(c *policy, sc scope, r usedResource) (pe PolicyEffect, ok bool) {
	if c.workload || !sc.included && !sc.excluded {
		return pe, false
	}
	pe = PolicyEffect{ID: c.id, Name: c.name, State: c.state, Path: sc.inPath}
	switch {
	case c.disabled():
		pe.Effect = EffectDisabled
		if sc.excluded {
			pe.Path = sc.exPath
		}
	case sc.excluded:
		pe.Effect, pe.Path = EffectExcluded, sc.exPath
	default:
		t := c.targetOn(r.Resource, r.idx)
		pe.Effect, pe.Conditions, pe.AppExcluded = t.effect, t.conditions, t.appExcluded
	}
	return pe, true
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

// quickEffect is effectOf's Effect alone, without building a PolicyEffect:
// the hot loop of a tenant evaluation.
func quickEffect(c *policy, sc scope, r usedResource) (Effect, *target) {
	switch {
	case c.isDisabled:
		return EffectDisabled, nil
	case sc.excluded:
		return EffectExcluded, nil
	}
	t := c.targetOn(r.Resource, r.idx)
	return t.effect, t
}

// verdict decides one resource: the strongest effect of the policies that
// include or exclude the user (rel, indexes into x.policies). detail keeps
// every such policy; otherwise only those that decide the verdict or, for
// none, explain it (exclusions, app exclusions, disabled policies).
func (x *index) verdict(r usedResource, rel []relPolicy, detail bool) ResourceVerdict {
	rv := ResourceVerdict{AppID: r.AppID, Name: r.Name, Used: r.used, Verdict: VerdictNone}
	for _, p := range rel {
		c := p.c
		e, t := quickEffect(c, p.sc, r)
		if v := verdictOf(e); v.Stronger(rv.Verdict) {
			rv.Verdict = v
		}
		if c.isEnabled && c.demandsMFA() {
			rv.excluded = rv.excluded || e == EffectExcluded
			rv.appExcluded = rv.appExcluded || t != nil && t.appExcluded
		}
	}
	for _, p := range rel {
		c := p.c
		e, t := quickEffect(c, p.sc, r)
		keep := detail
		switch {
		case rv.Verdict != VerdictNone:
			keep = keep || verdictOf(e) == rv.Verdict
		default:
			keep = keep || e == EffectExcluded || e == EffectDisabled || t != nil && t.appExcluded
		}
		if keep {
			pe, _ := x.effectOf(c, p.sc, r)
			rv.Policies = append(rv.Policies, pe)
		}
	}
	if detail {
		rv.Reason = Reason(rv)
	}
	return rv
}

// Reason sums a resource's verdict up in a sentence, from the policies kept
// with it (an evaluation keeps the deciding ones; Find keeps all).
func Reason(rv ResourceVerdict) string {
	names := func(e Effect) string {
		var n []string
		for _, pe := range rv.Policies {
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
		for _, pe := range rv.Policies {
			if pe.Effect == EffectConditional {
				return "MFA only in some sign-ins: " + strings.Join(pe.Conditions, "; ") + " (" + pe.Name + ")."
			}
		}
	case VerdictReportOnly:
		return "Only report-only policies would require MFA: " + names(EffectReportOnly) + "."
	}
	var why []string
	for _, pe := range rv.Policies {
		switch {
		case pe.Effect == EffectExcluded:
			why = append(why, "excluded from "+pe.Name+" via "+pe.Path)
		case pe.AppExcluded:
			why = append(why, rv.Name+" excluded from "+pe.Name)
		}
	}
	if len(why) > 0 {
		return "Password-only sign-in possible: " + strings.Join(why, "; ") + "."
	}
	for _, pe := range rv.Policies {
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
func (x *index) exclusions(rel []relPolicy) []Exclusion {
	var out []Exclusion
	for _, p := range rel {
		c, sc := p.c, p.sc
		if c.isDisabled || !c.demandsMFA() || !sc.included {
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
