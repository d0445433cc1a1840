package exposure_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
)

var propNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func gid(prefix string, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012d", prefix[0], i) }

// randomTenant builds a small random directory: nested groups (cycles
// included), role assignments to users and role-assignable groups, guests,
// disabled users, service principals, and policies mixing every condition.
func randomTenant(r *rand.Rand) *directory.Snapshot {
	s := &directory.Snapshot{Tenant: directory.Tenant{ID: "11111111-1111-4111-8111-111111111111"}, Captured: map[directory.Collection]bool{}}
	for _, c := range directory.AllCollections {
		s.Captured[c] = true
	}
	nu, ng := 2+r.IntN(6), 1+r.IntN(5)
	for i := range nu {
		u := directory.User{ID: gid("u", i), DisplayName: fmt.Sprintf("user %d", i), UserPrincipalName: fmt.Sprintf("u%d@t.example", i)}
		if r.IntN(5) == 0 {
			u.UserType = "Guest"
			u.UserPrincipalName = fmt.Sprintf("u%d_x.com#EXT#@t.example", i)
		}
		if r.IntN(6) == 0 {
			f := false
			u.AccountEnabled = &f
		}
		s.Users = append(s.Users, u)
	}
	for i := range ng {
		g := directory.Group{ID: gid("g", i), DisplayName: fmt.Sprintf("group %d", i)}
		if r.IntN(3) == 0 {
			t := true
			g.IsAssignableToRole = &t
		}
		s.Groups = append(s.Groups, g)
		m := directory.GroupMembership{GroupID: g.ID}
		for j := range nu {
			if r.IntN(3) == 0 {
				m.Members = append(m.Members, directory.Ref{ODataType: "#microsoft.graph.user", ID: gid("u", j)})
			}
		}
		for j := range ng {
			if r.IntN(4) == 0 { // may be itself or a cycle
				m.Members = append(m.Members, directory.Ref{ODataType: "#microsoft.graph.group", ID: gid("g", j)})
			}
		}
		s.GroupMembers = append(s.GroupMembers, m)
	}
	roles := []string{"11648597-926c-4cf3-9c36-bcebb0ba8dcc", "62e90394-69f5-4237-9190-012177145e10"}
	for i, t := range roles {
		s.RoleDefinitions = append(s.RoleDefinitions, directory.RoleDefinition{ID: t, TemplateID: t, DisplayName: fmt.Sprintf("role %d", i)})
	}
	for i := range 3 {
		p := gid("u", r.IntN(nu))
		if r.IntN(2) == 0 {
			p = gid("g", r.IntN(ng))
		}
		s.RoleAssignments = append(s.RoleAssignments, directory.RoleAssignment{ID: gid("r", i), PrincipalID: p, RoleDefinitionID: roles[r.IntN(2)], DirectoryScopeID: "/"})
	}
	s.ServicePrincipals = append(s.ServicePrincipals,
		directory.ServicePrincipal{ID: gid("s", 0), AppID: gid("a", 0), DisplayName: "app", ServicePrincipalType: "Application", AppOwnerOrganizationID: s.Tenant.ID},
		directory.ServicePrincipal{ID: gid("s", 1), AppID: gid("a", 1), DisplayName: "mi", ServicePrincipalType: "ManagedIdentity"})
	for i := range 1 + r.IntN(6) {
		s.ConditionalAccessPolicies = append(s.ConditionalAccessPolicies, randomPolicy(r, i, nu, ng))
	}
	return s
}

func pickSome(r *rand.Rand, from []string) []string {
	var out []string
	for _, v := range from {
		if r.IntN(3) == 0 {
			out = append(out, v)
		}
	}
	return out
}

func randomPolicy(r *rand.Rand, i, nu, ng int) directory.ConditionalAccessPolicy {
	var users, groups []string
	for j := range nu {
		users = append(users, gid("u", j))
	}
	for j := range ng {
		groups = append(groups, gid("g", j))
	}
	groups = append(groups, gid("z", 9)) // a group missing from the directory
	states := []string{directory.StateEnabled, directory.StateEnabled, directory.StateReportOnly, directory.StateDisabled}
	apps := []string{"All", "Office365", "MicrosoftAdminPortals", "00000003-0000-0000-c000-000000000000", "7df0a125-d3be-4c96-aa54-591f83ff541c"}
	p := directory.ConditionalAccessPolicy{ID: gid("p", i), DisplayName: fmt.Sprintf("policy %d", i), State: states[r.IntN(len(states))],
		Conditions: &directory.CAConditions{
			Users: &directory.CAUsers{
				IncludeUsers:  pickSome(r, append([]string{"All", "GuestsOrExternalUsers", "None"}, users...)),
				ExcludeUsers:  pickSome(r, users),
				IncludeGroups: pickSome(r, groups), ExcludeGroups: pickSome(r, groups),
				IncludeRoles: pickSome(r, []string{"11648597-926c-4cf3-9c36-bcebb0ba8dcc", "62e90394-69f5-4237-9190-012177145e10"}),
				ExcludeRoles: pickSome(r, []string{"62e90394-69f5-4237-9190-012177145e10"}),
			},
			Applications: &directory.CAApplications{IncludeApplications: pickSome(r, apps), ExcludeApplications: pickSome(r, apps[1:])},
		}}
	if r.IntN(4) == 0 {
		p.Conditions.Users.IncludeGuestsOrExternalUsers = &directory.CAGuests{GuestOrExternalUserTypes: directory.CommaList{"b2bCollaborationGuest", "internalGuest"}}
	}
	if r.IntN(4) == 0 {
		p.Conditions.ClientAppTypes = pickSome(r, []string{"all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"})
	}
	if r.IntN(4) == 0 {
		p.Conditions.Locations = &directory.CALocations{IncludeLocations: []string{"All"}, ExcludeLocations: []string{"AllTrusted"}}
	}
	if r.IntN(6) == 0 {
		p.Conditions.SignInRiskLevels = []string{"high"}
	}
	if r.IntN(8) == 0 {
		p.Conditions.ClientApplications = &directory.CAClientApplications{IncludeServicePrincipals: []string{"ServicePrincipalsInMyTenant"}}
	}
	controls := [][]string{{"mfa"}, {"block"}, {"mfa", "compliantDevice"}, {"compliantDevice"}, nil}
	g := &directory.CAGrantControls{Operator: []string{"AND", "OR"}[r.IntN(2)], BuiltInControls: controls[r.IntN(len(controls))]}
	if r.IntN(5) == 0 {
		g.AuthenticationStrength = &directory.AuthenticationStrength{ID: "00000000-0000-0000-0000-000000000002", DisplayName: "Multifactor authentication"}
	}
	if r.IntN(6) == 0 {
		g.TermsOfUse = []string{gid("t", 0)}
	}
	p.GrantControls = g
	return p
}

// verdicts maps account → appId → verdict.
func verdicts(ev *exposure.Evaluation) map[string]map[string]exposure.Verdict {
	out := map[string]map[string]exposure.Verdict{}
	for _, a := range ev.Accounts {
		m := map[string]exposure.Verdict{}
		for _, r := range a.Resources {
			m[r.AppID] = r.Verdict
		}
		out[a.ID] = m
	}
	return out
}

func evaluate(s *directory.Snapshot) *exposure.Evaluation {
	return exposure.Evaluate(s, exposure.DefaultConfig(propNow))
}

// TestProperty_exclusionNeverStrengthens: excluding a user, or a group, from
// any policy never makes any verdict stronger.
func TestProperty_exclusionNeverStrengthens(t *testing.T) {
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 1))
		s := randomTenant(r)
		before := verdicts(evaluate(s))
		p := &s.ConditionalAccessPolicies[r.IntN(len(s.ConditionalAccessPolicies))]
		if r.IntN(2) == 0 {
			p.Conditions.Users.ExcludeUsers = append(p.Conditions.Users.ExcludeUsers, s.Users[r.IntN(len(s.Users))].ID)
		} else {
			p.Conditions.Users.ExcludeGroups = append(p.Conditions.Users.ExcludeGroups, s.Groups[r.IntN(len(s.Groups))].ID)
		}
		after := verdicts(evaluate(s))
		for acct, m := range after {
			for app, v := range m {
				if v.Stronger(before[acct][app]) {
					t.Fatalf("seed %d: excluding from %s made %s on %s stronger: %s → %s", seed, p.DisplayName, acct, app, before[acct][app], v)
				}
			}
		}
	}
}

