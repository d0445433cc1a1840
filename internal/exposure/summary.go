package exposure

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// This file puts a Conditional Access policy into words for people: a one
// sentence summary ("Requires MFA for all users except 2 groups and 1 user,
// on all apps except 8") and a readable list of its conditions and
// controls. Names of the objects a policy references come from Names, which
// the caller fills from the directory; an id it lacks reads "unknown group
// <id>", never a bare GUID passed off as a name.

// Names resolves the ids a policy references. Keys are lower-case ids (roles:
// template ids or role definition ids; apps: appIds). A missing key or an
// empty name reads as unknown.
type Names struct {
	Users, Groups, Roles, Locations, Apps, ServicePrincipals map[string]string
}

// PolicyRefs are the ids policies reference, by kind, without keywords
// (All, None, Office365, AllTrusted, …): what to look up to fill Names.
type PolicyRefs struct {
	Users, Groups, Roles, Locations, Apps, ServicePrincipals []string
}

// Add adds the ids a policy references, once each.
func (r *PolicyRefs) Add(p *directory.ConditionalAccessPolicy) {
	c := p.Conditions
	if c == nil {
		return
	}
	add := func(to *[]string, ids ...[]string) {
		for _, l := range ids {
			for _, id := range l {
				id = directory.ID(id)
				if directory.IsGUID(id) && !slices.Contains(*to, id) {
					*to = append(*to, id)
				}
			}
		}
	}
	if u := c.Users; u != nil {
		add(&r.Users, u.IncludeUsers, u.ExcludeUsers)
		add(&r.Groups, u.IncludeGroups, u.ExcludeGroups)
		add(&r.Roles, u.IncludeRoles, u.ExcludeRoles)
	}
	if a := c.Applications; a != nil {
		add(&r.Apps, a.IncludeApplications, a.ExcludeApplications)
	}
	if l := c.Locations; l != nil {
		add(&r.Locations, l.IncludeLocations, l.ExcludeLocations)
	}
	if s := c.ClientApplications; s != nil {
		add(&r.ServicePrincipals, s.IncludeServicePrincipals, s.ExcludeServicePrincipals)
	}
}

func lookup(m map[string]string, id, kind string) string {
	if n := m[directory.ID(id)]; n != "" {
		return n
	}
	return "unknown " + kind + " " + id
}

func (n Names) user(id string) string {
	switch {
	case isKeyword(id, keywordAll):
		return "all users"
	case isKeyword(id, keywordNone):
		return "no users"
	case isKeyword(id, "GuestsOrExternalUsers"):
		return "guest or external users"
	}
	return lookup(n.Users, id, "user")
}

func (n Names) group(id string) string { return lookup(n.Groups, id, "group") }
func (n Names) role(id string) string {
	if name, ok := adminRoles[directory.ID(id)]; ok && n.Roles[directory.ID(id)] == "" {
		return name
	}
	return lookup(n.Roles, id, "role")
}

func (n Names) location(id string) string {
	switch {
	case isKeyword(id, "All"):
		return "any location"
	case isKeyword(id, "AllTrusted"):
		return "trusted locations"
	}
	return lookup(n.Locations, id, "location")
}

func (n Names) app(id string) string {
	switch {
	case isKeyword(id, keywordAll):
		return "all apps"
	case isKeyword(id, keywordNone):
		return "no apps"
	case isKeyword(id, keywordOffice365):
		return "Office 365"
	case isKeyword(id, keywordAdminPortals):
		return "Microsoft Admin Portals"
	}
	if r, ok := resourceByAppID(directory.ID(id)); ok {
		return r.Name
	}
	return lookup(n.Apps, id, "app")
}

func (n Names) servicePrincipal(id string) string {
	if isKeyword(id, "ServicePrincipalsInMyTenant") {
		return "service principals in this tenant"
	}
	return lookup(n.ServicePrincipals, id, "service principal")
}

