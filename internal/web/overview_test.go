package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/synthetic"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/view"
)

// overviewDB opens a fresh, migrated database for a test that changes data.
func overviewDB(t *testing.T) *store.DB {
	t.Helper()
	db := freshDB(t)
	return db
}

// overviewCount counts rows of the tenant's current evaluation with SQL of
// its own, to check the page's numbers against.
func overviewCount(t *testing.T, tenant, table, where string, args ...any) int {
	t.Helper()
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM `+table+` a
		JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
		WHERE c.tenant_id = $1 AND (`+where+`)`, append([]any{tenant}, args...), &n)
	return n
}

// accountsLink is the href the page must carry for a filtered accounts list,
// as it appears in HTML.
func accountsLink(t *testing.T, tenant string, params ...string) string {
	t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	var tenants int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM tenants`, nil, &tenants)
	if tenants > 1 {
		q.Set("tenant", tenant)
	}
	return html.EscapeString("/accounts?" + q.Encode())
}

var everyLevel = []string{"sa", "confirmed", "sa", "likely", "sa", "possible", "sa", "no"}

// TestOverview_demoTilesChartsAndLinks: on the demo tenant, every tile's
// number equals a direct SQL count over the current evaluation and links to
// the accounts list with the filters that select the same accounts; the four
// charts are accessible SVG; the top findings link to their accounts.
func TestOverview_demoTilesChartsAndLinks(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	tile := func(name string, n int, params ...string) {
		t.Helper()
		if n == 0 && (name == "service accounts" || name == exposure.CodeMFAFailures || name == "service principals with secret findings") {
			t.Errorf("%s: the demo tenant has none, so the check proves little", name)
		}
		want := `href="` + accountsLink(t, tenant, params...) + `">` + view.FormatCount(n) + `</a>`
		if !strings.Contains(body, want) {
			t.Errorf("%s: page lacks %s", name, want)
		}
	}
	acc := "exposure_accounts"
	tile("service accounts", overviewCount(t, tenant, acc, `sa_level IN ('confirmed', 'likely')`), "sa", "confirmed", "sa", "likely")
	for _, lvl := range []string{"confirmed", "likely", "possible"} {
		tile("users "+lvl, overviewCount(t, tenant, acc, `kind = 'user' AND sa_level = $2`, lvl), "kind", "user", "sa", lvl)
		tile("workload identities "+lvl, overviewCount(t, tenant, acc, `kind <> 'user' AND sa_level = $2`, lvl),
			"kind", "servicePrincipal", "kind", "managedIdentity", "sa", lvl)
	}
	userSA := []string{"kind", "user", "sa", "confirmed", "sa", "likely"}
	tile("user service accounts", overviewCount(t, tenant, acc, `kind = 'user' AND sa_level IN ('confirmed', 'likely')`), userSA...)
	for _, lvl := range []string{"exposed", "partial", "protected"} {
		tile("user service accounts "+lvl, overviewCount(t, tenant, acc, `kind = 'user' AND sa_level IN ('confirmed', 'likely') AND exposure = $2`, lvl),
			append(append([]string{}, userSA...), "exposure", lvl)...)
	}
	for _, code := range []string{exposure.CodeMFAFailures, exposure.CodePrivilegedUserServiceAccount,
		exposure.CodeSecretExpired, exposure.CodeSecretExpiring, exposure.CodeSecretLongLived} {
		tile(code, overviewCount(t, tenant, acc, `$2 = ANY (finding_codes)`, code), append([]string{"finding", code}, everyLevel...)...)
	}
	secrets := []string{exposure.CodeSecretExpired, exposure.CodeSecretExpiring, exposure.CodeSecretLongLived}
	tile("service principals with secret findings", overviewCount(t, tenant, acc, `finding_codes && $2`, secrets),
		append([]string{"finding", secrets[0], "finding", secrets[1], "finding", secrets[2]}, everyLevel...)...)

	// Charts: four SVG images with a title and a description.
	if got := strings.Count(body, `<svg class="chart-svg" role="img"`); got != 4 {
		t.Errorf("%d charts, want 4", got)
	}
	for _, id := range []string{"chart-exposure", "chart-trend", "chart-severity", "chart-kind"} {
		if !strings.Contains(body, `<title id="`+id+`-title">`) || !strings.Contains(body, `<desc id="`+id+`-desc">`) {
			t.Errorf("chart %s lacks its title or description", id)
		}
	}
	for _, lvl := range []string{"exposed", "partial", "protected", "notApplicable"} {
		n := overviewCount(t, tenant, acc, `exposure = $2`, lvl)
		want := `href="` + accountsLink(t, tenant, append([]string{"exposure", lvl}, everyLevel...)...) + `">` + view.FormatCount(n) + `</a>`
		if !strings.Contains(body, want) {
			t.Errorf("exposure chart table lacks %s", want)
		}
	}
	var evaluations int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM exposure_evaluations WHERE tenant_id = $1`, []any{tenant}, &evaluations)
	if got := strings.Count(body, `class="point point-exposed"`); got != min(evaluations, 30) {
		t.Errorf("trend: %d points, want one per evaluation (%d)", got, evaluations)
	}
	for _, sev := range []string{"high", "medium", "low", "info"} {
		n := overviewCount(t, tenant, "exposure_findings", `severity = $2`, sev)
		if !strings.Contains(body, "<td class=\"num\">"+view.FormatCount(n)+"</td>") {
			t.Errorf("severity chart lacks %s: %d", sev, n)
		}
	}

	// Top findings: the most severe codes, each linking to its accounts.
	var code string
	var findings int
	storetest.QueryRow(t, storetest.URL(), `SELECT f.code, count(*) FROM exposure_findings f
		JOIN exposure_current c ON c.evaluation_id = f.evaluation_id WHERE c.tenant_id = $1 AND f.severity = 'high'
		GROUP BY f.code ORDER BY count(*) DESC, f.code LIMIT 1`, []any{tenant}, &code, &findings)
	if link := `href="` + accountsLink(t, tenant, append([]string{"finding", code}, everyLevel...)...) + `"`; !strings.Contains(body, link) {
		t.Errorf("top findings lack %s (%s, %d high findings)", link, code, findings)
	}
	topAt := strings.Index(body, `id="ov-findings-title"`)
	if topAt < 0 || !strings.Contains(body[topAt:], `class="severity sev-high">High</span>`) {
		t.Error("top findings do not start with the high ones")
	} else if hi, info := strings.Index(body[topAt:], "sev-high"), strings.Index(body[topAt:], "sev-info"); info >= 0 && info < hi {
		t.Error("top findings: info before high")
	}

	// The last sync, with a link to the sync page.
	if !strings.Contains(body, `class="run-status run-succeeded">Succeeded</span>`) || !strings.Contains(body, `href="/sync`) {
		t.Error("last sync status or its link missing")
	}
	if strings.Contains(body, "Demo mode") {
		t.Error("demo banner without Options.Demo")
	}
}

