package synthetic

import (
	"github.com/steward-dev/steward/internal/directory"
)

// Role template ids (GRAPH.md §3).
const (
	roleGlobalAdmin      = "62e90394-69f5-4237-9190-012177145e10"
	rolePrivRoleAdmin    = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	rolePowerPlatform    = "11648597-926c-4cf3-9c36-bcebb0ba8dcc"
	roleDynamics         = "44367163-eba1-44c3-98af-f5787879f96a"
	rolePrivAuthAdmin    = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	roleAuthAdmin        = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	roleAppAdmin         = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudAppAdmin    = "158c047a-c907-4556-b7ef-446551a6b5f7"
	roleCAAdmin          = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
	roleSecurityAdmin    = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	roleUserAdmin        = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleHelpdeskAdmin    = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleExchangeAdmin    = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	roleSharePointAdmin  = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
	roleGlobalReader     = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	roleDirectoryWriters = "9360feb5-f418-4baa-8175-e2a00bac4301"
)

// roleTemplates are the built-in roles Steward cares about. privileged
// follows Microsoft's own "privileged" label: it leaves out Exchange,
// SharePoint, Power Platform and Dynamics 365 administrators, which is
// exactly why a CoE account holding Power Platform Administrator slips
// through admin-role policies.
var roleTemplates = []struct {
	id, name, description string
	privileged            bool
}{
	{roleGlobalAdmin, "Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.", true},
	{rolePrivRoleAdmin, "Privileged Role Administrator", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.", true},
	{rolePowerPlatform, "Power Platform Administrator", "Can create and manage all aspects of Microsoft Dynamics 365, Power Apps and Power Automate.", false},
	{roleDynamics, "Dynamics 365 Administrator", "Can manage all aspects of the Dynamics 365 product.", false},
	{rolePrivAuthAdmin, "Privileged Authentication Administrator", "Can access to view, set and reset authentication method information for any user (admin or non-admin).", true},
	{roleAuthAdmin, "Authentication Administrator", "Can access to view, set and reset authentication method information for any non-admin user.", true},
	{roleAppAdmin, "Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps.", true},
	{roleCloudAppAdmin, "Cloud Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.", true},
	{roleCAAdmin, "Conditional Access Administrator", "Can manage Conditional Access capabilities.", true},
	{roleSecurityAdmin, "Security Administrator", "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.", true},
	{roleUserAdmin, "User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins.", true},
	{roleHelpdeskAdmin, "Helpdesk Administrator", "Can reset passwords for non-administrators and Helpdesk Administrators.", true},
	{roleExchangeAdmin, "Exchange Administrator", "Can manage all aspects of the Exchange product.", false},
	{roleSharePointAdmin, "SharePoint Administrator", "Can manage all aspects of the SharePoint service.", false},
	{roleGlobalReader, "Global Reader", "Can read everything that a Global Administrator can, but not update anything.", true},
	{roleDirectoryWriters, "Directory Writers", "Can read and write basic directory information. For granting access to applications, not intended for users.", true},
}

func (g *gen) roles() {
	r := g.rng("roles")
	g.s.RoleDefinitions = make([]directory.RoleDefinition, len(roleTemplates))
	for i, t := range roleTemplates {
		g.s.RoleDefinitions[i] = directory.RoleDefinition{
			ID: t.id, DisplayName: t.name, Description: t.description, TemplateID: t.id,
			IsBuiltIn: ptr(true), IsPrivileged: ptr(t.privileged),
		}
	}
	seen := map[string]bool{}
	assign := func(role, principal string) {
		id := roleAssignmentID(role, principal)
		if seen[id] {
			return
		}
		seen[id] = true
		g.s.RoleAssignments = append(g.s.RoleAssignments, directory.RoleAssignment{
			ID: id, PrincipalID: principal, RoleDefinitionID: role, DirectoryScopeID: "/",
		})
	}
	user := func(i int) string { return g.s.Users[i].ID }
	admin := func(n int) string { return user(g.admins[n%len(g.admins)]) }

	for _, bg := range g.breakGlass {
		assign(roleGlobalAdmin, user(bg))
	}
	assign(rolePowerPlatform, user(g.named[saCoE]))
	assign(roleDynamics, user(g.named[saDynamics]))
	assign(roleUserAdmin, user(g.named[saHR]))
	assign(roleExchangeAdmin, g.s.Groups[g.group[grpExchange]].ID)
	if len(g.admins) > 0 {
		assign(roleGlobalAdmin, admin(0))
		assign(rolePrivRoleAdmin, admin(0))
		assign(rolePrivAuthAdmin, admin(0))
		assign(roleSecurityAdmin, admin(1))
		assign(roleCAAdmin, admin(1))
		assign(roleGlobalReader, admin(2))
		assign(roleAuthAdmin, admin(2))
		assign(roleAppAdmin, admin(3))
		assign(roleSharePointAdmin, admin(3))
	}
	var it []int
	for _, p := range g.people {
		if g.deptOf[p] == deptIT && g.s.Users[p].Enabled() {
			it = append(it, p)
		}
	}
	for i := 0; i < 2 && len(it) > 0; i++ {
		assign(roleHelpdeskAdmin, user(pick(r, it)))
	}
	// Service principals holding directory roles: an app that manages
	// groups, and a broker that can grant any role.
	assign(roleDirectoryWriters, g.s.ServicePrincipals[g.ownSP[appGroupLifecycle]].ID)
	assign(rolePrivRoleAdmin, g.s.ServicePrincipals[g.ownSP[appPIMBroker]].ID)

	// The long tail for large tenants: day-to-day roles held by admin
	// accounts, IT people and role-assignable groups.
	var rag []int
	for _, gi := range g.filler {
		if a := g.s.Groups[gi].IsAssignableToRole; a != nil && *a {
			rag = append(rag, gi)
		}
	}
	common := []weighted[string]{
		{10, roleHelpdeskAdmin}, {6, roleUserAdmin}, {5, roleGlobalReader}, {4, roleSharePointAdmin},
		{4, roleExchangeAdmin}, {3, roleAuthAdmin}, {3, roleAppAdmin}, {2, roleCloudAppAdmin},
		{2, roleSecurityAdmin}, {1, rolePowerPlatform}, {1, roleDynamics}, {1, roleCAAdmin}, {1, roleGlobalAdmin},
	}
	for tries := 0; len(g.s.RoleAssignments) < g.size.roleAssignments && tries < 10*g.size.roleAssignments; tries++ {
		role := pickWeighted(r, common)
		switch x := r.Float64(); {
		case x < 0.6 && len(g.admins) > 0:
			assign(role, admin(r.IntN(len(g.admins))))
		case x < 0.8 && len(rag) > 0:
			assign(role, g.s.Groups[pick(r, rag)].ID)
		case len(it) > 0:
			assign(role, user(pick(r, it)))
		}
	}
}
