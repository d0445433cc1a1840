package exposure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// grant is what a policy's grant controls demand of a sign-in.
type grant int

const (
	grantNone        grant = iota // nothing that stands in for MFA
	grantConditional              // MFA can be bypassed, or a device stands in for it
	grantMFA
	grantBlock
)

// policy is a Conditional Access policy compiled for evaluation: every
// account-independent decision is made once here.
type policy struct {
	p     *directory.ConditionalAccessPolicy
	id    string
	name  string
	state string

	workload bool // targets service principals (conditions.clientApplications)
	users    directory.CAUsers
	sps      directory.CAClientApplications

	// Applications.
	appsAll, appsNone  bool
	incApps, excApps   map[string]bool // appIds
	incKeys, excKeys   []string        // Office365, MicrosoftAdminPortals
	onlyActions        string          // why the policy targets no app: user actions, auth contexts
	appFilter          *directory.CAFilter
	excludedAppsListed []string // excludeApplications, named

	// narrowing conditions, in words (EXPOSURE.md §3).
	conditions []string
	// locationOnly: every narrowing condition is about locations (a
	// workload policy restricted by location).
	locationOnly bool
	// allButLocations: the only narrowing is "any location except some":
	// a block then leaves password-only sign-in to those locations.
	allButLocations bool

	grant       grant
	grantReason string // for grantConditional and grantNone
	termsOfUse  bool
	frequency   string // "every 8 hours", "every time"; "" when none

	targetCache []*target // by resource number: see targetOn

	isEnabled, isDisabled bool // state, decided once
	pos                   int  // place in index.policies
	includesAll           bool // includeUsers has All

	unknownRefs []string // users, groups, roles, apps not in the directory
	// unknownIncludedGroup: includeGroups names a group the directory lacks.
	unknownIncludedGroup bool
	unknownMessage       string // the UNKNOWN_REFERENCE message, built once
}

func compilePolicy(p *directory.ConditionalAccessPolicy, x *index) *policy {
	c := &policy{p: p, id: p.ID, name: p.DisplayName, state: p.State, incApps: map[string]bool{}, excApps: map[string]bool{}}
	if c.name == "" {
		c.name = p.ID
	}
	cond := p.Conditions
	if cond == nil {
		cond = &directory.CAConditions{}
	}
	if cond.Users != nil {
		c.users = *cond.Users
	}
	if ca := cond.ClientApplications; ca != nil && len(ca.IncludeServicePrincipals) > 0 {
		c.workload = true
		c.sps = *ca
	}
	c.compileApps(cond.Applications, x)
	c.compileGrant(p.GrantControls)
	c.compileConditions(cond, x)
	if s := p.SessionControls; s != nil && s.SignInFrequency != nil && (s.SignInFrequency.IsEnabled == nil || *s.SignInFrequency.IsEnabled) {
		f := s.SignInFrequency
		switch {
		case strings.EqualFold(f.FrequencyInterval, "everyTime"):
			c.frequency = "every time"
		case f.Value != nil:
			c.frequency = fmt.Sprintf("every %d %s", *f.Value, strings.ToLower(cmpOr(f.Type, "hours")))
		case f.IsEnabled != nil:
			c.frequency = "periodically"
		}
	}
	c.findUnknownRefs(x)
	c.isEnabled, c.isDisabled = c.enabled(), c.disabled()
	c.includesAll = slices.ContainsFunc(c.users.IncludeUsers, func(id string) bool { return isKeyword(id, keywordAll) })
	if len(c.unknownRefs) > 0 {
		c.unknownMessage = "Policy " + c.name + " references objects missing from the directory: " + strings.Join(c.unknownRefs, ", ")
	}
	return c
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *policy) enabled() bool    { return strings.EqualFold(c.state, directory.StateEnabled) }
func (c *policy) reportOnly() bool { return strings.EqualFold(c.state, directory.StateReportOnly) }

// disabled: anything neither enabled nor report-only enforces nothing.
func (c *policy) disabled() bool { return !c.enabled() && !c.reportOnly() }

// demandsMFA reports whether the policy, where it applies, requires MFA or
// blocks (even if only under conditions).
func (c *policy) demandsMFA() bool { return c.grant >= grantConditional }

