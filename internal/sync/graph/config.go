package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Config configures a Source. Only Credential is required; zero fields take
// the defaults documented on each.
type Config struct {
	// TenantID is the Entra tenant the source reads; a Request naming another
	// tenant is refused, so one source never fetches for the wrong tenant.
	TenantID string
	// GraphURL is the Graph root, https://graph.microsoft.com by default; a
	// sovereign cloud's root (https://graph.microsoft.us, …) or the emulator's
	// (http://127.0.0.1:PORT). A trailing /v1.0 is accepted. v1.0 and beta
	// requests go to GraphURL/v1.0 and GraphURL/beta.
	GraphURL string
	// Scope is the token scope, by default GraphURL's root + "/.default" for
	// the Microsoft Graph clouds and https://graph.microsoft.com/.default for
	// any other host (the emulator issues Graph tokens for that audience).
	Scope string
	// Credential obtains Graph tokens (see CredentialFromEnv).
	Credential azcore.TokenCredential
	// HTTPClient, when it has a Transport, supplies the transport under the
	// SDK's middleware pipeline (a proxy, or a TLS configuration trusting the
	// emulator's certificate). Its Timeout is ignored: see RequestTimeout.
	HTTPClient *http.Client
	// Concurrency is how many $batch requests (owners, app role assignments,
	// federated credentials) run at once (default 4). Collections always run
	// concurrently; each listing pages sequentially.
	Concurrency int
	// RetryMax is how many times the SDK's RetryHandler retries a request
	// answered 429, 503 or 504 (default 5, at most 10), and how many times a
	// throttled request inside a $batch is retried.
	RetryMax int
	// RetryDelay is the base of the exponential back-off when Graph sends no
	// Retry-After (default 3 s). The SDK counts whole seconds: it is rounded
	// up, to at least 1 s.
	RetryDelay time.Duration
	// RequestTimeout bounds each attempt of a request, headers and body
	// (default 60 s). Retries and Retry-After waits are not counted in it.
	RequestTimeout time.Duration
	// SignInDays is the sign-in log window when a Request sets no
	// SignInsSince (default 30 days, what Entra ID P1/P2 keeps).
	SignInDays int
	// UsersPageSize is $top for /users with signInActivity (default 500, the
	// maximum Graph accepts with it; older documentation said 120).
	UsersPageSize int
	// PageSize is $top for the other listings that accept one (default 999).
	PageSize int
	// SignInsPageSize is $top for sign-in logs (default 1,000, the maximum).
	SignInsPageSize int
	// ResourceUnitsPer10s is the client-side resource-unit budget per 10 s
	// shared by every request of the source (default 8,000: Graph's limit for
	// tenants above 500 users; smaller tenants get 3,500 or 5,000, and their
	// 429s are retried after Retry-After).
	ResourceUnitsPer10s int
	// ConditionalAccessPerSecond paces Conditional Access requests (default 1,
	// Graph's per-tenant limit, whose 429s carry no Retry-After).
	ConditionalAccessPerSecond float64
	// SignInRequestsPer10s paces sign-in log requests (default 5).
	SignInRequestsPer10s int
	// Log receives progress and fallbacks; nil discards.
	Log *slog.Logger
}

// DefaultGraphURL is the Graph root of Microsoft's global cloud.
const DefaultGraphURL = "https://graph.microsoft.com"

// Defaults of the other Config fields.
const (
	defaultConcurrency    = 4
	defaultRetryMax       = 5
	maxRetries            = 10 // the SDK's absolute maximum
	defaultRetryDelay     = 3 * time.Second
	defaultRequestTimeout = 60 * time.Second
	defaultSignInDays     = 30
	defaultUsersPageSize  = 500
	defaultPageSize       = 999
	defaultSignInsPage    = 1000
	defaultRUPer10s       = 8000
	defaultCAPerSecond    = 1
	defaultSignInsPer10s  = 5
)

// graphClouds are the Microsoft Graph roots whose tokens are asked for with
// their own root as the scope.
var graphClouds = []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
	"graph.microsoft.de", "microsoftgraph.chinacloudapi.cn", "canary.graph.microsoft.com"}

// endpoints are the URLs derived from Config.GraphURL.
type endpoints struct {
	root  string // scheme://host[/path], no version
	v1    string // root + /v1.0: the SDK's base URL
	beta  string // root + /beta
	host  string // the host name the auth provider may send tokens to
	scope string
}

func (c Config) withDefaults() (Config, endpoints, error) {
	if c.Credential == nil {
		return c, endpoints{}, errors.New("graph: no credential (see graph.CredentialFromEnv)")
	}
	if c.GraphURL == "" {
		c.GraphURL = DefaultGraphURL
	}
	c.Concurrency = positive(c.Concurrency, defaultConcurrency)
	c.RetryMax = min(positive(c.RetryMax, defaultRetryMax), maxRetries)
	if c.RetryDelay <= 0 {
		c.RetryDelay = defaultRetryDelay
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = defaultRequestTimeout
	}
	c.SignInDays = positive(c.SignInDays, defaultSignInDays)
	c.UsersPageSize = positive(c.UsersPageSize, defaultUsersPageSize)
	c.PageSize = positive(c.PageSize, defaultPageSize)
	c.SignInsPageSize = positive(c.SignInsPageSize, defaultSignInsPage)
	c.ResourceUnitsPer10s = positive(c.ResourceUnitsPer10s, defaultRUPer10s)
	if c.ConditionalAccessPerSecond <= 0 {
		c.ConditionalAccessPerSecond = defaultCAPerSecond
	}
	c.SignInRequestsPer10s = positive(c.SignInRequestsPer10s, defaultSignInsPer10s)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}

	root := strings.TrimRight(c.GraphURL, "/")
	root = strings.TrimSuffix(root, "/v1.0")
	root = strings.TrimSuffix(root, "/beta")
	u, err := url.Parse(root)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return c, endpoints{}, fmt.Errorf("graph: GraphURL %q is not an absolute http(s) URL", c.GraphURL)
	}
	ep := endpoints{root: root, v1: root + "/v1.0", beta: root + "/beta", host: u.Hostname(), scope: c.Scope}
	if ep.scope == "" {
		ep.scope = "https://graph.microsoft.com/.default"
		for _, h := range graphClouds {
			if strings.EqualFold(u.Hostname(), h) {
				ep.scope = "https://" + u.Host + "/.default"
			}
		}
	}
	return c, ep, nil
}

func positive(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
