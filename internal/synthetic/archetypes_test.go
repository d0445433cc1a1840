package synthetic_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/synthetic"
)

// Ids from GRAPH.md that the demo tenant must use.
const (
	graphAppID        = "00000003-0000-0000-c000-000000000000"
	powerPlatformRole = "11648597-926c-4cf3-9c36-bcebb0ba8dcc"
	globalAdminRole   = "62e90394-69f5-4237-9190-012177145e10"
	dirReadWriteAll   = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
	dirReadAll        = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
	userReadAll       = "df021288-bdef-4463-88db-98f22de89214"
	roleMgmtReadWrite = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"
	azurePortalAppID  = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	azureMgmtAppID    = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
)

// firstPartyAppIDs are the Microsoft apps of GRAPH.md §8 the demo must hold.
var firstPartyAppIDs = []string{
	"7df0a125-d3be-4c96-aa54-591f83ff541c", "475226c6-020e-4fb2-8a90-7a972cbfc1d4", "00000007-0000-0000-c000-000000000000",
	graphAppID, "00000002-0000-0ff1-ce00-000000000000", "00000003-0000-0ff1-ce00-000000000000",
	"cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "00000002-0000-0000-c000-000000000000", azureMgmtAppID, azurePortalAppID,
	"8578e004-a5c6-46e7-913e-12f58912df43", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "1950a258-227b-4e31-a9cf-717495945fc2",
}

// The apps a "service accounts need MFA except for their flows" policy excludes.
var powerPlatformAppIDs = []string{
	"7df0a125-d3be-4c96-aa54-591f83ff541c", "475226c6-020e-4fb2-8a90-7a972cbfc1d4", "00000002-0000-0ff1-ce00-000000000000",
	graphAppID, "00000002-0000-0000-c000-000000000000", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
	"00000007-0000-0000-c000-000000000000", "00000003-0000-0ff1-ce00-000000000000",
}

var serviceName = regexp.MustCompile(`^(svc|sa|flow|coe|integration|bot|app|automation)-|^Sync_`)

func isServiceAccount(u *directory.User) bool { return serviceName.MatchString(u.UserPrincipalName) }

// tenant indexes a snapshot for the checks below.
type tenant struct {
	s        *directory.Snapshot
	now      time.Time
	user     map[string]*directory.User
	group    map[string]*directory.Group
	groupBy  map[string]*directory.Group // by display name
	members  map[string][]directory.Ref
	sp       map[string]*directory.ServicePrincipal
	spByApp  map[string]*directory.ServicePrincipal
	owners   map[string][]directory.Ref
	roles    map[string][]string // principal → role ids
	location map[string]*directory.NamedLocation
}

func index(s *directory.Snapshot) *tenant {
	t := &tenant{
		s: s, now: s.Tenant.CapturedAt.Time,
		user: map[string]*directory.User{}, group: map[string]*directory.Group{}, groupBy: map[string]*directory.Group{},
		members: map[string][]directory.Ref{}, sp: map[string]*directory.ServicePrincipal{}, spByApp: map[string]*directory.ServicePrincipal{},
		owners: map[string][]directory.Ref{}, roles: map[string][]string{}, location: map[string]*directory.NamedLocation{},
	}
	for i := range s.Users {
		t.user[s.Users[i].ID] = &s.Users[i]
	}
	for i := range s.Groups {
		t.group[s.Groups[i].ID] = &s.Groups[i]
		t.groupBy[s.Groups[i].DisplayName] = &s.Groups[i]
	}
	for _, m := range s.GroupMembers {
		t.members[m.GroupID] = m.Members
	}
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		t.sp[sp.ID] = sp
		t.spByApp[sp.AppID] = sp
	}
	for _, o := range s.Owners {
		t.owners[o.ObjectID] = o.Owners
	}
	for _, a := range s.RoleAssignments {
		t.roles[a.PrincipalID] = append(t.roles[a.PrincipalID], a.RoleDefinitionID)
	}
	for i := range s.NamedLocations {
		t.location[s.NamedLocations[i].ID] = &s.NamedLocations[i]
	}
	return t
}

func (t *tenant) userByLocal(local string) *directory.User {
	for i := range t.s.Users {
		if strings.HasPrefix(t.s.Users[i].UserPrincipalName, local+"@") {
			return &t.s.Users[i]
		}
	}
	return nil
}

