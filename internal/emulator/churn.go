package emulator

import (
	"fmt"
	"slices"

	"github.com/steward-dev/steward/internal/directory"
)

// Churn is a set of changes applied to the served tenant in one step (one
// new version). Objects are whole: an update replaces the object, and what is
// served is its typed fields plus the members of its Raw JSON that the typed
// fields do not carry. Ids are compared as Graph does (GUIDs
// case-insensitively).
type Churn struct {
	AddUsers    []directory.User
	UpdateUsers []directory.User
	DeleteUsers []string

	AddGroups    []directory.Group
	UpdateGroups []directory.Group
	DeleteGroups []string

	AddServicePrincipals    []directory.ServicePrincipal
	UpdateServicePrincipals []directory.ServicePrincipal
	DeleteServicePrincipals []string

	AddMembers    []Membership
	RemoveMembers []Membership
}

// Membership is one direct member of a group.
type Membership struct {
	GroupID string
	Member  directory.Ref // with @odata.type, e.g. directory.Ref{ODataType: "#microsoft.graph.user", ID: …}
}

// Apply changes the served tenant and returns the new version. Deleting an
// object also removes it where it is referenced as Graph does: group
// memberships (which groups/delta reports), owners, app role and directory
// role assignments, registration details. Nothing is applied when an
// operation is invalid (an unknown id, an existing id added, a member added
// twice).
func (e *Emulator) Apply(ch Churn) (uint64, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	return e.applyLocked(ch)
}

// applyLocked is Apply with writeMu held.
func (e *Emulator) applyLocked(ch Churn) (uint64, error) {
	w := newWorking(e.cur.Load())
	if err := w.apply(ch); err != nil {
		return 0, err
	}
	t, err := w.finish()
	if err != nil {
		return 0, err
	}
	e.publish(t, w.changes, w.memberChanges)
	return t.seq, nil
}

// publish makes a version current, keeping the last few reachable.
func (e *Emulator) publish(t *tenant, changes []change, members []memberChange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changes = append(e.changes, changes...)
	e.memberChanges = append(e.memberChanges, members...)
	e.versions[t.seq] = t
	e.versionOrder = append(e.versionOrder, t.seq)
	for len(e.versionOrder) > keptVersions {
		delete(e.versions, e.versionOrder[0])
		e.versionOrder = e.versionOrder[1:]
	}
	e.cur.Store(t)
}

// working builds the next version of a tenant.
type working struct {
	old     *tenant
	t       *tenant
	pos     map[directory.Collection]map[string]int // key → index in items, for copied collections
	members map[string][]directory.Ref              // groups whose membership changed → new member list
	deleted map[string]bool                         // ids deleted in this step, for the cascade
	changed map[directory.Collection]bool

	changes       []change
	memberChanges []memberChange
}

func newWorking(old *tenant) *working {
	t := &tenant{seq: old.seq + 1, info: old.info, captured: old.captured,
		colls:       make(map[directory.Collection]*coll, len(old.colls)),
		interactive: old.interactive, araByPrincipal: old.araByPrincipal, araByResource: old.araByResource,
		flowsByEnv: old.flowsByEnv, connsByEnv: old.connsByEnv}
	for c, col := range old.colls {
		t.colls[c] = col
	}
	return &working{old: old, t: t, pos: map[directory.Collection]map[string]int{},
		members: map[string][]directory.Ref{}, deleted: map[string]bool{}, changed: map[directory.Collection]bool{}}
}

// coll returns a collection of the new version, copied on first write.
func (w *working) coll(c directory.Collection) *coll {
	if w.changed[c] {
		return w.t.colls[c]
	}
	old := w.t.colls[c]
	col := &coll{items: slices.Clone(old.items), byKey: make(map[string]*entry, len(old.byKey))}
	pos := make(map[string]int, len(old.items))
	for i, e := range col.items {
		col.byKey[e.key] = e
		pos[e.key] = i
	}
	w.t.colls[c] = col
	w.pos[c] = pos
	w.changed[c] = true
	return col
}

func (w *working) get(c directory.Collection, key string) *entry { return w.t.colls[c].byKey[key] }