// SummarizePolicy says in one sentence what a policy does, to whom, on what
// and when: "Requires MFA for all users except 2 groups and 1 user, on all
// apps except 8". A report-only or disabled policy says so first and speaks
// in the conditional ("Report-only: would block …"): it protects no one.
func SummarizePolicy(p *directory.ConditionalAccessPolicy, n Names) string {
	cond := p.Conditions
	if cond == nil {
		cond = &directory.CAConditions{}
	}
	workload := cond.ClientApplications != nil && len(cond.ClientApplications.IncludeServicePrincipals) > 0

	verbs, block := controlClauses(p)
	var who string
	var excepted bool
	if workload {
		who, excepted = workloadWho(cond.ClientApplications, n)
	} else {
		who, excepted = usersWho(cond.Users, n)
	}

	// Only an enabled policy does anything: the others speak in the conditional.
	prefix, conj := "", thirdPerson
	switch {
	case strings.EqualFold(p.State, directory.StateEnabled):
	case strings.EqualFold(p.State, directory.StateReportOnly):
		prefix, conj = "Report-only: would ", func(v string) string { return v }
	default:
		prefix, conj = "Disabled: would ", func(v string) string { return v }
	}
	if workload {
		prefix = "Targets workload identities: " + strings.ReplaceAll(strings.ToLower(prefix), ":", ",")
	}
	var vs []string
	for _, v := range verbs {
		vs = append(vs, conj(v))
	}
	s := prefix + strings.Join(vs, " and ")
	switch {
	case block && len(verbs) == 1:
		s += " " + who
	case verbs[0] == "apply no controls":
		s += " to " + who
	default:
		s += " for " + who
	}
	sep := " "
	if excepted {
		sep = ", "
	}
	if apps := appsClause(cond.Applications, n); apps != "" {
		s += ", " + apps
		sep = ", "
	}
	for i, c := range conditionClauses(cond, workload, n) {
		if i > 0 {
			sep = ", "
		}
		s += sep + c
	}
	// Names come from the directory, where anyone who can rename an object
	// can write anything: no control characters (bidi overrides) in the
	// sentence.
	s = clean(s)
	return strings.ToUpper(s[:1]) + s[1:]
}

// thirdPerson conjugates a clause's leading verb: "require MFA" → "requires MFA".
func thirdPerson(clause string) string {
	verb, rest, _ := strings.Cut(clause, " ")
	switch {
	case strings.HasSuffix(verb, "y"):
		verb = verb[:len(verb)-1] + "ies"
	case strings.HasSuffix(verb, "s"), strings.HasSuffix(verb, "sh"), strings.HasSuffix(verb, "ch"):
		verb += "es"
	default:
		verb += "s"
	}
	if rest == "" {
		return verb
	}
	return verb + " " + rest
}

// controlClauses are what the grant and session controls make happen, each
// a clause starting with a verb in its base form ("require MFA or a
// compliant device", "set sign-in frequency to every 8 hours"). block is
// set when the grant blocks.
func controlClauses(p *directory.ConditionalAccessPolicy) (clauses []string, block bool) {
	if g := p.GrantControls; g != nil {
		if slices.ContainsFunc(g.BuiltInControls, func(c string) bool { return strings.EqualFold(c, "block") }) {
			clauses, block = append(clauses, "block"), true
		} else if alts := grantAlternatives(g, shortControl); len(alts) > 0 {
			op := " and "
			if strings.EqualFold(g.Operator, "OR") {
				op = " or "
			}
			clauses = append(clauses, "require "+strings.Join(alts, op))
		}
	}
	for _, s := range sessionClauses(p.SessionControls) {
		clauses = append(clauses, s)
	}
	if len(clauses) == 0 {
		clauses = append(clauses, "apply no controls")
	}
	return clauses, block
}

