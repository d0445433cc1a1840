// Package snapshot reads and writes tenant snapshot directories (SNAPSHOT.md):
// one JSON file per collection, in the shapes Graph and the Power Platform
// admin APIs return. Reading streams each file object by object; a malformed
// file fails the whole read with the file name and byte offset, so nothing is
// ever half-loaded.
package snapshot

import (
	"encoding/json"

	"github.com/steward-dev/steward/internal/directory"
)

// TenantFile is the one file every snapshot must have.
const TenantFile = "tenant.json"

// policyDir is the alternative layout for CA policies: one policy per file.
const policyDir = "conditionalAccessPolicies"

// collectionFile ties a collection to its file and to the snapshot field that
// holds it. add decodes one object and appends it; each calls back with every
// object in order.
type collectionFile struct {
	c    directory.Collection
	path string
	add  func(s *directory.Snapshot, data []byte) (key string, err error)
	each func(s *directory.Snapshot, fn func(directory.Object) error) error
}

// entry builds a collectionFile for objects of type T kept in the slice field().
func entry[T any, P interface {
	*T
	directory.Object
}](c directory.Collection, path string, field func(*directory.Snapshot) *[]T) collectionFile {
	return collectionFile{
		c:    c,
		path: path,
		add: func(s *directory.Snapshot, data []byte) (string, error) {
			v, err := directory.Decode[T, P](data)
			if err != nil {
				return "", err
			}
			list := field(s)
			*list = append(*list, v)
			return P(&(*list)[len(*list)-1]).Key(), nil
		},
		each: func(s *directory.Snapshot, fn func(directory.Object) error) error {
			list := *field(s)
			for i := range list {
				if err := fn(P(&list[i])); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// files lists every collection's file, in directory.AllCollections order.
var files = []collectionFile{
	entry[directory.User](directory.Users, "users.json", func(s *directory.Snapshot) *[]directory.User { return &s.Users }),
	entry[directory.Group](directory.Groups, "groups.json", func(s *directory.Snapshot) *[]directory.Group { return &s.Groups }),
	entry[directory.GroupMembership](directory.GroupMembers, "groupMembers.json", func(s *directory.Snapshot) *[]directory.GroupMembership { return &s.GroupMembers }),
	entry[directory.RoleDefinition](directory.RoleDefinitions, "roleDefinitions.json", func(s *directory.Snapshot) *[]directory.RoleDefinition { return &s.RoleDefinitions }),
	entry[directory.RoleAssignment](directory.RoleAssignments, "roleAssignments.json", func(s *directory.Snapshot) *[]directory.RoleAssignment { return &s.RoleAssignments }),
	entry[directory.ServicePrincipal](directory.ServicePrincipals, "servicePrincipals.json", func(s *directory.Snapshot) *[]directory.ServicePrincipal { return &s.ServicePrincipals }),
	entry[directory.Application](directory.Applications, "applications.json", func(s *directory.Snapshot) *[]directory.Application { return &s.Applications }),
	entry[directory.AppRoleAssignment](directory.AppRoleAssignments, "appRoleAssignments.json", func(s *directory.Snapshot) *[]directory.AppRoleAssignment { return &s.AppRoleAssignments }),
	entry[directory.Ownership](directory.Owners, "owners.json", func(s *directory.Snapshot) *[]directory.Ownership { return &s.Owners }),
	entry[directory.ConditionalAccessPolicy](directory.ConditionalAccessPolicies, "conditionalAccessPolicies.json", func(s *directory.Snapshot) *[]directory.ConditionalAccessPolicy { return &s.ConditionalAccessPolicies }),
	entry[directory.NamedLocation](directory.NamedLocations, "namedLocations.json", func(s *directory.Snapshot) *[]directory.NamedLocation { return &s.NamedLocations }),
	entry[directory.RegistrationDetail](directory.RegistrationDetails, "userRegistrationDetails.json", func(s *directory.Snapshot) *[]directory.RegistrationDetail { return &s.RegistrationDetails }),
	entry[directory.SignIn](directory.SignIns, "signIns.json", func(s *directory.Snapshot) *[]directory.SignIn { return &s.SignIns }),
	entry[directory.ServicePrincipalSignInActivity](directory.ServicePrincipalSignInActivities, "servicePrincipalSignInActivities.json", func(s *directory.Snapshot) *[]directory.ServicePrincipalSignInActivity {
		return &s.ServicePrincipalSignInActivities
	}),
	entry[directory.Environment](directory.Environments, "powerplatform/environments.json", func(s *directory.Snapshot) *[]directory.Environment { return &s.Environments }),
	entry[directory.Flow](directory.Flows, "powerplatform/flows.json", func(s *directory.Snapshot) *[]directory.Flow { return &s.Flows }),
	entry[directory.FlowPermissionSet](directory.FlowPermissions, "powerplatform/flowPermissions.json", func(s *directory.Snapshot) *[]directory.FlowPermissionSet { return &s.FlowPermissions }),
	entry[directory.Connection](directory.Connections, "powerplatform/connections.json", func(s *directory.Snapshot) *[]directory.Connection { return &s.Connections }),
}

// Path returns a collection's file path within a snapshot directory.
func Path(c directory.Collection) string {
	for _, f := range files {
		if f.c == c {
			return f.path
		}
	}
	return ""
}

// Each calls fn with every object of collection c, in order.
func Each(s *directory.Snapshot, c directory.Collection, fn func(directory.Object) error) error {
	for _, f := range files {
		if f.c == c {
			return f.each(s, fn)
		}
	}
	return nil
}

// Marshal returns an object's JSON: its raw JSON when it has one (keeping
// fields Steward does not model), else its typed fields.
func Marshal(o directory.Object) ([]byte, error) {
	if raw := o.RawJSON(); len(raw) > 0 {
		return raw, nil
	}
	return json.Marshal(o)
}
