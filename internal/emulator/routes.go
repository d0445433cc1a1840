package emulator

import (
	"net/http"
	"strings"
)

// protocol is the API family a route belongs to: it decides the error shape,
// whether a token is needed and how the request is throttled.
type protocol int

const (
	protoGraph protocol = iota
	protoPowerPlatform
	protoOAuth
	protoAdmin
)

// audience is a set of token audiences a route accepts.
type audience uint8

const (
	audGraph     audience = 1 << iota // https://graph.microsoft.com
	audPowerApps                      // https://service.powerapps.com/ (BAP and PowerApps admin)
	audFlow                           // https://service.flow.microsoft.com/
	audPPAPI                          // https://api.powerplatform.com (every Power Platform path)
)

// throttleClass says which limit a request counts against (GRAPH.md §12).
type throttleClass int

const (
	classNone    throttleClass = iota
	classRU                    // resource units per app and tenant
	classCA                    // Conditional Access: requests per tenant
	classSignIns               // sign-in logs: requests per app and tenant
)

// route is one endpoint. Segments are matched case-insensitively; {version}
// is v1.0 or beta, other {names} capture one segment.
type route struct {
	proto    protocol
	method   string
	segs     []string
	betaOnly bool
	cost     int
	class    throttleClass
	aud      audience
	handle   func(c *call) *response
}

const (
	bap   = "providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"
	flow  = "providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}"
	papps = "providers/Microsoft.PowerApps/scopes/admin/environments/{env}"
)

// buildRoutes is the whole surface of the emulator, in one table.
func buildRoutes() []*route {
	graph := func(path string, cost int, class throttleClass, h func(*call) *response) *route {
		return &route{proto: protoGraph, method: http.MethodGet, segs: split("{version}/" + path), cost: cost, class: class, aud: audGraph, handle: h}
	}
	pp := func(path string, aud audience, h func(*call) *response) *route {
		return &route{proto: protoPowerPlatform, method: http.MethodGet, segs: split(path), aud: aud | audPPAPI, handle: h}
	}
	open := func(proto protocol, method, path string, h func(*call) *response) *route {
		return &route{proto: proto, method: method, segs: split(path), handle: h}
	}
	spActivities := graph("reports/servicePrincipalSignInActivities", 1, classRU, (*call).listSPSignInActivities)
	spActivities.betaOnly = true
	batch := graph("$batch", 0, classNone, (*call).batch)
	batch.method = http.MethodPost
	return []*route{
		graph("users", 2, classRU, (*call).listUsers),
		graph("users/delta", 1, classRU, (*call).deltaUsers),
		graph("users/{id}", 1, classRU, (*call).getUser),
		graph("groups", 1, classRU, (*call).listGroups),
		graph("groups/delta", 1, classRU, (*call).deltaGroups),
		graph("groups/{id}", 1, classRU, (*call).getGroup),
		graph("groups/{id}/members", 3, classRU, (*call).groupMembers),
		graph("groups/{id}/transitiveMembers", 5, classRU, (*call).groupTransitiveMembers),
		graph("groups/{id}/transitiveMembers/microsoft.graph.user", 5, classRU, (*call).groupTransitiveUsers),
		graph("roleManagement/directory/roleDefinitions", 1, classRU, (*call).listRoleDefinitions),
		graph("roleManagement/directory/roleAssignments", 1, classRU, (*call).listRoleAssignments),
		graph("servicePrincipals", 1, classRU, (*call).listServicePrincipals),
		graph("servicePrincipals/delta", 1, classRU, (*call).deltaServicePrincipals),
		graph("servicePrincipals/{id}", 1, classRU, (*call).getServicePrincipal),
		graph("servicePrincipals/{id}/owners", 1, classRU, (*call).servicePrincipalOwners),
		graph("servicePrincipals/{id}/appRoleAssignments", 2, classRU, (*call).appRoleAssignments),
		graph("servicePrincipals/{id}/appRoleAssignedTo", 2, classRU, (*call).appRoleAssignedTo),
		graph("applications", 2, classRU, (*call).listApplications),
		graph("applications/delta", 1, classRU, (*call).deltaApplications),
		graph("applications/{id}", 1, classRU, (*call).getApplication),
		graph("applications/{id}/owners", 1, classRU, (*call).applicationOwners),
		graph("applications/{id}/federatedIdentityCredentials", 1, classRU, (*call).federatedCredentials),
		graph("identity/conditionalAccess/policies", 1, classCA, (*call).listPolicies),
		graph("identity/conditionalAccess/namedLocations", 1, classCA, (*call).listNamedLocations),
		graph("reports/authenticationMethods/userRegistrationDetails", 1, classRU, (*call).listRegistrations),
		graph("auditLogs/signIns", 1, classSignIns, (*call).listSignIns),
		spActivities,
		batch,

		pp(bap, audPowerApps, (*call).listEnvironments),
		pp(bap+"/{env}", audPowerApps, (*call).getEnvironment),
		pp(flow+"/v2/flows", audFlow, (*call).listFlows),
		pp(flow+"/flows", audFlow, (*call).listFlows),
		pp(flow+"/flows/{flow}/permissions", audFlow, (*call).flowPermissions),
		pp(flow+"/v2/flows/{flow}/permissions", audFlow, (*call).flowPermissions),
		pp(papps+"/connections", audPowerApps, (*call).listConnections),

		open(protoOAuth, http.MethodGet, "common/discovery/instance", (*call).instanceDiscovery),
		open(protoOAuth, http.MethodPost, "{tenant}/oauth2/v2.0/token", (*call).token),
		open(protoOAuth, http.MethodGet, "{tenant}/v2.0/.well-known/openid-configuration", (*call).openIDConfiguration),
		open(protoOAuth, http.MethodGet, "{tenant}/.well-known/openid-configuration", (*call).openIDConfiguration),
		open(protoOAuth, http.MethodGet, "{tenant}/discovery/v2.0/keys", (*call).keys),
		open(protoOAuth, http.MethodGet, "{tenant}/discovery/keys", (*call).keys),

		open(protoAdmin, http.MethodGet, "_emulator/stats", (*call).adminStats),
		open(protoAdmin, http.MethodPost, "_emulator/churn", (*call).adminChurn),
		open(protoAdmin, http.MethodPost, "_emulator/expire-delta-tokens", (*call).adminExpireDelta),
		open(protoAdmin, http.MethodPost, "_emulator/resync-delta-tokens", (*call).adminResyncDelta),
	}
}

