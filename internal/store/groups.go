package store

import (
	"encoding/json"
	"github.com/steward-dev/steward/internal/directory"
)

var groupsTable = register(&tableSpec{
	collection: directory.Groups,
	table:      "groups",
	parentOf:   "group",
	key:        []string{"id"},
	cols:       []string{"display_name", "security_enabled", "mail_enabled", "is_assignable_to_role", "is_dynamic"},
	rows: single(1, func(o directory.Object) []any {
		g := o.(*directory.Group)
		return []any{g.DisplayName, boolPtr(g.SecurityEnabled), boolPtr(g.MailEnabled), boolPtr(g.IsAssignableToRole), g.Dynamic()}
	}),
})

// Group membership is stored as one row per direct edge, the member's
// reference ({"@odata.type", "id"}) as raw.
var groupMembersTable = register(&tableSpec{
	collection: directory.GroupMembers,
	table:      "group_members",
	key:        []string{"group_id", "member_id"},
	parent:     []string{"group_id"},
	cols:       []string{"member_type"},
	rows: func(o directory.Object) ([]row, error) {
		m := o.(*directory.GroupMembership)
		return refRows(m.GroupID, m.Members)
	},
})

// refRows turns a parent's list of references into edge rows.
func refRows(parent string, refs []directory.Ref) ([]row, error) {
	rows := make([]row, 0, len(refs))
	for _, r := range refs {
		raw, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{key: []any{parent, r.ID}, raw: raw, vals: []any{r.Kind()}})
	}
	return rows, nil
}

var roleDefinitionsTable = register(&tableSpec{
	collection: directory.RoleDefinitions,
	table:      "role_definitions",
	key:        []string{"id"},
	cols:       []string{"display_name", "template_id", "is_built_in", "is_privileged"},
	rows: single(1, func(o directory.Object) []any {
		r := o.(*directory.RoleDefinition)
		return []any{r.DisplayName, r.TemplateID, boolPtr(r.IsBuiltIn), boolPtr(r.IsPrivileged)}
	}),
})

var roleAssignmentsTable = register(&tableSpec{
	collection: directory.RoleAssignments,
	table:      "role_assignments",
	key:        []string{"id"},
	cols:       []string{"principal_id", "role_definition_id", "directory_scope_id"},
	rows: single(1, func(o directory.Object) []any {
		r := o.(*directory.RoleAssignment)
		return []any{r.PrincipalID, r.RoleDefinitionID, r.DirectoryScopeID}
	}),
})