// groupDepth is how many levels of groups lie below g (1 for a group of users only).
func (t *tenant) groupDepth(id string, seen map[string]bool) int {
	if seen[id] {
		return 0
	}
	seen[id] = true
	depth := 1
	for _, m := range t.members[id] {
		if m.Kind() == "group" {
			depth = max(depth, 1+t.groupDepth(m.ID, seen))
		}
	}
	return depth
}

func (t *tenant) appRoleGranted(roleID string) bool {
	for _, a := range t.s.AppRoleAssignments {
		if a.AppRoleID == roleID && a.ResourceID == t.spByApp[graphAppID].ID && t.sp[a.PrincipalID] != nil {
			return true
		}
	}
	return false
}

func (t *tenant) anySecret(ok func(p directory.PasswordCredential) bool) bool {
	for _, a := range t.s.Applications {
		for _, p := range a.PasswordCredentials {
			if ok(p) {
				return true
			}
		}
	}
	return false
}

func (t *tenant) countSignIns(ok func(in *directory.SignIn) bool) int {
	n := 0
	for i := range t.s.SignIns {
		if ok(&t.s.SignIns[i]) {
			n++
		}
	}
	return n
}

// allUsersMFA finds the "require MFA for all users" policy.
func (t *tenant) allUsersMFA() *directory.ConditionalAccessPolicy {
	for i := range t.s.ConditionalAccessPolicies {
		p := &t.s.ConditionalAccessPolicies[i]
		c := p.Conditions
		if p.State == directory.StateEnabled && c != nil && c.Users != nil && slices.Contains(c.Users.IncludeUsers, "All") &&
			c.Applications != nil && slices.Equal(c.Applications.IncludeApplications, []string{"All"}) &&
			slices.Equal(c.ClientAppTypes, []string{"all"}) && c.Locations == nil &&
			p.GrantControls != nil && slices.Equal(p.GrantControls.BuiltInControls, []string{"mfa"}) {
			return p
		}
	}
	return nil
}

