package synthetic_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/synthetic"
)

// danglingReferences lists every reference in s to an object s does not
// hold, as "where: what".
func danglingReferences(s *directory.Snapshot) []string {
	var bad []string
	miss := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	set := func(n int, id func(int) string) map[string]bool {
		m := make(map[string]bool, n)
		for i := 0; i < n; i++ {
			m[id(i)] = true
		}
		return m
	}
	users := set(len(s.Users), func(i int) string { return s.Users[i].ID })
	groups := set(len(s.Groups), func(i int) string { return s.Groups[i].ID })
	sps := set(len(s.ServicePrincipals), func(i int) string { return s.ServicePrincipals[i].ID })
	appIDs := set(len(s.ServicePrincipals), func(i int) string { return s.ServicePrincipals[i].AppID })
	apps := set(len(s.Applications), func(i int) string { return s.Applications[i].ID })
	roles := set(len(s.RoleDefinitions), func(i int) string { return s.RoleDefinitions[i].ID })
	locations := set(len(s.NamedLocations), func(i int) string { return s.NamedLocations[i].ID })
	policies := set(len(s.ConditionalAccessPolicies), func(i int) string { return s.ConditionalAccessPolicies[i].ID })
	envs := set(len(s.Environments), func(i int) string { return s.Environments[i].Name })
	flows := set(len(s.Flows), func(i int) string { return s.Flows[i].Key() })
	conns := set(len(s.Connections), func(i int) string { return s.Connections[i].Key() })
	roleAssignable := map[string]bool{}
	for _, g := range s.Groups {
		if g.IsAssignableToRole != nil && *g.IsAssignableToRole {
			roleAssignable[g.ID] = true
		}
	}
	appRoles := map[string]bool{} // resource id / app role id
	for _, sp := range s.ServicePrincipals {
		for _, r := range sp.AppRoles {
			appRoles[sp.ID+"/"+r.ID] = true
		}
	}
	ref := func(where string, r directory.Ref) {
		ok := false
		switch r.Kind() {
		case "user":
			ok = users[r.ID]
		case "group":
			ok = groups[r.ID]
		case "servicePrincipal":
			ok = sps[r.ID]
		}
		if !ok {
			miss("%s: %s %s", where, r.Kind(), r.ID)
		}
	}
	principal := func(where, kind, id string) {
		ok := false
		switch kind {
		case "User":
			ok = users[id]
		case "Group":
			ok = groups[id]
		case "ServicePrincipal":
			ok = sps[id]
		}
		if !ok {
			miss("%s: %s %s", where, kind, id)
		}
	}
	keywords := func(where string, ids []string, known map[string]bool, words ...string) {
		for _, id := range ids {
			if !known[id] && !slices.Contains(words, id) {
				miss("%s: %s", where, id)
			}
		}
	}

	for _, m := range s.GroupMembers {
		if !groups[m.GroupID] {
			miss("groupMembers: group %s", m.GroupID)
		}
		seen := map[string]bool{}
		for _, r := range m.Members {
			ref("groupMembers of "+m.GroupID, r)
			if seen[r.ID] {
				miss("groupMembers of %s: %s listed twice", m.GroupID, r.ID)
			}
			seen[r.ID] = true
		}
	}
	for _, o := range s.Owners {
		if !sps[o.ObjectID] && !apps[o.ObjectID] {
			miss("owners: object %s", o.ObjectID)
		}
		for _, r := range o.Owners {
			ref("owners of "+o.ObjectID, r)
		}
	}
	for _, a := range s.RoleAssignments {
		if !users[a.PrincipalID] && !roleAssignable[a.PrincipalID] && !sps[a.PrincipalID] {
			miss("roleAssignments %s: principal %s (not a user, role-assignable group or service principal)", a.ID, a.PrincipalID)
		}
		if !roles[a.RoleDefinitionID] {
			miss("roleAssignments %s: role %s", a.ID, a.RoleDefinitionID)
		}
	}
	for _, a := range s.AppRoleAssignments {
		if !sps[a.PrincipalID] {
			miss("appRoleAssignments %s: principal %s", a.ID, a.PrincipalID)
		}
		if !appRoles[a.ResourceID+"/"+a.AppRoleID] {
			miss("appRoleAssignments %s: app role %s of resource %s", a.ID, a.AppRoleID, a.ResourceID)
		}
	}
	for _, a := range s.Applications {
		if !appIDs[a.AppID] {
			miss("applications %s: no service principal for appId %s", a.ID, a.AppID)
		}
	}
	for _, p := range s.ConditionalAccessPolicies {
		where := "policy " + p.DisplayName
		c := p.Conditions
		if u := c.Users; u != nil {
			keywords(where+" users", slices.Concat(u.IncludeUsers, u.ExcludeUsers), users, "All", "None", "GuestsOrExternalUsers")
			keywords(where+" groups", slices.Concat(u.IncludeGroups, u.ExcludeGroups), groups)
			keywords(where+" roles", slices.Concat(u.IncludeRoles, u.ExcludeRoles), roles)
		}
		if a := c.Applications; a != nil {
			keywords(where+" apps", slices.Concat(a.IncludeApplications, a.ExcludeApplications), appIDs, "All", "None", "Office365", "MicrosoftAdminPortals")
		}
		if ca := c.ClientApplications; ca != nil {
			keywords(where+" service principals", slices.Concat(ca.IncludeServicePrincipals, ca.ExcludeServicePrincipals), sps, "ServicePrincipalsInMyTenant")
		}
		if l := c.Locations; l != nil {
			keywords(where+" locations", slices.Concat(l.IncludeLocations, l.ExcludeLocations), locations, "All", "AllTrusted")
		}
	}
	for _, r := range s.RegistrationDetails {
		if !users[r.ID] {
			miss("userRegistrationDetails: user %s", r.ID)
		}
	}
	for _, in := range s.SignIns {
		if !users[in.UserID] || !appIDs[in.AppID] || !appIDs[in.ResourceID] {
			miss("signIns %s: user %s, app %s, resource %s", in.ID, in.UserID, in.AppID, in.ResourceID)
		}
		for _, p := range in.AppliedConditionalAccessPolicies {
			if !policies[p.ID] {
				miss("signIns %s: policy %s", in.ID, p.ID)
			}
		}
	}
	for _, a := range s.ServicePrincipalSignInActivities {
		if !appIDs[a.AppID] {
			miss("servicePrincipalSignInActivities: appId %s", a.AppID)
		}
	}
	for _, f := range s.Flows {
		if !envs[f.EnvironmentName()] {
			miss("flow %s: environment %s", f.Name, f.EnvironmentName())
		}
		if !users[f.CreatorID()] && !sps[f.CreatorID()] {
			miss("flow %s: creator %s", f.Name, f.CreatorID())
		}
		for key, c := range f.Properties.ConnectionReferences {
			if !conns[f.EnvironmentName()+"/"+c.ConnectionName] {
				miss("flow %s: connection %s (%s)", f.Name, c.ConnectionName, key)
			}
		}
	}
	for _, p := range s.FlowPermissions {
		if !flows[p.Key()] {
			miss("flowPermissions: flow %s", p.Key())
		}
		for _, perm := range p.Permissions {
			principal("flowPermissions of "+p.FlowName, perm.Properties.Principal.Type, perm.Properties.Principal.ID)
		}
	}
	for _, c := range s.Connections {
		if !envs[c.EnvironmentName()] {
			miss("connection %s: environment %s", c.Name, c.EnvironmentName())
		}
		if b := c.Properties.CreatedBy; b == nil {
			miss("connection %s: no creator", c.Name)
		} else {
			principal("connection "+c.Name, b.Type, b.ID)
		}
	}
	return bad
}