func isKeyword(s, k string) bool { return strings.EqualFold(s, k) }

func (c *policy) compileApps(a *directory.CAApplications, x *index) {
	if a == nil {
		c.onlyActions = "targets no cloud app"
		return
	}
	for _, id := range a.IncludeApplications {
		switch {
		case isKeyword(id, keywordAll):
			c.appsAll = true
		case isKeyword(id, keywordNone):
			c.appsNone = true
		case isKeyword(id, keywordOffice365), isKeyword(id, keywordAdminPortals):
			c.incKeys = append(c.incKeys, id)
		default:
			c.incApps[directory.ID(id)] = true
		}
	}
	for _, id := range a.ExcludeApplications {
		switch {
		case isKeyword(id, keywordOffice365), isKeyword(id, keywordAdminPortals):
			c.excKeys = append(c.excKeys, id)
			c.excludedAppsListed = append(c.excludedAppsListed, id)
		default:
			c.excApps[directory.ID(id)] = true
			c.excludedAppsListed = append(c.excludedAppsListed, x.appName(directory.ID(id)))
		}
	}
	if !c.appsAll && len(c.incApps) == 0 && len(c.incKeys) == 0 {
		switch {
		case len(a.IncludeUserActions) > 0:
			c.onlyActions = "targets user actions only (" + strings.Join(a.IncludeUserActions, ", ") + "), not sign-ins to apps"
		case len(a.IncludeAuthenticationContextClassReferences) > 0:
			c.onlyActions = "targets authentication contexts only (" + strings.Join(a.IncludeAuthenticationContextClassReferences, ", ") + "), not sign-ins to apps"
		case a.ApplicationFilter != nil && strings.EqualFold(a.ApplicationFilter.Mode, "include"):
			c.appFilter = a.ApplicationFilter
		default:
			c.onlyActions = "targets no cloud app"
		}
	}
	if f := a.ApplicationFilter; f != nil && strings.EqualFold(f.Mode, "exclude") {
		c.appFilter = f
	}
}

// appName names an appId from the catalog or the directory's service principals.
func (x *index) appName(appID string) string {
	if r, ok := resourceByAppID(appID); ok {
		return r.Name
	}
	if sp, ok := x.spByAppID[appID]; ok && sp.DisplayName != "" {
		return sp.DisplayName
	}
	return "unknown app " + appID
}

// targets reports whether the policy targets sign-ins to a resource and,
// when it does not, why (appExcluded: an explicit app exclusion).
func (c *policy) targets(r Resource) (ok bool, why string, appExcluded bool) {
	if c.onlyActions != "" {
		return false, c.onlyActions, false
	}
	if c.appsNone {
		return false, "targets no cloud app (None)", false
	}
	if c.excApps[r.AppID] {
		return false, "app excluded: " + r.Name, true
	}
	for _, k := range c.excKeys {
		if slices.ContainsFunc(r.Keywords, func(rk string) bool { return isKeyword(rk, k) }) {
			return false, "app excluded: " + r.Name + " (in " + k + ")", true
		}
	}
	if c.appsAll || c.incApps[r.AppID] {
		return true, "", false
	}
	for _, k := range c.incKeys {
		if slices.ContainsFunc(r.Keywords, func(rk string) bool { return isKeyword(rk, k) }) {
			return true, "", false
		}
	}
	if c.appFilter != nil && strings.EqualFold(c.appFilter.Mode, "include") {
		return false, "targets apps matching a filter (" + c.appFilter.Rule + "): not known to include " + r.Name, false
	}
	return false, "app not targeted: " + r.Name, false
}

