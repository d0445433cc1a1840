package emulator

import (
	"log/slog"
	"time"
)

// Options configure an Emulator. The zero value serves the snapshot with no
// throttling, no latency and no faults, and registers one generated client.
type Options struct {
	// Clients may ask the token endpoint for tokens. When empty, New registers
	// one client with a generated id and secret (see Emulator.Client).
	Clients []Client
	// Throttle models Graph's throttling (GRAPH.md §12). Off unless Enabled.
	Throttle Throttle
	// Latency delays every response. Off when zero.
	Latency Latency
	// Faults are injected from the start; more can be added with AddFault.
	Faults []Fault
	// PageLimits override entries of DefaultPageLimits, by the same keys.
	PageLimits map[string]PageLimit
	// TokenLifetime is the lifetime of issued access tokens (default 3599 s, as Entra ID says).
	TokenLifetime time.Duration
	// DeltaTokenLifetime is how long a delta token stays usable (default 7 days,
	// as for directory objects); older ones get syncStateNotFound.
	DeltaTokenLifetime time.Duration
	// Now is the emulator's clock (default time.Now): tokens, throttling and
	// delta token expiry read it, so tests can move time.
	Now func() time.Time
	// Addr and TLSAddr are where Start listens (default 127.0.0.1:0 each).
	Addr    string
	TLSAddr string
	// Log receives server errors; nil discards them.
	Log *slog.Logger
}

// Client is an application registered with the emulated token endpoint.
type Client struct {
	ID     string // the application (client) id
	Secret string // its client secret; empty for a client that signs in only with client assertions
}

// Throttle is the throttling model: a resource-unit token bucket per app and
// tenant for identity resources, 1 request/s per tenant for Conditional Access,
// 5 requests per 10 s per app and tenant for sign-in logs.
type Throttle struct {
	Enabled bool
	// ResourceUnitsPer10s overrides the limit Graph derives from the tenant's
	// size (3,500 under 50 users, 5,000 up to 500, 8,000 above).
	ResourceUnitsPer10s int
	// CARequestsPerSecond overrides the Conditional Access limit (default 1).
	CARequestsPerSecond float64
	// SignInRequestsPer10s overrides the sign-in logs limit (default 5).
	SignInRequestsPer10s int
}

// PageLimit is a listing's page size when the client sends no $top (Default)
// and the largest $top it accepts (Max; a larger one is a 400, as in Graph).
type PageLimit struct {
	Default int
	Max     int
}

// Keys of DefaultPageLimits that are not resource names.
const (
	// LimitUsersWithSignInActivity applies to /users when $select names signInActivity.
	LimitUsersWithSignInActivity = "users(signInActivity)"
	// LimitDelta is the page size of delta queries, which ignore $top; clients
	// may ask for less with "Prefer: odata.maxpagesize=N".
	LimitDelta = "delta"
)

// DefaultPageLimits returns the page sizes the emulator uses, by resource.
// Graph's documented figures where they exist (users 999, 500 with
// signInActivity, sign-ins 1,000, delta 200 objects per page); the Power
// Platform figures are unverified guesses.
func DefaultPageLimits() map[string]PageLimit {
	return map[string]PageLimit{
		"users":                            {100, 999},
		LimitUsersWithSignInActivity:       {100, 500},
		"groups":                           {100, 999},
		"members":                          {100, 999},
		"transitiveMembers":                {100, 999},
		"owners":                           {100, 999},
		"servicePrincipals":                {100, 999},
		"applications":                     {100, 999},
		"appRoleAssignments":               {100, 999},
		"appRoleAssignedTo":                {100, 999},
		"federatedIdentityCredentials":     {100, 999},
		"roleDefinitions":                  {999, 999},
		"roleAssignments":                  {100, 999},
		"policies":                         {999, 999},
		"namedLocations":                   {999, 999},
		"userRegistrationDetails":          {100, 999},
		"signIns":                          {1000, 1000},
		"servicePrincipalSignInActivities": {100, 1000},
		LimitDelta:                         {200, 200},
		"environments":                     {100, 100},
		"flows":                            {50, 50},
		"flowPermissions":                  {100, 100},
		"connections":                      {100, 100},
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 3599 * time.Second
	}
	if o.DeltaTokenLifetime <= 0 {
		o.DeltaTokenLifetime = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.TLSAddr == "" {
		o.TLSAddr = "127.0.0.1:0"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	limits := DefaultPageLimits()
	for k, v := range o.PageLimits {
		limits[k] = v
	}
	o.PageLimits = limits
	return o
}