func TestGenerate_demoHasEveryArchetype(t *testing.T) {
	tn := index(mustGenerate(t, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1}))
	s, now := tn.s, tn.now
	for _, tc := range []struct {
		name string
		ok   func() bool
	}{
		{"a CoE account holding Power Platform Administrator", func() bool {
			u := tn.userByLocal("coe-admin")
			return u != nil && slices.Contains(tn.roles[u.ID], powerPlatformRole)
		}},
		{"a dormant enabled service account (no sign-in for 90 days)", func() bool {
			for i := range s.Users {
				u := &s.Users[i]
				if isServiceAccount(u) && u.Enabled() && u.SignInActivity != nil &&
					u.SignInActivity.LastSuccessfulSignInDateTime.Before(now.AddDate(0, 0, -90)) {
					return true
				}
			}
			return false
		}},
		{"two break-glass accounts: Global Administrators excluded by id from the all-users MFA policy", func() bool {
			p := tn.allUsersMFA()
			if p == nil {
				return false
			}
			n := 0
			for _, id := range p.Conditions.Users.ExcludeUsers {
				if slices.Contains(tn.roles[id], globalAdminRole) {
					n++
				}
			}
			return n == 2
		}},
		{"guests with #EXT# UPNs", func() bool {
			n := 0
			for _, u := range s.Users {
				if u.IsGuest() && strings.Contains(u.UserPrincipalName, "#EXT#@") {
					n++
				}
			}
			return n >= 10
		}},
		{"service accounts with and without employeeType service", func() bool {
			with, without, never := 0, 0, 0
			for i := range s.Users {
				if u := &s.Users[i]; isServiceAccount(u) {
					if u.EmployeeType == "service" {
						with++
					} else {
						without++
					}
					if u.PasswordPolicies == "DisablePasswordExpiration" {
						never++
					}
				}
			}
			return with >= 5 && without >= 5 && never >= 10
		}},
		{"an app and its service principal without any owner", func() bool {
			for _, a := range s.Applications {
				if sp := tn.spByApp[a.AppID]; sp != nil && len(tn.owners[a.ID]) == 0 && len(tn.owners[sp.ID]) == 0 {
					return true
				}
			}
			return false
		}},
		{"Directory.ReadWrite.All granted on Microsoft Graph", func() bool { return tn.appRoleGranted(dirReadWriteAll) }},
		{"RoleManagement.ReadWrite.Directory granted", func() bool { return tn.appRoleGranted(roleMgmtReadWrite) }},
		{"Directory.Read.All granted", func() bool { return tn.appRoleGranted(dirReadAll) }},
		{"User.Read.All granted", func() bool { return tn.appRoleGranted(userReadAll) }},
		{"the Microsoft Graph service principal exposes Directory.ReadWrite.All", func() bool {
			for _, r := range tn.spByApp[graphAppID].AppRoles {
				if r.ID == dirReadWriteAll && r.Value == "Directory.ReadWrite.All" {
					return true
				}
			}
			return false
		}},
		{"an expired client secret", func() bool {
			return tn.anySecret(func(p directory.PasswordCredential) bool { return p.EndDateTime.Before(now) })
		}},
		{"a client secret expiring within 30 days", func() bool {
			return tn.anySecret(func(p directory.PasswordCredential) bool {
				return p.EndDateTime.After(now) && p.EndDateTime.Before(now.AddDate(0, 0, 30))
			})
		}},
		{"a valid client secret living longer than 180 days", func() bool {
			return tn.anySecret(func(p directory.PasswordCredential) bool {
				return p.EndDateTime.After(now) && p.EndDateTime.Sub(p.StartDateTime.Time) > 180*24*time.Hour
			})
		}},
		{"a certificate-only app", func() bool {
			for _, a := range s.Applications {
				if len(a.KeyCredentials) > 0 && len(a.PasswordCredentials) == 0 {
					return true
				}
			}
			return false
		}},
		{"a GitHub Actions federated credential", func() bool {
			for _, a := range s.Applications {
				for _, f := range a.FederatedIdentityCredentials {
					if f.Issuer == "https://token.actions.githubusercontent.com" && strings.HasPrefix(f.Subject, "repo:") {
						return true
					}
				}
			}
			return false
		}},
		{"every own app registration has a service principal", func() bool {
			for _, a := range s.Applications {
				if sp := tn.spByApp[a.AppID]; sp == nil || sp.AppOwnerOrganizationID != s.Tenant.ID {
					return false
				}
			}
			return true
		}},
		{"managed identities", func() bool {
			n := 0
			for i := range s.ServicePrincipals {
				if s.ServicePrincipals[i].ManagedIdentity() {
					n++
				}
			}
			return n >= 3
		}},
		{"Microsoft first-party service principals with their real appIds", func() bool {
			for _, id := range firstPartyAppIDs {
				if sp := tn.spByApp[id]; sp == nil || !sp.FirstParty() {
					return false
				}
			}
			return true
		}},
		{"the exclusion group nests service accounts two groups deep", func() bool {
			g := tn.groupBy["CA-Exclude-ServiceAccounts"]
			return g != nil && tn.groupDepth(g.ID, map[string]bool{}) >= 3
		}},
		{"a role-assignable group holding a role", func() bool {
			for id, roles := range tn.roles {
				if g := tn.group[id]; g != nil && g.IsAssignableToRole != nil && *g.IsAssignableToRole && len(roles) > 0 && len(tn.members[id]) > 0 {
					return true
				}
			}
			return false
		}},
		{"a dynamic group with a membership rule", func() bool {
			for _, g := range s.Groups {
				if g.Dynamic() && g.MembershipRule != "" {
					return true
				}
			}
			return false
		}},
		{"a trusted IP location, an untrusted one and a country location", func() bool {
			trusted, untrusted, country := false, false, false
			for _, l := range s.NamedLocations {
				switch {
				case l.Kind() == "ip" && l.Trusted():
					trusted = true
				case l.Kind() == "ip":
					untrusted = true
				case l.Kind() == "country":
					country = true
				}
			}
			return trusted && untrusted && country
		}},
		{"the default environment", func() bool {
			return slices.ContainsFunc(s.Environments, func(e directory.Environment) bool { return e.Name == "Default-"+s.Tenant.ID })
		}},
		{"flows owned mostly by service accounts", func() bool {
			n := 0
			for _, f := range s.Flows {
				if u := tn.user[f.CreatorID()]; u != nil && isServiceAccount(u) {
					n++
				}
			}
			return n*2 > len(s.Flows)
		}},
		{"flows owned by people", func() bool {
			return slices.ContainsFunc(s.Flows, func(f directory.Flow) bool {
				u := tn.user[f.CreatorID()]
				return u != nil && !isServiceAccount(u)
			})
		}},
		{"flows owned by a service principal", func() bool {
			for _, p := range s.FlowPermissions {
				for _, perm := range p.Permissions {
					if perm.Properties.RoleName == "Owner" && perm.Properties.Principal.Type == "ServicePrincipal" {
						return true
					}
				}
			}
			return false
		}},
		{"connections in error with AADSTS50076", func() bool {
			return slices.ContainsFunc(s.Connections, func(c directory.Connection) bool {
				return c.InError() && strings.HasPrefix(c.ErrorMessage(), "Failed to refresh access token for service: ") &&
					strings.Contains(c.ErrorMessage(), "AADSTS50076")
			})
		}},
		{"50076 sign-in failures of service accounts", func() bool {
			return tn.countSignIns(func(in *directory.SignIn) bool {
				return in.ErrorCode() == 50076 && in.NonInteractive() && isServiceAccount(tn.user[in.UserID])
			}) >= 10
		}},
		{"53003 sign-in failures of service accounts", func() bool {
			return tn.countSignIns(func(in *directory.SignIn) bool {
				return in.ErrorCode() == 53003 && isServiceAccount(tn.user[in.UserID]) && len(in.AppliedConditionalAccessPolicies) > 0
			}) >= 5
		}},
		{"successful sign-ins of a service account to Azure Portal and Azure management", func() bool {
			portal := tn.countSignIns(func(in *directory.SignIn) bool {
				return in.ErrorCode() == 0 && in.AppID == azurePortalAppID && isServiceAccount(tn.user[in.UserID])
			})
			arm := tn.countSignIns(func(in *directory.SignIn) bool {
				return in.ErrorCode() == 0 && in.ResourceID == azureMgmtAppID && in.NonInteractive() && isServiceAccount(tn.user[in.UserID])
			})
			return portal > 0 && arm > 0
		}},
		{"interactive and non-interactive sign-ins", func() bool {
			return tn.countSignIns(func(in *directory.SignIn) bool { return !in.NonInteractive() }) > 100 &&
				tn.countSignIns(func(in *directory.SignIn) bool { return in.NonInteractive() }) > 100
		}},
		{"a dormant own app among the service principal sign-in activities", func() bool {
			dormant, own := 0, 0
			for _, a := range s.ServicePrincipalSignInActivities {
				if sp := tn.spByApp[a.AppID]; sp != nil && sp.AppOwnerOrganizationID == s.Tenant.ID {
					own++
					if a.LastSignIn().Before(now.AddDate(0, 0, -90)) {
						dormant++
					}
				}
			}
			return dormant >= 1 && own*10 >= len(s.Applications)*8
		}},
		{"registrations for enabled users only: people with MFA, service accounts mostly without", func() bool {
			if len(s.RegistrationDetails) == 0 {
				return false
			}
			var svcWith, svcWithout, people, peopleWith int
			for _, r := range s.RegistrationDetails {
				u := tn.user[r.ID]
				if u == nil || !u.Enabled() {
					return false
				}
				mfa := r.IsMfaRegistered != nil && *r.IsMfaRegistered
				switch {
				case isServiceAccount(u) && mfa:
					svcWith++
				case isServiceAccount(u):
					svcWithout++
				case !u.IsGuest():
					people++
					if mfa {
						peopleWith++
					}
				}
			}
			return svcWithout > 3*svcWith && peopleWith*10 > people*8
		}},
	} {
		if !tc.ok() {
			t.Errorf("demo tenant lacks %s", tc.name)
		}
	}
}