// grantAlternatives names each grant control with name (built-in controls,
// authentication strength, custom factors, terms of use).
func grantAlternatives(g *directory.CAGrantControls, name func(string) string) []string {
	var alts []string
	for _, c := range g.BuiltInControls {
		alts = append(alts, name(c))
	}
	if s := g.AuthenticationStrength; s != nil {
		alts = append(alts, "authentication strength "+cmpOr(s.DisplayName, s.ID))
	}
	for _, f := range g.CustomAuthenticationFactors {
		alts = append(alts, "custom control "+f)
	}
	switch len(g.TermsOfUse) {
	case 0:
	case 1:
		alts = append(alts, name("termsOfUse"))
	default:
		alts = append(alts, strconv.Itoa(len(g.TermsOfUse))+" terms of use")
	}
	return alts
}

// shortControl names a built-in grant control inside a sentence.
func shortControl(c string) string {
	switch strings.ToLower(c) {
	case "mfa":
		return "MFA"
	case "compliantdevice":
		return "a compliant device"
	case "domainjoineddevice":
		return "a hybrid-joined device"
	case "approvedapplication":
		return "an approved client app"
	case "compliantapplication":
		return "an app protection policy"
	case "passwordchange":
		return "a password change"
	case "termsofuse":
		return "acceptance of the terms of use"
	case "block":
		return "block"
	}
	return c
}

// longControl names a built-in grant control in a list, as the Entra admin
// center does.
func longControl(c string) string {
	switch strings.ToLower(c) {
	case "mfa":
		return "multifactor authentication"
	case "compliantdevice":
		return "device marked as compliant"
	case "domainjoineddevice":
		return "Microsoft Entra hybrid joined device"
	case "approvedapplication":
		return "approved client app"
	case "compliantapplication":
		return "app protection policy"
	case "passwordchange":
		return "password change"
	case "termsofuse":
		return "terms of use"
	case "block":
		return "block access"
	}
	return c
}

// sessionClauses are the session controls as verb clauses.
func sessionClauses(s *directory.CASessionControls) []string {
	if s == nil {
		return nil
	}
	var out []string
	if f := s.SignInFrequency; f != nil && (f.IsEnabled == nil || *f.IsEnabled) {
		if freq := frequencyText(f); freq != "" {
			out = append(out, "force sign-in "+freq)
		}
	}
	if pb := s.PersistentBrowser; pb != nil && (pb.IsEnabled == nil || *pb.IsEnabled) && pb.Mode != "" {
		if strings.EqualFold(pb.Mode, "never") {
			out = append(out, "never keep browser sessions signed in")
		} else {
			out = append(out, "always keep browser sessions signed in")
		}
	}
	if d := s.DisableResilienceDefaults; d != nil && *d {
		out = append(out, "disable resilience defaults")
	}
	return out
}

// frequencyText is a sign-in frequency in words: "every 8 hours", "every time".
func frequencyText(f *directory.SignInFrequency) string {
	switch {
	case strings.EqualFold(f.FrequencyInterval, "everyTime"):
		return "every time"
	case f.Value != nil:
		unit := strings.ToLower(cmpOr(f.Type, "hours"))
		if *f.Value == 1 {
			unit = strings.TrimSuffix(unit, "s")
		}
		return fmt.Sprintf("every %d %s", *f.Value, unit)
	case f.IsEnabled != nil:
		return "periodically"
	}
	return ""
}

// counted is "1 group", "2 groups".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// orList joins "a", "b" and "c" as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return andList(items)
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// guestsText names the guest and external user types a condition selects.
func guestsText(g *directory.CAGuests) string {
	guestsOnly := len(g.GuestOrExternalUserTypes) > 0
	for _, t := range g.GuestOrExternalUserTypes {
		if !strings.EqualFold(t, "b2bCollaborationGuest") && !strings.EqualFold(t, "internalGuest") {
			guestsOnly = false
		}
	}
	s := "guest or external users"
	if guestsOnly {
		s = "guests"
	}
	if t := g.ExternalTenants; t != nil && strings.EqualFold(t.MembershipKind, "enumerated") {
		s += " from " + counted(len(t.Members), "tenant")
	}
	return s
}