// checkIntegrity fails unless the only dangling reference is the deleted
// group one policy still excludes.
func checkIntegrity(t *testing.T, s *directory.Snapshot) {
	t.Helper()
	bad := danglingReferences(s)
	if len(bad) != 1 || !strings.Contains(bad[0], " groups: ") {
		t.Errorf("dangling references: got %d, want exactly 1 (the deleted group):\n%s", len(bad), strings.Join(bad[:min(len(bad), 20)], "\n"))
	}
	seen := map[string]bool{}
	for _, c := range directory.AllCollections {
		clear(seen)
		snapshot.Each(s, c, func(o directory.Object) error {
			if seen[o.Key()] {
				t.Errorf("%s: key %s repeats", c, o.Key())
			}
			seen[o.Key()] = true
			return nil
		})
	}
	for _, u := range s.Users {
		if !directory.IsGUID(u.ID) || u.ID != strings.ToLower(u.ID) {
			t.Errorf("user id %q is not a lower-case GUID", u.ID)
		}
	}
	for _, a := range s.RoleAssignments {
		if directory.IsGUID(a.ID) {
			t.Errorf("role assignment id %s looks like a GUID, Graph's do not", a.ID)
		}
	}
}

func TestGenerate_referencesResolve(t *testing.T) {
	for _, opts := range []synthetic.Options{{Seed: 1}, {Seed: 99, Hostile: true}} {
		t.Run(fmt.Sprintf("seed%d", opts.Seed), func(t *testing.T) {
			checkIntegrity(t, mustGenerate(t, opts))
		})
	}
}

