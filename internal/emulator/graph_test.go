package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
)

func TestPaging_walksEveryObjectOnce(t *testing.T) {
	h := start(t, fixture(t, 1203), emulator.Options{})
	for _, tc := range []struct {
		query     string
		wantPages int
	}{
		{"", 13}, // default page size 100
		{"$top=1", 1203},
		{"$top=7", 172},
		{"$top=999", 2},
		{"%24top=500&%24select=id,signInActivity", 3}, // 500 is the maximum with signInActivity
		{"top=250&select=id", 5},                      // bare names, as the SDK may send them
	} {
		items, pages := h.walk("/v1.0/users?" + tc.query)
		if len(pages) != tc.wantPages {
			t.Errorf("%q: %d pages, want %d", tc.query, len(pages), tc.wantPages)
		}
		got := ids(items)
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("%q: %s listed twice", tc.query, id)
			}
			seen[id] = true
		}
		if len(got) != 1203 {
			t.Errorf("%q: %d users, want 1203", tc.query, len(got))
		}
		if last := pages[len(pages)-1]; last.NextLink != "" {
			t.Errorf("%q: the last page has a next link", tc.query)
		}
	}
}

func TestPaging_topAboveMaximum(t *testing.T) {
	h := start(t, fixture(t, 10), emulator.Options{})
	for _, q := range []string{"$top=1000", "$top=501&$select=id,signInActivity", "$top=0", "$top=x"} {
		b := h.get("/v1.0/users?"+q, http.StatusBadRequest)
		wantGraphError(t, b, "Request_BadRequest")
	}
	h.get("/v1.0/users?$top=999", http.StatusOK)
	h.get("/v1.0/users?$top=500&$select=signInActivity", http.StatusOK)
}

func TestPaging_stableUnderChurn(t *testing.T) {
	h := start(t, fixture(t, 50), emulator.Options{})
	url := h.r.URL + "/v1.0/users?$top=10&$select=id,displayName"
	var got []string
	for i := 0; url != ""; i++ {
		var p page
		if err := json.Unmarshal(h.get(url, http.StatusOK), &p); err != nil {
			t.Fatal(err)
		}
		for _, raw := range p.Value {
			var u directory.User
			json.Unmarshal(raw, &u)
			got = append(got, u.ID)
		}
		url = p.NextLink
		// Churn between pages: the walk keeps seeing the version it started on.
		if _, err := h.e.Apply(emulator.Churn{
			AddUsers:    []directory.User{{ID: fmt.Sprintf("99999999-0000-0000-0000-%012d", i), DisplayName: "new"}},
			DeleteUsers: []string{userID(50 - i)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]string, 50)
	for i := range want {
		want[i] = userID(i + 1)
	}
	if !slices.Equal(got, want) {
		t.Errorf("walk under churn listed %d users:\n%v\nwant the 50 users of the version it started on", len(got), got)
	}
	// A fresh walk sees the new version.
	items, _ := h.walk("/v1.0/users?$top=10")
	if len(items) != 50 {
		t.Errorf("fresh walk: %d users, want 50 (5 added, 5 deleted)", len(items))
	}
}

func TestSelect_defaultPropertySetAndProjection(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	var p page
	json.Unmarshal(h.get("/v1.0/users?$top=1", http.StatusOK), &p)
	var u map[string]any
	json.Unmarshal(p.Value[0], &u)
	for _, k := range []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
		"preferredLanguage", "surname", "userPrincipalName", "id"} {
		if _, ok := u[k]; !ok {
			t.Errorf("default property set lacks %s: %v", k, u)
		}
	}
	for _, k := range []string{"signInActivity", "accountEnabled", "userType", "employeeOrgData"} {
		if _, ok := u[k]; ok {
			t.Errorf("default property set has %s: %v", k, u)
		}
	}
	if bp, ok := u["businessPhones"].([]any); !ok || len(bp) != 0 {
		t.Errorf("businessPhones = %v, want []", u["businessPhones"])
	}
	if !strings.HasSuffix(p.Context, "/v1.0/$metadata#users") {
		t.Errorf("@odata.context %q", p.Context)
	}

	for _, q := range []string{"$select=accountEnabled,signInActivity,employeeOrgData", "%24select=accountEnabled,signInActivity,employeeOrgData",
		"select=AccountEnabled,signInActivity,employeeOrgData"} {
		json.Unmarshal(h.get("/v1.0/users?$top=1&"+q, http.StatusOK), &p)
		var got map[string]json.RawMessage
		json.Unmarshal(p.Value[0], &got)
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"accountEnabled", "employeeOrgData", "id", "signInActivity"}; !slices.Equal(keys, want) {
			t.Errorf("%s: keys %v, want %v (id always, unknown raw fields kept)", q, keys, want)
		}
		if string(got["employeeOrgData"]) != `{"division":"Ops"}` {
			t.Errorf("%s: employeeOrgData = %s", q, got["employeeOrgData"])
		}
	}
	// A selected property the object lacks is null.
	json.Unmarshal(h.get("/v1.0/users?$top=1&$select=department", http.StatusOK), &p)
	if string(p.Value[0]) != fmt.Sprintf(`{"id":%q,"department":null}`, userID(1)) {
		t.Errorf("missing selected property: %s", p.Value[0])
	}
	// Other resources return every property by default, applications
	// without their federated credentials (a navigation property).
	json.Unmarshal(h.get("/v1.0/applications", http.StatusOK), &p)
	if s := string(p.Value[0]); strings.Contains(s, "federatedIdentityCredentials") || !strings.Contains(s, `"appId"`) {
		t.Errorf("application: %s", s)
	}
	json.Unmarshal(h.get("/v1.0/identity/conditionalAccess/namedLocations", http.StatusOK), &p)
	if len(p.Value) != 2 || !strings.Contains(string(p.Value[0]), `"@odata.type":"#microsoft.graph.ipNamedLocation"`) {
		t.Errorf("named locations: %s", p.Value)
	}
}

