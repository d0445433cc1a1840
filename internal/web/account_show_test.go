package web_test

import (
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/synthetic"
)

// demoAccount returns the id of the demo tenant's account found by query,
// which selects one id given the tenant ($1).
func demoAccount(t *testing.T, tenant, query string) string {
	t.Helper()
	var id string
	storetest.QueryRow(t, storetest.URL(), query, []any{tenant}, &id)
	return id
}

func accountURL(base, tenant, id string) string {
	return base + "/accounts/" + url.PathEscape(id) + "?tenant=" + url.QueryEscape(tenant)
}

func TestAccountShow_serviceAccount(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	id := demoAccount(t, tenant, `SELECT id FROM users WHERE tenant_id = $1 AND user_principal_name LIKE 'flow-finance@%'`)

	resp, body := do(t, "GET", accountURL(ts.URL, tenant, id), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"flow-finance@",
		// Coverage matrix: headers, verdicts in words, policies with their link.
		`<th scope="col">Resource</th>`, `<th scope="col">Verdict</th>`, `<th scope="col">Policies</th>`, `<th scope="col">Why</th>`,
		"Microsoft Flow Service", "Report-only: no MFA", `class="verdict verdict-reportonly"`, "MFA required",
		`href="/policies/`, "?tenant=" + tenant,
		"Only report-only policies would require MFA",
		// The exclusion with its full path.
		"excluded from ", "CA001 - Require MFA - All users",
		"via group CA-Exclude-ServiceAccounts (via SA-PowerPlatform ← SA-Flow-Owners)",
		"leaves out apps:",
		// Findings with remediation and evidence.
		"EXCLUDED_FROM_MFA", "SHOULD_MIGRATE", "MFA_NOT_REGISTERED",
		"Approve the exclusion as a time-boxed exception or remove it",
		"Migrate its flows and connections to a service principal or managed identity",
		`<details class="evidence">`,
		// Identity, classification, automation, raw JSON.
		"Last non-interactive sign-in", "None registered", "Confirmed service account", "name matches the service-account pattern",
		"[Finance] Timesheet reminder", "Connections it created", "sharepointonline", "Connected",
		"<summary>Raw JSON as the source returned it</summary>", "&#34;signInActivity&#34;",
		"account.css",
	} {
		if !strings.Contains(body, want) && !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestAccountShow_signInFailuresAndConnectionErrors(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	// The user with the most failed sign-ins among those with a connection in error.
	id := demoAccount(t, tenant, `
		SELECT s.user_id FROM sign_ins s
		WHERE s.tenant_id = $1 AND s.error_code <> 0 AND EXISTS (
			SELECT 1 FROM connections c WHERE c.tenant_id = s.tenant_id AND c.created_by_id = s.user_id AND c.overall_status = 'Error')
		GROUP BY s.user_id ORDER BY count(*) DESC, s.user_id LIMIT 1`)
	var failures int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM sign_ins WHERE tenant_id = $1 AND user_id = $2 AND error_code <> 0`,
		[]any{tenant, id}, &failures)

	resp, body := do(t, "GET", accountURL(ts.URL, tenant, id), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{"Recent sign-in failures", "AADSTS", "Failed to refresh access token", `status-error`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	section := body[strings.Index(body, `id="failures-title"`):]
	section = section[:strings.Index(section, "</section>")]
	if got, want := strings.Count(section, "<tr>")-1, min(failures, 20); got != want {
		t.Errorf("%d sign-in failure rows, want %d (of %d failures)", got, want, failures)
	}
	if !strings.Contains(section, "MFA required") && !strings.Contains(section, "Blocked by Conditional Access") &&
		!strings.Contains(section, "Strong authentication") {
		t.Errorf("no known AADSTS meaning in the failures: %s", section)
	}
}

func TestAccountShow_workloadIdentities(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	for _, tc := range []struct {
		kind, workload string
		want           []string
	}{
		{"servicePrincipal", "locationRestricted", []string{"Service principal", "Application (client) id", "Workload identity verdict",
			"Location-restricted", "This tenant", "Restricted by conditions", "CA009"}},
		{"managedIdentity", "notApplicable", []string{"Managed identity", "ManagedIdentity", "Workload identity verdict",
			"Not applicable", "Not restricted"}},
	} {
		var id string
		storetest.QueryRow(t, storetest.URL(), `
			SELECT a.account_id FROM exposure_current c
			JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id
			WHERE c.tenant_id = $1 AND a.kind = $2 AND a.workload = $3
			ORDER BY a.account_id LIMIT 1`, []any{tenant, tc.kind, tc.workload}, &id)
		resp, body := do(t, "GET", accountURL(ts.URL, tenant, id), nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s %s: status %d", tc.kind, id, resp.StatusCode)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s page lacks %q", tc.kind, want)
			}
		}
		if strings.Contains(body, "Recent sign-in failures") {
			t.Errorf("%s page lists user sign-in failures", tc.kind)
		}
		resp, body = do(t, "GET", ts.URL+"/api/v1/accounts/"+id+"?tenant="+tenant, nil)
		var w exposure.WhatIf
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &w) != nil || string(w.Account.Kind) != tc.kind || w.Workload == "" {
			t.Errorf("%s API: %d %s", tc.kind, resp.StatusCode, body)
		}
	}
}

func TestAPIAccountShow_whatifContract(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	id := demoAccount(t, tenant, `SELECT id FROM users WHERE tenant_id = $1 AND user_principal_name LIKE 'flow-finance@%'`)

	resp, body := do(t, "GET", ts.URL+"/api/v1/accounts/"+id+"?tenant="+tenant, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var w exposure.WhatIf
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("not the whatif contract: %v\n%s", err, body)
	}
	if w.Account.ID != id || w.Account.Kind != exposure.KindUser || !strings.HasPrefix(w.Account.UPN, "flow-finance@") {
		t.Errorf("account = %+v", w.Account)
	}
	if w.Exposure != exposure.LevelExposed || w.Account.ServiceAccount.Level != exposure.ServiceConfirmed ||
		len(w.Account.ServiceAccount.Signals) == 0 || w.Workload != "" {
		t.Errorf("exposure %q, workload %q, classification %+v", w.Exposure, w.Workload, w.Account.ServiceAccount)
	}
	got := map[string]exposure.WhatIfResource{}
	for _, r := range w.Resources {
		got[r.AppID] = r
		if r.Policies == nil {
			t.Errorf("resource %s: policies is null, want a list", r.Name)
		}
		for _, p := range r.Policies {
			if p.Conditions == nil || p.Effect == "" || p.ID == "" {
				t.Errorf("resource %s: policy %+v", r.Name, p)
			}
		}
	}
	for _, c := range exposure.Catalog {
		if r, ok := got[c.AppID]; !ok || r.Verdict == "" {
			t.Errorf("catalog resource %s (%s) missing or without verdict: %+v", c.Name, c.AppID, r)
		}
	}
	codes := map[string]bool{}
	for _, f := range w.Findings {
		codes[f.Code] = true
		if f.Evidence == nil || f.Severity == "" || f.Message == "" {
			t.Errorf("finding %+v", f)
		}
	}
	if !codes[exposure.CodeExcludedFromMFA] || !codes[exposure.CodeShouldMigrate] {
		t.Errorf("findings %v lack %s and %s", codes, exposure.CodeExcludedFromMFA, exposure.CodeShouldMigrate)
	}
	// The raw contract's keys, as tools outside Steward read them.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"account", "exposure", "resources", "findings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("whatif JSON lacks %q", k)
		}
	}
}

func TestAccountShow_unknownIsNotFound(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, logs := newServer(t, testDB)
	// A user that exists in the directory is still unknown to another
	// tenant; an id in neither is unknown everywhere.
	for _, path := range []string{
		"/accounts/00000000-0000-4000-8000-000000000000?tenant=" + tenant,
		"/api/v1/accounts/00000000-0000-4000-8000-000000000000?tenant=" + tenant,
		"/accounts/not-an-id?tenant=" + tenant,
		"/api/v1/accounts/%3Cscript%3E?tenant=" + tenant,
		"/accounts/00000000-0000-4000-8000-000000000000?tenant=00000000-0000-4000-8000-00000000dead",
	} {
		resp, body := do(t, "GET", ts.URL+path, nil)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(body, "<script>") {
			t.Errorf("GET %s: the id is echoed unescaped", path)
		}
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Error("a 404 was logged as a failure")
	}
}

func TestAccountShow_hostileNamesEscaped(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	hostile := synthetic.HostileStrings()
	// Users whose display name is hostile, and flow-finance, whose flows and
	// environments carry hostile names.
	var ids []string
	for _, s := range hostile {
		var id string
		storetest.QueryRow(t, storetest.URL(), `SELECT coalesce(min(id), '') FROM users WHERE tenant_id = $1 AND display_name = $2`,
			[]any{tenant, s}, &id)
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) < 3 {
		t.Fatalf("only %d users with hostile names in the fixture", len(ids))
	}
	ids = append(ids, demoAccount(t, tenant, `SELECT id FROM users WHERE tenant_id = $1 AND user_principal_name LIKE 'flow-finance@%'`))

	sawScript, sawQuotes := false, false
	for _, id := range ids {
		resp, body := do(t, "GET", accountURL(ts.URL, tenant, id), nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", id, resp.StatusCode)
			continue
		}
		for _, s := range hostile {
			if strings.ContainsAny(s, `<>"'&`) && strings.Contains(body, s) {
				t.Errorf("%s: hostile string %q rendered unescaped", id, s)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "<b>tags</b>") {
			t.Errorf("%s: markup from names rendered", id)
		}
		// Escaped in the title, and again in the raw JSON section.
		if n := strings.Count(body, "&lt;script&gt;alert(1)&lt;/script&gt;"); n >= 2 {
			sawScript = true
		}
		if strings.Contains(body, "&lt;b&gt;tags&lt;/b&gt;") {
			sawQuotes = true
		}
	}
	if !sawScript || !sawQuotes {
		t.Errorf("hostile names not shown escaped (script %v, quotes %v)", sawScript, sawQuotes)
	}
}
