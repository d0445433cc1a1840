package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/synthetic"
)

// demoPolicies returns the demo tenant's policies by name.
func demoPolicies(t *testing.T, tenant string) map[string]store.Policy {
	t.Helper()
	ps, err := testDB.Policies(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Policy{}
	for _, p := range ps {
		out[p.DisplayName] = p
	}
	if len(out) != 13 {
		t.Fatalf("the demo tenant has %d policies, want 13", len(out))
	}
	return out
}

func TestPolicyList_rendersEveryPolicy(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/policies?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /policies: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `aria-current="page">Policies`) {
		t.Error("the navigation does not mark Policies as current")
	}
	rows := strings.Split(body, "<tr>")
	for name, p := range demoPolicies(t, tenant) {
		escaped := html.EscapeString(name)
		var row string
		for _, r := range rows {
			if strings.Contains(r, "/policies/"+p.ID) {
				row = r
			}
		}
		if row == "" || !strings.Contains(row, escaped) {
			t.Errorf("policy %q: no row with its name and link", name)
			continue
		}
		if state := exposure.StateText(p.State); !strings.Contains(row, ">"+state+"<") {
			t.Errorf("policy %q: state %q not in its row", name, state)
		}
	}
	for _, want := range []string{
		// CA001 excludes two break-glass users and two groups.
		"Requires MFA for all users except 2 groups and 2 users",
		"Requires MFA for group CA-Exclude-ServiceAccounts, on all apps except 8",
		"Requires MFA or a compliant device for group SG-Dept-Sales",
		"Report-only: would require MFA for group ",
		"Targets workload identities: blocks service principals in this tenant except 1, from outside HQ",
		"Blocks all users except 1 group and 2 users, using legacy authentication clients",
		"Forces sign-in every 8 hours for all users except 2 users, on Office 365",
		"Disabled: would block all users except 2 users, in device code flow",
	} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("no summary %q on the list", want)
		}
	}
	if !strings.Contains(body, "enabled, 1 report-only, 1 disabled") {
		t.Error("the state counts are missing")
	}
}

func TestPolicyList_apiAndEmptyState(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/api/v1/policies?tenant="+tenant, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/policies: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got []struct {
		ID, Name, State, Summary string
		ExcludedServiceAccounts  *int
		Versions                 *int
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := demoPolicies(t, tenant)
	if len(got) != len(want) {
		t.Fatalf("%d policies in the API, want %d", len(got), len(want))
	}
	for _, g := range got {
		p, ok := want[g.Name]
		if !ok || g.ID != p.ID || g.State != p.State || g.Summary == "" || g.Versions == nil || *g.Versions != 1 ||
			g.ExcludedServiceAccounts == nil || *g.ExcludedServiceAccounts != p.ExcludedServiceAccounts {
			t.Errorf("API policy %+v, stored %+v", g, p)
		}
	}
	if p := want["CA001 - Require MFA - All users"]; p.ExcludedServiceAccounts == 0 {
		t.Error("CA001 excludes no service account in the demo")
	}

	// A server with no tenant: the page's empty state, an empty JSON list.
	db := freshDB(t)
	empty, _ := newServer(t, db)
	if resp, body := do(t, "GET", empty.URL+"/policies", nil); resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") {
		t.Errorf("empty /policies: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", empty.URL+"/api/v1/policies", nil); resp.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("empty /api/v1/policies: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", empty.URL+"/policies/00000000-0000-4000-8000-000000000001", nil); resp.StatusCode != 404 {
		t.Errorf("a policy with no tenant: %d, want 404", resp.StatusCode)
	}
}

func TestPolicyShow_CA001ExcludedServiceAccounts(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	p := demoPolicies(t, tenant)["CA001 - Require MFA - All users"]
	resp, body := do(t, "GET", ts.URL+"/policies/"+p.ID+"?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET CA001: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"CA001 - Require MFA - All users",
		"Requires MFA for all users except 2 groups and 2 users",
		"Users excluded", "group CA-Exclude-ServiceAccounts", "Grant: require", "multifactor authentication",
		"Service accounts it excludes", "Service accounts it misses", "Versions seen across syncs",
		"The first version seen.",
	} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("CA001's page lacks %q", want)
		}
	}
	if !strings.Contains(body, `policy-state-enabled">enabled<`) {
		t.Error("CA001's state is not given in words")
	}
	excl, err := testDB.PolicyExclusions(context.Background(), tenant, p.ID, 100)
	if err != nil || len(excl) == 0 {
		t.Fatalf("CA001 exclusions: %d, %v", len(excl), err)
	}
	for _, a := range excl {
		href := html.EscapeString("/accounts/" + url.PathEscape(a.ID) + "?tenant=" + tenant)
		if !strings.Contains(body, `href="`+href+`"`) {
			t.Errorf("no link to excluded account %s", a.ID)
		}
		if !strings.Contains(body, html.EscapeString(a.Path)) {
			t.Errorf("no path %q for excluded account %s", a.Path, a.ID)
		}
	}
	if !strings.Contains(body, html.EscapeString("group CA-Exclude-ServiceAccounts")) || !strings.Contains(body, "via ") {
		t.Error("no exclusion through the service account group with its nesting")
	}
}