// usersWho is the users a policy reaches, in words: "all users except 2
// groups and 1 user", "group Sales", "guests". excepted is set when the
// phrase ends with exclusions.
func usersWho(u *directory.CAUsers, n Names) (string, bool) {
	if u == nil {
		return "no users", false
	}
	var inc []string
	if slices.ContainsFunc(u.IncludeUsers, func(id string) bool { return isKeyword(id, keywordAll) }) {
		inc = []string{"all users"} // All covers whatever else is named
	} else {
		inc = append(inc, named(u.IncludeGroups, "group", n.group)...)
		inc = append(inc, named(u.IncludeRoles, "role", n.role)...)
		var ids []string
		guests := u.IncludeGuestsOrExternalUsers != nil
		for _, id := range u.IncludeUsers {
			switch {
			case isKeyword(id, "GuestsOrExternalUsers"):
				guests = true
			case !isKeyword(id, keywordNone):
				ids = append(ids, id)
			}
		}
		inc = append(inc, named(ids, "user", n.user)...)
		switch {
		case u.IncludeGuestsOrExternalUsers != nil:
			inc = append(inc, guestsText(u.IncludeGuestsOrExternalUsers))
		case guests:
			inc = append(inc, "guest or external users")
		}
	}
	if len(inc) == 0 {
		inc = append(inc, "no users")
	}
	var exc []string
	if len(u.ExcludeGroups) > 0 {
		exc = append(exc, counted(len(u.ExcludeGroups), "group"))
	}
	if len(u.ExcludeRoles) > 0 {
		exc = append(exc, counted(len(u.ExcludeRoles), "role"))
	}
	var excUsers int
	for _, id := range u.ExcludeUsers {
		if isKeyword(id, "GuestsOrExternalUsers") {
			exc = append(exc, "guest or external users")
		} else {
			excUsers++
		}
	}
	if excUsers > 0 {
		exc = append(exc, counted(excUsers, "user"))
	}
	if g := u.ExcludeGuestsOrExternalUsers; g != nil {
		exc = append(exc, guestsText(g))
	}
	who := andList(inc)
	if len(exc) > 0 {
		return who + " except " + andList(exc), true
	}
	return who, false
}

// named names one object ("group Sales") or counts several ("3 groups").
func named(ids []string, kind string, name func(string) string) []string {
	switch len(ids) {
	case 0:
		return nil
	case 1:
		return []string{kind + " " + name(ids[0])}
	}
	return []string{counted(len(ids), kind)}
}

// workloadWho is the service principals a workload identity policy reaches.
func workloadWho(c *directory.CAClientApplications, n Names) (string, bool) {
	var inc []string
	var ids []string
	for _, id := range c.IncludeServicePrincipals {
		if isKeyword(id, "ServicePrincipalsInMyTenant") {
			inc = append(inc, n.servicePrincipal(id))
		} else {
			ids = append(ids, id)
		}
	}
	inc = append(inc, named(ids, "service principal", n.servicePrincipal)...)
	who := andList(inc)
	if k := len(c.ExcludeServicePrincipals); k > 0 {
		return who + " except " + strconv.Itoa(k), true
	}
	return who, false
}

// appsClause is the target resources in words, with their preposition: ""
// for all apps (the default, not worth saying), "on all apps except 8", "on
// Office 365", "when registering security information".
func appsClause(a *directory.CAApplications, n Names) string {
	if a == nil {
		return "on no apps"
	}
	var exc string
	switch len(a.ExcludeApplications) {
	case 0:
	case 1:
		exc = " except " + n.app(a.ExcludeApplications[0])
	default:
		exc = " except " + strconv.Itoa(len(a.ExcludeApplications))
	}
	inc := a.IncludeApplications
	switch {
	case slices.ContainsFunc(inc, func(id string) bool { return isKeyword(id, keywordAll) }):
		if exc == "" {
			return ""
		}
		return "on all apps" + exc
	case len(inc) > 3:
		return "on " + counted(len(inc), "app") + exc
	case len(inc) > 0:
		var names []string
		for _, id := range inc {
			names = append(names, n.app(id))
		}
		return "on " + andList(names) + exc
	case len(a.IncludeUserActions) > 0:
		var acts []string
		for _, ua := range a.IncludeUserActions {
			acts = append(acts, userAction(ua))
		}
		return "when " + orList(acts)
	case len(a.IncludeAuthenticationContextClassReferences) > 0:
		return "on authentication context " + strings.Join(a.IncludeAuthenticationContextClassReferences, ", ")
	case a.ApplicationFilter != nil && strings.EqualFold(a.ApplicationFilter.Mode, "include"):
		return "on apps matching a filter"
	}
	return "on no apps"
}