// TestProperty_mfaPolicyNeverWeakens: adding an enabled policy requiring MFA
// on all apps for a user never makes any of that user's verdicts weaker, and
// makes each at least mfa.
func TestProperty_mfaPolicyNeverWeakens(t *testing.T) {
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 2))
		s := randomTenant(r)
		before := verdicts(evaluate(s))
		u := s.Users[r.IntN(len(s.Users))]
		s.ConditionalAccessPolicies = append(s.ConditionalAccessPolicies, directory.ConditionalAccessPolicy{
			ID: gid("q", 1), DisplayName: "added MFA", State: directory.StateEnabled,
			Conditions: &directory.CAConditions{Users: &directory.CAUsers{IncludeUsers: []string{u.ID}},
				Applications: &directory.CAApplications{IncludeApplications: []string{"All"}}},
			GrantControls: &directory.CAGrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}}})
		after := verdicts(evaluate(s))
		for app, v := range after[u.ID] {
			if before[u.ID][app].Stronger(v) {
				t.Fatalf("seed %d: adding an MFA policy for %s weakened %s: %s → %s", seed, u.ID, app, before[u.ID][app], v)
			}
			if exposure.VerdictMFA.Stronger(v) {
				t.Fatalf("seed %d: %s on %s is %s under an unconditional MFA policy", seed, u.ID, app, v)
			}
		}
	}
}

