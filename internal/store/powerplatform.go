package store

import (
	"encoding/json"
	"fmt"

	"github.com/steward-dev/steward/internal/directory"
)

var environmentsTable = register(&tableSpec{
	collection: directory.Environments,
	table:      "environments",
	key:        []string{"name"},
	cols:       []string{"display_name", "sku"},
	rows: single(1, func(o directory.Object) []any {
		e := o.(*directory.Environment)
		return []any{e.Properties.DisplayName, e.Properties.EnvironmentSku}
	}),
})

var flowsTable = register(&tableSpec{
	collection: directory.Flows,
	table:      "flows",
	parentOf:   "flow",
	key:        []string{"environment_name", "name"},
	cols:       []string{"display_name", "state", "creator_object_id", "last_modified_at"},
	rows: single(2, func(o directory.Object) []any {
		f := o.(*directory.Flow)
		return []any{f.Properties.DisplayName, f.Properties.State, f.CreatorID(), timeOrNil(f.Properties.LastModifiedTime)}
	}),
})

// Flow permissions are stored one row per permission entry, keyed by the
// permission's name (or id, or principal and role when the API gives neither).
var flowPermissionsTable = register(&tableSpec{
	collection: directory.FlowPermissions,
	table:      "flow_permissions",
	key:        []string{"environment_name", "flow_name", "id"},
	parent:     []string{"environment_name", "flow_name"},
	cols:       []string{"role_name", "principal_id", "principal_type"},
	rows: func(o directory.Object) ([]row, error) {
		set := o.(*directory.FlowPermissionSet)
		// The raw of each permission is its own JSON within the set's raw.
		var raws struct {
			Permissions []json.RawMessage `json:"permissions"`
		}
		if raw := set.RawJSON(); len(raw) > 0 {
			if err := json.Unmarshal(raw, &raws); err != nil {
				return nil, err
			}
		}
		rows := make([]row, 0, len(set.Permissions))
		for i, p := range set.Permissions {
			var raw []byte
			if i < len(raws.Permissions) {
				raw = raws.Permissions[i]
			} else {
				var err error
				if raw, err = json.Marshal(p); err != nil {
					return nil, err
				}
			}
			id := p.Name
			if id == "" {
				id = p.ID
			}
			pr := p.Properties.Principal
			if id == "" {
				id = fmt.Sprintf("%s:%s", pr.ID, p.Properties.RoleName)
			}
			rows = append(rows, row{key: []any{set.Environment, set.FlowName, id}, raw: raw,
				vals: []any{p.Properties.RoleName, pr.ID, pr.Type}})
		}
		return rows, nil
	},
})

var connectionsTable = register(&tableSpec{
	collection: directory.Connections,
	table:      "connections",
	key:        []string{"environment_name", "name"},
	cols: []string{"api_id", "display_name", "created_by_id", "created_by_upn", "created_by_type",
		"overall_status", "error_message"},
	rows: single(2, func(o directory.Object) []any {
		c := o.(*directory.Connection)
		var by directory.PPPrincipal
		if c.Properties.CreatedBy != nil {
			by = *c.Properties.CreatedBy
		}
		return []any{c.Properties.APIID, c.Properties.DisplayName, by.ID, by.UserPrincipalName, by.Type,
			c.Properties.OverallStatus, c.ErrorMessage()}
	}),
})
