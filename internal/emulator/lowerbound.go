package emulator

import (
	"math"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// LowerBound returns the least time a perfect client needs to fetch the whole
// served tenant under the current throttling and latency models: a yardstick
// for the sync's wall-clock time. It is zero when both models are off.
//
// The plan is the smallest set of requests that reads everything:
//   - every collection listed once at its largest page size (users with
//     signInActivity, so 500 a page), with $select;
//   - groups and their members through groups/delta with members;
//   - owners and appRoleAssignments of every service principal, owners and
//     federatedIdentityCredentials of every application, through $batch
//     requests of 20;
//   - Conditional Access policies and named locations;
//   - sign-ins in two listings (v1.0 interactive, beta the rest) at 1,000 a
//     page: windows split pages but cannot make fewer;
//   - environments, then flows and connections per environment, then the
//     permissions of every flow.
//
// Then, with L the resource-unit limit per 10 s, C the Conditional Access
// rate per second and S the sign-in requests allowed per 10 s, and buckets
// that start full (so the first L units, C requests and S requests are free):
//
//	bound = max( max(0, RU − L) / (L/10 s),          resource units
//	             max(0, CA − max(1, C)) / C,          Conditional Access requests
//	             max(0, SI − S) / (S/10 s),           sign-in requests
//	             longest chain of dependent fetches ) latency
//
// where a chain is the pages of one listing, fetched one after another since
// each needs the previous next link, each page costing base + objects ×
// per-object latency; listings run in parallel, per-environment listings
// follow the environment listing, and the batches follow the listings of
// service principals and applications.
func (e *Emulator) LowerBound() time.Duration {
	s := e.settings.Load()
	p := e.plan(e.cur.Load())
	var bound float64
	if th := s.throttle; th.Enabled {
		limit := resourceUnitLimit(th, e.cur.Load().userCount())
		bound = math.Max(bound, math.Max(0, float64(p.resourceUnits)-limit)/(limit/10))
		rate := caRate(th)
		bound = math.Max(bound, math.Max(0, float64(p.caRequests)-math.Max(1, rate))/rate)
		n := signInsPer10s(th)
		bound = math.Max(bound, math.Max(0, float64(p.signInRequests)-n)/(n/10))
	}
	if l := s.latency; l.Enabled() {
		bound = math.Max(bound, p.chain(l).Seconds())
	}
	return time.Duration(bound * float64(time.Second))
}

// plan is the request plan of LowerBound.
type plan struct {
	resourceUnits  int
	caRequests     int
	signInRequests int
	listings       []planListing // independent listings
	// batches follow the service principal and application listings.
	batches, batchObjects int
	before                []planListing // what the batches wait for
	// environment listing, then per environment its flows (each followed by
	// permission requests) and its connections.
	environments planListing
	perEnv       []envPlan
}

type planListing struct{ pages, objects int }

type envPlan struct {
	flows, connections planListing
	permissions        int // objects in the largest permission list
}

func pages(n, size int) int {
	if n <= 0 {
		return 1
	}
	return (n + size - 1) / size
}

func (e *Emulator) plan(t *tenant) plan {
	var p plan
	list := func(c directory.Collection, limitKey string, cost int, class throttleClass) planListing {
		if !t.isCaptured(c) {
			return planListing{}
		}
		n := t.count(c)
		l := planListing{pages: pages(n, e.pageLimit(limitKey).Max), objects: n}
		switch class {
		case classRU:
			p.resourceUnits += l.pages * cost
		case classCA:
			p.caRequests += l.pages
		case classSignIns:
			p.signInRequests += l.pages
		}
		return l
	}
	users := list(directory.Users, LimitUsersWithSignInActivity, 1, classRU)
	groups := list(directory.Groups, LimitDelta, 1, classRU)
	sps := list(directory.ServicePrincipals, "servicePrincipals", 1, classRU)
	apps := list(directory.Applications, "applications", 1, classRU)
	p.listings = append(p.listings, users, groups,
		list(directory.RoleDefinitions, "roleDefinitions", 1, classRU),
		list(directory.RoleAssignments, "roleAssignments", 1, classRU),
		list(directory.RegistrationDetails, "userRegistrationDetails", 1, classRU),
		list(directory.ServicePrincipalSignInActivities, "servicePrincipalSignInActivities", 1, classRU),
		list(directory.ConditionalAccessPolicies, "policies", 1, classCA),
		list(directory.NamedLocations, "namedLocations", 1, classCA),
	)
	if t.isCaptured(directory.SignIns) {
		interactive := len(t.interactive)
		for _, n := range []int{interactive, t.count(directory.SignIns) - interactive} {
			l := planListing{pages: pages(n, e.pageLimit("signIns").Max), objects: n}
			p.signInRequests += l.pages
			p.listings = append(p.listings, l)
		}
	}
	// Per-object requests, 20 to a batch, one resource unit each with $select.
	inner := 2*t.count(directory.ServicePrincipals) + 2*t.count(directory.Applications)
	p.resourceUnits += inner
	p.batches = (inner + maxBatch - 1) / maxBatch
	p.batchObjects = t.count(directory.Owners) + t.count(directory.AppRoleAssignments)
	p.before = []planListing{sps, apps}

	if t.isCaptured(directory.Environments) {
		p.environments = planListing{pages: pages(t.count(directory.Environments), e.pageLimit("environments").Max), objects: t.count(directory.Environments)}
		for _, env := range t.items(directory.Environments) {
			flows, conns := t.flowsByEnv[env.key], t.connsByEnv[env.key]
			ep := envPlan{
				flows:       planListing{pages: pages(len(flows), e.pageLimit("flows").Max), objects: len(flows)},
				connections: planListing{pages: pages(len(conns), e.pageLimit("connections").Max), objects: len(conns)},
			}
			for _, f := range flows {
				if set := t.colls[directory.FlowPermissions].byKey[f.key]; set != nil {
					ep.permissions = max(ep.permissions, len(set.obj.(*directory.FlowPermissionSet).Permissions))
				}
			}
			p.perEnv = append(p.perEnv, ep)
		}
	}
	return p
}

// chain is the longest sequence of fetches that must happen one after another.
func (p plan) chain(l Latency) time.Duration {
	cost := func(pl planListing) time.Duration {
		return time.Duration(pl.pages)*l.Base + time.Duration(pl.objects)*l.PerObject
	}
	var longest time.Duration
	for _, pl := range p.listings {
		longest = max(longest, cost(pl))
	}
	if p.batches > 0 {
		var before time.Duration
		for _, pl := range p.before {
			before = max(before, cost(pl))
		}
		perBatch := l.Base + time.Duration(p.batchObjects/p.batches)*l.PerObject
		longest = max(longest, before+perBatch) // batches run in parallel with each other
	}
	if p.environments.pages > 0 {
		var slowestEnv time.Duration
		for _, ep := range p.perEnv {
			flows := cost(ep.flows)
			if ep.flows.objects > 0 {
				flows += l.Base + time.Duration(ep.permissions)*l.PerObject
			}
			slowestEnv = max(slowestEnv, flows, cost(ep.connections))
		}
		longest = max(longest, cost(p.environments)+slowestEnv)
	}
	return longest
}
