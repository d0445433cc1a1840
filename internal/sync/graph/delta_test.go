package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// model is what a store holds after applying runs the way Steward's does:
// objects by key, edges of the child collections by parent, a Complete
// outcome replacing a collection, Scope replacing a parent's children.
type model struct {
	objects map[directory.Collection]map[string]bool
	edges   map[directory.Collection]map[string]map[string]bool // parent → children
}

func newModel() *model {
	return &model{objects: map[directory.Collection]map[string]bool{}, edges: map[directory.Collection]map[string]map[string]bool{}}
}

// children of the edge collections, by parent.
func children(c directory.Collection, o directory.Object) (string, []string) {
	switch v := o.(type) {
	case *directory.GroupMembership:
		return v.GroupID, refIDs(v.Members)
	case *directory.Ownership:
		return v.ObjectID, refIDs(v.Owners)
	case *directory.AppRoleAssignment:
		return v.PrincipalID, []string{v.ID}
	}
	return "", nil
}

func refIDs(refs []directory.Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

func isEdge(c directory.Collection) bool {
	return c == directory.GroupMembers || c == directory.Owners || c == directory.AppRoleAssignments
}

// apply applies one run's staged data and outcomes.
func (m *model) apply(t *testing.T, sinks *memSinks, out []stsync.Outcome) {
	t.Helper()
	for _, o := range out {
		c := o.Collection
		if o.NotCaptured {
			continue
		}
		s := sinks.get(c)
		if !isEdge(c) {
			if o.Complete || m.objects[c] == nil {
				m.objects[c] = map[string]bool{}
			}
			for _, k := range s.removes {
				delete(m.objects[c], k)
			}
			for k := range s.puts {
				m.objects[c][k] = true
			}
			continue
		}
		if o.Complete || m.edges[c] == nil {
			m.edges[c] = map[string]map[string]bool{}
		}
		put := map[string]map[string]bool{}
		for _, obj := range s.putLog {
			p, kids := children(c, obj)
			if put[p] == nil {
				put[p] = map[string]bool{}
			}
			for _, k := range kids {
				put[p][k] = true
			}
		}
		for _, p := range s.scopes {
			delete(m.edges[c], p)
		}
		for _, k := range s.removes {
			p, kid, ok := strings.Cut(k, "/")
			if !ok {
				t.Errorf("%s: Remove(%q) is not a parent/child key", c, k)
				continue
			}
			delete(m.edges[c][p], kid)
		}
		for p, kids := range put {
			if m.edges[c][p] == nil {
				m.edges[c][p] = map[string]bool{}
			}
			for k := range kids {
				m.edges[c][p][k] = true
			}
		}
	}
}

// flat lists a collection's content as sorted strings.
func (m *model) flat(c directory.Collection) []string {
	var out []string
	if isEdge(c) {
		for p, kids := range m.edges[c] {
			for k := range kids {
				out = append(out, p+"/"+k)
			}
		}
	} else {
		for k := range m.objects[c] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

var deltaCollections = []directory.Collection{directory.Users, directory.Groups, directory.GroupMembers,
	directory.ServicePrincipals, directory.Applications, directory.Owners, directory.AppRoleAssignments}

func links(out []stsync.Outcome) map[directory.Collection]string {
	m := map[directory.Collection]string{}
	for _, o := range out {
		if o.DeltaLink != "" {
			m[o.Collection] = o.DeltaLink
		}
	}
	return m
}

// TestFetch_deltaAfterChurn checks a delta run against the truth: the store
// after a full run plus a delta run holds what a new full run lists.
func TestFetch_deltaAfterChurn(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{})
	src := mustSource(t, e, r, nil)
	since := earliestSignIn(snap)

	fullSinks := newMemSinks()
	full, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: since}, fullSinks)
	if err != nil {
		t.Fatal(err)
	}
	m := newModel()
	m.apply(t, fullSinks, full)

	sum, err := e.RandomChurn(0.01, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Deletions the 1% churn of a small tenant is too small to make: a user
	// in a group, a service principal with owners and grants (not a resource
	// anyone is granted), a group with members.
	ch := deletions(t, snap)
	if _, err := e.Apply(ch); err != nil {
		t.Fatal(err)
	}

	deltaSinks := newMemSinks()
	delta, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Delta, DeltaLinks: links(full), SignInsSince: since}, deltaSinks)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []directory.Collection{directory.RegistrationDetails, directory.ServicePrincipalSignInActivities} {
		if o, ok := outcomeOf(delta, c); ok {
			t.Errorf("%s: a delta run reported %+v; it should leave the collection alone", c, o)
		}
	}
	for _, c := range deltaCollections {
		o, ok := outcomeOf(delta, c)
		if !ok || o.Complete || o.NotCaptured {
			t.Errorf("%s: delta outcome %+v (present %v), want incomplete", c, o, ok)
		}
	}
	for _, c := range []directory.Collection{directory.ConditionalAccessPolicies, directory.RoleAssignments} {
		if o, _ := outcomeOf(delta, c); !o.Complete {
			t.Errorf("%s: %+v, want listed in full", c, o)
		}
	}

	users := deltaSinks.get(directory.Users)
	if got, want := len(users.puts), sum.UsersAdded+sum.UsersChanged; got < want {
		t.Errorf("delta staged %d users, churn added %d and changed %d", got, sum.UsersAdded, sum.UsersChanged)
	}
	if len(users.puts) > 20 {
		t.Errorf("delta staged %d users: more than what changed", len(users.puts))
	}
	if !slices.Contains(users.removes, ch.DeleteUsers[0]) {
		t.Errorf("users removed %v, want %s", users.removes, ch.DeleteUsers[0])
	}
	for _, u := range users.puts {
		if !strings.Contains(string(u.RawJSON()), `"signInActivity"`) {
			t.Errorf("user %s staged by delta without signInActivity", u.Key())
		}
	}
	sps := deltaSinks.get(directory.ServicePrincipals)
	if got, want := len(sps.puts), sum.ServicePrincipalsAdded+sum.ServicePrincipalsChanged; got != want {
		t.Errorf("delta staged %d service principals, want %d", got, want)
	}
	if !slices.Contains(sps.removes, ch.DeleteServicePrincipals[0]) {
		t.Errorf("service principals removed %v, want %s", sps.removes, ch.DeleteServicePrincipals[0])
	}
	for _, c := range []directory.Collection{directory.Owners, directory.AppRoleAssignments} {
		scopes := deltaSinks.get(c).scopes
		for id := range sps.puts {
			if !slices.Contains(scopes, id) {
				t.Errorf("%s: changed service principal %s not scoped", c, id)
			}
		}
		if !slices.Contains(scopes, ch.DeleteServicePrincipals[0]) {
			t.Errorf("%s: deleted service principal not scoped", c)
		}
	}
	members := deltaSinks.get(directory.GroupMembers)
	if len(members.removes) < sum.MembershipsMoved || len(members.putLog) == 0 {
		t.Errorf("membership: %d edges removed, %d groups with additions; churn moved %d", len(members.removes), len(members.putLog), sum.MembershipsMoved)
	}
	if !slices.Contains(deltaSinks.get(directory.Groups).removes, ch.DeleteGroups[0]) {
		t.Errorf("deleted group not removed")
	}

	m.apply(t, deltaSinks, delta)
	truthSinks := newMemSinks()
	truth, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: since}, truthSinks)
	if err != nil {
		t.Fatal(err)
	}
	want := newModel()
	want.apply(t, truthSinks, truth)
	for _, c := range deltaCollections {
		if got, want := m.flat(c), want.flat(c); !slices.Equal(got, want) {
			t.Errorf("%s after full+delta: %d entries, a new full run lists %d (%v)", c, len(got), len(want), diff(got, want))
		}
	}

	// The new links work: nothing changed since.
	again := newMemSinks()
	if _, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Delta, DeltaLinks: links(delta), SignInsSince: since}, again); err != nil {
		t.Fatal(err)
	}
	if n := len(again.get(directory.Users).puts) + len(again.get(directory.ServicePrincipals).puts); n != 0 {
		t.Errorf("a delta run with nothing changed staged %d objects", n)
	}
}

