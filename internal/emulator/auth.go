package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// The emulated Entra ID: the OAuth2 client-credentials token endpoint, the
// OpenID configuration and keys MSAL reads first, and MSAL's instance
// discovery. Tokens are bound to an audience, derived from the requested
// scope, and each API accepts only its own audiences.

// audiences maps resources (as scopes name them, without /.default) to the
// audience they grant and the aud claim written in the token.
var audiences = []struct {
	aud   audience
	claim string
	names []string
}{
	{audGraph, "https://graph.microsoft.com", []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}},
	{audPowerApps, "https://service.powerapps.com/", []string{"https://service.powerapps.com", "475226c6-020e-4fb2-8a90-7a972cbfc1d4"}},
	{audFlow, "https://service.flow.microsoft.com/", []string{"https://service.flow.microsoft.com", "7df0a125-d3be-4c96-aa54-591f83ff541c"}},
	{audPPAPI, "https://api.powerplatform.com", []string{"https://api.powerplatform.com", "8578e004-a5c6-46e7-913e-12f58912df43"}},
}

// audienceOf returns the audience of a resource ("https://graph.microsoft.com",
// "https://service.powerapps.com/", …) and the aud claim to write.
func audienceOf(resource string) (audience, string, bool) {
	r := strings.TrimRight(strings.TrimSpace(resource), "/")
	for _, a := range audiences {
		for _, n := range a.names {
			if strings.EqualFold(r, n) {
				return a.aud, a.claim, true
			}
		}
	}
	return 0, "", false
}

// audienceOfClaim returns the audience an aud claim grants.
func audienceOfClaim(claim string) audience {
	a, _, _ := audienceOf(claim)
	return a
}

// authenticate checks a request's bearer token for the route's audiences and
// returns the caller's client id.
func (e *Emulator) authenticate(header string, allowed audience, now time.Time) (string, *apiError) {
	unauthorized := func(msg string) (string, *apiError) {
		return "", errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "%s", msg)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return unauthorized("Access token is empty.")
	}
	c, ok := e.signer.verify(token)
	if !ok {
		return unauthorized("Access token validation failure. Invalid signature or malformed token.")
	}
	switch {
	case now.Unix() >= c.Exp:
		return unauthorized("Lifetime validation failed, the token is expired.")
	case now.Unix() < c.Nbf-300: // Entra ID allows five minutes of clock skew
		return unauthorized("Lifetime validation failed, the token is not yet valid.")
	case audienceOfClaim(c.Aud)&allowed == 0:
		return unauthorized("Access token validation failure. Invalid audience.")
	case !directory.SameID(c.Tid, e.TenantID()):
		return unauthorized("Access token validation failure. Invalid tenant.")
	}
	return c.AppID, nil
}

// IssueToken returns an access token of the first registered client for an
// audience, for tests that skip the OAuth exchange. audience is a resource
// ("https://graph.microsoft.com") or a scope ("…/.default"); an unknown one
// is written as it is, which makes a token every API refuses.
func (e *Emulator) IssueToken(audience string) string {
	return e.IssueTokenFor(e.Client().ID, audience)
}

// IssueTokenFor is IssueToken for a given client id (throttling is per client).
func (e *Emulator) IssueTokenFor(clientID, audience string) string {
	resource := strings.TrimSuffix(strings.TrimSpace(audience), "/.default")
	_, claim, ok := audienceOf(resource)
	if !ok {
		claim = resource
	}
	return e.issue(directory.ID(clientID), claim, "1")
}