func (c *policy) compileConditions(cond *directory.CAConditions, x *index) {
	var locs []string
	add := func(s string) { c.conditions = append(c.conditions, s) }
	if t := cond.ClientAppTypes; len(t) > 0 && !c.workload {
		has := func(k string) bool {
			return slices.ContainsFunc(t, func(s string) bool { return strings.EqualFold(s, k) })
		}
		if !has("all") && !(has("browser") && has("mobileAppsAndDesktopClients")) {
			add("only for client apps: " + strings.Join(t, ", "))
		}
	}
	if l := cond.Locations; l != nil {
		inc := l.IncludeLocations
		if len(inc) > 0 && !(len(inc) == 1 && isKeyword(inc[0], keywordAll)) {
			s := "only from " + x.locationNames(inc)
			add(s)
			locs = append(locs, s)
		}
		if len(l.ExcludeLocations) > 0 {
			s := "not required from " + x.locationNames(l.ExcludeLocations)
			if c.grant == grantBlock || c.p.GrantControls != nil && slices.ContainsFunc(c.p.GrantControls.BuiltInControls, func(s string) bool { return strings.EqualFold(s, "block") }) {
				s = "not blocked from " + x.locationNames(l.ExcludeLocations)
			}
			add(s)
			locs = append(locs, s)
		}
	}
	if p := cond.Platforms; p != nil {
		inc := p.IncludePlatforms
		if len(inc) > 0 && !(len(inc) == 1 && strings.EqualFold(inc[0], "all")) {
			add("only on platforms: " + strings.Join(inc, ", "))
		}
		if len(p.ExcludePlatforms) > 0 {
			add("not on platforms: " + strings.Join(p.ExcludePlatforms, ", "))
		}
	}
	if d := cond.Devices; d != nil && d.DeviceFilter != nil && d.DeviceFilter.Rule != "" {
		add("device filter (" + cmpOr(d.DeviceFilter.Mode, "include") + "): " + d.DeviceFilter.Rule)
	}
	if len(cond.SignInRiskLevels) > 0 {
		add("only at sign-in risk: " + strings.Join(cond.SignInRiskLevels, ", "))
	}
	if len(cond.UserRiskLevels) > 0 {
		add("only at user risk: " + strings.Join(cond.UserRiskLevels, ", "))
	}
	if len(cond.InsiderRiskLevels) > 0 {
		add("only at insider risk: " + strings.Join(cond.InsiderRiskLevels, ", "))
	}
	if len(cond.ServicePrincipalRiskLevels) > 0 {
		add("only at service principal risk: " + strings.Join(cond.ServicePrincipalRiskLevels, ", "))
	}
	if f := cond.AuthenticationFlows; f != nil && len(f.TransferMethods) > 0 {
		add("only for authentication flows: " + strings.Join(f.TransferMethods, ", "))
	}
	if c.appFilter != nil && strings.EqualFold(c.appFilter.Mode, "exclude") {
		add("except apps matching a filter: " + c.appFilter.Rule)
	}
	if cs := cond.ClientApplications; c.workload && cs.ServicePrincipalFilter != nil && cs.ServicePrincipalFilter.Rule != "" {
		add("service principal filter: " + cs.ServicePrincipalFilter.Rule)
	}
	c.locationOnly = len(locs) > 0 && len(locs) == len(c.conditions)
	if l := cond.Locations; c.locationOnly && l != nil && len(l.ExcludeLocations) > 0 {
		inc := l.IncludeLocations
		c.allButLocations = len(inc) == 0 || len(inc) == 1 && isKeyword(inc[0], keywordAll)
	}
}

// locationNames names locations: All, AllTrusted, named locations.
func (x *index) locationNames(ids []string) string {
	var names []string
	for _, id := range ids {
		switch {
		case isKeyword(id, "All"):
			names = append(names, "any location")
		case isKeyword(id, "AllTrusted"):
			names = append(names, "trusted locations")
		default:
			if l, ok := x.locations[directory.ID(id)]; ok && l.DisplayName != "" {
				names = append(names, l.DisplayName)
			} else {
				names = append(names, "unknown location "+id)
			}
		}
	}
	return strings.Join(names, ", ")
}

// mfaGrade reports whether a built-in control is multifactor by itself.
func mfaGrade(control string) bool { return strings.EqualFold(control, "mfa") }

// deviceControl: a managed device stands in for MFA.
func deviceControl(control string) bool {
	return strings.EqualFold(control, "compliantDevice") || strings.EqualFold(control, "domainJoinedDevice")
}

// singleFactor are authentication strength combinations that are one factor.
var singleFactor = map[string]bool{"password": true, "sms": true, "voice": true, "email": true,
	"x509certificatesinglefactor": true, "federatedsinglefactor": true}