func TestPolicyShow_missesAndNotes(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	ps := demoPolicies(t, tenant)
	_, body := do(t, "GET", ts.URL+"/policies/"+ps["CA012 - Require MFA or compliant device - Sales"].ID+"?tenant="+tenant, nil)
	if !strings.Contains(body, "left exposed on resources this policy does not cover") || !strings.Contains(body, `href="/accounts/`) {
		t.Error("CA012 (Sales only) lists no missed service account")
	}
	_, body = do(t, "GET", ts.URL+"/policies/"+ps["CA005 - Session - Sign-in frequency 8 hours - Office 365"].ID+"?tenant="+tenant, nil)
	if !strings.Contains(body, "neither requires MFA nor blocks") || !strings.Contains(body, "sign-in frequency: every 8 hours") {
		t.Error("CA005 (session only) does not say it has nothing to miss")
	}
	_, body = do(t, "GET", ts.URL+"/policies/"+ps["CA009 - Block - Workload identities outside trusted locations"].ID+"?tenant="+tenant, nil)
	if !strings.Contains(body, "Workload identities excluded") || !strings.Contains(body, "service principals in this tenant") {
		t.Error("CA009's workload identities are not listed")
	}
}

func TestPolicyShow_unknownIs404(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, logs := newServer(t, testDB)
	for _, path := range []string{
		"/policies/00000000-0000-4000-8000-000000000bad?tenant=" + tenant,
		"/policies/not-a-guid?tenant=" + tenant,
		"/policies/" + url.PathEscape("<script>") + "?tenant=" + tenant,
		"/policies?tenant=00000000-0000-4000-8000-00000000dead",
		"/api/v1/policies?tenant=00000000-0000-4000-8000-00000000dead",
	} {
		resp, body := do(t, "GET", ts.URL+path, nil)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("GET %s echoes markup", path)
		}
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Error("a 404 was logged as a failure")
	}
}

// TestPolicies_hostileNamesEscaped: the generator plants hostile strings in
// policy names (and in names of the accounts and groups they reference);
// the list, every policy page and the API carry them escaped.
func TestPolicies_hostileNamesEscaped(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	ps := demoPolicies(t, tenant)
	planted := 0
	for name := range ps {
		for _, h := range synthetic.HostileStrings() {
			if name == h {
				planted++
			}
		}
	}
	if planted == 0 {
		t.Fatal("no hostile policy name in the demo tenant")
	}
	_, list := do(t, "GET", ts.URL+"/policies?tenant="+tenant, nil)
	pages := []string{list}
	for _, p := range ps {
		resp, body := do(t, "GET", ts.URL+"/policies/"+p.ID+"?tenant="+tenant, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET policy %s: %d", p.ID, resp.StatusCode)
		}
		pages = append(pages, body)
	}
	for i, body := range pages {
		for _, h := range synthetic.HostileStrings() {
			if strings.ContainsAny(h, `<>"'&`) && strings.Contains(body, h) {
				t.Errorf("page %d carries %q unescaped", i, h)
			}
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>tags</b>") {
			t.Errorf("page %d carries hostile markup", i)
		}
	}
	for name := range ps {
		if strings.ContainsAny(name, `<>"'`) && !strings.Contains(list, html.EscapeString(name)) {
			t.Errorf("hostile name %q not on the list, escaped", name)
		}
	}
	_, api := do(t, "GET", ts.URL+"/api/v1/policies?tenant="+tenant, nil)
	if strings.Contains(api, "<b>") || strings.Contains(api, "<script>") {
		t.Error("the API carries raw markup (encoding/json escapes < and >)")
	}
}

// TestPolicyShow_versionsDiff: a policy changed between two syncs shows two
// versions and what changed, on a database of its own (the tenant is not
// evaluated, which the page says).
func TestPolicyShow_versionsDiff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := freshDB(t)
	tenant := "31313131-0000-4000-8000-000000000000"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Versions"}); err != nil {
		t.Fatal(err)
	}
	id := "31313131-0000-4000-8000-0000000000aa"
	group := "31313131-0000-4000-8000-0000000000bb"
	for _, raw := range []string{
		`{"id":"` + id + `","displayName":"MFA <all>","state":"enabled",
		  "conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},
		  "grantControls":{"operator":"OR","builtInControls":["mfa"]}}`,
		`{"id":"` + id + `","displayName":"MFA <all>","state":"enabledForReportingButNotEnforced",
		  "conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + group + `"]},"applications":{"includeApplications":["All"]}},
		  "grantControls":{"operator":"OR","builtInControls":["mfa"]}}`,
	} {
		p, err := directory.Decode[directory.ConditionalAccessPolicy]([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		r, err := db.StartSyncRun(ctx, tenant, "snapshot", "full")
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.NewStage(ctx, r.ID, directory.ConditionalAccessPolicies)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := st.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ApplyStaged(ctx, r.ID, tenant, []store.StagedCollection{{Collection: directory.ConditionalAccessPolicies, Complete: true}}, store.DefaultApplyOptions); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishSyncRun(ctx, r.ID, store.RunSucceeded, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/policies/"+id, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET policy: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"Version 2", "Version 1", ">current<", "Changes from version 1",
		"conditions.users.excludeGroups", "unknown group " + group,
		"enabled", "enabledForReportingButNotEnforced", ">added<", ">changed<",
		"Report-only: would require MFA for all users except 1 group",
		"The tenant has not been evaluated yet",
		"MFA &lt;all&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("versions page lacks %q", want)
		}
	}
	_, list := do(t, "GET", ts.URL+"/policies", nil)
	if !strings.Contains(list, "has not been evaluated yet") || !strings.Contains(list, ">2<") {
		t.Error("the list does not say the tenant is unevaluated, or does not count 2 versions")
	}
}
