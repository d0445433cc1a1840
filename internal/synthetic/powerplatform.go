package synthetic

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Token refresh errors as the Power Platform reports them on a connection.
const (
	aadsts50076  = "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'."
	aadsts53003  = "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
	aadsts700082 = "AADSTS700082: The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00."
	aadsts50057  = "AADSTS50057: The user account is disabled."
	aadsts50173  = "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."
)

// spConnectors are the connectors a service principal can own a connection to.
var spConnectors = []string{"shared_commondataserviceforapps", "shared_webcontents", "shared_keyvault", "shared_azureblob", "shared_servicebus", "shared_sql"}

func (g *gen) powerPlatform() {
	r := g.rng("powerplatform")
	g.environments(r)
	g.connections(r)
	g.flows(r)
}

func (g *gen) environments(r *rng) {
	n := max(g.size.environments, 3)
	g.s.Environments = make([]directory.Environment, 0, n)
	locations := []string{"europe"}
	if g.opts.Profile == ProfileLarge {
		locations = []string{"europe", "unitedstates", "asia", "unitedkingdom", "canada"}
	}
	taken := map[string]bool{}
	add := func(name, display, sku string) {
		e := directory.Environment{
			ID:       "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/" + name,
			Name:     name,
			Type:     "Microsoft.BusinessAppPlatform/scopes/environments",
			Location: locations[0],
			Properties: directory.EnvironmentProperties{
				DisplayName:    g.plant(kindEnvironment, len(g.s.Environments), fieldName, unique(taken, display)),
				EnvironmentSku: sku,
				IsDefault:      ptr(sku == "Default"),
				CreatedTime:    g.ago(r.span(30*day, 5*365*day)),
			},
		}
		if len(g.s.Environments) > 2 {
			e.Location = pick(r, locations)
		}
		g.s.Environments = append(g.s.Environments, e)
	}
	add("Default-"+g.s.Tenant.ID, g.company.name+" (default)", "Default")
	add(r.guid(), g.company.name+" Production", "Production")
	add(r.guid(), g.company.name+" Sandbox", "Sandbox")
	skus := []weighted[string]{{40, "Developer"}, {25, "Sandbox"}, {20, "Production"}, {15, "Trial"}}
	for len(g.s.Environments) < n {
		sku := pickWeighted(r, skus)
		add(r.guid(), pick(r, departments).name+" - "+pick(r, teams)+" ("+sku+")", sku)
	}
}

// pickEnvironment spreads objects the way tenants do: most in the default
// environment, then production, then everything else.
func (g *gen) pickEnvironment(r *rng) int {
	switch x := r.Float64(); {
	case x < 0.45:
		return 0
	case x < 0.75:
		return 1
	case x < 0.87 || len(g.s.Environments) == 3:
		return 2
	default:
		return 3 + r.IntN(len(g.s.Environments)-3)
	}
}

// owners returns the pools connections and flows are owned from: service
// accounts (weighted by how much automation they run), makers, and the
// service principals some automation has been migrated to.
func (g *gen) ownerPools() (svc []weighted[principal], makers, sps []principal) {
	for _, u := range g.svc {
		spec := g.svcSpec[u]
		if spec.flows > 0 {
			svc = append(svc, weighted[principal]{spec.flows, g.userPrincipal(u)})
		}
	}
	for _, u := range g.makers {
		makers = append(makers, g.userPrincipal(u))
	}
	for _, i := range g.ownSP {
		if g.appSpecOf[i].flows {
			sp := &g.s.ServicePrincipals[i]
			sps = append(sps, principal{id: sp.ID, name: sp.DisplayName, kind: "ServicePrincipal", user: -1})
		}
	}
	return svc, makers, sps
}

func (g *gen) userPrincipal(i int) principal {
	u := &g.s.Users[i]
	return principal{id: u.ID, name: u.DisplayName, upn: u.UserPrincipalName, mail: u.Mail, kind: "User", user: i}
}