func (c *policy) compileGrant(g *directory.CAGrantControls) {
	if g == nil {
		c.grant, c.grantReason = grantNone, "no grant controls"
		return
	}
	c.termsOfUse = len(g.TermsOfUse) > 0
	type alt struct {
		name string
		mfa  bool
	}
	var alts []alt
	for _, b := range g.BuiltInControls {
		if strings.EqualFold(b, "block") {
			c.grant = grantBlock
			return
		}
		alts = append(alts, alt{b, mfaGrade(b)})
	}
	if s := g.AuthenticationStrength; s != nil {
		strong := len(s.AllowedCombinations) == 0 // a built-in strength referenced by id: all multifactor
		if !strong {
			strong = true
			for _, comb := range s.AllowedCombinations {
				if singleFactor[strings.ToLower(strings.TrimSpace(comb))] {
					strong = false
				}
			}
		}
		alts = append(alts, alt{"authentication strength " + cmpOr(s.DisplayName, s.ID), strong})
	}
	for _, f := range g.CustomAuthenticationFactors {
		alts = append(alts, alt{"custom control " + f, false})
	}
	for range g.TermsOfUse {
		alts = append(alts, alt{"terms of use", false})
	}
	if len(alts) == 0 {
		c.grant, c.grantReason = grantNone, "no grant controls"
		return
	}
	var mfa, other []string
	for _, a := range alts {
		if a.mfa {
			mfa = append(mfa, a.name)
		} else {
			other = append(other, a.name)
		}
	}
	hasDevice := slices.ContainsFunc(other, deviceControl)
	if strings.EqualFold(g.Operator, "OR") && len(alts) > 1 {
		switch {
		case len(other) == 0:
			c.grant = grantMFA
		case len(mfa) > 0:
			c.grant, c.grantReason = grantConditional, strings.Join(mfa, " or ")+" or "+strings.Join(other, " or ")+": MFA can be bypassed"
		case hasDevice:
			c.grant, c.grantReason = grantConditional, strings.Join(other, " or ")+" instead of MFA"
		default:
			c.grant, c.grantReason = grantNone, "grant requires no MFA ("+strings.Join(other, " or ")+")"
		}
		return
	}
	// AND (or a single control): every control is required.
	switch {
	case len(mfa) > 0:
		c.grant = grantMFA
	case hasDevice:
		c.grant, c.grantReason = grantConditional, strings.Join(other, " and ")+" instead of MFA"
	default:
		c.grant, c.grantReason = grantNone, "grant requires no MFA ("+strings.Join(other, " and ")+")"
	}
}

// groupRefs are the groups the users condition names.
func (c *policy) groupRefs() []string {
	return append(slices.Clone(c.users.IncludeGroups), c.users.ExcludeGroups...)
}

// findUnknownRefs lists the references the directory does not hold; only
// collections that were captured can tell.
func (c *policy) findUnknownRefs(x *index) {
	u := c.users
	check := func(kind string, ids []string, known func(string) bool) {
		for _, id := range ids {
			if directory.IsGUID(id) && !known(id) {
				c.unknownRefs = append(c.unknownRefs, kind+" "+id)
			}
		}
	}
	if x.captured[directory.Users] {
		check("user", append(slices.Clone(u.IncludeUsers), u.ExcludeUsers...), func(id string) bool { return x.userByID[id] != nil })
	}
	if x.captured[directory.Groups] {
		check("group", c.groupRefs(), func(id string) bool { return x.groups[id] != nil })
		for _, g := range u.IncludeGroups {
			c.unknownIncludedGroup = c.unknownIncludedGroup || directory.IsGUID(g) && x.groups[g] == nil
		}
	}
	if x.captured[directory.RoleDefinitions] {
		check("role", append(slices.Clone(u.IncludeRoles), u.ExcludeRoles...), func(id string) bool { return x.roleNames[id] != "" })
	}
	if x.captured[directory.ServicePrincipals] {
		var apps []string
		for id := range c.incApps {
			apps = append(apps, id)
		}
		for id := range c.excApps {
			apps = append(apps, id)
		}
		slices.Sort(apps)
		check("app", apps, func(id string) bool {
			_, known := resourceByAppID(id)
			return known || x.spByAppID[id] != nil
		})
	}
}
