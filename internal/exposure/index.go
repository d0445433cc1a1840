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
	reach       map[string]map[string][]string // group → interesting ancestor → chain from the group up to it
	svcGroups   map[string]bool
	resIdx      map[string]int // appId → resource number (policy target caches)

	userPolicies     []*policy   // policies with a users condition (not workload ones)
	unknownIncluding []*policy   // user policies including a group the directory lacks
	relBuf           []relPolicy // evalUser's reusable buffer
	catalogOnly      []usedResource
	verdictMemo      map[string][]ResourceVerdict // see evalUser
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
		reach: map[string]map[string][]string{}, svcGroups: map[string]bool{}, resIdx: map[string]int{},
		verdictMemo: map[string][]ResourceVerdict{},
	}
	if x.captured == nil {
		x.captured = map[directory.Collection]bool{}
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
	for _, p := range x.policies {
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

// groupReach returns the interesting groups reachable upwards from group g
// (g included), each with its chain [g, …, ancestor]. Breadth first, so the
// chain is a shortest one; cycles end where a group repeats.
func (x *index) groupReach(g string) map[string][]string {
	if r, ok := x.reach[g]; ok {
		return r
	}
	out := map[string][]string{}
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
			out[h] = chain
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

// memberships returns the interesting groups an object is in, transitively,
// each with the chain from its direct group up to it (shortest; ties broken
// by group id so results do not depend on input order).
func (x *index) memberships(id string) map[string][]string {
	direct := x.parents[id]
	if len(direct) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, d := range direct {
		for h, chain := range x.groupReach(d) {
			if old, ok := out[h]; !ok || len(chain) < len(old) || len(chain) == len(old) && chain[0] < old[0] {
				out[h] = chain
			}
		}
	}
	return out
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
// (role-assignable groups), by template id.
func (x *index) roles(id string, groups map[string][]string) map[string]heldRole {
	out := map[string]heldRole{}
	for _, t := range x.rolesOf[id] {
		out[t] = heldRole{t, "role " + x.roleName(t)}
	}
	ids := make([]string, 0, len(groups))
	for g := range groups {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	for _, g := range ids {
		for _, t := range x.rolesOf[g] {
			if _, ok := out[t]; !ok {
				out[t] = heldRole{t, "role " + x.roleName(t) + " (via " + x.groupPath(groups[g]) + ")"}
			}
		}
	}
	return out
}
