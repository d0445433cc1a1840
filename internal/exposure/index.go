package exposure

import (
	"cmp"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// index is a tenant's directory arranged for evaluation: lookups by id and
// the group graph, computed once per Evaluate.
type index struct {
	cfg      Config
	tenantID string
	captured map[directory.Collection]bool

	users     []*directory.User // by id
	userByID  map[string]*directory.User
	userByUPN map[string]*directory.User // lower-cased UPN
	groups    map[string]*directory.Group
	parents   map[string][]string // member id → groups it is a direct member of
	// roleNames maps a role definition id or template id to its name;
	// roleTemplate maps a role definition id to its template id.
	roleNames    map[string]string
	roleTemplate map[string]string
	rolesOf      map[string][]string // principal id → role template ids (tenant-wide assignments)

	sps         []*directory.ServicePrincipal // by id
	spByID      map[string]*directory.ServicePrincipal
	spByAppID   map[string]*directory.ServicePrincipal
	appByAppID  map[string]*directory.Application
	owners      map[string][]directory.Ref
	appRolesOf  map[string][]*directory.AppRoleAssignment // principal id → assignments
	spActivity  map[string]*directory.ServicePrincipalSignInActivity
	registered  map[string]*directory.RegistrationDetail
	signIns     map[string][]*directory.SignIn // user id → sign-ins, newest first
	flowsOf     map[string][]*directory.Flow   // principal id → flows it created or owns
	connsOf     map[string][]*directory.Connection
	locations   map[string]*directory.NamedLocation
	policies    []*policy // by id
	anyActivity bool      // some user has signInActivity (the tenant has P1/P2)

	// interesting groups: referenced by a policy, holding a role or
	// configured as service-account groups. Only paths to these are kept.
	interesting map[string]bool
	reach       map[string]map[string]*reach // group → interesting ancestor → how
	svcGroups   map[string]bool
	resIdx      map[string]int // appId → resource number (policy target caches)

	userPolicies     []*policy   // policies with a users condition (not workload ones)
	unknownIncluding []*policy   // user policies including a group the directory lacks
	relBuf           []relPolicy // evalUser's reusable buffer
	lowerPatterns    []string    // cfg.NamePatterns, lower-cased
	catalogOnly      []usedResource
	verdictMemo      map[uint64][]memoEntry // see evalUser
}

func newIndex(s *directory.Snapshot, cfg Config) *index {
	x := &index{
		cfg: cfg, tenantID: directory.ID(s.Tenant.ID), captured: s.Captured,
		userByID: map[string]*directory.User{}, userByUPN: map[string]*directory.User{},
		groups: map[string]*directory.Group{}, parents: map[string][]string{},
		roleNames: map[string]string{}, roleTemplate: map[string]string{}, rolesOf: map[string][]string{},
		spByID: map[string]*directory.ServicePrincipal{}, spByAppID: map[string]*directory.ServicePrincipal{},
		appByAppID: map[string]*directory.Application{}, owners: map[string][]directory.Ref{},
		appRolesOf: map[string][]*directory.AppRoleAssignment{}, spActivity: map[string]*directory.ServicePrincipalSignInActivity{},
		registered: map[string]*directory.RegistrationDetail{}, signIns: map[string][]*directory.SignIn{},
		flowsOf: map[string][]*directory.Flow{}, connsOf: map[string][]*directory.Connection{},
		locations: map[string]*directory.NamedLocation{}, interesting: map[string]bool{},
		reach: map[string]map[string]*reach{}, svcGroups: map[string]bool{}, resIdx: map[string]int{},
		verdictMemo: map[uint64][]memoEntry{},
	}
	if x.captured == nil {
		x.captured = map[directory.Collection]bool{}
	}
	for _, p := range cfg.NamePatterns {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			x.lowerPatterns = append(x.lowerPatterns, p)
		}
	}
	for i := range s.Users {
		u := &s.Users[i]
		if u.ID == "" {
			continue
		}
		x.users = append(x.users, u)
		x.userByID[u.ID] = u
		if u.UserPrincipalName != "" {
			x.userByUPN[strings.ToLower(u.UserPrincipalName)] = u
		}
		if u.SignInActivity != nil {
			x.anyActivity = true
		}
	}
	slices.SortFunc(x.users, func(a, b *directory.User) int { return cmp.Compare(a.ID, b.ID) })
	for i := range s.Groups {
		x.groups[s.Groups[i].ID] = &s.Groups[i]
	}
	for _, m := range s.GroupMembers {
		for _, r := range m.Members {
			x.parents[r.ID] = append(x.parents[r.ID], m.GroupID)
		}
	}
	for id, ps := range x.parents {
		slices.Sort(ps)
		x.parents[id] = slices.Compact(ps)
	}
	for tid, name := range adminRoles {
		x.roleNames[tid] = name
	}
	for _, d := range s.RoleDefinitions {
		t := directory.ID(d.TemplateID)
		if t == "" {
			t = d.ID
		}
		x.roleTemplate[d.ID] = t
		if d.DisplayName != "" {
			x.roleNames[d.ID] = d.DisplayName
			x.roleNames[t] = d.DisplayName
		}
	}
	for _, a := range s.RoleAssignments {
		// Conditional Access counts tenant-wide assignments only: roles
		// scoped to an administrative unit or an object do not put their
		// holder in scope of a role condition.
		if sc := strings.TrimSpace(a.DirectoryScopeID); sc != "" && sc != "/" {
			continue
		}
		t := x.roleTemplate[directory.ID(a.RoleDefinitionID)]
		if t == "" {
			t = directory.ID(a.RoleDefinitionID)
		}
		x.rolesOf[a.PrincipalID] = append(x.rolesOf[a.PrincipalID], t)
		if _, ok := x.groups[a.PrincipalID]; ok {
			x.interesting[a.PrincipalID] = true
		}
	}
	for id, rs := range x.rolesOf {
		slices.Sort(rs)
		x.rolesOf[id] = slices.Compact(rs)
	}
	for i := range s.ServicePrincipals {
		sp := &s.ServicePrincipals[i]
		x.sps = append(x.sps, sp)
		x.spByID[sp.ID] = sp
		if sp.AppID != "" {
			x.spByAppID[directory.ID(sp.AppID)] = sp
		}
	}
	slices.SortFunc(x.sps, func(a, b *directory.ServicePrincipal) int { return cmp.Compare(a.ID, b.ID) })
	for i := range s.Applications {
		a := &s.Applications[i]
		if a.AppID != "" {
			x.appByAppID[directory.ID(a.AppID)] = a
		}
	}
	for _, o := range s.Owners {
		x.owners[o.ObjectID] = append(x.owners[o.ObjectID], o.Owners...)
	}
	for i := range s.AppRoleAssignments {
		a := &s.AppRoleAssignments[i]
		x.appRolesOf[a.PrincipalID] = append(x.appRolesOf[a.PrincipalID], a)
	}
	for i := range s.ServicePrincipalSignInActivities {
		a := &s.ServicePrincipalSignInActivities[i]
		x.spActivity[directory.ID(a.AppID)] = a
	}
	for i := range s.RegistrationDetails {
		x.registered[s.RegistrationDetails[i].ID] = &s.RegistrationDetails[i]
	}
	for i := range s.SignIns {
		si := &s.SignIns[i]
		if si.UserID != "" {
			x.signIns[si.UserID] = append(x.signIns[si.UserID], si)
		}
	}
	for _, l := range x.signIns {
		slices.SortFunc(l, func(a, b *directory.SignIn) int {
			return cmp.Or(b.CreatedDateTime.Compare(a.CreatedDateTime.Time), cmp.Compare(a.ID, b.ID))
		})
	}
	x.indexPowerPlatform(s)
	for i := range s.NamedLocations {
		x.locations[s.NamedLocations[i].ID] = &s.NamedLocations[i]
	}
	for i := range s.ConditionalAccessPolicies {
		x.policies = append(x.policies, compilePolicy(&s.ConditionalAccessPolicies[i], x))
	}
	slices.SortFunc(x.policies, func(a, b *policy) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id)) })
	for i, p := range x.policies {
		p.pos = i
		for _, g := range p.groupRefs() {
			x.interesting[g] = true
		}
		if !p.workload {
			x.userPolicies = append(x.userPolicies, p)
			if p.unknownIncludedGroup && len(p.unknownRefs) > 0 {
				x.unknownIncluding = append(x.unknownIncluding, p)
			}
		}
	}
	for _, ref := range cfg.ServiceAccountGroups {
		for id, g := range x.groups {
			if directory.SameID(ref, id) || strings.EqualFold(ref, g.DisplayName) {
				x.svcGroups[id] = true
				x.interesting[id] = true
			}
		}
	}
	return x
}