func (g *gen) connections(r *rng) {
	svc, makers, sps := g.ownerPools()
	n := g.size.connections
	g.s.Connections = make([]directory.Connection, 0, n)
	g.connEnv = make([]int, 0, n)
	g.connOwner = make([]principal, 0, n)
	g.connsOf = make(map[string][]int, n/2)
	for i := 0; i < n; i++ {
		var o principal
		switch x := r.Float64(); {
		case x < 0.65 && len(svc) > 0:
			o = pickWeighted(r, svc)
		case x < 0.95 && len(makers) > 0 || len(sps) == 0:
			o = pick(r, makers)
		default:
			o = pick(r, sps)
		}
		c := pickWeighted(r, connectors)
		if o.kind == "ServicePrincipal" {
			api := pick(r, spConnectors)
			for _, w := range connectors {
				if w.v.api == api {
					c = w.v
				}
			}
		}
		env := g.pickEnvironment(r)
		e := &g.s.Environments[env]
		name := "shared-" + strings.TrimPrefix(c.api, "shared_") + "-" + r.guid()
		created := g.ago(r.span(day, 3*365*day))
		if o.user >= 0 {
			created = g.notBefore(created, g.s.Users[o.user].CreatedDateTime, r)
		}
		conn := directory.Connection{
			ID:   "/providers/Microsoft.PowerApps/apis/" + c.api + "/connections/" + name,
			Name: name,
			Type: "Microsoft.PowerApps/apis/connections",
			Properties: directory.ConnectionProperties{
				APIID:            "/providers/Microsoft.PowerApps/apis/" + c.api,
				DisplayName:      g.plant(kindConnection, i, fieldName, o.connectionName()),
				CreatedTime:      created,
				LastModifiedTime: g.notBefore(g.ago(r.span(time.Hour, 400*day)), created, r),
				CreatedBy:        g.ppPrincipal(o),
				OverallStatus:    "Connected",
				Statuses:         []directory.ConnectionStatus{{Status: "Connected"}},
				Environment:      &directory.EnvironmentRef{ID: e.ID, Name: e.Name},
			},
		}
		if msg := g.connectionError(r, o, c); msg != "" {
			at := g.ago(r.span(time.Minute, 2*day))
			conn.Properties.OverallStatus = "Error"
			conn.Properties.LastModifiedTime = g.notBefore(at, created, r)
			conn.Properties.Statuses = []directory.ConnectionStatus{{
				Status: "Error", Target: "token",
				Error: &directory.ConnectionError{Code: "Unauthorized", Message: "Failed to refresh access token for service: " + c.service +
					". Correlation Id=" + r.guid() + ", UTC TimeStamp=" + at.Format("1/2/2006 3:04:05 PM") + ", Error=" + msg},
			}}
		}
		key := o.id + "|" + e.Name
		g.connsOf[key] = append(g.connsOf[key], len(g.s.Connections))
		g.s.Connections = append(g.s.Connections, conn)
		g.connEnv = append(g.connEnv, env)
		g.connOwner = append(g.connOwner, o)
	}
}

// connectionName is what the Power Platform shows as a connection's name:
// the account it signs in as.
func (p principal) connectionName() string {
	if p.upn != "" {
		return p.upn
	}
	return p.name
}

func (g *gen) ppPrincipal(o principal) *directory.PPPrincipal {
	p := &directory.PPPrincipal{ID: o.id, Type: o.kind, DisplayName: o.name, TenantID: g.s.Tenant.ID}
	if o.kind == "User" {
		p.Email = o.mail
		p.UserPrincipalName = o.upn
	}
	return p
}

// connectionError returns the token refresh error a connection owned by o is
// in, or "": the error follows from the owner's situation.
func (g *gen) connectionError(r *rng, o principal, c connector) string {
	if o.user < 0 || c.resource == "" {
		return ""
	}
	u := &g.s.Users[o.user]
	spec := g.svcSpec[o.user]
	switch {
	case !u.Enabled():
		if r.chance(0.8) {
			return aadsts50057
		}
	case spec == nil:
		if r.chance(0.02) {
			return aadsts50173
		}
	case spec.dormant:
		if r.chance(0.8) {
			issued := g.ago(r.span(120*day, 200*day))
			return fmt.Sprintf(aadsts700082, issued.Format("2006-01-02T15:04:05Z"))
		}
	case spec.broken:
		if r.chance(0.8) {
			return fmt.Sprintf(aadsts50076, c.resource)
		}
	case hasGroup(spec, grpInteg):
		// Flows run in Microsoft's cloud, outside the trusted locations the
		// integration accounts are confined to.
		if r.chance(0.35) {
			return aadsts53003
		}
	}
	return ""
}

func hasGroup(spec *saSpec, name string) bool {
	for _, gr := range spec.groups {
		if gr == name {
			return true
		}
	}
	return false
}

