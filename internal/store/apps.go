package store

import (
	"github.com/steward-dev/steward/internal/directory"
)

var servicePrincipalsTable = register(&tableSpec{
	collection: directory.ServicePrincipals,
	table:      "service_principals",
	parentOf:   "servicePrincipal",
	key:        []string{"id"},
	cols:       []string{"app_id", "display_name", "service_principal_type", "app_owner_organization_id", "account_enabled"},
	rows: single(1, func(o directory.Object) []any {
		sp := o.(*directory.ServicePrincipal)
		return []any{sp.AppID, sp.DisplayName, sp.ServicePrincipalType, sp.AppOwnerOrganizationID, boolPtr(sp.AccountEnabled)}
	}),
})

var applicationsTable = register(&tableSpec{
	collection: directory.Applications,
	table:      "applications",
	parentOf:   "application",
	key:        []string{"id"},
	cols:       []string{"app_id", "display_name"},
	rows: single(1, func(o directory.Object) []any {
		a := o.(*directory.Application)
		return []any{a.AppID, a.DisplayName}
	}),
})

var appRoleAssignmentsTable = register(&tableSpec{
	collection: directory.AppRoleAssignments,
	table:      "app_role_assignments",
	key:        []string{"id"},
	parent:     []string{"principal_id"}, // the Graph source lists them per service principal
	cols:       []string{"principal_id", "principal_type", "resource_id", "resource_display_name", "app_role_id"},
	rows: single(1, func(o directory.Object) []any {
		a := o.(*directory.AppRoleAssignment)
		return []any{a.PrincipalID, a.PrincipalType, a.ResourceID, a.ResourceDisplayName, a.AppRoleID}
	}),
})

// Owners are stored as one row per (object, owner) edge.
var ownersTable = register(&tableSpec{
	collection: directory.Owners,
	table:      "owners",
	key:        []string{"object_id", "owner_id"},
	parent:     []string{"object_id"},
	cols:       []string{"owner_type"},
	rows: func(o directory.Object) ([]row, error) {
		ow := o.(*directory.Ownership)
		return refRows(ow.ObjectID, ow.Owners)
	},
})
