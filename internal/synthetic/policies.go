package synthetic

import (
	"fmt"
	"strconv"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Network ranges: documentation ranges only (RFC 5737, RFC 3849), so the
// synthetic data never names somebody's real network.
const (
	cidrHQ1     = "203.0.113.0/25"
	cidrHQ2     = "203.0.113.128/26"
	cidrHQ6     = "2001:db8:100::/48"
	cidrBranch  = "198.51.100.0/25"
	ipHQPrefix  = "203.0.113."  // trusted office
	ipHome      = "192.0.2."    // people at home, not a named location
	ipBranch    = "198.51.100." // the untrusted guest Wi-Fi
	ipCloudPref = "2001:db8:4000::"
)

// Named location roles.
const (
	locHQ        = "hq"
	locBranch    = "branch"
	locCountries = "countries"
)

func (g *gen) locations() {
	r := g.rng("locations")
	add := func(role string, l directory.NamedLocation) {
		l.ID = r.guid()
		l.CreatedDateTime = g.ago(r.span(400*day, 1200*day))
		l.ModifiedDateTime = g.notBefore(g.ago(r.span(10*day, 400*day)), l.CreatedDateTime, r)
		g.s.NamedLocations = append(g.s.NamedLocations, l)
		if role != "" {
			g.location[role] = len(g.s.NamedLocations) - 1
		}
	}
	hq := cities[0]
	if g.opts.Profile == ProfileLarge {
		hq = cities[2]
	}
	add(locHQ, directory.NamedLocation{
		ODataType: "#microsoft.graph.ipNamedLocation", DisplayName: g.plant(kindLocation, 0, fieldName, "HQ - "+hq+" office"),
		IsTrusted: ptr(true), IPRanges: []directory.IPRange{v4(cidrHQ1), v4(cidrHQ2), v6(cidrHQ6)},
	})
	add(locBranch, directory.NamedLocation{
		ODataType: "#microsoft.graph.ipNamedLocation", DisplayName: g.plant(kindLocation, 1, fieldName, "Branch - "+cities[9]+" guest Wi-Fi"),
		IsTrusted: ptr(false), IPRanges: []directory.IPRange{v4(cidrBranch)},
	})
	add(locCountries, directory.NamedLocation{
		ODataType: "#microsoft.graph.countryNamedLocation", DisplayName: "Blocked countries",
		CountriesAndRegions: []string{"KP", "IR", "SY", "CU", "RU", "BY"}, IncludeUnknownCountriesAndRegions: ptr(false),
		CountryLookupMethod: "clientIpAddress",
	})
	for i := 1; i < g.size.branchLocations; i++ {
		ranges := []directory.IPRange{v6(fmt.Sprintf("2001:db8:%x::/48", 0x1000+i))}
		if i <= 16 {
			ranges = append(ranges, v4(fmt.Sprintf("198.51.100.%d/29", 128+8*(i-1))))
		}
		add("", directory.NamedLocation{
			ODataType: "#microsoft.graph.ipNamedLocation", DisplayName: "Branch - " + cities[i%len(cities)] + " " + strconv.Itoa(i),
			IsTrusted: ptr(r.chance(0.5)), IPRanges: ranges,
		})
	}
}

func v4(cidr string) directory.IPRange {
	return directory.IPRange{ODataType: "#microsoft.graph.iPv4CidrRange", CIDRAddress: cidr}
}

func v6(cidr string) directory.IPRange {
	return directory.IPRange{ODataType: "#microsoft.graph.iPv6CidrRange", CIDRAddress: cidr}
}

// powerPlatformApps are the apps the usual "service accounts need MFA, but not
// for their flows" policy excludes: everything a flow's connections touch.
var powerPlatformApps = []string{appFlow, appPowerApps, appExchange, appGraph, appAAD, appTeams, appDataverse, appSharePoint}

// adminRoles are the roles of Microsoft's "Require MFA for administrators"
// template that Steward knows: Power Platform Administrator is not one.
var adminRoles = []string{
	roleGlobalAdmin, roleSecurityAdmin, roleSharePointAdmin, roleExchangeAdmin, roleCAAdmin, roleHelpdeskAdmin,
	roleUserAdmin, roleAuthAdmin, roleAppAdmin, roleCloudAppAdmin, rolePrivAuthAdmin, rolePrivRoleAdmin,
}

func (g *gen) policies() {
	r := g.rng("policies")
	g.s.ConditionalAccessPolicies = make([]directory.ConditionalAccessPolicy, 0, g.size.policies)
	// Every policy gets its own slices and structs: callers may change one
	// policy without changing another.
	breakGlass := func() []string { return []string{g.s.Users[g.breakGlass[0]].ID, g.s.Users[g.breakGlass[1]].ID} }
	grp := func(name string) string { return g.s.Groups[g.group[name]].ID }
	loc := func(role string) string { return g.s.NamedLocations[g.location[role]].ID }
	mfa := func() *directory.CAGrantControls {
		return &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}}
	}
	block := func() *directory.CAGrantControls {
		return &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
	}
	all := func() *directory.CAApplications {
		return &directory.CAApplications{IncludeApplications: []string{"All"}}
	}
	every := func() []string { return []string{"all"} }

	core := []struct {
		code, name, state string
		created, modified time.Duration // before now
		p                 directory.ConditionalAccessPolicy
	}{
		{"CA001", "Require MFA - All users", directory.StateEnabled, 900 * day, 5 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users: &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass(),
					ExcludeGroups: []string{grp(grpExclude), grp(grpAzure)}},
				Applications: all(), ClientAppTypes: every(),
			},
			GrantControls: mfa(),
		}},
		{"CA002", "Require MFA - Service accounts (except Power Platform)", directory.StateEnabled, 700 * day, 120 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:          &directory.CAUsers{IncludeGroups: []string{grp(grpExclude)}},
				Applications:   &directory.CAApplications{IncludeApplications: []string{"All"}, ExcludeApplications: append([]string(nil), powerPlatformApps...)},
				ClientAppTypes: every(),
			},
			GrantControls: mfa(),
		}},
		{"CA003", "Require MFA - Admin roles", directory.StateEnabled, 1000 * day, 300 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeRoles: append([]string(nil), adminRoles...), ExcludeUsers: breakGlass()},
				Applications: all(), ClientAppTypes: every(),
			},
			GrantControls: mfa(),
		}},
		{"CA004", "Require Terms of Use - Contractors and guests", directory.StateEnabled, 500 * day, 200 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users: &directory.CAUsers{IncludeGroups: []string{grp(grpContractors)},
					IncludeGuestsOrExternalUsers: &directory.CAGuests{
						GuestOrExternalUserTypes: directory.CommaList{"b2bCollaborationGuest", "b2bCollaborationMember"},
						ExternalTenants:          &directory.CAExternalTenants{ODataType: "#microsoft.graph.conditionalAccessAllExternalTenants", MembershipKind: "all"},
					},
					ExcludeUsers: breakGlass()},
				Applications: all(), ClientAppTypes: every(),
			},
			GrantControls: &directory.CAGrantControls{Operator: "OR", TermsOfUse: []string{r.guid()}},
		}},
		{"CA005", "Session - Sign-in frequency 8 hours - Office 365", directory.StateEnabled, 400 * day, 90 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass()},
				Applications: &directory.CAApplications{IncludeApplications: []string{"Office365"}}, ClientAppTypes: every(),
			},
			SessionControls: &directory.CASessionControls{SignInFrequency: &directory.SignInFrequency{
				IsEnabled: ptr(true), Type: "hours", Value: ptr(8), AuthenticationType: "primaryAndSecondaryAuthentication", FrequencyInterval: "timeBased",
			}},
		}},
		{"CA006", "Require MFA - Service accounts phase 2 (report-only)", directory.StateReportOnly, 30 * day, 12 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeGroups: []string{grp(grpExclude)}},
				Applications: all(), ClientAppTypes: every(),
			},
			GrantControls: mfa(),
		}},
		{"CA007", "Block legacy authentication", directory.StateEnabled, 1100 * day, 250 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users: &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass(),
					ExcludeGroups: []string{grp(grpLegacy)}},
				Applications: all(), ClientAppTypes: []string{"exchangeActiveSync", "other"},
			},
			GrantControls: block(),
		}},
		{"CA008", "Block - Integration accounts outside trusted locations", directory.StateEnabled, 600 * day, 60 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeGroups: []string{grp(grpInteg)}},
				Applications: all(), ClientAppTypes: every(),
				Locations: &directory.CALocations{IncludeLocations: []string{"All"}, ExcludeLocations: []string{"AllTrusted"}},
			},
			GrantControls: block(),
		}},
		{"CA009", "Block - Workload identities outside trusted locations", directory.StateEnabled, 300 * day, 40 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				ClientApplications: &directory.CAClientApplications{
					IncludeServicePrincipals: []string{"ServicePrincipalsInMyTenant"},
					ExcludeServicePrincipals: []string{g.s.ServicePrincipals[g.ownSP[appTenantAutomation]].ID},
				},
				Applications: all(),
				Locations:    &directory.CALocations{IncludeLocations: []string{"All"}, ExcludeLocations: []string{loc(locHQ)}},
			},
			GrantControls: block(),
		}},
		{"CA010", "Require MFA - Azure management", directory.StateEnabled, 800 * day, 150 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users: &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass(),
					ExcludeGroups: []string{g.deleted, grp(grpAzure)}},
				Applications: &directory.CAApplications{IncludeApplications: []string{appAzureMgmt, "MicrosoftAdminPortals"}}, ClientAppTypes: every(),
			},
			GrantControls: mfa(),
		}},
		{"CA011", "Block - Device code flow", directory.StateDisabled, 200 * day, 200 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass()},
				Applications: all(), ClientAppTypes: every(),
				AuthenticationFlows: &directory.CAAuthenticationFlows{TransferMethods: directory.CommaList{"deviceCodeFlow"}},
			},
			GrantControls: block(),
		}},
		{"CA012", "Require MFA or compliant device - Sales", directory.StateEnabled, 5 * day, 5 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeGroups: []string{grp(grpDeptPrefix + "Sales")}},
				Applications: all(), ClientAppTypes: every(),
			},
			GrantControls: &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"mfa", "compliantDevice"}},
		}},
		{"CA013", "Block - Sanctioned countries", directory.StateEnabled, 950 * day, 400 * day, directory.ConditionalAccessPolicy{
			Conditions: &directory.CAConditions{
				Users:        &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass()},
				Applications: all(), ClientAppTypes: every(),
				Locations: &directory.CALocations{IncludeLocations: []string{loc(locCountries)}},
			},
			GrantControls: block(),
		}},
	}
	for i, c := range core {
		p := c.p
		p.ID = r.guid()
		p.DisplayName = g.plant(kindPolicy, i, fieldName, c.code+" - "+c.name)
		p.State = c.state
		p.CreatedDateTime = g.ago(c.created + r.span(0, 12*time.Hour))
		p.ModifiedDateTime = g.ago(c.modified + r.span(0, 20*time.Hour))
		if p.ModifiedDateTime.Before(p.CreatedDateTime.Time) {
			p.ModifiedDateTime = p.CreatedDateTime
		}
		g.policy[c.code] = len(g.s.ConditionalAccessPolicies)
		g.s.ConditionalAccessPolicies = append(g.s.ConditionalAccessPolicies, p)
	}
	for i := len(core); i < g.size.policies; i++ {
		g.s.ConditionalAccessPolicies = append(g.s.ConditionalAccessPolicies, g.fillerPolicy(r, 100+i-len(core), breakGlass))
	}
}