func (g *gen) flows(r *rng) {
	n := g.size.flows
	if len(g.s.Connections) == 0 {
		return
	}
	_, makers, sps := g.ownerPools()
	g.s.Flows = make([]directory.Flow, 0, n)
	g.s.FlowPermissions = make([]directory.FlowPermissionSet, 0, n)
	for i := 0; i < n; i++ {
		ci := r.IntN(len(g.s.Connections))
		o := g.connOwner[ci]
		e := &g.s.Environments[g.connEnv[ci]]
		name := r.guid()
		id := "/providers/Microsoft.ProcessSimple/environments/" + e.Name + "/flows/" + name

		refs := map[string]directory.ConnectionReference{}
		broken, created := false, g.s.Connections[ci].Properties.CreatedTime
		addRef := func(c *directory.Connection) {
			api := strings.TrimPrefix(c.Properties.APIID, "/providers/Microsoft.PowerApps/apis/")
			key := api
			for k := 1; ; k++ {
				ref, used := refs[key]
				if !used {
					break
				}
				if ref.ConnectionName == c.Name {
					return
				}
				key = api + "_" + strconv.Itoa(k)
			}
			refs[key] = directory.ConnectionReference{ConnectionName: c.Name, ID: c.Properties.APIID, DisplayName: connectorName(api)}
			broken = broken || c.InError()
			created = latest(created, c.Properties.CreatedTime)
		}
		addRef(&g.s.Connections[ci])
		if others := g.connsOf[o.id+"|"+e.Name]; len(others) > 1 {
			for k := r.IntN(3); k > 0; k-- {
				addRef(&g.s.Connections[pick(r, others)])
			}
		}
		state := "Started"
		switch {
		case broken && r.chance(0.6):
			state = "Suspended"
		case r.chance(0.15):
			state = "Stopped"
		}
		created = g.notBefore(g.ago(r.span(time.Hour, 2*365*day)), created, r)
		kind := "ActiveDirectory"
		if o.kind == "ServicePrincipal" {
			kind = "ServicePrincipal"
		}
		g.s.Flows = append(g.s.Flows, directory.Flow{
			ID:   id,
			Name: name,
			Type: "Microsoft.ProcessSimple/environments/flows",
			Properties: directory.FlowProperties{
				DisplayName:          g.plant(kindFlow, i, fieldName, pick(r, flowPrefixes)+pick(r, flowNames)),
				State:                state,
				CreatedTime:          created,
				LastModifiedTime:     g.notBefore(g.ago(r.span(time.Hour, 300*day)), created, r),
				Creator:              &directory.FlowCreator{TenantID: g.s.Tenant.ID, ObjectID: o.id, UserID: o.id, UserType: kind},
				Environment:          &directory.EnvironmentRef{ID: e.ID, Name: e.Name},
				ConnectionReferences: refs,
			},
		})
		g.s.FlowPermissions = append(g.s.FlowPermissions, g.flowPermissions(r, id, e.Name, name, o, makers, sps))
	}
}

func connectorName(api string) string {
	for _, c := range connectors {
		if c.v.api == api {
			return c.v.displayName
		}
	}
	return api
}

// flowPermissions lists a flow's owner, co-owners and run-only users. A flow
// owned by a service principal keeps a person as co-owner; some flows of
// service accounts already have a service principal as co-owner (a
// migration in progress).
func (g *gen) flowPermissions(r *rng, flowID, env, flow string, owner principal, makers, sps []principal) directory.FlowPermissionSet {
	set := directory.FlowPermissionSet{FlowName: flow, Environment: env, Permissions: make([]directory.FlowPermission, 0, 3)}
	add := func(role, id, kind string) {
		for _, p := range set.Permissions {
			if p.Properties.Principal.ID == id {
				return
			}
		}
		set.Permissions = append(set.Permissions, directory.FlowPermission{
			Name: id,
			ID:   flowID + "/permissions/" + id,
			Type: "Microsoft.ProcessSimple/environments/flows/permissions",
			Properties: directory.FlowPermissionProperties{
				RoleName: role, PermissionType: "Principal",
				Principal: directory.PPPrincipal{ID: id, Type: kind, TenantID: g.s.Tenant.ID},
			},
		})
	}
	add("Owner", owner.id, owner.kind)
	if len(makers) > 0 && (owner.kind == "ServicePrincipal" || r.chance(0.25)) {
		m := pick(r, makers)
		add("CanEdit", m.id, "User")
	}
	if owner.kind == "User" && g.isService(owner.user) && len(sps) > 0 && r.chance(0.05) {
		sp := pick(r, sps)
		add("CanEdit", sp.id, "ServicePrincipal")
	}
	if r.chance(0.1) {
		add("CanEdit", g.s.Groups[g.group[grpMakers]].ID, "Group")
	}
	if r.chance(0.15) {
		d := pick(r, departments).name
		add("CanView", g.s.Groups[g.group[grpDeptPrefix+d]].ID, "Group")
	}
	return set
}
