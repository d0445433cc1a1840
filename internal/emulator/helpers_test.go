package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
)

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	graphAud = "https://graph.microsoft.com"
	flowAud  = "https://service.flow.microsoft.com/"
	appsAud  = "https://service.powerapps.com/"
	ppAud    = "https://api.powerplatform.com"
)

// Ids of the fixture's objects.
func userID(i int) string  { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }
func groupID(i int) string { return fmt.Sprintf("00000000-0000-0000-0001-%012d", i) }
func spID(i int) string    { return fmt.Sprintf("00000000-0000-0000-0002-%012d", i) }
func appID(i int) string   { return fmt.Sprintf("00000000-0000-0000-0003-%012d", i) }

const (
	envDefault = "default-11111111-2222-3333-4444-555555555555"
	envProd    = "prod-1"
)

func ptr[T any](v T) *T { return &v }

func at(s string) directory.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return directory.NewTime(t)
}

func ref(kind, id string) directory.Ref {
	return directory.Ref{ODataType: directory.ODataType(kind), ID: id}
}

// mustDecode builds an object from JSON, as the snapshot reader does, so it
// carries Raw with fields Steward does not model.
func mustDecode[T any, P interface {
	*T
	directory.Object
}](t testing.TB, s string) T {
	t.Helper()
	v, err := directory.Decode[T, P]([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fixture is a small tenant with users users (at least 6) and one of
// everything else.
func fixture(t testing.TB, users int) *directory.Snapshot {
	t.Helper()
	s := &directory.Snapshot{Tenant: directory.Tenant{ID: tenantID, DisplayName: "Contoso", DefaultDomain: "contoso.com",
		CapturedAt: at("2025-06-01T00:00:00Z")}}
	for i := 1; i <= users; i++ {
		u := directory.User{ID: userID(i), DisplayName: fmt.Sprintf("User %d", i), UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i),
			AccountEnabled: ptr(i%7 != 0), UserType: "Member",
			SignInActivity: &directory.UserSignInActivity{LastSignInDateTime: at("2025-05-01T10:00:00Z")}}
		if i == 1 {
			// Read from JSON: a field Steward does not model must survive.
			u = mustDecode[directory.User](t, fmt.Sprintf(`{"id":%q,"displayName":"User 1","userPrincipalName":"user1@contoso.com",
				"accountEnabled":true,"userType":"Member","employeeOrgData":{"division":"Ops"},"mail":"user1@contoso.com",
				"signInActivity":{"lastSignInDateTime":"2025-05-01T10:00:00Z"}}`, userID(1)))
		}
		s.Users = append(s.Users, u)
	}
	s.Groups = []directory.Group{
		{ID: groupID(1), DisplayName: "Service accounts", SecurityEnabled: ptr(true)},
		{ID: groupID(2), DisplayName: "MFA exclusions", SecurityEnabled: ptr(true)},
		{ID: groupID(3), DisplayName: "Empty", SecurityEnabled: ptr(true)},
	}
	s.GroupMembers = []directory.GroupMembership{
		{GroupID: groupID(1), Members: []directory.Ref{ref("user", userID(1)), ref("user", userID(2)), ref("user", userID(3))}},
		{GroupID: groupID(2), Members: []directory.Ref{ref("group", groupID(1)), ref("user", userID(4)), ref("servicePrincipal", spID(1))}},
	}
	s.RoleDefinitions = []directory.RoleDefinition{{ID: "62e90394-69f5-4237-9190-012177145e10", DisplayName: "Global Administrator",
		TemplateID: "62e90394-69f5-4237-9190-012177145e10", IsBuiltIn: ptr(true)}}
	s.RoleAssignments = []directory.RoleAssignment{{ID: "ra-1", PrincipalID: userID(1), RoleDefinitionID: "62e90394-69f5-4237-9190-012177145e10", DirectoryScopeID: "/"}}
	s.ServicePrincipals = []directory.ServicePrincipal{
		{ID: spID(1), AppID: appID(1), DisplayName: "Payroll sync", ServicePrincipalType: "Application", AppOwnerOrganizationID: tenantID, AccountEnabled: ptr(true)},
		{ID: spID(2), AppID: appID(2), DisplayName: "func-payroll", ServicePrincipalType: "ManagedIdentity", AccountEnabled: ptr(true)},
		{ID: spID(3), AppID: "00000003-0000-0000-c000-000000000000", DisplayName: "Microsoft Graph", ServicePrincipalType: "Application",
			AppOwnerOrganizationID: directory.MicrosoftTenantID},
	}
	s.Applications = []directory.Application{{ID: "00000000-0000-0000-0004-000000000001", AppID: appID(1), DisplayName: "Payroll sync",
		FederatedIdentityCredentials: []directory.FederatedIdentityCredential{{ID: "fic-1", Name: "github", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:contoso/payroll:ref:refs/heads/main", Audiences: []string{"api://AzureADTokenExchange"}}}}}
	s.AppRoleAssignments = []directory.AppRoleAssignment{{ID: "ara-1", PrincipalID: spID(1), PrincipalType: "ServicePrincipal", ResourceID: spID(3),
		ResourceDisplayName: "Microsoft Graph", AppRoleID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61"}}
	s.Owners = []directory.Ownership{
		{ObjectID: spID(1), Owners: []directory.Ref{ref("user", userID(1))}},
		{ObjectID: "00000000-0000-0000-0004-000000000001", Owners: []directory.Ref{ref("user", userID(2))}},
	}
	s.ConditionalAccessPolicies = []directory.ConditionalAccessPolicy{
		{ID: "00000000-0000-0000-0005-000000000001", DisplayName: "Require MFA", State: directory.StateEnabled},
		{ID: "00000000-0000-0000-0005-000000000002", DisplayName: "Block legacy", State: directory.StateReportOnly},
	}
	s.NamedLocations = []directory.NamedLocation{
		{ODataType: "#microsoft.graph.ipNamedLocation", ID: "00000000-0000-0000-0006-000000000001", DisplayName: "Office", IsTrusted: ptr(true),
			IPRanges: []directory.IPRange{{CIDRAddress: "203.0.113.0/24"}}},
		{ODataType: "#microsoft.graph.countryNamedLocation", ID: "00000000-0000-0000-0006-000000000002", DisplayName: "Home", CountriesAndRegions: []string{"FR"}},
	}
	s.RegistrationDetails = []directory.RegistrationDetail{
		{ID: userID(1), UserPrincipalName: "user1@contoso.com", IsMfaRegistered: ptr(true)},
		{ID: userID(2), UserPrincipalName: "user2@contoso.com", IsMfaRegistered: ptr(false)},
		{ID: userID(3), UserPrincipalName: "user3@contoso.com", IsMfaRegistered: ptr(false)},
	}
	s.SignIns = []directory.SignIn{
		{ID: "si-1", CreatedDateTime: at("2025-05-01T10:00:00Z"), UserID: userID(1), SignInEventTypes: []string{"interactiveUser"}},
		{ID: "si-2", CreatedDateTime: at("2025-05-03T10:00:00Z"), UserID: userID(1), SignInEventTypes: []string{"nonInteractiveUser"}},
		{ID: "si-3", CreatedDateTime: at("2025-05-02T10:00:00Z"), UserID: userID(2), SignInEventTypes: []string{"interactiveUser"}},
		{ID: "si-4", CreatedDateTime: at("2025-05-04T10:00:00Z"), ServicePrincipalID: spID(1), SignInEventTypes: []string{"servicePrincipal"}},
		{ID: "si-5", CreatedDateTime: at("2025-05-05T10:00:00Z"), UserID: userID(2), SignInEventTypes: []string{"nonInteractiveUser"},
			Status: &directory.SignInStatus{ErrorCode: 50076}},
		{ID: "si-6", CreatedDateTime: at("2025-04-30T10:00:00Z"), ServicePrincipalID: spID(2), SignInEventTypes: []string{"managedIdentity"}},
	}
	s.ServicePrincipalSignInActivities = []directory.ServicePrincipalSignInActivity{{ID: "spa-1", AppID: appID(1),
		LastSignInActivity: &directory.SignInActivity{LastSignInDateTime: at("2025-05-04T10:00:00Z")}}}
	s.Environments = []directory.Environment{
		{Name: envDefault, Properties: directory.EnvironmentProperties{DisplayName: "Contoso (default)", EnvironmentSku: "Default"}},
		{Name: envProd, Properties: directory.EnvironmentProperties{DisplayName: "Production", EnvironmentSku: "Production"}},
	}
	for i := 1; i <= 5; i++ {
		s.Flows = append(s.Flows, directory.Flow{Name: fmt.Sprintf("00000000-0000-0000-0007-%012d", i),
			Properties: directory.FlowProperties{DisplayName: fmt.Sprintf("Flow %d", i), State: "Started",
				Environment: &directory.EnvironmentRef{Name: envDefault}, Creator: &directory.FlowCreator{ObjectID: userID(1)}}})
	}
	s.FlowPermissions = []directory.FlowPermissionSet{{FlowName: "00000000-0000-0000-0007-000000000001", Environment: envDefault,
		Permissions: []directory.FlowPermission{
			{Name: "p1", Properties: directory.FlowPermissionProperties{RoleName: "Owner", Principal: directory.PPPrincipal{ID: userID(1), Type: "User"}}},
			{Name: "p2", Properties: directory.FlowPermissionProperties{RoleName: "CanEdit", Principal: directory.PPPrincipal{ID: spID(1), Type: "ServicePrincipal"}}},
		}}}
	s.Connections = []directory.Connection{
		{Name: "shared-office365-1", Properties: directory.ConnectionProperties{APIID: "/providers/Microsoft.PowerApps/apis/shared_office365",
			OverallStatus: "Error", Environment: &directory.EnvironmentRef{Name: envDefault}}},
		{Name: "shared-sql-1", Properties: directory.ConnectionProperties{APIID: "/providers/Microsoft.PowerApps/apis/shared_sql",
			OverallStatus: "Connected", Environment: &directory.EnvironmentRef{Name: envProd}}},
	}
	return s
}

// harness is an emulator started on loopback for one test.
type harness struct {
	t      testing.TB
	e      *emulator.Emulator
	r      *emulator.Running
	client *http.Client
	token  string // Graph
}

func start(t testing.TB, s *directory.Snapshot, opts emulator.Options) *harness {
	t.Helper()
	e, err := emulator.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &harness{t: t, e: e, r: r, client: r.HTTPClient(), token: e.IssueToken(graphAud)}
}

// do sends a request and returns the response with its body read.
func (h *harness) do(method, url, token string, body io.Reader, header ...string) (*http.Response, []byte) {
	h.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = h.r.URL + url
	}
	url = strings.ReplaceAll(url, " ", "%20")
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

// get GETs a Graph URL with the Graph token and wants a status.
func (h *harness) get(url string, want int) []byte {
	h.t.Helper()
	resp, b := h.do(http.MethodGet, url, h.token, nil)
	if resp.StatusCode != want {
		h.t.Fatalf("GET %s: status %d, want %d\n%s", url, resp.StatusCode, want, b)
	}
	return b
}

// page is a Graph collection page.
type page struct {
	Context   string            `json:"@odata.context"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
	Count     *int              `json:"@odata.count"`
	Value     []json.RawMessage `json:"value"`
}

// walk follows next links from url and returns every item and the pages seen.
func (h *harness) walk(url string, header ...string) (items []map[string]any, pages []page) {
	h.t.Helper()
	for url != "" {
		resp, b := h.do(http.MethodGet, url, h.token, nil, header...)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("GET %s: status %d\n%s", url, resp.StatusCode, b)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			h.t.Fatalf("GET %s: %v\n%s", url, err, b)
		}
		if p.NextLink != "" && p.DeltaLink != "" {
			h.t.Fatalf("GET %s: a page with both a next link and a delta link", url)
		}
		if p.NextLink != "" && !strings.HasPrefix(p.NextLink, "http") {
			h.t.Fatalf("next link %q is not absolute", p.NextLink)
		}
		pages = append(pages, p)
		for _, raw := range p.Value {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				h.t.Fatal(err)
			}
			items = append(items, m)
		}
		url = p.NextLink
	}
	return items, pages
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// wantGraphError checks a body is a Graph error with a code.
func wantGraphError(t testing.TB, body []byte, code string) {
	t.Helper()
	var e graphError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a Graph error body: %v\n%s", err, body)
	}
	if e.Error.Code != code || e.Error.Message == "" || e.Error.InnerError.RequestID == "" || e.Error.InnerError.Date == "" {
		t.Fatalf("error body %s: want code %s with a message, request-id and date", body, code)
	}
}

func ids(items []map[string]any) []string {
	var out []string
	for _, m := range items {
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
