package emulator

import (
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// resource describes how one kind of object is served: its Graph type, which
// properties come back without $select, which $filter forms it accepts, its
// page limits and its throttling cost.
type resource struct {
	name      string // as in URLs and @odata.context ("users")
	odataType string // "#microsoft.graph.user"; "" for Power Platform objects
	limit     string // key into the page limits
	// defaults are the properties returned without $select; nil means every
	// property but the hidden ones.
	defaults []string
	// hidden properties are returned only when $select names them.
	hidden []string
	// lists are collection-valued properties: [] rather than null when
	// selected but missing, as Graph writes them.
	lists map[string]bool
	// filters maps a lower-cased property path to the operators $filter may
	// use on it ("eq ne ge gt le lt any"); anything else is unsupported.
	filters map[string]string
	// cost is the request's base cost in resource units (GRAPH.md §12).
	cost int
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// Graph resources. Users come back with Graph's small default property set;
// everything else with every property the snapshot holds, except what Graph
// keeps behind a navigation property.
var (
	resUsers = &resource{
		name: "users", odataType: "#microsoft.graph.user", limit: "users", cost: 2,
		defaults: []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
			"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"},
		lists: set("businessPhones", "assignedLicenses", "assignedPlans", "identities", "imAddresses",
			"otherMails", "proxyAddresses", "provisionedPlans"),
		filters: map[string]string{"id": "eq", "usertype": "eq ne", "accountenabled": "eq ne",
			"userprincipalname": "eq", "mail": "eq", "employeetype": "eq ne", "onpremisessyncenabled": "eq ne"},
	}
	resGroups = &resource{
		name: "groups", odataType: "#microsoft.graph.group", limit: "groups", cost: 1,
		lists: set("groupTypes", "proxyAddresses"),
		filters: map[string]string{"id": "eq", "securityenabled": "eq ne", "mailenabled": "eq ne",
			"isassignabletorole": "eq ne", "grouptypes": "any"},
	}
	resServicePrincipals = &resource{
		name: "servicePrincipals", odataType: "#microsoft.graph.servicePrincipal", limit: "servicePrincipals", cost: 1,
		lists: set("passwordCredentials", "keyCredentials", "tags", "appRoles", "servicePrincipalNames",
			"replyUrls", "oauth2PermissionScopes"),
		filters: map[string]string{"id": "eq", "appid": "eq", "serviceprincipaltype": "eq ne",
			"accountenabled": "eq ne", "apporganizationownerid": "eq", "tags": "any"},
	}
	resApplications = &resource{
		name: "applications", odataType: "#microsoft.graph.application", limit: "applications", cost: 2,
		// federatedIdentityCredentials is a navigation property in Graph: the
		// snapshot keeps it inline, Graph serves it at its own path.
		hidden:  []string{"federatedIdentityCredentials"},
		lists:   set("passwordCredentials", "keyCredentials", "tags", "identifierUris", "appRoles"),
		filters: map[string]string{"id": "eq", "appid": "eq"},
	}
	resFederatedCredentials = &resource{
		name: "federatedIdentityCredentials", odataType: "#microsoft.graph.federatedIdentityCredential",
		limit: "federatedIdentityCredentials", cost: 1, lists: set("audiences"),
	}
	resRoleDefinitions = &resource{
		name: "roleManagement/directory/roleDefinitions", odataType: "#microsoft.graph.unifiedRoleDefinition",
		limit: "roleDefinitions", cost: 1, lists: set("rolePermissions", "resourceScopes"),
		filters: map[string]string{"id": "eq", "isbuiltin": "eq ne", "templateid": "eq", "displayname": "eq"},
	}
	resRoleAssignments = &resource{
		name: "roleManagement/directory/roleAssignments", odataType: "#microsoft.graph.unifiedRoleAssignment",
		limit: "roleAssignments", cost: 1,
		filters: map[string]string{"principalid": "eq", "roledefinitionid": "eq", "directoryscopeid": "eq"},
	}
	resAppRoleAssignments = &resource{
		name: "appRoleAssignments", odataType: "#microsoft.graph.appRoleAssignment", limit: "appRoleAssignments", cost: 2,
	}
	resAppRoleAssignedTo = &resource{
		name: "appRoleAssignedTo", odataType: "#microsoft.graph.appRoleAssignment", limit: "appRoleAssignedTo", cost: 2,
	}
	resPolicies = &resource{
		name: "identity/conditionalAccess/policies", odataType: "#microsoft.graph.conditionalAccessPolicy",
		limit: "policies", cost: 1,
	}
	resNamedLocations = &resource{
		name: "identity/conditionalAccess/namedLocations", odataType: "#microsoft.graph.namedLocation",
		limit: "namedLocations", cost: 1, lists: set("ipRanges", "countriesAndRegions"),
	}
	resRegistrations = &resource{
		name: "reports/authenticationMethods/userRegistrationDetails", odataType: "#microsoft.graph.userRegistrationDetails",
		limit: "userRegistrationDetails", cost: 1, lists: set("methodsRegistered", "systemPreferredAuthenticationMethods"),
		filters: map[string]string{"id": "eq", "ismfaregistered": "eq ne", "ismfacapable": "eq ne", "isadmin": "eq ne",
			"usertype": "eq ne", "ispasswordlesscapable": "eq ne", "isssprregistered": "eq ne", "methodsregistered": "any",
			"userprincipalname": "eq"},
	}
	resSignIns = &resource{
		name: "auditLogs/signIns", odataType: "#microsoft.graph.signIn", limit: "signIns", cost: 1,
		lists: set("signInEventTypes", "appliedConditionalAccessPolicies", "authenticationDetails"),
		filters: map[string]string{"createddatetime": "eq ge gt le lt", "signineventtypes": "any", "userid": "eq",
			"appid": "eq", "userprincipalname": "eq", "status/errorcode": "eq ne", "conditionalaccessstatus": "eq ne",
			"serviceprincipalid": "eq"},
	}
	resSPSignInActivities = &resource{
		name: "reports/servicePrincipalSignInActivities", odataType: "#microsoft.graph.servicePrincipalSignInActivity",
		limit: "servicePrincipalSignInActivities", cost: 1,
		filters: map[string]string{"appid": "eq"},
	}
	// Lists of directory objects of mixed types: each item is projected with
	// its own type's defaults and carries its @odata.type.
	resMembers           = &resource{name: "directoryObjects", odataType: "#microsoft.graph.directoryObject", limit: "members"}
	resTransitiveMembers = &resource{name: "directoryObjects", odataType: "#microsoft.graph.directoryObject", limit: "transitiveMembers"}
	resOwners            = &resource{name: "directoryObjects", odataType: "#microsoft.graph.directoryObject", limit: "owners"}
	resTransitiveUsers   = &resource{name: "users", odataType: "#microsoft.graph.user", limit: "transitiveMembers",
		defaults: resUsers.defaults, lists: resUsers.lists}
	// resSignInsV1 is v1.0's signIn, which has no signInEventTypes.
	resSignInsV1 = &resource{name: resSignIns.name, odataType: resSignIns.odataType, limit: resSignIns.limit, cost: 1,
		lists: resSignIns.lists, filters: withoutKey(resSignIns.filters, "signineventtypes")}

	resEnvironments    = &resource{name: "environments", limit: "environments"}
	resFlows           = &resource{name: "flows", limit: "flows"}
	resFlowPermissions = &resource{name: "flowPermissions", limit: "flowPermissions"}
	resConnections     = &resource{name: "connections", limit: "connections"}
)

// resourceOfKind returns the resource of a directory object kind as member
// and owner lists name it ("user", "group", "servicePrincipal"), or nil.
func resourceOfKind(kind string) *resource {
	switch kind {
	case "user":
		return resUsers
	case "group":
		return resGroups
	case "servicePrincipal":
		return resServicePrincipals
	case "application":
		return resApplications
	}
	return nil
}

// collectionOfKind returns where objects of a kind live in the snapshot.
func collectionOfKind(kind string) directory.Collection {
	switch kind {
	case "user":
		return directory.Users
	case "group":
		return directory.Groups
	case "servicePrincipal":
		return directory.ServicePrincipals
	case "application":
		return directory.Applications
	}
	return ""
}

func withoutKey(m map[string]string, key string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