// indexPowerPlatform files flows and connections under the identities that
// own them: a flow's creator and every principal with the Owner role, a
// connection's creator.
func (x *index) indexPowerPlatform(s *directory.Snapshot) {
	byKey := map[string]*directory.Flow{}
	for i := range s.Flows {
		f := &s.Flows[i]
		byKey[f.Key()] = f
		if c := f.CreatorID(); c != "" {
			x.flowsOf[c] = append(x.flowsOf[c], f)
		}
	}
	for _, set := range s.FlowPermissions {
		f := byKey[set.Key()]
		if f == nil {
			continue
		}
		for _, p := range set.Permissions {
			id := p.Properties.Principal.ID
			if id == "" || !strings.EqualFold(p.Properties.RoleName, "Owner") || id == f.CreatorID() {
				continue
			}
			x.flowsOf[id] = append(x.flowsOf[id], f)
		}
	}
	for i := range s.Connections {
		c := &s.Connections[i]
		if c.Properties.CreatedBy != nil && c.Properties.CreatedBy.ID != "" {
			x.connsOf[c.Properties.CreatedBy.ID] = append(x.connsOf[c.Properties.CreatedBy.ID], c)
		}
	}
}

// groupName names a group for paths, or says it is unknown.
func (x *index) groupName(id string) string {
	if g, ok := x.groups[id]; ok && g.DisplayName != "" {
		return g.DisplayName
	}
	if _, ok := x.groups[id]; ok {
		return id
	}
	return "unknown group " + id
}

