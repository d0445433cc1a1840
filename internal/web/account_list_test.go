package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/synthetic"
)

// accountListAPI is the answer of /api/v1/accounts.
type accountListAPI struct {
	Tenant      *string `json:"tenant"`
	EvaluatedAt *string `json:"evaluatedAt"`
	Total       int     `json:"total"`
	Accounts    []struct {
		ID             string `json:"id"`
		UPN            string `json:"upn"`
		DisplayName    string `json:"displayName"`
		Kind           string `json:"kind"`
		Enabled        bool   `json:"enabled"`
		Exposure       string `json:"exposure"`
		Workload       string `json:"workload"`
		ServiceAccount struct {
			Level string `json:"level"`
			Score int    `json:"score"`
		} `json:"serviceAccount"`
		Privileged []string `json:"privileged"`
		Findings   []string `json:"findings"`
	} `json:"accounts"`
	Next   *string                   `json:"next"`
	Facets map[string]map[string]int `json:"facets"`
}

// getAccountList fetches one page of the API.
func getAccountList(t *testing.T, base, query string) accountListAPI {
	t.Helper()
	resp, body := do(t, "GET", base+"/api/v1/accounts?"+query, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/accounts?%s: %d %s", query, resp.StatusCode, body)
	}
	var out accountListAPI
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET /api/v1/accounts?%s: %v in %s", query, err, body)
	}
	return out
}

// walkAccountList follows the API's next cursors from the first page and
// returns every account id in order, and the total the pages announced.
func walkAccountList(t *testing.T, base, query string) (ids []string, total int) {
	t.Helper()
	q := query
	for pages := 0; ; pages++ {
		l := getAccountList(t, base, q)
		total = l.Total
		for _, a := range l.Accounts {
			ids = append(ids, a.ID)
		}
		if l.Next == nil {
			return ids, total
		}
		if pages > 1000 {
			t.Fatalf("%s: more than 1000 pages", query)
		}
		q = query + "&after=" + url.QueryEscape(*l.Next)
	}
}

// demoAccountIDs selects ids from the demo tenant's current evaluation with
// SQL of its own ($1 is the tenant).
func demoAccountIDs(t *testing.T, tenant, where, order string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storetest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT a.account_id FROM exposure_accounts a
		JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
		WHERE c.tenant_id = $1 AND (`+where+`) ORDER BY `+order, tenant)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestAccountList_pageRenders(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/accounts?tenant="+url.QueryEscape(tenant), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<table class="account-table">`, `<th scope="col">Account</th>`, `<th scope="col">Kind</th>`,
		`<th scope="col">Service account</th>`, `<th scope="col">Exposure</th>`, `<th scope="col">Findings</th>`,
		`<th scope="col">Admin roles</th>`, `<th scope="row" class="account-name">`,
		`<form class="panel account-filters" method="get" action="/accounts"`, `<button type="submit">`,
		`<label for="filter-q">`, `<label for="filter-finding">`, `<label for="filter-sort">`,
		`<legend>Kind</legend>`, `<legend>Service account</legend>`, `<legend>Exposure</legend>`,
		`name="sa" value="likely" checked`, `name="sa" value="confirmed" checked`,
		`<a href="/accounts" aria-current="page">`, `static/accounts.css`,
		`href="/accounts/`, html.EscapeString("?tenant=" + url.QueryEscape(tenant)),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Every input and select has a label: inside one, or named by for=.
	for _, m := range regexp.MustCompile(`<(?:select|input)\b[^>]*>`).FindAllString(body, -1) {
		if strings.Contains(m, `type="hidden"`) || strings.Contains(m, `type="checkbox"`) {
			continue // checkboxes sit inside their label
		}
		id := regexp.MustCompile(`\bid="([^"]+)"`).FindStringSubmatch(m)
		if id == nil || !strings.Contains(body, `<label for="`+id[1]+`"`) {
			t.Errorf("control without a label: %s", m)
		}
	}
	if strings.Count(body, `<label class="check"><input type="checkbox"`) != 11 {
		t.Errorf("want 11 checkboxes, each inside its label")
	}
	// Exposure is never shown by colour alone: every badge has its words.
	for _, m := range regexp.MustCompile(`<span class="exposure exposure-[a-z]+">([^<]*)</span>`).FindAllStringSubmatch(body, -1) {
		if strings.TrimSpace(m[1]) == "" {
			t.Errorf("an exposure badge without text: %s", m[0])
		}
	}
	if !strings.Contains(body, `rel="next"`) {
		t.Error("the first page of the default list has no next page link")
	}
	if strings.Contains(body, ">First page<") {
		t.Error("the first page links to the first page")
	}
}