// TestOverview_trendOnePointPerEvaluation stores three evaluations of a
// tenant and finds one point per evaluation, with each one's count.
func TestOverview_trendOnePointPerEvaluation(t *testing.T) {
	ctx := context.Background()
	db := overviewDB(t)
	tenant := "0000000b-0000-4000-8000-00000000beef"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Trend Inc."}); err != nil {
		t.Fatal(err)
	}
	for i, exposed := range []int{7, 5, 2} {
		ev := &exposure.Evaluation{TenantID: tenant, EvaluatedAt: time.Date(2026, 3, 1+i, 9, 0, 0, 0, time.UTC)}
		for j := range 10 {
			lvl := exposure.LevelProtected
			if j < exposed {
				lvl = exposure.LevelExposed
			}
			ev.Accounts = append(ev.Accounts, &exposure.Account{ID: fmt.Sprintf("u%d", j), Kind: exposure.KindUser, Enabled: true,
				ServiceAccount: exposure.Classification{Level: exposure.ServiceLikely}, Exposure: lvl})
		}
		if _, err := db.SaveEvaluation(ctx, tenant, 0, ev, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	if got := strings.Count(body, `class="point point-exposed"`); got != 3 {
		t.Errorf("trend: %d exposed points, want 3", got)
	}
	if got := strings.Count(body, `class="point point-partial"`); got != 3 {
		t.Errorf("trend: %d partial points, want 3", got)
	}
	for _, want := range []string{"01 Mar 09:00: Exposed 7", "02 Mar 09:00: Exposed 5", "03 Mar 09:00: Exposed 2",
		"This tenant has not been synced yet."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Two likely user service accounts exposed now, eight protected.
	if want := `href="` + html.EscapeString("/accounts?exposure=exposed&kind=user&sa=confirmed&sa=likely") + `">2</a>`; !strings.Contains(body, want) {
		t.Errorf("page lacks %s", want)
	}
}

// TestOverview_emptyStates: no tenant at all, then a tenant synced but not
// evaluated, then an unknown ?tenant.
func TestOverview_emptyStates(t *testing.T) {
	ctx := context.Background()
	db := overviewDB(t)
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") ||
		!strings.Contains(body, "go run ./cmd/server demo") || !strings.Contains(body, "go run ./cmd/server sync") {
		t.Fatalf("empty overview: %d %q", resp.StatusCode, body)
	}
	if strings.Contains(body, "<svg class=\"chart-svg\"") {
		t.Error("charts drawn with no tenant")
	}

	tenant := "0000000c-0000-4000-8000-00000000cafe"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	run, err := db.StartSyncRun(ctx, tenant, "snapshot", "full")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishSyncRun(ctx, run.ID, store.RunFailed, nil, "the snapshot could not be read"); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, "GET", ts.URL+"/", nil)
	for _, want := range []string{"Not evaluated yet", "Contoso", "Failed", "the snapshot could not be read",
		"No sync of this tenant has succeeded yet.", `href="/sync"`} {
		if !strings.Contains(body, want) {
			t.Errorf("overview of a tenant not evaluated lacks %q", want)
		}
	}
	if strings.Contains(body, "No tenant has been synced yet") || strings.Contains(body, "chart-svg") {
		t.Error("not-evaluated tenant shows the no-tenant state or charts")
	}

	if resp, _ := do(t, "GET", ts.URL+"/?tenant=0000000c-0000-4000-8000-000000000000", nil); resp.StatusCode != 404 {
		t.Errorf("unknown tenant: %d, want 404", resp.StatusCode)
	}
}

// TestOverview_hostileTenantNamesEscaped: tenants named with every hostile
// string render escaped in the switcher and the heading.
func TestOverview_hostileTenantNamesEscaped(t *testing.T) {
	ctx := context.Background()
	db := overviewDB(t)
	hostile := synthetic.HostileStrings()
	for i, name := range hostile {
		if _, err := db.UpsertTenant(ctx, store.Tenant{ID: fmt.Sprintf("0000000d-0000-4000-8000-%012d", i), DisplayName: name}); err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/?tenant=0000000d-0000-4000-8000-000000000001", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `<select id="ov-tenant" name="tenant">`) {
		t.Error("no tenant switcher with several tenants")
	}
	for _, h := range hostile {
		if strings.ContainsAny(h, `<>"'&`) && strings.Contains(body, h) {
			t.Errorf("hostile name rendered raw: %q", h)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, `selected`) {
		t.Error("hostile names not escaped, or the current tenant not selected")
	}
	if strings.Contains(body, "<b>tags</b>") {
		t.Error("markup from a tenant name rendered")
	}
}

// TestOverview_demoBanner: the banner shows with Options.Demo.
func TestOverview_demoBanner(t *testing.T) {
	tenant := demoTenant(t)
	s := web.New(testDB, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{Demo: true})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	resp, body := do(t, "GET", ts.URL+"/?tenant="+tenant, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Demo mode") || !strings.Contains(body, `class="demo-banner"`) {
		t.Errorf("demo overview: %d, banner missing", resp.StatusCode)
	}
}