func split(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

// match finds the route of a path. A path that exists under another method
// comes back with wrongMethod set.
func match(routes []*route, method, path string) (rt *route, params map[string]string, version string, wrongMethod bool) {
	parts := split(path)
	var candidate *route
	for _, r := range routes {
		if len(r.segs) != len(parts) {
			continue
		}
		p, v, ok := matchSegs(r, parts)
		if !ok {
			continue
		}
		if r.method != method {
			if candidate == nil {
				candidate, params, version = r, p, v
			}
			continue
		}
		return r, p, v, false
	}
	return candidate, params, version, candidate != nil
}

func matchSegs(r *route, parts []string) (map[string]string, string, bool) {
	var params map[string]string
	version := ""
	for i, seg := range r.segs {
		part := parts[i]
		switch {
		case seg == "{version}":
			switch {
			case strings.EqualFold(part, "v1.0"):
				version = "v1.0"
			case strings.EqualFold(part, "beta"):
				version = "beta"
			default:
				return nil, "", false
			}
			if r.betaOnly && version != "beta" {
				return nil, "", false
			}
		case seg[0] == '{':
			if part == "" {
				return nil, "", false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg[1:len(seg)-1]] = part
		case !segMatch(seg, part):
			return nil, "", false
		}
	}
	return params, version, true
}

// segMatch compares a literal segment, accepting the spellings Graph clients
// use: delta, delta() and microsoft.graph.delta(); graph.user for a cast.
func segMatch(seg, part string) bool {
	if strings.EqualFold(seg, part) {
		return true
	}
	switch seg {
	case "delta":
		p := strings.TrimSuffix(strings.ToLower(part), "()")
		return p == "delta" || p == "microsoft.graph.delta"
	case "microsoft.graph.user":
		return strings.EqualFold(part, "graph.user")
	}
	return false
}

// pattern names a route for the counters: its segments with the version
// filled in, e.g. /v1.0/servicePrincipals/{id}/owners.
func (r *route) pattern(version string) string {
	var b strings.Builder
	for _, s := range r.segs {
		b.WriteByte('/')
		if s == "{version}" {
			b.WriteString(version)
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}