// fillerPolicy invents one of the policies large tenants accumulate: per
// group, per app, per location, in every state.
func (g *gen) fillerPolicy(r *rng, n int, breakGlass func() []string) directory.ConditionalAccessPolicy {
	group := func() *directory.Group {
		if len(g.filler) == 0 {
			return &g.s.Groups[r.IntN(len(g.s.Groups))]
		}
		return &g.s.Groups[pick(r, g.filler)]
	}
	app := func() *directory.ServicePrincipal { return &g.s.ServicePrincipals[pick(r, g.ownSP)] }
	users := func() *directory.CAUsers {
		u := &directory.CAUsers{IncludeUsers: []string{"All"}, ExcludeUsers: breakGlass()}
		if r.chance(0.3) && len(g.svc) > 0 {
			u.ExcludeUsers = append(u.ExcludeUsers, g.s.Users[pick(r, g.svc)].ID)
		}
		return u
	}
	mfa := &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}}
	block := &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
	var p directory.ConditionalAccessPolicy
	var name string
	switch n % 8 {
	case 0:
		grp := group()
		name = "Require MFA - " + grp.DisplayName
		p.Conditions = &directory.CAConditions{Users: &directory.CAUsers{IncludeGroups: []string{grp.ID}, ExcludeUsers: breakGlass()},
			Applications: &directory.CAApplications{IncludeApplications: []string{"All"}}, ClientAppTypes: []string{"all"}}
		p.GrantControls = mfa
	case 1:
		d := pick(r, departments).name
		name = "Require compliant device - " + d
		p.Conditions = &directory.CAConditions{Users: &directory.CAUsers{IncludeGroups: []string{g.s.Groups[g.group[grpDeptPrefix+d]].ID}},
			Applications: &directory.CAApplications{IncludeApplications: []string{"Office365"}}, ClientAppTypes: []string{"all"},
			Platforms: &directory.CAPlatforms{IncludePlatforms: []string{"windows", "macOS"}}}
		p.GrantControls = &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"compliantDevice", "domainJoinedDevice"}}
	case 2:
		grp := group()
		name = "Block - Sanctioned countries - exclude " + grp.DisplayName
		u := users()
		u.ExcludeGroups = []string{grp.ID}
		p.Conditions = &directory.CAConditions{Users: u, Applications: &directory.CAApplications{IncludeApplications: []string{"All"}},
			ClientAppTypes: []string{"all"}, Locations: &directory.CALocations{IncludeLocations: []string{g.s.NamedLocations[g.location[locCountries]].ID}}}
		p.GrantControls = block
	case 3:
		a := app()
		name = "Require MFA - " + a.DisplayName
		p.Conditions = &directory.CAConditions{Users: users(), Applications: &directory.CAApplications{IncludeApplications: []string{a.AppID}}, ClientAppTypes: []string{"all"}}
		p.GrantControls = mfa
	case 4:
		grp := group()
		h := pick(r, []int{1, 4, 8, 12, 24})
		name = "Session - Sign-in frequency " + strconv.Itoa(h) + "h - " + grp.DisplayName
		p.Conditions = &directory.CAConditions{Users: &directory.CAUsers{IncludeGroups: []string{grp.ID}},
			Applications: &directory.CAApplications{IncludeApplications: []string{"All"}}, ClientAppTypes: []string{"all"}}
		p.SessionControls = &directory.CASessionControls{SignInFrequency: &directory.SignInFrequency{
			IsEnabled: ptr(true), Type: "hours", Value: ptr(h), AuthenticationType: "primaryAndSecondaryAuthentication", FrequencyInterval: "timeBased"}}
	case 5:
		a := app()
		name = "Block - Workload identity - " + a.DisplayName + " outside trusted locations"
		p.Conditions = &directory.CAConditions{
			ClientApplications: &directory.CAClientApplications{IncludeServicePrincipals: []string{a.ID}},
			Applications:       &directory.CAApplications{IncludeApplications: []string{"All"}},
			Locations:          &directory.CALocations{IncludeLocations: []string{"All"}, ExcludeLocations: []string{"AllTrusted"}}}
		p.GrantControls = block
	case 6:
		pt := pick(r, partners)
		name = "Require MFA - Guests - " + pt.name
		p.Conditions = &directory.CAConditions{
			Users: &directory.CAUsers{IncludeGuestsOrExternalUsers: &directory.CAGuests{
				GuestOrExternalUserTypes: directory.CommaList{"b2bCollaborationGuest"},
				ExternalTenants: &directory.CAExternalTenants{ODataType: "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
					MembershipKind: "enumerated", Members: []string{r.guid()}}}},
			Applications: &directory.CAApplications{IncludeApplications: []string{"All"}}, ClientAppTypes: []string{"all"}}
		p.GrantControls = mfa
	default:
		grp := group()
		l := &g.s.NamedLocations[r.IntN(len(g.s.NamedLocations))]
		name = "Require MFA outside " + l.DisplayName + " - " + grp.DisplayName
		p.Conditions = &directory.CAConditions{Users: &directory.CAUsers{IncludeGroups: []string{grp.ID}, ExcludeUsers: breakGlass()},
			Applications: &directory.CAApplications{IncludeApplications: []string{"All"}}, ClientAppTypes: []string{"all"},
			Locations: &directory.CALocations{IncludeLocations: []string{"All"}, ExcludeLocations: []string{l.ID}}}
		p.GrantControls = mfa
	}
	p.ID = r.guid()
	p.DisplayName = "CA" + strconv.Itoa(n) + " - " + name
	p.State = pickWeighted(r, []weighted[string]{{80, directory.StateEnabled}, {12, directory.StateReportOnly}, {8, directory.StateDisabled}})
	p.CreatedDateTime = g.ago(r.span(30*day, 1200*day))
	p.ModifiedDateTime = g.notBefore(g.ago(r.span(day, 1200*day)), p.CreatedDateTime, r)
	return p
}
