package web_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/synthetic"
	"github.com/steward-dev/steward/internal/web"
)

// flowGroupRow matches a row of the owner-type table: its label, then its
// flow owners, flows, connection owners and connections.
var flowGroupRow = regexp.MustCompile(`<tr><th scope="row">([^<]+?) <span class="flows-group-desc">[^<]*</span></th>` +
	`<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>`)

// TestFlowList_groupsMatchSQL: the counts by owner identity type are what a
// plain query over the directory tables says.
func TestFlowList_groupsMatchSQL(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/flows?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /flows: %d", resp.StatusCode)
	}
	got := map[string][4]int{}
	for _, m := range flowGroupRow.FindAllStringSubmatch(body, -1) {
		var n [4]int
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+2])
		}
		got[m[1]] = n
	}

	// Flows per type: distinct flows with at least one owner (creator or
	// Owner permission) of the type; an owner is typed by the directory
	// tables and the current evaluation's classification.
	want := map[string][4]int{}
	conn, err := pgx.Connect(context.Background(), storetest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	const typed = `
		CASE WHEN u.id IS NOT NULL AND a.sa_level IN ('likely', 'confirmed') THEN 'User-based service account'
		     WHEN u.id IS NOT NULL THEN 'Person'
		     WHEN sp.id IS NOT NULL THEN 'Service principal or managed identity'
		     ELSE 'Unknown' END`
	const lookups = `
		LEFT JOIN users u ON u.tenant_id = $1 AND u.id = o.id AND u.deleted_at IS NULL
		LEFT JOIN service_principals sp ON sp.tenant_id = $1 AND sp.id = o.id AND sp.deleted_at IS NULL
		LEFT JOIN exposure_current c ON c.tenant_id = $1
		LEFT JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id AND a.account_id = o.id`
	rows, err := conn.Query(context.Background(), `
		SELECT `+typed+` AS type, count(DISTINCT o.id), count(DISTINCT f.environment_name || '/' || f.name)
		FROM flows f
		CROSS JOIN LATERAL (
			SELECT f.creator_object_id AS id WHERE f.creator_object_id <> ''
			UNION SELECT p.principal_id FROM flow_permissions p
			WHERE p.tenant_id = f.tenant_id AND p.environment_name = f.environment_name AND p.flow_name = f.name
			  AND p.role_name = 'Owner' AND p.deleted_at IS NULL) o
		`+lookups+`
		WHERE f.tenant_id = $1 AND f.deleted_at IS NULL
		GROUP BY 1`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	var typ string
	var owners, flows int
	if _, err := pgx.ForEachRow(rows, []any{&typ, &owners, &flows}, func() error {
		n := want[typ]
		n[0], n[1] = owners, flows
		want[typ] = n
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(context.Background(), `
		SELECT `+typed+` AS type, count(DISTINCT nullif(o.id, '')), count(*)
		FROM connections x CROSS JOIN LATERAL (SELECT x.created_by_id AS id) o
		`+lookups+`
		WHERE x.tenant_id = $1 AND x.deleted_at IS NULL
		GROUP BY 1`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&typ, &owners, &flows}, func() error {
		n := want[typ]
		n[2], n[3] = owners, flows
		want[typ] = n
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if len(got) != 4 {
		t.Fatalf("the page shows %d owner types (%v), want 4", len(got), got)
	}
	for label, g := range got {
		if g != want[label] {
			t.Errorf("%s: page shows flow owners, flows, connection owners, connections %v; SQL says %v", label, g, want[label])
		}
	}
	if want["User-based service account"][1] == 0 || want["Service principal or managed identity"][1] == 0 {
		t.Errorf("the demo should have flows of service accounts and of service principals: %v", want)
	}
	var total int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM flows WHERE tenant_id = $1 AND deleted_at IS NULL`,
		[]any{tenant}, &total)
	if !strings.Contains(body, "<strong>"+strconv.Itoa(total)+"</strong> flows") {
		t.Errorf("the page does not say %d flows", total)
	}
}

// TestFlowList_atRiskShowsExposedServiceAccountFlows: a demo flow owned by
// an exposed service account is listed at risk, with the reason and a link
// to its owner.
func TestFlowList_atRiskShowsExposedServiceAccountFlows(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)

	// The first such flow by name: exposed owners lead the list, by name.
	var flow, owner string
	storetest.QueryRow(t, storetest.URL(), `
		SELECT f.name, a.account_id FROM flows f
		JOIN exposure_current c ON c.tenant_id = f.tenant_id
		JOIN exposure_accounts a ON a.evaluation_id = c.evaluation_id AND a.account_id = f.creator_object_id
		WHERE f.tenant_id = $1 AND f.deleted_at IS NULL AND a.exposure = 'exposed' AND a.sa_level IN ('likely', 'confirmed')
		ORDER BY f.display_name, f.environment_name, f.name LIMIT 1`, []any{tenant}, &flow, &owner)

	resp, body := do(t, "GET", ts.URL+"/flows?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /flows: %d", resp.StatusCode)
	}
	row := flowTableRow(body, flow)
	if row == "" {
		t.Fatalf("flow %s, owned by exposed service account %s, is not listed at risk", flow, owner)
	}
	href := html.EscapeString("/accounts/" + url.PathEscape(owner))
	if !strings.Contains(row, "Owner exposed:") || !strings.Contains(row, `href="`+href+`"`) ||
		!strings.Contains(row, "a password alone signs in") {
		t.Errorf("flow %s: row lacks the exposed-owner reason with a link to %s: %s", flow, href, row)
	}

	var atRisk int
	if m := regexp.MustCompile(`Flows at risk <span class="flows-count">\((\d+)\)`).FindStringSubmatch(body); m != nil {
		atRisk, _ = strconv.Atoi(m[1])
	}
	o, err := testDB.FlowOverview(context.Background(), tenant, 1)
	if err != nil {
		t.Fatal(err)
	}
	if atRisk == 0 || atRisk != o.AtRiskTotal {
		t.Errorf("page says %d flows at risk, the store %d", atRisk, o.AtRiskTotal)
	}
	if n := strings.Count(body, `class="flows-reasons"`); n != min(atRisk, 100) {
		t.Errorf("%d flows listed at risk, want %d", n, min(atRisk, 100))
	}
	for _, reason := range []string{"Connection in error:", "Owner dormant:"} {
		if !strings.Contains(body, reason) {
			t.Errorf("no flow of the demo is at risk for %q", reason)
		}
	}
	if !strings.Contains(body, "Connections not connected") || !strings.Contains(body, "AADSTS") {
		t.Error("the connections in error are not listed with their AADSTS error")
	}
}

// flowTableRow returns the table row of the page that names a flow's id.
func flowTableRow(body, flow string) string {
	i := strings.Index(body, `<span class="flows-id">`+flow+`</span>`)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(body[:i], "<tr>")
	end := strings.Index(body[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return body[start : i+end]
}

// TestFlowList_hostileNamesEscaped: the hostile names the generator plants
// in flows, environments, connections and users render as text.
func TestFlowList_hostileNamesEscaped(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	_, body := do(t, "GET", ts.URL+"/flows?tenant="+tenant, nil)
	shown := 0
	for _, s := range synthetic.HostileStrings() {
		if strings.ContainsAny(s, `<>"'&`) && strings.Contains(body, s) {
			t.Errorf("hostile string %q is in the page unescaped", s)
		}
		if strings.Contains(body, html.EscapeString(s)) {
			shown++
		}
	}
	if shown < 3 {
		t.Errorf("only %d hostile strings shown (escaped): the test does not exercise escaping", shown)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>tags") {
		t.Error("hostile markup in the page")
	}
}

// TestFlowList_emptyStates: no tenant yet, and a tenant whose sync did not
// capture Power Platform.
func TestFlowList_emptyStates(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/flows", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") {
		t.Errorf("no tenant: %d, want the empty state", resp.StatusCode)
	}

	const tenant = "33333333-3333-4333-8333-333333333333"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	run, err := db.StartSyncRun(ctx, tenant, "graph", "full")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishSyncRun(ctx, run.ID, store.RunSucceeded, map[string]store.ResourceStatus{
		"users": {Status: "applied"}, "flows": {Status: "not_captured"}}, ""); err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, "GET", ts.URL+"/flows?tenant="+tenant, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Power Platform was not captured") {
		t.Errorf("not captured: %d, want the not-captured empty state", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", ts.URL+"/flows?tenant=44444444-4444-4444-8444-444444444444", nil); resp.StatusCode != 404 {
		t.Errorf("unknown tenant: %d, want 404", resp.StatusCode)
	}
}

// TestAADSTSMessage: the hand-written matcher finds what the regular
// expression it replaces finds.
func TestAADSTSMessage(t *testing.T) {
	re := regexp.MustCompile(`AADSTS\d+:.*`)
	for _, msg := range []string{
		"", "AADSTS", "AADSTS:", "AADSTS50076", "AADSTS50076:", "AADSTS50076: Due to MFA.",
		"Failed to refresh access token, status code 400, AADSTS50076: Due to a configuration change\nTrace ID: 1",
		"AADSTSx AADSTS1 AADSTS7000215: Invalid client secret.\r\nCorrelation ID: 2",
		"AAADSTS12:x", "AADSTS12a: no, AADSTS34: yes", "bad \xff bytes AADSTS9:\xfe\xfd\nrest", "AADSTS00:\n",
	} {
		if got, want := web.AADSTSMessageForTest(msg), re.FindString(msg); got != want {
			t.Errorf("aadstsMessage(%q) = %q, want %q", msg, got, want)
		}
	}
}

// TestFlowList_notEvaluated: a tenant whose data is stored but not yet
// evaluated shows its flows, every owner unknown, with a note saying why.
func TestFlowList_notEvaluated(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := sync.NewRunner(db, quiet, sync.Options{}, sync.SnapshotSource{Snapshot: snap}).Run(ctx, sync.RunRequest{
		TenantID: snap.Tenant.ID, Mode: sync.Full, Tenant: &store.Tenant{ID: snap.Tenant.ID, DisplayName: snap.Tenant.DisplayName},
	}); err != nil {
		t.Fatal(err)
	}
	ts, _ := newServer(t, db)
	resp, body := do(t, "GET", ts.URL+"/flows", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "This tenant has not been evaluated yet") {
		t.Fatalf("GET /flows before any evaluation: %d, want the not-evaluated note", resp.StatusCode)
	}
	groups := flowGroupRow.FindAllStringSubmatch(body, -1)
	if len(groups) != len(store.OwnerTypes) {
		t.Fatalf("%d owner types on the page, want %d", len(groups), len(store.OwnerTypes))
	}
	for _, m := range groups {
		if flows, _ := strconv.Atoi(m[3]); (m[1] == "Unknown") != (flows == len(snap.Flows)) {
			t.Errorf("owner type %s: %d flows of %d; want every flow's owners unknown", m[1], flows, len(snap.Flows))
		}
	}
}
