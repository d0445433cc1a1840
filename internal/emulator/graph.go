package emulator

import (
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// Graph endpoints. Each is a listing handed to the generic pager (paging.go)
// or a single object; delta queries live in delta.go.

// all lists a whole collection.
func all(c directory.Collection) func(t *tenant) ([]*entry, *apiError) {
	return func(t *tenant) ([]*entry, *apiError) { return t.items(c), nil }
}

func (c *call) listUsers() *response {
	return c.list(listing{res: resUsers, coll: directory.Users, items: all(directory.Users), context: "users"})
}

// getUser accepts an id or a userPrincipalName, as Graph does.
func (c *call) getUser() *response {
	id := c.params["id"]
	if c.t.get(directory.Users, id) == nil && strings.Contains(id, "@") {
		for _, e := range c.t.items(directory.Users) {
			if strings.EqualFold(e.obj.(*directory.User).UserPrincipalName, id) {
				id = e.key
				break
			}
		}
	}
	return c.getOne(resUsers, directory.Users, id)
}

func (c *call) listGroups() *response {
	return c.list(listing{res: resGroups, coll: directory.Groups, items: all(directory.Groups), context: "groups"})
}

func (c *call) getGroup() *response { return c.getOne(resGroups, directory.Groups, c.params["id"]) }

// groupOr404 checks that a group exists in a version before listing under it.
func (c *call) groupOr404(t *tenant) *apiError {
	if t.get(directory.Groups, c.params["id"]) == nil {
		return c.notFoundError(c.params["id"])
	}
	return nil
}

func (c *call) notFoundError(id string) *apiError {
	return errorf(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

func (c *call) groupMembers() *response {
	return c.list(listing{res: resMembers, coll: directory.GroupMembers, withType: true, perKind: true, context: "directoryObjects",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.groupOr404(t); err != nil {
				return nil, err
			}
			return t.refEntries(t.members(c.params["id"])), nil
		}})
}

func (c *call) groupTransitiveMembers() *response {
	return c.list(listing{res: resTransitiveMembers, coll: directory.GroupMembers, withType: true, perKind: true, context: "directoryObjects",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.groupOr404(t); err != nil {
				return nil, err
			}
			return t.refEntries(t.transitiveMembers(c.params["id"])), nil
		}})
}

// groupTransitiveUsers is the cast transitiveMembers/microsoft.graph.user:
// only the users, nested groups resolved.
func (c *call) groupTransitiveUsers() *response {
	return c.list(listing{res: resTransitiveUsers, coll: directory.GroupMembers, context: "users",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.groupOr404(t); err != nil {
				return nil, err
			}
			var out []*entry
			for _, r := range t.transitiveMembers(c.params["id"]) {
				if r.Kind() == "user" || r.Kind() == "" {
					if e := t.get(directory.Users, r.ID); e != nil {
						out = append(out, e)
					}
				}
			}
			return out, nil
		}})
}

func (c *call) listRoleDefinitions() *response {
	return c.list(listing{res: resRoleDefinitions, coll: directory.RoleDefinitions, items: all(directory.RoleDefinitions),
		context: "roleManagement/directory/roleDefinitions"})
}

// listRoleAssignments supports $expand=principal, which Graph offers to
// resolve who holds a role in the same request.
func (c *call) listRoleAssignments() *response {
	return c.list(listing{res: resRoleAssignments, coll: directory.RoleAssignments, items: all(directory.RoleAssignments),
		context: "roleManagement/directory/roleAssignments", expand: "principal",
		expandWith: func(t *tenant, e *entry) []byte {
			id := e.obj.(*directory.RoleAssignment).PrincipalID
			p := t.resolve(directory.Ref{ID: id})
			if p.obj == nil {
				return []byte("null")
			}
			res := resourceOfKind(p.kind)
			return p.project(newSelection(res, "", true))
		}})
}

func (c *call) listServicePrincipals() *response {
	return c.list(listing{res: resServicePrincipals, coll: directory.ServicePrincipals, items: all(directory.ServicePrincipals),
		context: "servicePrincipals"})
}

func (c *call) getServicePrincipal() *response {
	return c.getOne(resServicePrincipals, directory.ServicePrincipals, c.params["id"])
}