// userAction names a user action of includeUserActions.
func userAction(ua string) string {
	switch strings.ToLower(ua) {
	case "urn:user:registersecurityinfo":
		return "registering security information"
	case "urn:user:registerdevice":
		return "registering or joining devices"
	}
	return "doing " + ua
}

// clientAppNames names client app types.
var clientAppNames = map[string]string{
	"browser":                     "browsers",
	"mobileappsanddesktopclients": "mobile and desktop apps",
	"exchangeactivesync":          "Exchange ActiveSync clients",
	"eassupported":                "Exchange ActiveSync clients",
	"other":                       "other clients",
}

// conditionClauses are the conditions that narrow a policy, in words:
// "from outside trusted locations", "using legacy authentication clients".
func conditionClauses(c *directory.CAConditions, workload bool, n Names) []string {
	var out []string
	if t := c.ClientAppTypes; len(t) > 0 && !workload {
		has := func(k string) bool {
			return slices.ContainsFunc(t, func(s string) bool { return strings.EqualFold(s, k) })
		}
		switch {
		case has("all") || has("browser") && has("mobileAppsAndDesktopClients"):
		case len(t) == 2 && has("exchangeActiveSync") && has("other"):
			out = append(out, "using legacy authentication clients")
		default:
			var names []string
			for _, s := range t {
				names = append(names, cmpOr(clientAppNames[strings.ToLower(s)], s))
			}
			out = append(out, "using "+orList(names))
		}
	}
	if l := c.Locations; l != nil {
		names := func(ids []string) string {
			var s []string
			for _, id := range ids {
				s = append(s, n.location(id))
			}
			return orList(s)
		}
		inc, exc := l.IncludeLocations, l.ExcludeLocations
		anyInc := len(inc) == 0 || slices.ContainsFunc(inc, func(id string) bool { return isKeyword(id, "All") })
		switch {
		case anyInc && len(exc) > 0:
			out = append(out, "from outside "+names(exc))
		case !anyInc && len(exc) > 0:
			out = append(out, "from "+names(inc)+" except "+names(exc))
		case !anyInc:
			out = append(out, "from "+names(inc))
		}
	}
	if p := c.Platforms; p != nil {
		inc := p.IncludePlatforms
		if len(inc) > 0 && !slices.ContainsFunc(inc, func(s string) bool { return strings.EqualFold(s, "all") }) {
			out = append(out, "on "+orList(inc)+" devices")
		}
		if len(p.ExcludePlatforms) > 0 {
			out = append(out, "except on "+orList(p.ExcludePlatforms)+" devices")
		}
	}
	if d := c.Devices; d != nil && d.DeviceFilter != nil && d.DeviceFilter.Rule != "" {
		if strings.EqualFold(d.DeviceFilter.Mode, "exclude") {
			out = append(out, "except on devices matching a filter")
		} else {
			out = append(out, "on devices matching a filter")
		}
	}
	risk := func(what string, levels []string) {
		if len(levels) > 0 {
			out = append(out, "at "+what+" risk "+orList(levels))
		}
	}
	risk("sign-in", c.SignInRiskLevels)
	risk("user", c.UserRiskLevels)
	risk("insider", c.InsiderRiskLevels)
	risk("service principal", c.ServicePrincipalRiskLevels)
	if f := c.AuthenticationFlows; f != nil && len(f.TransferMethods) > 0 {
		var flows []string
		for _, m := range f.TransferMethods {
			switch strings.ToLower(m) {
			case "devicecodeflow":
				flows = append(flows, "device code flow")
			case "authenticationtransfer":
				flows = append(flows, "authentication transfer")
			default:
				flows = append(flows, m)
			}
		}
		out = append(out, "in "+orList(flows))
	}
	if a := c.Applications; a != nil && a.ApplicationFilter != nil && strings.EqualFold(a.ApplicationFilter.Mode, "exclude") {
		out = append(out, "except apps matching a filter")
	}
	if s := c.ClientApplications; workload && s.ServicePrincipalFilter != nil && s.ServicePrincipalFilter.Rule != "" {
		out = append(out, "for service principals matching a filter")
	}
	return out
}