// put adds or replaces an object.
func (w *working) put(c directory.Collection, e *entry) {
	col := w.coll(c)
	if i, ok := w.pos[c][e.key]; ok {
		col.items[i] = e
	} else {
		w.pos[c][e.key] = len(col.items)
		col.items = append(col.items, e)
	}
	col.byKey[e.key] = e
}

// remove deletes an object; finish compacts the list.
func (w *working) remove(c directory.Collection, key string) {
	delete(w.coll(c).byKey, key)
}

// record notes a change for delta queries.
func (w *working) record(c directory.Collection, key string) {
	w.changes = append(w.changes, change{seq: w.t.seq, coll: c, key: key})
}

func (w *working) apply(ch Churn) error {
	for _, u := range ch.AddUsers {
		u.ID = directory.ID(u.ID)
		if err := w.upsert(directory.Users, &u, true); err != nil {
			return err
		}
	}
	for _, u := range ch.UpdateUsers {
		u.ID = directory.ID(u.ID)
		if err := w.upsert(directory.Users, &u, false); err != nil {
			return err
		}
	}
	for _, g := range ch.AddGroups {
		g.ID = directory.ID(g.ID)
		if err := w.upsert(directory.Groups, &g, true); err != nil {
			return err
		}
	}
	for _, g := range ch.UpdateGroups {
		g.ID = directory.ID(g.ID)
		if err := w.upsert(directory.Groups, &g, false); err != nil {
			return err
		}
	}
	for _, sp := range ch.AddServicePrincipals {
		sp.ID, sp.AppID = directory.ID(sp.ID), directory.ID(sp.AppID)
		if err := w.upsert(directory.ServicePrincipals, &sp, true); err != nil {
			return err
		}
	}
	for _, sp := range ch.UpdateServicePrincipals {
		sp.ID, sp.AppID = directory.ID(sp.ID), directory.ID(sp.AppID)
		if err := w.upsert(directory.ServicePrincipals, &sp, false); err != nil {
			return err
		}
	}
	for _, m := range ch.RemoveMembers {
		if err := w.setMember(m, false); err != nil {
			return err
		}
	}
	for _, m := range ch.AddMembers {
		if err := w.setMember(m, true); err != nil {
			return err
		}
	}
	for _, del := range []struct {
		c   directory.Collection
		ids []string
	}{{directory.Users, ch.DeleteUsers}, {directory.Groups, ch.DeleteGroups}, {directory.ServicePrincipals, ch.DeleteServicePrincipals}} {
		for _, id := range del.ids {
			id = directory.ID(id)
			if w.get(del.c, id) == nil {
				return fmt.Errorf("emulator: delete %s %s: no such object", kindOf(del.c), id)
			}
			w.remove(del.c, id)
			w.record(del.c, id)
			w.deleted[id] = true
			if del.c == directory.Groups {
				delete(w.members, id)
				if w.get(directory.GroupMembers, id) != nil {
					w.remove(directory.GroupMembers, id)
				}
			}
		}
	}
	return w.cascade()
}

// upsert adds (add) or replaces an object.
func (w *working) upsert(c directory.Collection, o directory.Object, add bool) error {
	key := o.Key()
	if key == "" {
		return fmt.Errorf("emulator: a %s has no id", kindOf(c))
	}
	exists := w.get(c, key) != nil
	switch {
	case add && exists:
		return fmt.Errorf("emulator: add %s %s: it exists already", kindOf(c), key)
	case !add && !exists:
		return fmt.Errorf("emulator: update %s %s: no such object", kindOf(c), key)
	}
	e, err := changedEntry(o, kindOf(c))
	if err != nil {
		return err
	}
	w.put(c, e)
	w.record(c, key)
	return nil
}

// memberList returns the group's member list being built.
func (w *working) memberList(group string) []directory.Ref {
	if l, ok := w.members[group]; ok {
		return l
	}
	l := slices.Clone(w.old.members(group))
	w.members[group] = l
	return l
}