// objectOr404 checks that a service principal or application exists.
func (c *call) objectOr404(t *tenant, coll directory.Collection) *apiError {
	if t.get(coll, c.params["id"]) == nil {
		return c.notFoundError(c.params["id"])
	}
	return nil
}

func (c *call) owners(coll directory.Collection) *response {
	return c.list(listing{res: resOwners, coll: directory.Owners, withType: true, perKind: true, context: "directoryObjects",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.objectOr404(t, coll); err != nil {
				return nil, err
			}
			return t.refEntries(t.owners(c.params["id"])), nil
		}})
}

func (c *call) servicePrincipalOwners() *response { return c.owners(directory.ServicePrincipals) }
func (c *call) applicationOwners() *response      { return c.owners(directory.Applications) }

func (c *call) appRoleAssignments() *response {
	return c.list(listing{res: resAppRoleAssignments, coll: directory.AppRoleAssignments, context: "appRoleAssignments",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.objectOr404(t, directory.ServicePrincipals); err != nil {
				return nil, err
			}
			return t.araByPrincipal[directory.ID(c.params["id"])], nil
		}})
}

func (c *call) appRoleAssignedTo() *response {
	return c.list(listing{res: resAppRoleAssignedTo, coll: directory.AppRoleAssignments, context: "appRoleAssignments",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.objectOr404(t, directory.ServicePrincipals); err != nil {
				return nil, err
			}
			return t.araByResource[directory.ID(c.params["id"])], nil
		}})
}

func (c *call) listApplications() *response {
	return c.list(listing{res: resApplications, coll: directory.Applications, items: all(directory.Applications), context: "applications"})
}

func (c *call) getApplication() *response {
	return c.getOne(resApplications, directory.Applications, c.params["id"])
}

// federatedCredentials serves the credentials the snapshot keeps inline in
// the application, at the path where Graph serves them.
func (c *call) federatedCredentials() *response {
	return c.list(listing{res: resFederatedCredentials, coll: directory.Applications, context: "federatedIdentityCredentials",
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.objectOr404(t, directory.Applications); err != nil {
				return nil, err
			}
			app := t.get(directory.Applications, c.params["id"])
			return subEntries(lookup(app.fields(), "federatedIdentityCredentials")), nil
		}})
}

// subEntries makes entries of the elements of a JSON array held inside an
// object (credentials, flow permissions).
func subEntries(raw []byte) []*entry {
	elems, err := splitArray(raw)
	if err != nil {
		return nil
	}
	out := make([]*entry, 0, len(elems))
	for _, el := range elems {
		key := ""
		if f, err := splitObject(el); err == nil {
			key, _ = rawString(lookup(f, "id"))
		}
		out = append(out, &entry{key: key, raw: el})
	}
	return out
}

func (c *call) listPolicies() *response {
	return c.list(listing{res: resPolicies, coll: directory.ConditionalAccessPolicies, items: all(directory.ConditionalAccessPolicies),
		context: "identity/conditionalAccess/policies"})
}

func (c *call) listNamedLocations() *response {
	return c.list(listing{res: resNamedLocations, coll: directory.NamedLocations, items: all(directory.NamedLocations),
		context: "identity/conditionalAccess/namedLocations"})
}

func (c *call) listRegistrations() *response {
	return c.list(listing{res: resRegistrations, coll: directory.RegistrationDetails, items: all(directory.RegistrationDetails),
		context: "reports/authenticationMethods/userRegistrationDetails"})
}

// listSignIns serves sign-ins newest first: v1.0 the interactive ones only,
// beta all of them with signInEventTypes to filter on.
func (c *call) listSignIns() *response {
	if c.version == "v1.0" {
		return c.list(listing{res: resSignInsV1, coll: directory.SignIns, context: "auditLogs/signIns",
			hidden: []string{"signInEventTypes"},
			items:  func(t *tenant) ([]*entry, *apiError) { return t.interactive, nil }})
	}
	return c.list(listing{res: resSignIns, coll: directory.SignIns, items: all(directory.SignIns), context: "auditLogs/signIns"})
}

func (c *call) listSPSignInActivities() *response {
	return c.list(listing{res: resSPSignInActivities, coll: directory.ServicePrincipalSignInActivities,
		items: all(directory.ServicePrincipalSignInActivities), context: "reports/servicePrincipalSignInActivities"})
}