// PolicyLine is one line of a policy's description: a label and its values.
type PolicyLine struct {
	Label  string
	Values []string
}

// DescribePolicy lists a policy's conditions and its grant and session
// controls, one labelled line each, with every referenced object named
// ("group Sales", "unknown group <id>"). Conditions a policy leaves unset
// are left out.
func DescribePolicy(p *directory.ConditionalAccessPolicy, n Names) []PolicyLine {
	var out []PolicyLine
	add := func(label string, values ...string) {
		if len(values) > 0 {
			values = slices.Clone(values) // never write into the policy
			for i, v := range values {
				values[i] = clean(v)
			}
			out = append(out, PolicyLine{Label: label, Values: values})
		}
	}
	each := func(ids []string, name func(string) string, kind string) []string {
		var s []string
		for _, id := range ids {
			v := name(id)
			if kind != "" && directory.IsGUID(id) && !strings.HasPrefix(v, "unknown ") {
				v = kind + " " + v
			}
			s = append(s, v)
		}
		return s
	}
	c := p.Conditions
	if c == nil {
		c = &directory.CAConditions{}
	}
	if u := c.Users; u != nil {
		guests := func(g *directory.CAGuests) []string {
			if g == nil {
				return nil
			}
			s := "guest or external user types: " + strings.Join(g.GuestOrExternalUserTypes, ", ")
			if t := g.ExternalTenants; t != nil {
				if strings.EqualFold(t.MembershipKind, "enumerated") {
					s += " (from tenants " + strings.Join(t.Members, ", ") + ")"
				} else {
					s += " (from any external tenant)"
				}
			}
			return []string{s}
		}
		var inc, exc []string
		inc = append(inc, each(u.IncludeUsers, n.user, "user")...)
		inc = append(inc, each(u.IncludeGroups, n.group, "group")...)
		inc = append(inc, each(u.IncludeRoles, n.role, "role")...)
		inc = append(inc, guests(u.IncludeGuestsOrExternalUsers)...)
		exc = append(exc, each(u.ExcludeUsers, n.user, "user")...)
		exc = append(exc, each(u.ExcludeGroups, n.group, "group")...)
		exc = append(exc, each(u.ExcludeRoles, n.role, "role")...)
		exc = append(exc, guests(u.ExcludeGuestsOrExternalUsers)...)
		add("Users included", inc...)
		add("Users excluded", exc...)
	}
	if s := c.ClientApplications; s != nil {
		add("Workload identities included", each(s.IncludeServicePrincipals, n.servicePrincipal, "")...)
		add("Workload identities excluded", each(s.ExcludeServicePrincipals, n.servicePrincipal, "")...)
		if f := s.ServicePrincipalFilter; f != nil && f.Rule != "" {
			add("Service principal filter", cmpOr(f.Mode, "include")+": "+f.Rule)
		}
	}
	if a := c.Applications; a != nil {
		add("Target resources", each(a.IncludeApplications, n.app, "")...)
		add("Resources excluded", each(a.ExcludeApplications, n.app, "")...)
		var acts []string
		for _, ua := range a.IncludeUserActions {
			acts = append(acts, userAction(ua))
		}
		add("User actions", acts...)
		add("Authentication contexts", a.IncludeAuthenticationContextClassReferences...)
		if f := a.ApplicationFilter; f != nil && f.Rule != "" {
			add("Application filter", cmpOr(f.Mode, "include")+": "+f.Rule)
		}
	} else if c.ClientApplications == nil {
		add("Target resources", "none")
	}
	if t := c.ClientAppTypes; len(t) > 0 {
		var names []string
		for _, s := range t {
			if strings.EqualFold(s, "all") {
				names = append(names, "all client apps")
			} else {
				names = append(names, cmpOr(clientAppNames[strings.ToLower(s)], s))
			}
		}
		add("Client apps", names...)
	}
	if l := c.Locations; l != nil {
		add("Locations included", each(l.IncludeLocations, n.location, "")...)
		add("Locations excluded", each(l.ExcludeLocations, n.location, "")...)
	}
	if pl := c.Platforms; pl != nil {
		add("Platforms included", pl.IncludePlatforms...)
		add("Platforms excluded", pl.ExcludePlatforms...)
	}
	if d := c.Devices; d != nil && d.DeviceFilter != nil && d.DeviceFilter.Rule != "" {
		add("Device filter", cmpOr(d.DeviceFilter.Mode, "include")+": "+d.DeviceFilter.Rule)
	}
	add("Sign-in risk", c.SignInRiskLevels...)
	add("User risk", c.UserRiskLevels...)
	add("Insider risk", c.InsiderRiskLevels...)
	add("Service principal risk", c.ServicePrincipalRiskLevels...)
	if f := c.AuthenticationFlows; f != nil {
		add("Authentication flows", f.TransferMethods...)
	}

	if g := p.GrantControls; g != nil {
		alts := grantAlternatives(g, longControl)
		label := "Grant: require all of"
		switch {
		case slices.ContainsFunc(g.BuiltInControls, func(c string) bool { return strings.EqualFold(c, "block") }):
			label = "Grant"
			alts = []string{"block access"}
		case len(alts) == 1:
			label = "Grant: require"
		case strings.EqualFold(g.Operator, "OR"):
			label = "Grant: require one of"
		}
		if len(g.TermsOfUse) > 1 {
			alts = slices.DeleteFunc(alts, func(s string) bool { return strings.HasSuffix(s, " terms of use") })
			for _, id := range g.TermsOfUse {
				alts = append(alts, "terms of use "+id)
			}
		}
		add(label, alts...)
	} else {
		add("Grant", "none")
	}
	if s := p.SessionControls; s != nil {
		var vals []string
		if f := s.SignInFrequency; f != nil && (f.IsEnabled == nil || *f.IsEnabled) {
			if freq := frequencyText(f); freq != "" {
				vals = append(vals, "sign-in frequency: "+freq)
			}
		}
		if pb := s.PersistentBrowser; pb != nil && (pb.IsEnabled == nil || *pb.IsEnabled) && pb.Mode != "" {
			vals = append(vals, "persistent browser session: "+pb.Mode)
		}
		if d := s.DisableResilienceDefaults; d != nil && *d {
			vals = append(vals, "resilience defaults disabled")
		}
		add("Session", vals...)
	}
	return out
}

// StateText is a policy state as people say it: enabled, report-only,
// disabled.
func StateText(state string) string {
	switch {
	case strings.EqualFold(state, directory.StateEnabled):
		return "enabled"
	case strings.EqualFold(state, directory.StateReportOnly):
		return "report-only"
	case strings.EqualFold(state, directory.StateDisabled), state == "":
		return "disabled"
	}
	return state
}

// DemandsMFA reports whether a policy's grant, where the policy applies,
// requires MFA or blocks — perhaps only in part (MFA or a compliant device):
// the policies whose gaps are worth listing. Session-only and terms-of-use
// policies protect no sign-in.
func DemandsMFA(p *directory.ConditionalAccessPolicy) bool {
	c := &policy{p: p}
	c.compileGrant(p.GrantControls)
	return c.demandsMFA()
}
