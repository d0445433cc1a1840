// Package synthetic builds deterministic synthetic tenants: realistic Entra ID
// and Power Platform data for demos, tests and benchmarks, with every kind of
// service account, exclusion and finding that Steward exists to explain.
//
// The same Options always give the same snapshot, and so the same bytes from
// snapshot.Write: every random choice comes from a PCG stream seeded by
// Options.Seed, and every timestamp is an offset from Options.Now, so the data
// stays meaningful relative to its capture time (a "dormant" account is dormant
// whatever day the tenant is generated).
package synthetic

import (
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// Profiles.
const (
	// ProfileDemo is a small tenant for people: a few hundred users and every
	// archetype Steward knows about, each at least once.
	ProfileDemo = "demo"
	// ProfileLarge is a 100,000-user tenant for benchmarks, with the demo's
	// archetypes inside it.
	ProfileLarge = "large"
)

// DefaultNow is the capture time used when Options.Now is zero, so that a
// generated tenant does not depend on the day it is generated.
var DefaultNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Options selects a synthetic tenant.
type Options struct {
	// Profile is ProfileDemo (the default when empty) or ProfileLarge.
	Profile string
	// Seed selects one tenant among many of the same profile.
	Seed uint64
	// Now is the capture time every timestamp is relative to (DefaultNow when zero).
	Now time.Time
	// Hostile plants hostile strings (markup, right-to-left overrides, a 4 KB
	// name, spreadsheet formulas) in the human-entered names of a handful of
	// objects, to test that every output escapes them. Ids stay valid.
	Hostile bool
}

// sizes are a profile's object counts. The hand-written archetypes come on
// top of them (or, for service accounts, count towards them).
type sizes struct {
	people          int // member users who are people, admins and break-glass excluded
	guests          int
	serviceAccounts int // user service accounts, the hand-written ones included
	adminAccounts   int // separate admin accounts of IT people (adm-…)

	ownApps           int // app registrations with their service principals, hand-written included
	managedIdentities int
	thirdPartyApps    int
	firstPartyExtra   int // Microsoft service principals beyond the well-known ones

	groups          int     // all groups, named ones included
	fillerPerPerson float64 // average memberships of a person in generated groups

	policies        int // CA policies, the core designs included
	branchLocations int
	roleAssignments int

	signIns      int
	environments int
	flows        int
	connections  int
}

var profiles = map[string]sizes{
	ProfileDemo: {
		people: 280, guests: 20, serviceAccounts: 40, adminAccounts: 4,
		ownApps: 36, managedIdentities: 6, thirdPartyApps: 6, firstPartyExtra: 0,
		groups: 40, fillerPerPerson: 1,
		policies: 13, branchLocations: 1, roleAssignments: 0,
		signIns: 1500, environments: 3, flows: 150, connections: 200,
	},
	ProfileLarge: {
		people: 94_903, guests: 3_000, serviceAccounts: 2_000, adminAccounts: 95,
		ownApps: 8_000, managedIdentities: 2_000, thirdPartyApps: 14_490, firstPartyExtra: 493,
		groups: 5_000, fillerPerPerson: 1.1,
		policies: 150, branchLocations: 30, roleAssignments: 300,
		signIns: 50_000, environments: 200, flows: 30_000, connections: 40_000,
	},
}

// Profiles lists the profile names.
func Profiles() []string { return []string{ProfileDemo, ProfileLarge} }

// Generate builds the tenant opts describes. The result is fresh: callers may
// change it freely.
func Generate(opts Options) (*directory.Snapshot, error) {
	if opts.Profile == "" {
		opts.Profile = ProfileDemo
	}
	size, ok := profiles[opts.Profile]
	if !ok {
		return nil, fmt.Errorf("unknown profile %q (want %s or %s)", opts.Profile, ProfileDemo, ProfileLarge)
	}
	if opts.Now.IsZero() {
		opts.Now = DefaultNow
	}
	g := newGen(opts, size)
	g.tenant()
	g.users()
	g.apps() // groups hold service principals
	g.groups()
	g.roles()
	g.locations()
	g.policies()
	g.powerPlatform()
	g.registrations()
	g.signIns()
	g.servicePrincipalActivity()
	return g.s, nil
}

// Write generates the tenant opts describes and writes it into dir with
// snapshot.Write.
func Write(dir string, opts Options) (*directory.Snapshot, error) {
	s, err := Generate(opts)
	if err != nil {
		return nil, err
	}
	if err := snapshot.Write(dir, s); err != nil {
		return nil, err
	}
	return s, nil
}

// gen is one generation in progress: the snapshot being filled, and indexes
// into it that later parts need (who the break-glass accounts are, which
// group excludes service accounts, …).
type gen struct {
	opts Options
	size sizes
	now  time.Time
	s    *directory.Snapshot

	company       company
	initialDomain string // <slug>.onmicrosoft.com

	// Users, by index into s.Users.
	people     []int
	guests     []int
	admins     []int // adm-… accounts
	breakGlass []int
	svc        []int          // every service account
	named      map[string]int // hand-written service accounts by mail nickname
	deptOf     []int8         // department index per user, -1 for none
	svcSpec    map[int]*saSpec

	// Groups, by index into s.Groups; members parallels s.Groups.
	group   map[string]int // named groups by display name
	members [][]directory.Ref
	filler  []int  // generated groups
	deleted string // a group that no longer exists, which a policy still excludes

	// Service principals and applications, by index.
	sp          map[string]int // well-known service principals by appId
	ownSP       []int          // service principals of own app registrations
	appSpecOf   map[int]*appSpec
	managed     []int
	graphRoleID map[string]string // Graph permission value → app role id

	// Conditional Access, by index into s.ConditionalAccessPolicies.
	policy   map[string]int // core designs by code (CA001, …)
	location map[string]int // named locations by role

	// Power Platform: who makes flows, and each connection's environment
	// and owner (by index into s.Connections).
	makers    []int
	connEnv   []int
	connOwner []principal
	connsOf   map[string][]int // owner id | environment name → connections
}

// principal is a user or service principal as the Power Platform sees it.
type principal struct {
	id, name, upn, mail string
	kind                string // User | ServicePrincipal
	user                int    // index into s.Users, -1 for a service principal
}

func newGen(opts Options, size sizes) *gen {
	c := companies[opts.Profile]
	g := &gen{
		opts:          opts,
		size:          size,
		now:           opts.Now.UTC(),
		company:       c,
		initialDomain: c.slug + ".onmicrosoft.com",
		named:         map[string]int{},
		svcSpec:       map[int]*saSpec{},
		group:         map[string]int{},
		sp:            map[string]int{},
		appSpecOf:     map[int]*appSpec{},
		graphRoleID:   map[string]string{},
		policy:        map[string]int{},
		location:      map[string]int{},
		s:             &directory.Snapshot{Captured: map[directory.Collection]bool{}},
	}
	for _, c := range directory.AllCollections {
		g.s.Captured[c] = true
	}
	return g
}

// rng returns the random stream of one part of the tenant.
func (g *gen) rng(part string) *rng { return newRNG(g.opts.Seed, g.opts.Profile, part) }

func (g *gen) tenant() {
	r := g.rng("tenant")
	g.s.Tenant = directory.Tenant{
		ID:            r.guid(),
		DisplayName:   g.company.name,
		DefaultDomain: g.company.domain,
		CapturedAt:    directory.NewTime(g.now),
	}
	g.deleted = r.guid()
}