// TestGenerate_demoPolicyDesigns looks for each Conditional Access design by
// its shape, not its name, as the exposure engine will see it.
func TestGenerate_demoPolicyDesigns(t *testing.T) {
	tn := index(mustGenerate(t, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1, Hostile: true}))
	exclusion := tn.groupBy["CA-Exclude-ServiceAccounts"]
	if exclusion == nil {
		t.Fatal("no CA-Exclude-ServiceAccounts group")
	}
	grants := func(p *directory.ConditionalAccessPolicy, controls ...string) bool {
		if p.GrantControls == nil {
			return false
		}
		for _, c := range controls {
			if !slices.Contains(p.GrantControls.BuiltInControls, c) {
				return false
			}
		}
		return true
	}
	users := func(p *directory.ConditionalAccessPolicy) *directory.CAUsers {
		if p.Conditions == nil || p.Conditions.Users == nil {
			return &directory.CAUsers{}
		}
		return p.Conditions.Users
	}
	// catchesServiceAccount reports whether a group the policy includes holds
	// a service account directly.
	catchesServiceAccount := func(p *directory.ConditionalAccessPolicy) bool {
		if slices.Contains(users(p).IncludeUsers, "All") {
			return true
		}
		for _, g := range users(p).IncludeGroups {
			for _, m := range tn.members[g] {
				if u := tn.user[m.ID]; u != nil && isServiceAccount(u) {
					return true
				}
			}
		}
		return false
	}
	for _, tc := range []struct {
		design string
		ok     func(p *directory.ConditionalAccessPolicy) bool
	}{
		{"MFA for all users, excluding break-glass and the service account group", func(p *directory.ConditionalAccessPolicy) bool {
			return p == tn.allUsersMFA() && len(users(p).ExcludeUsers) == 2 && slices.Contains(users(p).ExcludeGroups, exclusion.ID)
		}},
		{"MFA for service accounts on all apps except the Power Platform ones", func(p *directory.ConditionalAccessPolicy) bool {
			a := p.Conditions.Applications
			if p.State != directory.StateEnabled || !slices.Contains(users(p).IncludeGroups, exclusion.ID) || a == nil || !grants(p, "mfa") {
				return false
			}
			for _, id := range powerPlatformAppIDs {
				if !slices.Contains(a.ExcludeApplications, id) {
					return false
				}
			}
			return slices.Contains(a.IncludeApplications, "All")
		}},
		{"MFA for admin roles, excluding break-glass", func(p *directory.ConditionalAccessPolicy) bool {
			return slices.Contains(users(p).IncludeRoles, globalAdminRole) && len(users(p).ExcludeUsers) == 2 && grants(p, "mfa")
		}},
		{"Terms of Use that catches a service account", func(p *directory.ConditionalAccessPolicy) bool {
			return p.GrantControls != nil && len(p.GrantControls.TermsOfUse) > 0 && catchesServiceAccount(p)
		}},
		{"sign-in frequency of 8 hours that catches service accounts", func(p *directory.ConditionalAccessPolicy) bool {
			sc := p.SessionControls
			return sc != nil && sc.SignInFrequency != nil && sc.SignInFrequency.Type == "hours" &&
				sc.SignInFrequency.Value != nil && *sc.SignInFrequency.Value == 8 && catchesServiceAccount(p)
		}},
		{"a report-only MFA rollout", func(p *directory.ConditionalAccessPolicy) bool {
			return p.State == directory.StateReportOnly && grants(p, "mfa")
		}},
		{"block legacy authentication", func(p *directory.ConditionalAccessPolicy) bool {
			return slices.Equal(p.Conditions.ClientAppTypes, []string{"exchangeActiveSync", "other"}) && grants(p, "block")
		}},
		{"block service accounts outside trusted locations", func(p *directory.ConditionalAccessPolicy) bool {
			l := p.Conditions.Locations
			return l != nil && slices.Equal(l.IncludeLocations, []string{"All"}) && slices.Equal(l.ExcludeLocations, []string{"AllTrusted"}) &&
				p.Conditions.ClientApplications == nil && catchesServiceAccount(p) && grants(p, "block")
		}},
		{"a workload identity policy with one exclusion", func(p *directory.ConditionalAccessPolicy) bool {
			ca := p.Conditions.ClientApplications
			return ca != nil && slices.Equal(ca.IncludeServicePrincipals, []string{"ServicePrincipalsInMyTenant"}) &&
				len(ca.ExcludeServicePrincipals) == 1 && tn.sp[ca.ExcludeServicePrincipals[0]] != nil &&
				p.Conditions.Locations != nil && grants(p, "block")
		}},
		{"an exclusion of a group that no longer exists", func(p *directory.ConditionalAccessPolicy) bool {
			return slices.ContainsFunc(users(p).ExcludeGroups, func(id string) bool { return tn.group[id] == nil })
		}},
		{"a disabled policy", func(p *directory.ConditionalAccessPolicy) bool { return p.State == directory.StateDisabled }},
		{"MFA or a compliant device for a department", func(p *directory.ConditionalAccessPolicy) bool {
			return p.GrantControls != nil && p.GrantControls.Operator == "OR" && grants(p, "mfa", "compliantDevice") &&
				len(users(p).IncludeGroups) == 1 && strings.HasPrefix(tn.group[users(p).IncludeGroups[0]].DisplayName, "SG-Dept-")
		}},
	} {
		found := false
		for i := range tn.s.ConditionalAccessPolicies {
			p := &tn.s.ConditionalAccessPolicies[i]
			if p.Conditions != nil && tc.ok(p) {
				found = true
				if p.CreatedDateTime.IsZero() || p.ModifiedDateTime.Before(p.CreatedDateTime.Time) {
					t.Errorf("%s: %q created %v, modified %v", tc.design, p.DisplayName, p.CreatedDateTime, p.ModifiedDateTime)
				}
				break
			}
		}
		if !found {
			t.Errorf("no policy with the design %q", tc.design)
		}
	}
}
