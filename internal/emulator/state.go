package emulator

import (
	"cmp"
	"slices"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// coll is one collection in one version of the tenant.
type coll struct {
	items []*entry // in serving order
	byKey map[string]*entry
}

// tenant is one immutable version of the served tenant. A change builds a new
// version that shares every collection it did not touch; page and delta
// tokens name the version they walk, so a walk sees one consistent tenant.
type tenant struct {
	seq      uint64
	info     directory.Tenant
	captured map[directory.Collection]bool // nil: everything was captured
	colls    map[directory.Collection]*coll

	// Derived indexes, rebuilt when their collection changes.
	interactive    []*entry // sign-ins that v1.0 returns, newest first
	araByPrincipal map[string][]*entry
	araByResource  map[string][]*entry
	flowsByEnv     map[string][]*entry
	connsByEnv     map[string][]*entry
}

// kindOf is the directory object kind of a collection's objects, for the
// @odata.type of member and owner lists.
func kindOf(c directory.Collection) string {
	switch c {
	case directory.Users:
		return "user"
	case directory.Groups:
		return "group"
	case directory.ServicePrincipals:
		return "servicePrincipal"
	case directory.Applications:
		return "application"
	}
	return ""
}

// buildTenant makes the first version from a snapshot.
func buildTenant(s *directory.Snapshot) (*tenant, error) {
	t := &tenant{seq: 1, info: s.Tenant, colls: make(map[directory.Collection]*coll, len(directory.AllCollections))}
	if s.Captured != nil {
		t.captured = make(map[directory.Collection]bool, len(s.Captured))
		for c, ok := range s.Captured {
			t.captured[c] = ok
		}
	}
	for _, c := range directory.AllCollections {
		kind := kindOf(c)
		col := &coll{byKey: make(map[string]*entry, s.Count(c))}
		col.items = make([]*entry, 0, s.Count(c))
		err := snapshot.Each(s, c, func(o directory.Object) error {
			e, err := newEntry(o, kind)
			if err != nil {
				return err
			}
			if _, dup := col.byKey[e.key]; dup {
				return nil // the snapshot reader refuses duplicates; in-memory snapshots keep the first
			}
			col.items = append(col.items, e)
			col.byKey[e.key] = e
			return nil
		})
		if err != nil {
			return nil, err
		}
		if c == directory.SignIns {
			sortSignIns(col.items)
		}
		t.colls[c] = col
	}
	t.derive(nil)
	return t, nil
}

// sortSignIns orders sign-ins newest first, as Graph returns them.
func sortSignIns(items []*entry) {
	slices.SortStableFunc(items, func(a, b *entry) int {
		ta, tb := a.obj.(*directory.SignIn).CreatedDateTime.Time, b.obj.(*directory.SignIn).CreatedDateTime.Time
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
}

// derive rebuilds the indexes of the collections in changed (all when nil).
func (t *tenant) derive(changed map[directory.Collection]bool) {
	touched := func(c directory.Collection) bool { return changed == nil || changed[c] }
	if touched(directory.SignIns) {
		t.interactive = nil
		for _, e := range t.colls[directory.SignIns].items {
			if signInInteractive(e.obj.(*directory.SignIn)) {
				t.interactive = append(t.interactive, e)
			}
		}
	}
	if touched(directory.AppRoleAssignments) {
		t.araByPrincipal = map[string][]*entry{}
		t.araByResource = map[string][]*entry{}
		for _, e := range t.colls[directory.AppRoleAssignments].items {
			a := e.obj.(*directory.AppRoleAssignment)
			t.araByPrincipal[a.PrincipalID] = append(t.araByPrincipal[a.PrincipalID], e)
			t.araByResource[a.ResourceID] = append(t.araByResource[a.ResourceID], e)
		}
	}
	if touched(directory.Flows) {
		t.flowsByEnv = map[string][]*entry{}
		for _, e := range t.colls[directory.Flows].items {
			env := e.obj.(*directory.Flow).EnvironmentName()
			t.flowsByEnv[env] = append(t.flowsByEnv[env], e)
		}
	}
	if touched(directory.Connections) {
		t.connsByEnv = map[string][]*entry{}
		for _, e := range t.colls[directory.Connections].items {
			env := e.obj.(*directory.Connection).EnvironmentName()
			t.connsByEnv[env] = append(t.connsByEnv[env], e)
		}
	}
}

// signInEventTypes returns a sign-in's event types, inferring them for
// exports that lack the beta property.
func signInEventTypes(s *directory.SignIn) []string {
	if len(s.SignInEventTypes) > 0 {
		return s.SignInEventTypes
	}
	if s.NonInteractive() {
		return []string{"nonInteractiveUser"}
	}
	return []string{"interactiveUser"}
}

// signInInteractive reports whether v1.0, which lists interactive sign-ins
// only, returns the sign-in.
func signInInteractive(s *directory.SignIn) bool {
	for _, t := range signInEventTypes(s) {
		if t == "interactiveUser" {
			return true
		}
	}
	return false
}

func (t *tenant) items(c directory.Collection) []*entry { return t.colls[c].items }

func (t *tenant) get(c directory.Collection, key string) *entry {
	return t.colls[c].byKey[directory.ID(key)]
}

// isCaptured reports whether the snapshot captured a collection. The emulator
// answers 403 for one it did not, as Graph does when the permission or
// licence that would have captured it is missing.
func (t *tenant) isCaptured(c directory.Collection) bool {
	return t.captured == nil || t.captured[c] || len(t.colls[c].items) > 0
}

// count returns how many objects a collection holds.
func (t *tenant) count(c directory.Collection) int { return len(t.colls[c].items) }

// members returns the direct member references of a group.
func (t *tenant) members(groupID string) []directory.Ref {
	if e := t.get(directory.GroupMembers, groupID); e != nil {
		return e.obj.(*directory.GroupMembership).Members
	}
	return nil
}

// owners returns the owner references of a service principal or application.
func (t *tenant) owners(objectID string) []directory.Ref {
	if e := t.get(directory.Owners, objectID); e != nil {
		return e.obj.(*directory.Ownership).Owners
	}
	return nil
}

// resolve turns a reference into the entry it points to, or a bare entry with
// only @odata.type and id when the object is not in the tenant (Graph would
// not list it, but a snapshot may hold such dangling references).
func (t *tenant) resolve(r directory.Ref) *entry {
	kind := r.Kind()
	if c := collectionOfKind(kind); c != "" {
		if e := t.get(c, r.ID); e != nil {
			return e
		}
	} else {
		for _, c := range []directory.Collection{directory.Users, directory.Groups, directory.ServicePrincipals} {
			if e := t.get(c, r.ID); e != nil {
				return e
			}
		}
	}
	if kind == "" {
		kind = "directoryObject"
	}
	raw := append(append([]byte(`{"id":`), jsonString(r.ID)...), '}')
	return &entry{key: r.ID, kind: kind, raw: raw}
}

// refEntries resolves a list of references.
func (t *tenant) refEntries(refs []directory.Ref) []*entry {
	out := make([]*entry, 0, len(refs))
	for _, r := range refs {
		out = append(out, t.resolve(r))
	}
	return out
}

// transitiveMembers walks nested groups breadth first, listing every member
// once (nested groups included, as Graph does); cycles are harmless.
func (t *tenant) transitiveMembers(groupID string) []directory.Ref {
	seen := map[string]bool{directory.ID(groupID): true}
	queue := []string{directory.ID(groupID)}
	var out []directory.Ref
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		for _, m := range t.members(g) {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			out = append(out, m)
			if m.Kind() == "group" {
				queue = append(queue, m.ID)
			}
		}
	}
	return out
}

// userCount sizes the tenant for the throttling limits.
func (t *tenant) userCount() int { return t.count(directory.Users) }