// issue signs an app-only token shaped like Entra ID's v1 tokens for Graph.
func (e *Emulator) issue(clientID, aud, appidacr string) string {
	now := e.opts.Now()
	tid := e.TenantID()
	oid := clientID
	for _, sp := range e.cur.Load().items(directory.ServicePrincipals) {
		if sp.obj.(*directory.ServicePrincipal).AppID == clientID {
			oid = sp.key
			break
		}
	}
	e.stats.tokens.Add(1)
	return e.signer.sign(map[string]any{
		"aud":      aud,
		"iss":      "https://sts.windows.net/" + tid + "/",
		"iat":      now.Unix(),
		"nbf":      now.Unix(),
		"exp":      now.Add(e.opts.TokenLifetime).Unix(),
		"appid":    clientID,
		"appidacr": appidacr,
		"idp":      "https://sts.windows.net/" + tid + "/",
		"idtyp":    "app",
		"oid":      oid,
		"sub":      oid,
		"tid":      tid,
		"uti":      strings.TrimRight(base64.RawURLEncoding.EncodeToString(randomBytes(16)), "="),
		"ver":      "1.0",
	})
}

// knownTenant reports whether a tenant path segment names the served tenant
// (its id or its default domain).
func (c *call) knownTenant(seg string) bool {
	return directory.SameID(seg, c.t.info.ID) || (c.t.info.DefaultDomain != "" && strings.EqualFold(seg, c.t.info.DefaultDomain))
}

// oauthError answers in Entra ID's token endpoint error shape.
func (c *call) oauthError(status int, code string, aadsts int, msg string) *response {
	ts := c.now.UTC().Format("2006-01-02 15:04:05Z")
	cid := c.header.Get("client-request-id")
	if cid == "" {
		cid = c.reqID
	}
	body, _ := json.Marshal(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, c.reqID, cid, ts),
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          c.reqID,
		"correlation_id":    cid,
		"error_uri":         fmt.Sprintf("%s/error?code=%d", c.base, aadsts),
	})
	return &response{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Cache-Control": {"no-store, no-cache"}}, body: body}
}