// roleName names a role template id.
func (x *index) roleName(id string) string {
	if n := x.roleNames[id]; n != "" {
		return n
	}
	return "unknown role " + id
}

// reach is how a group is reached from one of an object's direct groups.
type reach struct {
	chain []string // [direct group, …, the group]
	path  string   // the chain in words: see groupPath
}

// groupReach returns the interesting groups reachable upwards from group g
// (g included), each with its chain [g, …, ancestor] and path. Breadth
// first, so the chain is a shortest one; cycles end where a group repeats.
// Cached: every member of g shares the answer.
func (x *index) groupReach(g string) map[string]*reach {
	if r, ok := x.reach[g]; ok {
		return r
	}
	out := map[string]*reach{}
	prev := map[string]string{g: ""}
	queue := []string{g}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if x.interesting[h] {
			var chain []string
			for c := h; c != ""; c = prev[c] {
				chain = append(chain, c)
			}
			slices.Reverse(chain)
			out[h] = &reach{chain: chain, path: x.groupPath(chain)}
		}
		for _, p := range x.parents[h] {
			if _, seen := prev[p]; !seen {
				prev[p] = h
				queue = append(queue, p)
			}
		}
	}
	x.reach[g] = out
	return out
}

// membership is an interesting group an object is in, and how.
type membership struct {
	group string
	*reach
}

// memberships returns the interesting groups an object is in, transitively,
// by group id, each with the shortest chain from one of its direct groups
// (ties broken by the direct group's id, so results do not depend on input
// order). A slice: objects are in few such groups, and a map per user was
// a tenth of a large tenant's evaluation.
func (x *index) memberships(id string) []membership {
	var out []membership
	for _, d := range x.parents[id] {
		for h, r := range x.groupReach(d) {
			i, found := slices.BinarySearchFunc(out, h, func(m membership, g string) int { return strings.Compare(m.group, g) })
			switch {
			case !found:
				out = slices.Insert(out, i, membership{h, r})
			case len(r.chain) < len(out[i].chain) || len(r.chain) == len(out[i].chain) && r.chain[0] < out[i].chain[0]:
				out[i].reach = r
			}
		}
	}
	return out
}

// in returns how ms reaches group g, or nil.
func in(ms []membership, g string) *reach {
	i, found := slices.BinarySearchFunc(ms, g, func(m membership, g string) int { return strings.Compare(m.group, g) })
	if !found {
		return nil
	}
	return ms[i].reach
}

// groupPath writes a membership chain: "group C (via B ← A)" for a member of
// A, A in B, B in C.
func (x *index) groupPath(chain []string) string {
	if len(chain) == 0 {
		return ""
	}
	s := "group " + x.groupName(chain[len(chain)-1])
	if len(chain) > 1 {
		var via []string
		for i := len(chain) - 2; i >= 0; i-- {
			via = append(via, x.groupName(chain[i]))
		}
		s += " (via " + strings.Join(via, " ← ") + ")"
	}
	return s
}

// heldRole is a role an object holds, with how.
type heldRole struct {
	template string
	path     string // "role X" or "role X (via group G)"
}

// roles returns the roles an object holds directly or through a group
// (role-assignable groups), by template id; nil when it holds none.
func (x *index) roles(id string, groups []membership) map[string]heldRole {
	var out map[string]heldRole
	hold := func(t, path string) {
		if out == nil {
			out = map[string]heldRole{}
		}
		if _, ok := out[t]; !ok {
			out[t] = heldRole{t, path}
		}
	}
	for _, t := range x.rolesOf[id] {
		hold(t, "role "+x.roleName(t))
	}
	for _, m := range groups { // by group id
		for _, t := range x.rolesOf[m.group] {
			hold(t, "role "+x.roleName(t)+" (via "+m.path+")")
		}
	}
	return out
}