func TestFilter(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"/beta/auditLogs/signIns", []string{"si-5", "si-4", "si-2", "si-3", "si-1", "si-6"}}, // newest first
		{"/v1.0/auditLogs/signIns", []string{"si-3", "si-1"}},                                 // interactive only
		{"/beta/auditLogs/signIns?$filter=createdDateTime ge 2025-05-02T00:00:00Z and createdDateTime le 2025-05-04T12:00:00Z",
			[]string{"si-4", "si-2", "si-3"}},
		{"/beta/auditLogs/signIns?$filter=createdDateTime ge 2025-05-01T00:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser')",
			[]string{"si-5", "si-2"}},
		{"/beta/auditLogs/signIns?$filter=signInEventTypes/any(t:t eq 'servicePrincipal') or signInEventTypes/any(t:t eq 'managedIdentity')",
			[]string{"si-4", "si-6"}},
		{"/v1.0/auditLogs/signIns?$filter=createdDateTime ge 2025-05-02T00:00:00Z", []string{"si-3"}},
		{"/v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=isMfaRegistered eq false", []string{userID(2), userID(3)}},
		{"/v1.0/servicePrincipals?$filter=servicePrincipalType eq 'ManagedIdentity'", []string{spID(2)}},
	} {
		items, _ := h.walk(tc.url)
		if got := ids(items); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.url, got, tc.want)
		}
	}
	// Filtered paging: pages hold matches only, and the walk ends without an empty page.
	items, pages := h.walk("/beta/auditLogs/signIns?$top=1&$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')")
	if len(items) != 2 || len(pages) != 2 {
		t.Errorf("filtered paging: %d items in %d pages, want 2 in 2", len(items), len(pages))
	}
	// v1.0 sign-ins have no signInEventTypes.
	if b := h.get("/v1.0/auditLogs/signIns", http.StatusOK); strings.Contains(string(b), "signInEventTypes") {
		t.Errorf("v1.0 sign-ins carry signInEventTypes: %s", b)
	}
	for _, tc := range []struct{ url, code string }{
		{"/v1.0/users?$filter=startswith(displayName,'a')", "Request_UnsupportedQuery"},
		{"/v1.0/users?$filter=displayName eq 'User 1'", "Request_UnsupportedQuery"},
		{"/v1.0/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')", "Request_UnsupportedQuery"},
		{"/v1.0/servicePrincipals?$filter=servicePrincipalType eq", "BadRequest"},
		{"/v1.0/users?$orderby=displayName", "Request_UnsupportedQuery"},
		{"/v1.0/users?$expand=manager", "BadRequest"},
	} {
		wantGraphError(t, h.get(tc.url, http.StatusBadRequest), tc.code)
	}
}