// token is POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials,
// authenticated by a client secret or a client assertion.
func (c *call) token() *response {
	tenant := c.params["tenant"]
	if !c.knownTenant(tenant) {
		return c.oauthError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	}
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return c.oauthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.")
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if id, pw, ok := basicAuth(c.header.Get("Authorization")); ok { // client_secret_basic
		clientID, secret = id, pw
	}
	switch grant := form.Get("grant_type"); {
	case grant == "":
		return c.oauthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	case grant != "client_credentials":
		return c.oauthError(http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
	case clientID == "":
		return c.oauthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	client, ok := c.e.clients[directory.ID(clientID)]
	if !ok {
		return c.oauthError(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", clientID, c.t.info.ID))
	}
	claim, resp := c.scopeAudience(form.Get("scope"))
	if resp != nil {
		return resp
	}
	appidacr := "1"
	switch assertion := form.Get("client_assertion"); {
	case assertion != "":
		// MSAL sends the RFC 7523 client-assertion-type; the grant-type URN is
		// accepted too, as some hand-written clients send it.
		switch form.Get("client_assertion_type") {
		case "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:jwt-bearer":
		default:
			return c.oauthError(http.StatusBadRequest, "invalid_request", 50027, "Invalid client_assertion_type: want urn:ietf:params:oauth:client-assertion-type:jwt-bearer.")
		}
		if msg := c.checkAssertion(assertion, clientID); msg != "" {
			return c.oauthError(http.StatusUnauthorized, "invalid_client", 700027, msg)
		}
		appidacr = "2"
	case secret != "":
		if subtle.ConstantTimeCompare([]byte(secret), []byte(client.Secret)) != 1 || client.Secret == "" {
			return c.oauthError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		}
	default:
		return c.oauthError(http.StatusUnauthorized, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
	}
	seconds := int(c.e.opts.TokenLifetime / time.Second)
	r := marshalResponse(map[string]any{
		"token_type":     "Bearer",
		"expires_in":     seconds,
		"ext_expires_in": seconds,
		"access_token":   c.e.issue(directory.ID(clientID), claim, appidacr),
	})
	r.header.Set("Cache-Control", "no-store, no-cache")
	r.header.Set("Pragma", "no-cache")
	return r
}

// scopeAudience reads the scope of a client-credentials request: exactly one
// resource with /.default (MSAL may add openid, profile and offline_access).
func (c *call) scopeAudience(scope string) (string, *response) {
	var resource string
	for _, s := range strings.Fields(scope) {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access":
			continue
		}
		r, ok := strings.CutSuffix(s, "/.default")
		if !ok || resource != "" {
			return "", c.oauthError(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		}
		resource = r
	}
	if resource == "" {
		return "", c.oauthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	_, claim, ok := audienceOf(resource)
	if !ok {
		return "", c.oauthError(http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", resource, c.t.info.ID))
	}
	return claim, nil
}

// checkAssertion checks a client assertion's shape and claims: a JWT whose
// iss and sub are the client id, not expired. Its signature is NOT verified:
// the emulator has no registered certificates to verify it against, and what
// it stands in for is Entra ID, which the tests do not need to distrust.
func (c *call) checkAssertion(assertion, clientID string) string {
	claims, ok := parseJWT(assertion)
	if !ok {
		return "Client assertion is not a well-formed JWT."
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if (!directory.SameID(iss, clientID) || !directory.SameID(sub, clientID)) && !c.federated(clientID, iss, sub) {
		return fmt.Sprintf("Client assertion contains an invalid signature or claims: iss and sub must be the client id %s, or match a federated identity credential of the application.", clientID)
	}
	if exp, ok := claims["exp"].(float64); ok && float64(c.now.Unix()) > exp {
		return "Client assertion is expired."
	}
	return ""
}

func basicAuth(h string) (id, secret string, ok bool) {
	scheme, v, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(b), ":")
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	return id, secret, ok
}

// openIDConfiguration is the document MSAL reads before asking for a token.
// Every endpoint points back at the emulator, on the scheme and host the
// client used: MSAL requires the issuer's host to be the authority's.
func (c *call) openIDConfiguration() *response {
	tenant := c.params["tenant"]
	tid := c.t.info.ID
	switch {
	case c.knownTenant(tenant):
	case strings.EqualFold(tenant, "common") || strings.EqualFold(tenant, "organizations"):
		tid = "{tenantid}"
	default:
		return c.oauthError(http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
	}
	base := c.base + "/" + tenant
	return marshalResponse(map[string]any{
		"issuer":                                c.base + "/" + tid + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"userinfo_endpoint":                     c.base + "/oidc/userinfo",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid", "oid", "appid"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          strings.TrimPrefix(strings.TrimPrefix(c.base, "https://"), "http://"),
		"rbac_url":                              "https://pas.windows.net",
	})
}

// keys publishes the token signing key.
func (c *call) keys() *response {
	return marshalResponse(map[string]any{"keys": []map[string]string{c.e.signer.jwk()}})
}

// instanceDiscovery answers MSAL's instance discovery with the emulator as
// its own (and only) alias.
func (c *call) instanceDiscovery() *response {
	values, _ := url.ParseQuery(c.rawQ)
	tenant := "common"
	if ae, err := url.Parse(values.Get("authorization_endpoint")); err == nil {
		if parts := split(ae.Path); len(parts) > 0 && parts[0] != "" {
			tenant = parts[0]
		}
	}
	host := strings.TrimPrefix(strings.TrimPrefix(c.base, "https://"), "http://")
	return marshalResponse(map[string]any{
		"tenant_discovery_endpoint": c.base + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

// federated reports whether an external token's issuer and subject match a
// federated identity credential of the application with this client id:
// workload identity federation (GitHub Actions, Kubernetes, …), the way
// Steward itself prefers to sign in.
func (c *call) federated(clientID, iss, sub string) bool {
	for _, e := range c.t.items(directory.Applications) {
		app := e.obj.(*directory.Application)
		if !directory.SameID(app.AppID, clientID) {
			continue
		}
		for _, f := range app.FederatedIdentityCredentials {
			if f.Issuer == iss && f.Subject == sub {
				return true
			}
		}
	}
	return false
}