// TestAccountList_filters: every filter returns exactly the accounts the
// same selection written in SQL returns, in the order of the sort.
func TestAccountList_filters(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	const byExposure = `exposure_rank, name_key, account_id`
	for _, tc := range []struct {
		query, where, order string
	}{
		{"", `sa_level IN ('likely', 'confirmed')`, byExposure}, // the default
		{"sa=any", `true`, byExposure},
		{"sa=confirmed&sa=likely&sa=possible&sa=no", `true`, byExposure},
		{"sa=possible", `sa_level = 'possible'`, byExposure},
		{"sa=no&sa=possible", `sa_level IN ('no', 'possible')`, byExposure},
		{"kind=user", `kind = 'user' AND sa_level IN ('likely', 'confirmed')`, byExposure},
		{"kind=servicePrincipal&sa=any", `kind = 'servicePrincipal'`, byExposure},
		{"kind=managedIdentity&kind=servicePrincipal&sa=any", `kind <> 'user'`, byExposure},
		{"exposure=exposed", `exposure = 'exposed' AND sa_level IN ('likely', 'confirmed')`, byExposure},
		{"exposure=protected&exposure=notApplicable&sa=any", `exposure IN ('protected', 'notApplicable')`, byExposure},
		{"finding=EXCLUDED_FROM_MFA", `'EXCLUDED_FROM_MFA' = ANY(finding_codes) AND sa_level IN ('likely', 'confirmed')`, byExposure},
		{"finding=SP_NO_OWNER&sa=any", `'SP_NO_OWNER' = ANY(finding_codes)`, byExposure},
		{"privileged=yes&sa=any", `cardinality(privileged) > 0`, byExposure},
		{"privileged=no", `cardinality(privileged) = 0 AND sa_level IN ('likely', 'confirmed')`, byExposure},
		{"flows=yes&sa=any", `signals @> '[{"code": "ownsAutomation"}]'`, byExposure},
		{"flows=no&kind=user", `NOT signals @> '[{"code": "ownsAutomation"}]' AND kind = 'user' AND sa_level IN ('likely', 'confirmed')`, byExposure},
		{"q=SVC&sa=any", `display_name ILIKE '%svc%' OR upn ILIKE '%svc%'`, byExposure},
		{"q=" + url.QueryEscape("<script>") + "&sa=any", `display_name ILIKE '%<script>%' OR upn ILIKE '%<script>%'`, byExposure},
		{"q=%25&sa=any", `strpos(display_name, '%') > 0 OR strpos(upn, '%') > 0`, byExposure},
		{"q=_&sa=any", `strpos(display_name, '_') > 0 OR strpos(upn, '_') > 0`, byExposure},
		{"q=" + url.QueryEscape(`\`) + "&sa=any", `strpos(display_name, '\') > 0 OR strpos(upn, '\') > 0`, byExposure},
		{"q=" + url.QueryEscape(`%_\`) + "&sa=any", `strpos(display_name, '%_\') > 0 OR strpos(upn, '%_\') > 0`, byExposure},
		{"q=e&sort=score", `(display_name ILIKE '%e%' OR upn ILIKE '%e%') AND sa_level IN ('likely', 'confirmed')`, `sa_score DESC, name_key, account_id`},
		{"sort=name&sa=any", `true`, `name_key, account_id`},
		{"sort=score", `sa_level IN ('likely', 'confirmed')`, `sa_score DESC, name_key, account_id`},
		{"kind=user&exposure=exposed&finding=EXCLUDED_FROM_MFA&flows=yes&sort=name",
			`kind = 'user' AND exposure = 'exposed' AND 'EXCLUDED_FROM_MFA' = ANY(finding_codes)
			 AND signals @> '[{"code": "ownsAutomation"}]' AND sa_level IN ('likely', 'confirmed')`, `name_key, account_id`},
		// The form's "any" choices send empty values: they do not filter.
		{"kind=&finding=&privileged=&flows=&q=&sort=", `sa_level IN ('likely', 'confirmed')`, byExposure},
	} {
		t.Run(tc.query, func(t *testing.T) {
			want := demoAccountIDs(t, tenant, tc.where, tc.order)
			got, total := walkAccountList(t, ts.URL, "tenant="+url.QueryEscape(tenant)+"&limit=200&"+tc.query)
			if total != len(want) || !slices.Equal(got, want) {
				t.Errorf("total %d, %d accounts; want %d in the order of the sort\n got %v\nwant %v", total, len(got), len(want), got, want)
			}
		})
	}
	if n := len(demoAccountIDs(t, tenant, `sa_level IN ('likely', 'confirmed')`, `1`)); n < 50 {
		t.Errorf("the demo tenant has %d likely or confirmed service accounts: too few to page", n)
	}

	// The accounts the API returns carry their stored evaluation.
	l := getAccountList(t, ts.URL, "tenant="+url.QueryEscape(tenant)+"&privileged=yes&sa=any")
	if len(l.Accounts) == 0 || *l.Tenant != tenant || l.EvaluatedAt == nil {
		t.Fatalf("privileged accounts: %+v", l)
	}
	for _, a := range l.Accounts {
		var kind, level, exp string
		var score int
		var enabled bool
		storetest.QueryRow(t, storetest.URL(), `SELECT a.kind, a.sa_level, a.sa_score, a.exposure, a.enabled
			FROM exposure_accounts a JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
			WHERE c.tenant_id = $1 AND a.account_id = $2`, []any{tenant, a.ID}, &kind, &level, &score, &exp, &enabled)
		if a.Kind != kind || a.ServiceAccount.Level != level || a.ServiceAccount.Score != score || a.Exposure != exp ||
			a.Enabled != enabled || len(a.Privileged) == 0 || a.Findings == nil {
			t.Errorf("account %s: %+v, stored %s %s %d %s %v", a.ID, a, kind, level, score, exp, enabled)
		}
		if (a.Kind == "user") != (a.Workload == "") {
			t.Errorf("account %s: kind %s with workload %q", a.ID, a.Kind, a.Workload)
		}
	}
}

// TestAccountList_pagination: small pages walk every account of a filter
// exactly once, whatever the sort, through the API and through the page's
// own links.
func TestAccountList_pagination(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	tq := "tenant=" + url.QueryEscape(tenant)
	for _, query := range []string{"limit=7", "limit=7&sa=any", "limit=5&sa=any&sort=name", "limit=9&sa=any&sort=score",
		"limit=3&exposure=exposed&exposure=partial", "limit=1&privileged=yes&sa=any", "limit=4&q=a&sa=any"} {
		t.Run(query, func(t *testing.T) {
			big, err := url.ParseQuery(query)
			if err != nil {
				t.Fatal(err)
			}
			big.Set("limit", "200")
			all, _ := walkAccountList(t, ts.URL, tq+"&"+big.Encode())
			got, total := walkAccountList(t, ts.URL, tq+"&"+query)
			if len(all) == 0 || total != len(all) || !slices.Equal(got, all) {
				t.Errorf("small pages walked %d accounts (total %d), want the %d of one big page, each once:\n got %v\nwant %v",
					len(got), total, len(all), got, all)
			}
		})
	}

	// The HTML page: follow "Next page" and collect the account links.
	link := regexp.MustCompile(`<th scope="row" class="account-name"><a href="/accounts/([^"?]+)\?`)
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	want, _ := walkAccountList(t, ts.URL, tq+"&limit=200&sa=any&sort=name")
	var got []string
	path := "/accounts?" + tq + "&sa=any&sort=name&limit=25"
	for pages := 0; path != ""; pages++ {
		resp, body := do(t, "GET", ts.URL+path, nil)
		if resp.StatusCode != 200 || pages > 100 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			id, _ := url.PathUnescape(m[1])
			got = append(got, id)
		}
		if pages > 0 && !strings.Contains(body, ">First page</a>") {
			t.Errorf("page %d has no link to the first page", pages+1)
		}
		path = ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "sort=name") || !strings.Contains(path, "limit=25") || !strings.Contains(path, "sa=any") {
				t.Fatalf("the next page link drops the filters: %s", path)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the page's links walked %d accounts, want %d, each once", len(got), len(want))
	}
}

// TestAccountList_facets: the count next to each filter value is the total
// of the list that value selects, the other filters kept.
func TestAccountList_facets(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	tq := "tenant=" + url.QueryEscape(tenant)
	values := map[string][]string{
		"kind":           {"user", "servicePrincipal", "managedIdentity"},
		"serviceAccount": {"confirmed", "likely", "possible", "no"},
		"exposure":       {"exposed", "partial", "protected", "notApplicable"},
		"finding":        exposure.Codes,
		"privileged":     {"yes", "no"},
		"ownsFlows":      {"yes", "no"},
	}
	params := map[string]string{"kind": "kind", "serviceAccount": "sa", "exposure": "exposure", "finding": "finding",
		"privileged": "privileged", "ownsFlows": "flows"}
	for _, base := range []url.Values{
		{},                                // the default: likely and confirmed
		{"sa": {"any"}, "flows": {"yes"}}, //
		{"exposure": {"exposed"}, "q": {"e"}, "kind": {"user"}},
		{"finding": {"EXCLUDED_FROM_MFA"}, "privileged": {"no"}, "sa": {"likely", "possible"}},
	} {
		l := getAccountList(t, ts.URL, tq+"&"+base.Encode())
		if ids, _ := walkAccountList(t, ts.URL, tq+"&limit=200&"+base.Encode()); len(ids) != l.Total {
			t.Errorf("%s: total %d, but the list has %d accounts", base.Encode(), l.Total, len(ids))
		}
		for facet, vs := range values {
			if len(l.Facets[facet]) != len(vs) {
				t.Errorf("%s: facet %s has %d values, want %d", base.Encode(), facet, len(l.Facets[facet]), len(vs))
			}
			for _, v := range vs {
				q := url.Values{}
				for k, x := range base {
					q[k] = x
				}
				q.Set(params[facet], v)
				if got, want := l.Facets[facet][v], getAccountList(t, ts.URL, tq+"&"+q.Encode()).Total; got != want {
					t.Errorf("%s: facet %s=%s counts %d, but that list has %d accounts", base.Encode(), facet, v, got, want)
				}
			}
		}
	}
	// The page shows the counts next to the values.
	l := getAccountList(t, ts.URL, tq)
	_, body := do(t, "GET", ts.URL+"/accounts?"+tq, nil)
	for _, want := range []string{
		`User <span class="count">(` + strconv.Itoa(l.Facets["kind"]["user"]) + `)</span>`,
		`Likely <span class="count">(` + strconv.Itoa(l.Facets["serviceAccount"]["likely"]) + `)</span>`,
		`Exposed <span class="count">(` + strconv.Itoa(l.Facets["exposure"]["exposed"]) + `)</span>`,
		`Excluded from MFA (` + strconv.Itoa(l.Facets["finding"]["EXCLUDED_FROM_MFA"]) + `)`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, `value="user" checked`) {
		t.Error("kind user is ticked without a kind filter")
	}
}

// TestAccountList_hostileNamesEscaped: the generator's hostile display
// names reach the page only escaped (and isolated from the text around
// them), and the API only as JSON strings.
func TestAccountList_hostileNamesEscaped(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	var pages, apiPages strings.Builder
	path := "/accounts?tenant=" + url.QueryEscape(tenant) + "&sa=any&limit=200"
	for n := 0; path != ""; n++ {
		resp, body := do(t, "GET", ts.URL+path, nil)
		if resp.StatusCode != 200 || n > 20 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		pages.WriteString(body)
		path = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	_, api := do(t, "GET", ts.URL+"/api/v1/accounts?sa=any&limit=200&tenant="+url.QueryEscape(tenant), nil)
	apiPages.WriteString(api)
	body := pages.String()
	found := 0
	for _, s := range synthetic.HostileStrings() {
		ids := demoAccountIDs(t, tenant, `display_name = '`+strings.ReplaceAll(s, "'", "''")+`'`, `1`)
		if len(ids) == 0 {
			continue // planted in a group, a policy or a job title, not an account's name
		}
		found++
		if strings.ContainsAny(s, `<>"'&`) && strings.Contains(body, s) {
			t.Errorf("%q appears raw on the page", s)
		}
		if !strings.Contains(body, "<bdi>"+html.EscapeString(s)+"</bdi>") {
			t.Errorf("%q does not appear escaped in a <bdi>", s)
		}
		if strings.ContainsAny(s, "<>") && strings.Contains(apiPages.String(), s) {
			t.Errorf("%q appears raw in the API", s)
		}
	}
	if found < 4 {
		t.Errorf("only %d hostile strings are account names: the fixture does not test escaping", found)
	}
	// A hostile search is escaped back into the form, never executed.
	q := `"><script>alert(2)</script>`
	resp, body := do(t, "GET", ts.URL+"/accounts?tenant="+url.QueryEscape(tenant)+"&q="+url.QueryEscape(q), nil)
	if resp.StatusCode != 200 || strings.Contains(body, q) || !strings.Contains(body, html.EscapeString(q)) {
		t.Errorf("hostile search: %d, raw %v", resp.StatusCode, strings.Contains(body, q))
	}
}

func TestAccountList_invalidFilters(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	next := getAccountList(t, ts.URL, "limit=2&tenant="+url.QueryEscape(tenant)).Next
	if next == nil {
		t.Fatal("no next page")
	}
	for _, tc := range []struct{ query, says string }{
		{"kind=robot", `Unknown kind`},
		{"sa=maybe", `Unknown service-account level`},
		{"sa=any&sa=likely", `sa=any`},
		{"exposure=bad", `Unknown exposure level`},
		{"finding=NOPE", `Unknown finding code`},
		{"finding=DORMANT&finding=MFA_FAILURES", `Give finding= once`},
		{"privileged=maybe", `Unknown value`},
		{"flows=1", `Unknown value`},
		{"sort=size", `Unknown sort order`},
		{"limit=0", `page size`},
		{"limit=201", `page size`},
		{"limit=ten", `page size`},
		{"after=garbage", `page position`},
		{"after=" + url.QueryEscape(*next) + "&sort=name", `another sort order`},
		{"q=" + strings.Repeat("x", 201), `text search`},
		{"q=a%0Ab", `text search`},
	} {
		for _, path := range []string{"/accounts", "/api/v1/accounts"} {
			resp, body := do(t, "GET", ts.URL+path+"?"+tc.query, nil)
			if resp.StatusCode != 400 || !strings.Contains(body, html.EscapeString(tc.says)) {
				t.Errorf("GET %s?%s: %d, want 400 saying %q: %s", path, tc.query, resp.StatusCode, tc.says, body)
			}
		}
	}
	if resp, _ := do(t, "GET", ts.URL+"/accounts?tenant=00000000-0000-0000-0000-000000000000", nil); resp.StatusCode != 404 {
		t.Errorf("unknown tenant: %d, want 404", resp.StatusCode)
	}
	// A cursor of the page keeps working with its sort.
	if resp, body := do(t, "GET", ts.URL+"/accounts?tenant="+url.QueryEscape(tenant)+"&after="+url.QueryEscape(*next), nil); resp.StatusCode != 200 ||
		!strings.Contains(body, ">First page</a>") {
		t.Errorf("second page: %d", resp.StatusCode)
	}
}

func TestAccountList_emptyStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := freshDB(t)
	ts, _ := newServer(t, db)

	resp, body := do(t, "GET", ts.URL+"/accounts", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") || !strings.Contains(body, `href="/sync"`) {
		t.Errorf("no tenant: %d %s", resp.StatusCode, body)
	}
	l := getAccountList(t, ts.URL, "")
	if l.Tenant != nil || l.Accounts == nil || len(l.Accounts) != 0 || l.Next != nil {
		t.Errorf("API without a tenant: %+v", l)
	}
	if resp, _ := do(t, "GET", ts.URL+"/accounts?kind=robot", nil); resp.StatusCode != 400 {
		t.Errorf("an invalid filter without a tenant: %d, want 400", resp.StatusCode)
	}

	// Synced, not evaluated yet.
	const tenant = "33333333-3333-3333-3333-333333333333"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Contoso <b>"}); err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, "GET", ts.URL+"/accounts", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Not evaluated yet") || !strings.Contains(body, "Contoso &lt;b&gt;") {
		t.Errorf("not evaluated: %d %s", resp.StatusCode, body)
	}
	if l := getAccountList(t, ts.URL, ""); l.Tenant == nil || *l.Tenant != tenant || len(l.Accounts) != 0 {
		t.Errorf("API of a tenant not evaluated: %+v", l)
	}
}

func TestAccountList_noMatch(t *testing.T) {
	t.Parallel()
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/accounts?q=no-such-account-anywhere&tenant="+url.QueryEscape(tenant), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "No account matches these filters.") {
		t.Fatalf("no match: %d %s", resp.StatusCode, body)
	}
	clear := html.EscapeString("/accounts?" + url.Values{"sa": {"any"}, "tenant": {tenant}}.Encode())
	if !strings.Contains(body, `<a href="`+clear+`">Clear all filters</a>`) {
		t.Errorf("no link to clear the filters (%s)", clear)
	}
	if strings.Contains(body, "<table") || strings.Contains(body, `rel="next"`) {
		t.Error("an empty list shows a table or a next page")
	}
	// The filters stay in the form, to change them.
	if !strings.Contains(body, `value="no-such-account-anywhere"`) {
		t.Error("the search is not kept in the form")
	}
}

// TestAccountList_broadSearch: a search that matches more accounts than
// the list counts (store.AccountSearchCountLimit) still lists every one of
// them; the page says it matched more than the limit instead of a total,
// and shows no counts next to the filters; the API's total and facets are
// null. A narrower search is counted as usual.
func TestAccountList_broadSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := freshDB(t)
	ts, _ := newServer(t, db)
	const tenant = "44444444-4444-4444-4444-444444444444"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Wide", DefaultDomain: "wide.example"}); err != nil {
		t.Fatal(err)
	}
	ev := &exposure.Evaluation{TenantID: tenant, EvaluatedAt: synthetic.DefaultNow}
	wide := store.AccountSearchCountLimit + 200
	for i := range wide {
		ev.Accounts = append(ev.Accounts, &exposure.Account{
			ID: fmt.Sprintf("u%05d", i), UPN: fmt.Sprintf("staff%05d@wide.example", i), DisplayName: fmt.Sprintf("Staff %05d", i),
			Kind: exposure.KindUser, Enabled: true, Exposure: exposure.LevelExposed,
			ServiceAccount: exposure.Classification{Level: exposure.ServiceLikely, Score: i % 50},
		})
	}
	if _, err := db.SaveEvaluation(ctx, tenant, 0, ev, 0); err != nil {
		t.Fatal(err)
	}
	tq := "tenant=" + url.QueryEscape(tenant)

	resp, body := do(t, "GET", ts.URL+"/api/v1/accounts?"+tq+"&q=wide.example", nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); resp.StatusCode != 200 || err != nil {
		t.Fatalf("API: %d %v %s", resp.StatusCode, err, body)
	}
	if string(raw["total"]) != "null" || string(raw["facets"]) != "null" ||
		string(raw["searchMatchesMoreThan"]) != strconv.Itoa(store.AccountSearchCountLimit) {
		t.Errorf("API: total %s, facets %s, searchMatchesMoreThan %s; want null, null, %d",
			raw["total"], raw["facets"], raw["searchMatchesMoreThan"], store.AccountSearchCountLimit)
	}
	if ids, _ := walkAccountList(t, ts.URL, tq+"&limit=200&q=wide.example"); len(ids) != wide || len(slices.Compact(slices.Clone(ids))) != wide {
		t.Errorf("the pages list %d accounts, want each of the %d once", len(ids), wide)
	}

	_, body = do(t, "GET", ts.URL+"/accounts?"+tq+"&q=wide.example", nil)
	over := "The search matches more than " + strings.Replace(strconv.Itoa(store.AccountSearchCountLimit), "000", ",000", 1) + " accounts"
	for _, want := range []string{over, "Too many to count", `rel="next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, `class="count"`) || strings.Contains(body, "accounts match<") {
		t.Error("the page shows counts for a search it did not count")
	}

	// Narrower: counted.
	l := getAccountList(t, ts.URL, tq+"&q="+url.QueryEscape("staff 001"))
	_, body = do(t, "GET", ts.URL+"/accounts?"+tq+"&q="+url.QueryEscape("staff 001"), nil)
	if l.Total != 100 || l.Facets["kind"]["user"] != 100 || !strings.Contains(body, "100 accounts match") ||
		!strings.Contains(body, `User <span class="count">(100)</span>`) || strings.Contains(body, "Too many to count") {
		t.Errorf("a search of 100 accounts: total %d, facets %v", l.Total, l.Facets["kind"])
	}
}
