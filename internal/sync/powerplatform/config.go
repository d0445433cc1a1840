package powerplatform

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	stsync "github.com/steward-dev/steward/internal/sync"
)

// The public endpoints and token scopes of the Power Platform admin APIs
// (GRAPH.md §10).
const (
	DefaultBAPURL       = "https://api.bap.microsoft.com"
	DefaultFlowURL      = "https://api.flow.microsoft.com"
	DefaultPowerAppsURL = "https://api.powerapps.com"
	// DefaultPowerAppsScope is the scope of the BAP and PowerApps admin APIs.
	// The double slash is deliberate: the resource id ends with a slash and
	// Entra ID matches it literally.
	DefaultPowerAppsScope = "https://service.powerapps.com//.default"
	// DefaultFlowScope is the scope of the Flow admin API (same double slash).
	DefaultFlowScope = "https://service.flow.microsoft.com//.default"
)

// Defaults of the Config fields left zero.
const (
	DefaultConcurrency = 8
	// DefaultPermissionConcurrency is higher: a flow's owners are one
	// request per flow (30,000 on a large tenant), so at 8 workers and
	// Graph-like latencies they alone took 156 s of a 179 s throttled sync.
	// The admin APIs' own limits are not published (GRAPH.md §10); 429s are
	// retried after Retry-After.
	DefaultPermissionConcurrency  = 32
	DefaultRetryMax               = 4
	DefaultRetryBase              = time.Second
	DefaultRequestTimeout         = time.Minute
	DefaultDeltaPermissionsWindow = 7 * 24 * time.Hour
)

// Config configures a Source. Only Tokens is required; zero fields take the
// defaults above.
type Config struct {
	// BAPURL, FlowURL and PowerAppsURL are the API hosts, without a trailing
	// slash. Tests and the demo point all three at the emulator.
	BAPURL       string
	FlowURL      string
	PowerAppsURL string
	// PowerAppsScope is asked for BAP and PowerApps requests, FlowScope for
	// Flow requests.
	PowerAppsScope string
	FlowScope      string
	// Tokens issues the bearer tokens; it is asked once per request and is
	// expected to cache.
	Tokens stsync.TokenProvider
	// ApplicationID is the client id Steward signs in with. It is used only to
	// write a ready-to-run fix when the admin APIs refuse the app.
	ApplicationID string
	// HTTPClient sends the requests. The default keeps enough idle
	// connections for Concurrency workers.
	HTTPClient *http.Client
	// Concurrency is the number of workers listing environments' flows and
	// connections.
	Concurrency int
	// PermissionConcurrency is the number of workers fetching flow
	// permissions, one request per flow.
	PermissionConcurrency int
	// RetryMax is how many times a throttled (429), unavailable (502, 503,
	// 504), timed out or broken request is retried. Negative means never.
	RetryMax int
	// RetryBase is the first backoff when the answer has no Retry-After; it
	// doubles on each retry, with jitter, up to maxBackoff.
	RetryBase time.Duration
	// RequestTimeout bounds one attempt, body included.
	RequestTimeout time.Duration
	// RefreshInDelta makes delta runs list environments, flows and
	// connections too. By default they do not: the Power Platform admin APIs
	// have no change feed, so a delta run would cost as much as a full run
	// (on a 100,000-user tenant most of a delta run's time); full runs
	// (STEWARD_FULL_SYNC_EVERY, daily by default) refresh them, and sign-in
	// logs, which delta runs do read, show failing automation (AADSTS50076)
	// sooner than connection statuses do.
	RefreshInDelta bool
	// DeltaPermissionsWindow: a delta run fetches the permissions of flows
	// modified within this window only (there is no delta API for them).
	DeltaPermissionsWindow time.Duration
	// Now is the clock the delta window is measured from (default time.Now).
	Now func() time.Time
	// Log receives retries and a summary of each run; nil discards them.
	Log *slog.Logger
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	c.BAPURL = baseURL(c.BAPURL, DefaultBAPURL)
	c.FlowURL = baseURL(c.FlowURL, DefaultFlowURL)
	c.PowerAppsURL = baseURL(c.PowerAppsURL, DefaultPowerAppsURL)
	if c.PowerAppsScope == "" {
		c.PowerAppsScope = DefaultPowerAppsScope
	}
	if c.FlowScope == "" {
		c.FlowScope = DefaultFlowScope
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PermissionConcurrency <= 0 {
		c.PermissionConcurrency = DefaultPermissionConcurrency
	}
	switch {
	case c.RetryMax == 0:
		c.RetryMax = DefaultRetryMax
	case c.RetryMax < 0:
		c.RetryMax = 0
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.DeltaPermissionsWindow <= 0 {
		c.DeltaPermissionsWindow = DefaultDeltaPermissionsWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		// The default transport keeps 2 idle connections per host, which
		// would make the workers open and close connections all run long.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 2*c.Concurrency + c.PermissionConcurrency
		c.HTTPClient = &http.Client{Transport: t}
	}
	return c
}

func baseURL(s, def string) string {
	if s = strings.TrimRight(strings.TrimSpace(s), "/"); s == "" {
		return def
	}
	return s
}
