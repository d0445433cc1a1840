package synthetic

import (
	"math"

	"github.com/steward-dev/steward/internal/directory"
)

// groupSpec describes a group's kind.
type groupSpec struct {
	name, description string
	unified           bool // a Microsoft 365 group: mail-enabled, not security
	roleAssignable    bool
	rule              string // a dynamic membership rule
}

// namedGroups are the groups the policies, roles and Power Platform refer
// to. Their order is their index for hostile planting.
var namedGroups = []groupSpec{
	{name: grpExclude, description: "Service accounts excluded from CA001 (MFA for all users). Exception approved by the security team; review every quarter."},
	{name: grpPP, description: "Power Platform service accounts"},
	{name: grpFlow, description: "Accounts that own production flows and connections"},
	{name: grpInteg, description: "Integration accounts used by on-premises systems"},
	{name: grpLegacy, description: "Devices that still need SMTP AUTH (scanners, relays)"},
	{name: grpAzure, description: "Automation accounts running against Azure Resource Manager"},
	{name: grpExchange, description: "Exchange administrators (role-assignable)", roleAssignable: true},
	{name: grpContractors, description: "External contractors and vendor-managed accounts"},
	{name: grpMakers, description: "Licensed Power Platform makers"},
	{name: grpApps, description: "Automation service principals"},
	{name: grpAllCompany, description: "Everyone at the company", unified: true},
	{name: grpFinanceDyn, description: "All enabled users of the Finance department", rule: `(user.department -eq "Finance") and (user.accountEnabled -eq true)`},
	{name: grpEmployees, description: "All employees", rule: `(user.userType -eq "Member") and (user.employeeType -eq "Employee")`},
	{name: grpPhoenix, description: "Project Phoenix core team", unified: true},
	{name: grpFinanceLT, description: "Finance leadership", unified: true},
}

// Indexes into namedGroups for hostile planting.
const (
	groupMakers    = 8
	groupApps      = 9
	groupPhoenix   = 13
	groupFinanceLT = 14
)

func (g *gen) groups() {
	r := g.rng("groups")
	g.s.Groups = make([]directory.Group, 0, g.size.groups)
	g.members = make([][]directory.Ref, 0, g.size.groups)
	for i, spec := range namedGroups {
		spec.name = g.plant(kindGroup, i, fieldName, spec.name)
		spec.description = g.plant(kindGroup, i, fieldDescription, spec.description)
		g.group[namedGroups[i].name] = g.addGroup(r, spec)
	}
	depts := make([]int, len(departments))
	for i, d := range departments {
		depts[i] = g.addGroup(r, groupSpec{name: grpDeptPrefix + d.name, description: "Members of the " + d.name + " department"})
		g.group[grpDeptPrefix+d.name] = depts[i]
	}
	g.fillerGroups(r)

	// The exclusion chain: CA-Exclude-ServiceAccounts ⊃ SA-PowerPlatform ⊃
	// SA-Flow-Owners ⊃ accounts, so an exclusion path is two groups deep.
	g.nest(grpExclude, grpPP)
	g.nest(grpExclude, grpInteg)
	g.nest(grpPP, grpFlow)
	for _, u := range g.svc {
		for _, name := range g.svcSpec[u].groups {
			g.addMember(g.group[name], userRef(g.s.Users[u].ID))
		}
	}
	for i, u := range g.s.Users {
		ref := userRef(u.ID)
		if d := g.deptOf[i]; d >= 0 && !g.isService(i) {
			g.addMember(depts[d], ref)
		}
		if u.Department == "Finance" && u.Enabled() {
			g.addMember(g.group[grpFinanceDyn], ref)
		}
		if u.UserType == "Member" && u.EmployeeType == "Employee" {
			g.addMember(g.group[grpEmployees], ref)
		}
	}
	for _, p := range g.people {
		u := &g.s.Users[p]
		ref := userRef(u.ID)
		if u.EmployeeType == "Contractor" {
			g.addMember(g.group[grpContractors], ref)
		}
		if u.Enabled() {
			g.addMember(g.group[grpAllCompany], ref)
		}
		if r.chance(0.07) {
			g.addMember(g.group[grpMakers], ref)
			g.makers = append(g.makers, p)
		}
	}
	for i := 0; i < 2 && i < len(g.admins); i++ {
		g.addMember(g.group[grpExchange], userRef(g.s.Users[g.admins[len(g.admins)-1-i]].ID))
	}
	for _, sp := range g.ownSP {
		if g.appSpecOf[sp].inGroup {
			g.addMember(g.group[grpApps], directory.Ref{ODataType: odataSP, ID: g.s.ServicePrincipals[sp].ID})
		}
	}
	g.smallTeam(r, g.group[grpPhoenix], g.people, 12)
	var finance []int
	for _, p := range g.people {
		if departments[g.deptOf[p]].name == "Finance" {
			finance = append(finance, p)
		}
	}
	g.smallTeam(r, g.group[grpFinanceLT], finance, 6)
	g.fillerMembers(r)

	g.s.GroupMembers = make([]directory.GroupMembership, 0, len(g.s.Groups))
	for i, m := range g.members {
		if len(m) > 0 {
			g.s.GroupMembers = append(g.s.GroupMembers, directory.GroupMembership{GroupID: g.s.Groups[i].ID, Members: m})
		}
	}
}

func (g *gen) isService(user int) bool {
	_, ok := g.svcSpec[user]
	return ok
}