// deletions picks objects whose deletion a delta run can follow.
func deletions(t *testing.T, s *directory.Snapshot) emulator.Churn {
	t.Helper()
	owners, resources, roleHolders := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, o := range s.Owners {
		for _, r := range o.Owners {
			owners[r.ID] = true
		}
	}
	for _, a := range s.AppRoleAssignments {
		resources[a.ResourceID] = true
	}
	for _, a := range s.RoleAssignments {
		roleHolders[a.PrincipalID] = true
	}
	inGroup := map[string]bool{}
	for _, g := range s.GroupMembers {
		for _, r := range g.Members {
			inGroup[r.ID] = true
		}
	}
	var ch emulator.Churn
	for _, u := range s.Users {
		// An owner's deletion changes its objects' owner lists, which no
		// delta reports until the objects change: the next full run does.
		if inGroup[u.ID] && !owners[u.ID] && !strings.Contains(u.DisplayName, "(changed)") {
			ch.DeleteUsers = []string{u.ID}
			break
		}
	}
	hasOwners := map[string]bool{}
	for _, o := range s.Owners {
		hasOwners[o.ObjectID] = len(o.Owners) > 0
	}
	for _, sp := range s.ServicePrincipals {
		if hasOwners[sp.ID] && !resources[sp.ID] && !owners[sp.ID] && !inGroup[sp.ID] && !roleHolders[sp.ID] {
			ch.DeleteServicePrincipals = []string{sp.ID}
			break
		}
	}
	for _, g := range s.GroupMembers {
		if len(g.Members) > 0 && !inGroup[g.GroupID] && !owners[g.GroupID] {
			ch.DeleteGroups = []string{g.GroupID}
			break
		}
	}
	if len(ch.DeleteUsers) == 0 || len(ch.DeleteServicePrincipals) == 0 || len(ch.DeleteGroups) == 0 {
		t.Fatalf("no candidates to delete: %+v", ch)
	}
	return ch
}

func TestFetch_expiredDeltaLinkFallsBackToFull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		expire func(e *emulator.Emulator)
	}{
		{"syncStateNotFound", (*emulator.Emulator).ExpireDeltaTokens},
		{"410 Gone", (*emulator.Emulator).RequireResync},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			snap := mustDemo(t)
			e, r := startEmulator(t, snap, emulator.Options{})
			src := mustSource(t, e, r, nil)
			full, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full}, newMemSinks())
			if err != nil {
				t.Fatal(err)
			}
			tc.expire(e)
			sinks := newMemSinks()
			out, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Delta, DeltaLinks: links(full)}, sinks)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []directory.Collection{directory.Users, directory.Groups, directory.ServicePrincipals, directory.Applications} {
				o, _ := outcomeOf(out, c)
				if !o.Complete || o.DeltaLink == "" || o.DeltaLink == links(full)[c] {
					t.Errorf("%s: %+v, want a complete listing with a new delta link", c, o)
				}
				if got, want := len(sinks.get(c).puts), snap.Count(c); got != want {
					t.Errorf("%s: %d staged, want all %d", c, got, want)
				}
			}
			if o, _ := outcomeOf(out, directory.AppRoleAssignments); !o.Complete {
				t.Errorf("app role assignments after a full fallback: %+v, want complete", o)
			}
		})
	}
}
