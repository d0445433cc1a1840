package emulator_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/emulator"
)

var client = emulator.Client{ID: "aaaaaaaa-0000-0000-0000-000000000001", Secret: "s3cret~value"}

// tokenRequest posts a client-credentials form and decodes the answer.
func (h *harness) tokenRequest(endpoint string, form url.Values) (int, map[string]any) {
	h.t.Helper()
	resp, b := h.do(http.MethodPost, endpoint, "", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		h.t.Fatalf("token endpoint answered %d with %s", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func secretForm(secret, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "client_secret": {secret}, "scope": {scope}}
}

func TestTokenEndpoint(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Clients: []emulator.Client{client, {ID: appID(1)}}})
	endpoint := h.r.TokenURL()
	if !strings.HasPrefix(endpoint, "https://127.0.0.1:") {
		t.Fatalf("token endpoint %s is not on TLS", endpoint)
	}

	status, body := h.tokenRequest(endpoint, secretForm(client.Secret, "https://graph.microsoft.com/.default"))
	if status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 3599.0 || body["ext_expires_in"] != 3599.0 {
		t.Fatalf("token: %d %v", status, body)
	}
	graphToken := body["access_token"].(string)
	if resp, b := h.do(http.MethodGet, "/v1.0/users", graphToken, nil); resp.StatusCode != 200 {
		t.Errorf("Graph with an issued token: %d %s", resp.StatusCode, b)
	}
	// The same over TLS, with the emulator's certificate.
	if resp, b := h.do(http.MethodGet, h.r.TLSURL+"/v1.0/users", graphToken, nil); resp.StatusCode != 200 {
		t.Errorf("Graph over TLS: %d %s", resp.StatusCode, b)
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
		aadsts string
	}{
		{"wrong secret", secretForm("wrong", "https://graph.microsoft.com/.default"), 401, "invalid_client", "AADSTS7000215: Invalid client secret provided"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"bbbbbbbb-0000-0000-0000-000000000000"}, "client_secret": {"x"},
			"scope": {"https://graph.microsoft.com/.default"}}, 400, "unauthorized_client", "AADSTS700016"},
		{"no secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "scope": {"https://graph.microsoft.com/.default"}},
			401, "invalid_client", "AADSTS7000216"},
		{"scope without .default", secretForm(client.Secret, "https://graph.microsoft.com/User.Read.All"), 400, "invalid_scope", "AADSTS1002012"},
		{"unknown resource", secretForm(client.Secret, "https://example.com/.default"), 400, "invalid_resource", "AADSTS500011"},
		{"other grant", url.Values{"grant_type": {"password"}, "client_id": {client.ID}}, 400, "unsupported_grant_type", "AADSTS70003"},
	} {
		status, body := h.tokenRequest(endpoint, tc.form)
		desc, _ := body["error_description"].(string)
		if status != tc.status || body["error"] != tc.code || !strings.HasPrefix(desc, tc.aadsts) || body["trace_id"] == "" {
			t.Errorf("%s: %d %v, want %d %s %s…", tc.name, status, body, tc.status, tc.code, tc.aadsts)
		}
	}
	if status, body := h.tokenRequest(h.r.AuthorityHost+"99999999-0000-0000-0000-000000000000/oauth2/v2.0/token",
		secretForm(client.Secret, "https://graph.microsoft.com/.default")); status != 400 || !strings.Contains(fmt.Sprint(body["error_description"]), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %v", status, body)
	}
	// The tenant may be named by its domain, and the scope may be the resource's app id.
	if status, body := h.tokenRequest(h.r.AuthorityHost+"contoso.com/oauth2/v2.0/token",
		secretForm(client.Secret, "00000003-0000-0000-c000-000000000000/.default")); status != 200 {
		t.Errorf("tenant by domain: %d %v", status, body)
	}

	// A client assertion: a JWT whose iss and sub are the client id.
	jwt := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"RS256","typ":"JWT","x5t":"abc"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
	}
	exp := time.Now().Add(time.Hour).Unix()
	assertion := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "scope": {"https://service.flow.microsoft.com//.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {jwt(fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":%q,"exp":%d}`, client.ID, client.ID, endpoint, exp))}}
	status, body = h.tokenRequest(endpoint, assertion)
	if status != 200 {
		t.Fatalf("client assertion: %d %v", status, body)
	}
	flowToken := body["access_token"].(string)
	if resp, b := h.do(http.MethodGet, "/providers/Microsoft.ProcessSimple/scopes/admin/environments/"+envDefault+"/v2/flows?api-version=2016-11-01",
		flowToken, nil); resp.StatusCode != 200 {
		t.Errorf("Flow with an assertion token: %d %s", resp.StatusCode, b)
	}
	assertion.Set("client_assertion", jwt(fmt.Sprintf(`{"iss":"someone-else","sub":%q,"exp":%d}`, client.ID, exp)))
	if status, body := h.tokenRequest(endpoint, assertion); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("assertion from another issuer: %d %v", status, body)
	}
	// Workload identity federation: an external token matching a federated
	// identity credential of the application.
	federated := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID(1)}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {jwt(fmt.Sprintf(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:contoso/payroll:ref:refs/heads/main","exp":%d}`, exp))}}
	if status, body := h.tokenRequest(endpoint, federated); status != 200 {
		t.Errorf("federated credential: %d %v", status, body)
	}
	federated.Set("client_assertion", jwt(fmt.Sprintf(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:evil/fork:ref:refs/heads/main","exp":%d}`, exp)))
	if status, _ := h.tokenRequest(endpoint, federated); status != 401 {
		t.Errorf("federated credential with another subject: %d", status)
	}
	assertion.Set("client_assertion", "not-a-jwt")
	if status, _ := h.tokenRequest(endpoint, assertion); status != 401 {
		t.Errorf("malformed assertion: %d", status)
	}
}

func TestTokenEndpoint_overTLSOnly(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Clients: []emulator.Client{client}})
	// A client that does not trust the emulator's certificate fails.
	if _, err := http.Post(h.r.TokenURL(), "application/x-www-form-urlencoded", nil); err == nil {
		t.Error("an untrusting client reached the TLS endpoint")
	}
	// One built from the emulator's pool succeeds.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.e.CertPool()}}}
	resp, err := c.PostForm(h.r.TokenURL(), secretForm(client.Secret, "https://graph.microsoft.com/.default"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" {
		t.Errorf("token over TLS: %d %+v", resp.StatusCode, resp.TLS)
	}
	// localhost is a valid name too.
	local := strings.Replace(h.r.TokenURL(), "127.0.0.1", "localhost", 1)
	if resp, err := c.PostForm(local, secretForm(client.Secret, "https://graph.microsoft.com/.default")); err != nil {
		t.Errorf("token at localhost: %v", err)
	} else {
		resp.Body.Close()
	}
}

func TestDiscovery(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	for _, path := range []string{"/" + tenantID + "/v2.0/.well-known/openid-configuration", "/" + tenantID + "/.well-known/openid-configuration"} {
		resp, b := h.do(http.MethodGet, h.r.TLSURL+path, "", nil)
		var cfg map[string]any
		json.Unmarshal(b, &cfg)
		if resp.StatusCode != 200 || cfg["issuer"] != h.r.TLSURL+"/"+tenantID+"/v2.0" ||
			cfg["token_endpoint"] != h.r.TokenURL() || cfg["jwks_uri"] == nil || cfg["authorization_endpoint"] == nil {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	resp, b := h.do(http.MethodGet, h.r.TLSURL+"/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape(h.r.TLSURL+"/"+tenantID+"/oauth2/v2.0/authorize"), "", nil)
	host := strings.TrimPrefix(h.r.TLSURL, "https://")
	want := fmt.Sprintf(`{"api-version":"1.1","metadata":[{"aliases":[%q],"preferred_cache":%q,"preferred_network":%q}],"tenant_discovery_endpoint":%q}`,
		host, host, host, h.r.TLSURL+"/"+tenantID+"/v2.0/.well-known/openid-configuration")
	if resp.StatusCode != 200 || string(b) != want {
		t.Errorf("instance discovery: %d %s\nwant %s", resp.StatusCode, b, want)
	}
	resp, b = h.do(http.MethodGet, h.r.TLSURL+"/"+tenantID+"/discovery/v2.0/keys", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"kty":"EC"`) {
		t.Errorf("keys: %d %s", resp.StatusCode, b)
	}
}

func TestAudiences(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	graph := "/v1.0/users"
	bap := "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01"
	flows := "/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envDefault + "/v2/flows?api-version=2016-11-01"
	conns := "/providers/Microsoft.PowerApps/scopes/admin/environments/" + envDefault + "/connections?api-version=2016-11-01"
	expired, err := emulator.New(fixture(t, 6), emulator.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		ok    []string
		no    []string
	}{
		{"", nil, []string{graph, bap, flows, conns}},
		{"not.a.token", nil, []string{graph, bap}},
		{h.e.IssueToken(graphAud), []string{graph}, []string{bap, flows, conns}},
		{h.e.IssueToken(appsAud), []string{bap, conns}, []string{graph, flows}},
		{h.e.IssueToken("https://service.powerapps.com//.default"), []string{bap, conns}, []string{graph, flows}},
		{h.e.IssueToken(flowAud), []string{flows}, []string{graph, bap, conns}},
		{h.e.IssueToken(ppAud), []string{bap, flows, conns}, []string{graph}},
		{h.e.IssueToken("https://example.com"), nil, []string{graph, bap, flows, conns}},
		{expired.IssueToken(graphAud), nil, []string{graph}}, // signed by another emulator, and expired
	} {
		for _, p := range tc.ok {
			if resp, b := h.do(http.MethodGet, p, tc.token, nil); resp.StatusCode != 200 {
				t.Errorf("%s with %.20s…: %d %s", p, tc.token, resp.StatusCode, b)
			}
		}
		for _, p := range tc.no {
			resp, b := h.do(http.MethodGet, p, tc.token, nil)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %.20s…: %d, want 401", p, tc.token, resp.StatusCode)
				continue
			}
			wantGraphError(t, b, "InvalidAuthenticationToken")
		}
	}
	// Admin and discovery endpoints need no token.
	if resp, _ := h.do(http.MethodGet, "/_emulator/stats", "", nil); resp.StatusCode != 200 {
		t.Errorf("stats without a token: %d", resp.StatusCode)
	}
}

func TestTokenLifetime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var later bool
	clock := func() time.Time {
		if later {
			return now.Add(time.Hour)
		}
		return now
	}
	e, err := emulator.New(fixture(t, 6), emulator.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	token := e.IssueToken(graphAud)
	later = true
	h := &harness{t: t, e: e}
	r, err := e.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h.r, h.client = r, r.HTTPClient()
	resp, b := h.do(http.MethodGet, "/v1.0/users", token, nil)
	if resp.StatusCode != 401 || !strings.Contains(string(b), "expired") {
		t.Errorf("expired token: %d %s", resp.StatusCode, b)
	}
}