func (g *gen) addGroup(r *rng, spec groupSpec) int {
	grp := directory.Group{
		ID:              r.guid(),
		DisplayName:     spec.name,
		Description:     spec.description,
		SecurityEnabled: ptr(!spec.unified),
		MailEnabled:     ptr(spec.unified),
		GroupTypes:      []string{},
		MembershipRule:  spec.rule,
	}
	if spec.unified {
		grp.GroupTypes = []string{"Unified"}
	}
	if spec.rule != "" {
		grp.GroupTypes = []string{"DynamicMembership"}
	}
	if spec.roleAssignable {
		grp.IsAssignableToRole = ptr(true)
	}
	g.s.Groups = append(g.s.Groups, grp)
	g.members = append(g.members, nil)
	return len(g.s.Groups) - 1
}

func (g *gen) addMember(group int, ref directory.Ref) {
	g.members[group] = append(g.members[group], ref)
}

// nest makes the group named child a direct member of the group named parent.
func (g *gen) nest(parent, child string) {
	g.addMember(g.group[parent], directory.Ref{ODataType: odataGroup, ID: g.s.Groups[g.group[child]].ID})
}

// smallTeam adds up to n distinct users from pool to a group.
func (g *gen) smallTeam(r *rng, group int, pool []int, n int) {
	seen := map[int]bool{}
	for tries := 0; len(seen) < n && tries < 4*n && len(pool) > 0; tries++ {
		p := pick(r, pool)
		if !seen[p] {
			seen[p] = true
			g.addMember(group, userRef(g.s.Users[p].ID))
		}
	}
}

// fillerGroups are the long tail: sites, regional teams, app access groups and
// Microsoft 365 groups, nested in tiers (region ⊃ site ⊃ site department ⊃
// team), so nesting reaches four levels. A few are role-assignable.
func (g *gen) fillerGroups(r *rng) {
	n := g.size.groups - len(g.s.Groups)
	if n <= 0 {
		return
	}
	ras := g.size.roleAssignments / 15
	n -= ras
	tier0 := max(1, n*2/100)
	tier1 := max(1, n*8/100)
	tier2 := max(1, n*30/100)
	taken := map[string]bool{}
	tiers := [4][]int{}
	for i := 0; i < n; i++ {
		var spec groupSpec
		tier := 3
		switch {
		case i < tier0:
			tier = 0
			spec.name = "SG-Region-" + regions[i%len(regions)]
		case i < tier0+tier1:
			tier = 1
			spec.name = "SG-Site-" + pick(r, cities)
		case i < tier0+tier1+tier2:
			tier = 2
			spec.name = "SG-" + pick(r, cities) + "-" + pick(r, departments).name
		default:
			switch x := r.Float64(); {
			case x < 0.45:
				spec.name = "SG-" + pick(r, cities) + "-" + pick(r, teams)
			case x < 0.75:
				spec.name = "APP-" + pick(r, appSystems) + "-" + pick(r, []string{"Users", "Admins", "Readers", "Approvers"})
			default:
				spec.name = "M365-" + pick(r, codenames) + "-" + pick(r, teams)
				spec.unified = true
			}
		}
		spec.name = unique(taken, spec.name)
		idx := g.addGroup(r, spec)
		g.filler = append(g.filler, idx)
		if !spec.unified {
			tiers[tier] = append(tiers[tier], idx)
		}
	}
	// Microsoft 365 groups cannot be nested; security groups of each tier
	// join one group of the tier above, some a second one.
	for t := 1; t < 4; t++ {
		for _, child := range tiers[t] {
			ref := directory.Ref{ODataType: odataGroup, ID: g.s.Groups[child].ID}
			p := pick(r, tiers[t-1])
			g.addMember(p, ref)
			if r.chance(0.1) {
				if q := pick(r, tiers[t-1]); q != p {
					g.addMember(q, ref)
				}
			}
		}
	}
	for i := 0; i < ras; i++ {
		name := unique(taken, "RAG-"+pick(r, cities)+"-"+pick(r, []string{"Helpdesk", "User-Admins", "SharePoint-Admins", "Security-Readers"}))
		g.filler = append(g.filler, g.addGroup(r, groupSpec{name: name, description: "Role-assignable group", roleAssignable: true}))
	}
}

// fillerMembers puts people (and some guests and service accounts) into the
// leaf tiers of the generated groups.
func (g *gen) fillerMembers(r *rng) {
	var leaves, rag []int
	for _, gi := range g.filler {
		grp := &g.s.Groups[gi]
		switch {
		case grp.IsAssignableToRole != nil && *grp.IsAssignableToRole:
			rag = append(rag, gi)
		case len(g.members[gi]) == 0: // no child groups: a leaf
			leaves = append(leaves, gi)
		}
	}
	if len(leaves) == 0 {
		return
	}
	whole, frac := math.Modf(g.size.fillerPerPerson)
	var picked [8]int
	for _, p := range g.people {
		k := int(whole)
		if r.chance(frac) {
			k++
		}
		n := 0
		for j := 0; j < k && j < len(picked); j++ {
			gi := pick(r, leaves)
			dup := false
			for _, q := range picked[:n] {
				dup = dup || q == gi
			}
			if !dup {
				picked[n] = gi
				n++
				g.addMember(gi, userRef(g.s.Users[p].ID))
			}
		}
	}
	for _, u := range g.guests {
		if r.chance(0.5) {
			g.addMember(pick(r, leaves), userRef(g.s.Users[u].ID))
		}
	}
	for _, u := range g.svc {
		if r.chance(0.3) {
			g.addMember(pick(r, leaves), userRef(g.s.Users[u].ID))
		}
	}
	var it []int
	for _, p := range g.people {
		if g.deptOf[p] == deptIT {
			it = append(it, p)
		}
	}
	for _, gi := range rag {
		g.smallTeam(r, gi, it, r.between(2, 6))
	}
}