func (w *working) setMember(m Membership, add bool) error {
	group := directory.ID(m.GroupID)
	if w.get(directory.Groups, group) == nil {
		return fmt.Errorf("emulator: group %s: no such group", group)
	}
	ref := directory.Ref{ODataType: m.Member.ODataType, ID: directory.ID(m.Member.ID)}
	if ref.ODataType == "" {
		ref.ODataType = directory.ODataType(w.t.resolve(ref).kind)
	}
	list := w.memberList(group)
	i := slices.IndexFunc(list, func(r directory.Ref) bool { return r.ID == ref.ID })
	switch {
	case add && i >= 0:
		return fmt.Errorf("emulator: %s is already a member of group %s", ref.ID, group)
	case !add && i < 0:
		return fmt.Errorf("emulator: %s is not a member of group %s", ref.ID, group)
	case add:
		list = append(list, ref)
	default:
		ref = list[i]
		list = slices.Delete(list, i, i+1)
	}
	w.members[group] = list
	w.memberChanges = append(w.memberChanges, memberChange{seq: w.t.seq, group: group, ref: ref, removed: !add})
	return nil
}

// cascade removes deleted objects wherever they are referenced.
func (w *working) cascade() error {
	if len(w.deleted) > 0 {
		groups := map[string]bool{}
		for _, e := range w.t.items(directory.GroupMembers) {
			groups[e.key] = true
		}
		for g := range w.members {
			groups[g] = true
		}
		for _, group := range sortedKeys(groups) {
			if w.deleted[group] {
				continue
			}
			list, ok := w.members[group]
			if !ok {
				list = w.old.members(group)
			}
			var gone []directory.Ref
			for _, r := range list {
				if w.deleted[r.ID] {
					gone = append(gone, r)
				}
			}
			for _, r := range gone {
				if err := w.setMember(Membership{GroupID: group, Member: r}, false); err != nil {
					return err
				}
			}
		}
		if err := w.cascadeOwners(); err != nil {
			return err
		}
		w.dropWhere(directory.AppRoleAssignments, func(o directory.Object) bool {
			a := o.(*directory.AppRoleAssignment)
			return w.deleted[a.PrincipalID] || w.deleted[a.ResourceID]
		})
		w.dropWhere(directory.RoleAssignments, func(o directory.Object) bool {
			return w.deleted[o.(*directory.RoleAssignment).PrincipalID]
		})
		w.dropWhere(directory.RegistrationDetails, func(o directory.Object) bool {
			return w.deleted[o.(*directory.RegistrationDetail).ID]
		})
	}
	for _, group := range sortedKeys(w.members) {
		gm := directory.GroupMembership{GroupID: group, Members: w.members[group]}
		if old := w.get(directory.GroupMembers, group); old != nil {
			gm.Raw = old.obj.RawJSON()
		}
		e, err := changedEntry(&gm, "")
		if err != nil {
			return err
		}
		w.put(directory.GroupMembers, e)
	}
	return nil
}

// cascadeOwners drops the owner lists of deleted objects and deleted owners.
func (w *working) cascadeOwners() error {
	for _, e := range w.t.items(directory.Owners) {
		if w.get(directory.Owners, e.key) != e {
			continue
		}
		o := e.obj.(*directory.Ownership)
		if w.deleted[o.ObjectID] {
			w.remove(directory.Owners, e.key)
			continue
		}
		if !slices.ContainsFunc(o.Owners, func(r directory.Ref) bool { return w.deleted[r.ID] }) {
			continue
		}
		n := *o
		n.Owners = slices.DeleteFunc(slices.Clone(o.Owners), func(r directory.Ref) bool { return w.deleted[r.ID] })
		ne, err := changedEntry(&n, "")
		if err != nil {
			return err
		}
		w.put(directory.Owners, ne)
	}
	return nil
}

// dropWhere removes the objects of a collection that drop selects.
func (w *working) dropWhere(c directory.Collection, drop func(directory.Object) bool) {
	for _, e := range w.t.items(c) {
		if w.get(c, e.key) == e && drop(e.obj) {
			w.remove(c, e.key)
		}
	}
}

// finish compacts the changed collections and derives the indexes.
func (w *working) finish() (*tenant, error) {
	for c := range w.changed {
		col := w.t.colls[c]
		col.items = slices.DeleteFunc(col.items, func(e *entry) bool { return col.byKey[e.key] != e })
	}
	w.t.derive(w.changed)
	return w.t, nil
}

// sortedKeys keeps churn deterministic where it walks a map.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