// TestProperty_orderDoesNotMatter: shuffling every collection gives the same
// evaluation, word for word.
func TestProperty_orderDoesNotMatter(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 3))
		s := randomTenant(r)
		var want bytes.Buffer
		if err := exposure.WriteReport(&want, evaluate(s)); err != nil {
			t.Fatal(err)
		}
		shuffle(r, s.Users)
		shuffle(r, s.Groups)
		shuffle(r, s.GroupMembers)
		for i := range s.GroupMembers {
			shuffle(r, s.GroupMembers[i].Members)
		}
		shuffle(r, s.RoleAssignments)
		shuffle(r, s.RoleDefinitions)
		shuffle(r, s.ServicePrincipals)
		shuffle(r, s.ConditionalAccessPolicies)
		var got bytes.Buffer
		if err := exposure.WriteReport(&got, evaluate(s)); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("seed %d: the evaluation depends on input order\n--- before\n%s\n--- after\n%s", seed, want.String(), got.String())
		}
	}
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

// FuzzEvaluate: random directories with a policy decoded from the fuzzer's
// bytes never make the engine panic, and every account gets a verdict for
// every catalog resource.
func FuzzEvaluate(f *testing.F) {
	f.Add(uint64(1), []byte(`{"id":"p","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`))
	f.Add(uint64(2), []byte(`{"Id":"p","State":"enabled","Conditions":{"Users":{"IncludeGroups":["x"]},"Locations":{"IncludeLocations":["nope"]}},"GrantControls":{"Operator":"AND","TermsOfUse":["t"]}}`))
	f.Add(uint64(3), []byte(`{"conditions":{"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant"]}},"grantControls":{"builtInControls":["block"]},"sessionControls":{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime"}}}`))
	f.Fuzz(func(t *testing.T, seed uint64, policy []byte) {
		r := rand.New(rand.NewPCG(seed, 4))
		s := randomTenant(r)
		if p, err := directory.Decode[directory.ConditionalAccessPolicy](policy); err == nil {
			s.ConditionalAccessPolicies = append(s.ConditionalAccessPolicies, p)
		}
		ev := evaluate(s)
		for _, a := range ev.Accounts {
			if a.Kind == exposure.KindUser && len(a.Resources) < len(exposure.Catalog) {
				t.Fatalf("%s has %d resources, want at least the %d of the catalog", a.ID, len(a.Resources), len(exposure.Catalog))
			}
			if _, err := ev.Find(a.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := exposure.WriteReport(&bytes.Buffer{}, ev); err != nil {
			t.Fatal(err)
		}
	})
}