// TestGenerate_large runs the large profile only when asked: it takes a
// few seconds and half a gigabyte.
func TestGenerate_large(t *testing.T) {
	if testing.Short() || os.Getenv("STEWARD_LARGE") != "1" {
		t.Skip("set STEWARD_LARGE=1 (without -short) to generate the large profile")
	}
	s := mustGenerate(t, synthetic.Options{Profile: synthetic.ProfileLarge, Seed: 1})
	for _, tc := range []struct {
		c        directory.Collection
		min, max int
	}{
		{directory.Users, 100_000, 100_000},
		{directory.ServicePrincipals, 25_000, 25_000},
		{directory.Applications, 8_000, 8_000},
		{directory.Groups, 5_000, 5_000},
		{directory.ConditionalAccessPolicies, 150, 150},
		{directory.RoleAssignments, 300, 300},
		{directory.RegistrationDetails, 95_000, 100_000},
		{directory.SignIns, 50_000, 50_000},
		{directory.Environments, 200, 200},
		{directory.Flows, 30_000, 30_000},
		{directory.Connections, 40_000, 40_000},
	} {
		if got := s.Count(tc.c); got < tc.min || got > tc.max {
			t.Errorf("%s: %d objects, want %d to %d", tc.c, got, tc.min, tc.max)
		}
	}
	edges := 0
	for _, m := range s.GroupMembers {
		edges += len(m.Members)
	}
	if edges < 380_000 || edges > 420_000 {
		t.Errorf("%d direct membership edges, want about 400,000", edges)
	}
	tn := index(s)
	depth := 0
	for _, g := range s.Groups {
		depth = max(depth, tn.groupDepth(g.ID, map[string]bool{}))
	}
	if depth != 4 {
		t.Errorf("groups nest %d levels deep, want 4", depth)
	}
	checkIntegrity(t, s)

	back, err := snapshot.Read(mustWrite(t, s))
	if err != nil {
		t.Fatalf("snapshot.Read: %v", err)
	}
	for _, c := range directory.AllCollections {
		if got, want := back.Count(c), s.Count(c); got != want {
			t.Errorf("%s: read back %d objects, wrote %d", c, got, want)
		}
	}
}

// BenchmarkGenerateLarge generates the large profile and writes it, as
// `server generate --profile large` does.
func BenchmarkGenerateLarge(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		s, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileLarge, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := snapshot.Write(dir, s); err != nil {
			b.Fatal(err)
		}
	}
}