func TestSubresources(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"/v1.0/groups/" + groupID(2) + "/members", []string{groupID(1), userID(4), spID(1)}},
		{"/v1.0/groups/" + strings.ToUpper(groupID(2)) + "/transitiveMembers", []string{groupID(1), userID(4), spID(1), userID(1), userID(2), userID(3)}},
		{"/v1.0/groups/" + groupID(2) + "/transitiveMembers/microsoft.graph.user", []string{userID(4), userID(1), userID(2), userID(3)}},
		{"/v1.0/groups/" + groupID(2) + "/transitiveMembers/graph.user", []string{userID(4), userID(1), userID(2), userID(3)}},
		{"/v1.0/groups/" + groupID(3) + "/members", nil},
		{"/v1.0/servicePrincipals/" + spID(1) + "/owners", []string{userID(1)}},
		{"/v1.0/servicePrincipals/" + spID(1) + "/appRoleAssignments", []string{"ara-1"}},
		{"/v1.0/servicePrincipals/" + spID(3) + "/appRoleAssignedTo", []string{"ara-1"}},
		{"/v1.0/applications/00000000-0000-0000-0004-000000000001/owners", []string{userID(2)}},
		{"/v1.0/applications/00000000-0000-0000-0004-000000000001/federatedIdentityCredentials", []string{"fic-1"}},
		{"/beta/roleManagement/directory/roleAssignments", []string{"ra-1"}},
		{"/v1.0/roleManagement/directory/roleDefinitions", []string{"62e90394-69f5-4237-9190-012177145e10"}},
		{"/beta/reports/servicePrincipalSignInActivities", []string{"spa-1"}},
		{"/v1.0/groups/delta()?$select=displayName", []string{groupID(1), groupID(2), groupID(3)}},
	} {
		items, _ := h.walk(tc.url)
		if got := ids(items); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.url, got, tc.want)
		}
	}
	var p page
	json.Unmarshal(h.get("/v1.0/groups/"+groupID(2)+"/members", http.StatusOK), &p)
	if !strings.HasPrefix(string(p.Value[0]), `{"@odata.type":"#microsoft.graph.group"`) ||
		!strings.Contains(string(p.Value[1]), `"@odata.type":"#microsoft.graph.user"`) ||
		strings.Contains(string(p.Value[1]), "signInActivity") {
		t.Errorf("members: %s", p.Value)
	}
	json.Unmarshal(h.get("/v1.0/roleManagement/directory/roleAssignments?$expand=principal", http.StatusOK), &p)
	if !strings.Contains(string(p.Value[0]), `"principal":{"@odata.type":"#microsoft.graph.user"`) {
		t.Errorf("expanded principal: %s", p.Value[0])
	}
	if b := h.get("/v1.0/users/user3@contoso.com?$select=displayName", http.StatusOK); !strings.Contains(string(b), `"displayName":"User 3"`) ||
		!strings.Contains(string(b), "$entity") {
		t.Errorf("user by UPN: %s", b)
	}

	// Unknown ids and paths.
	for _, url := range []string{"/v1.0/groups/" + groupID(9) + "/members", "/v1.0/servicePrincipals/" + spID(9) + "/owners",
		"/v1.0/users/" + userID(99), "/v1.0/applications/nope/federatedIdentityCredentials"} {
		wantGraphError(t, h.get(url, http.StatusNotFound), "Request_ResourceNotFound")
	}
	wantGraphError(t, h.get("/v1.0/frobnicators", http.StatusBadRequest), "BadRequest")
	wantGraphError(t, h.get("/v2.0/users", http.StatusNotFound), "NotFound")
	resp, b := h.do(http.MethodDelete, "/v1.0/users", h.token, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /v1.0/users: %d %s", resp.StatusCode, b)
	}
}

func TestNotCapturedIsForbidden(t *testing.T) {
	s := fixture(t, 6)
	s.Captured = map[directory.Collection]bool{directory.Users: true}
	s.SignIns = nil
	h := start(t, s, emulator.Options{})
	wantGraphError(t, h.get("/v1.0/auditLogs/signIns", http.StatusForbidden), "Authorization_RequestDenied")
	h.get("/v1.0/users", http.StatusOK)
	h.get("/v1.0/groups", http.StatusOK) // not in Captured, but the snapshot holds groups
}

func TestCounters(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	h.get("/v1.0/users", http.StatusOK)
	h.get("/v1.0/users?$top=2", http.StatusOK)
	h.get("/v1.0/servicePrincipals/"+spID(1)+"/owners", http.StatusOK)
	h.get("/v1.0/servicePrincipals/"+spID(9)+"/owners", http.StatusNotFound)
	h.do(http.MethodGet, "/beta/users", "", nil, "x-ms-throttle-priority", "low")
	s := h.e.Stats()
	for _, tc := range []struct {
		pattern string
		status  int
		want    int64
	}{
		{"/v1.0/users", 200, 2},
		{"/v1.0/servicePrincipals/{id}/owners", 200, 1},
		{"/v1.0/servicePrincipals/{id}/owners", 404, 1},
		{"/beta/users", 401, 1},
	} {
		if got := s.Count(tc.pattern, tc.status); got != tc.want {
			t.Errorf("Count(%s, %d) = %d, want %d (%v)", tc.pattern, tc.status, got, tc.want, s.Requests)
		}
	}
	if s.LowPriority != 1 || s.Objects != 6+2+1 {
		t.Errorf("low priority %d, objects %d", s.LowPriority, s.Objects)
	}
	var stats struct {
		Requests map[string]map[string]int64 `json:"requests"`
		Version  uint64                      `json:"version"`
	}
	resp, b := h.do(http.MethodGet, "/_emulator/stats", "", nil)
	if resp.StatusCode != 200 || json.Unmarshal(b, &stats) != nil || stats.Requests["/v1.0/users"]["200"] != 2 || stats.Version != 1 {
		t.Errorf("/_emulator/stats: %d %s", resp.StatusCode, b)
	}
}
