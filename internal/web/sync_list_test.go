package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/web"
)

// TestSyncList_showsTheImportRun: the fixture's import run is listed as
// succeeded, with each resource's counts.
func TestSyncList_showsTheImportRun(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	runs, err := testDB.SyncRuns(context.Background(), store.SyncRunFilter{TenantID: &tenant})
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs of the demo tenant: %v, %v", runs, err)
	}
	run := runs[0]

	resp, body := do(t, "GET", ts.URL+"/sync?tenant="+tenant, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /sync: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `id="run-`+strconv.FormatInt(run.ID, 10)+`"`) || !strings.Contains(body, ">Succeeded<") {
		t.Errorf("run %d is not shown as succeeded", run.ID)
	}
	if !strings.Contains(body, "sync.js") || strings.Contains(body, `id="sync-live"`) {
		t.Error("the page should include sync.js, and follow no run when none is running")
	}
	if len(run.Resources) < 10 {
		t.Fatalf("the import run records %d resources", len(run.Resources))
	}
	for c, rs := range run.Resources {
		row := syncRow(body, c)
		if row == "" {
			t.Errorf("no row for resource %s", c)
			continue
		}
		for field, want := range map[string]int{"fetched": rs.Fetched, "added": rs.Added, "changed": rs.Changed, "deleted": rs.Deleted} {
			if cell := `data-field="` + field + `" class="num">` + strconv.Itoa(want) + `<`; !strings.Contains(row, cell) {
				t.Errorf("resource %s: %s is not %d in %s", c, field, want, row)
			}
		}
		if !strings.Contains(row, ">Applied<") {
			t.Errorf("resource %s is not shown as applied: %s", c, row)
		}
	}
	if !strings.Contains(body, "does not sync on its own") || strings.Contains(body, ">Sync now<") {
		t.Error("without a sync function the page should say so instead of offering Sync now")
	}
}

// syncRow returns the resource row of a collection on the sync page.
func syncRow(body, collection string) string {
	i := strings.Index(body, `<tr data-collection="`+collection+`">`)
	if i < 0 {
		return ""
	}
	end := strings.Index(body[i:], "</tr>")
	if end < 0 {
		return ""
	}
	return body[i : i+end]
}

// TestSyncNow_notConfigured: without a sync function, "Sync now" answers
// 409 with the reason, on the sync page.
func TestSyncNow_notConfigured(t *testing.T) {
	tenant := demoTenant(t)
	ts, logs := newServer(t, testDB)
	resp, body := post(t, ts.URL+"/sync?tenant="+tenant, "", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "sync is not configured on this server") {
		t.Errorf("POST /sync without a sync function: %d, want 409 saying sync is not configured", resp.StatusCode)
	}
	if !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "<h1>Sync</h1>") {
		t.Error("the refusal is not the sync page with an alert")
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Error("a refusal was logged as a failure")
	}
}

// syncServer builds a server whose "Sync now" calls fn.
func syncServer(t *testing.T, fn func(ctx context.Context, tenantID string) error) *httptest.Server {
	t.Helper()
	s := web.New(testDB, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{SyncNow: fn})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// TestSyncNow_startsThenRedirects: "Sync now" calls the sync function with
// the tenant and redirects to the sync page (303); busy is a clear 409.
func TestSyncNow_startsThenRedirects(t *testing.T) {
	tenant := demoTenant(t)
	var mu gosync.Mutex
	var calls []string
	busy := false
	ts := syncServer(t, func(ctx context.Context, tenantID string) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, tenantID)
		if busy {
			return sync.ErrBusy
		}
		return nil
	})

	resp, _ := post(t, ts.URL+"/sync?tenant="+tenant, "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": ts.URL})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /sync: %d, want 303", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Path != "/sync" || loc.Query().Get("tenant") != tenant {
		t.Errorf("redirect to %q, want /sync?tenant=%s", resp.Header.Get("Location"), tenant)
	}
	mu.Lock()
	if len(calls) != 1 || calls[0] != tenant {
		t.Errorf("sync function called with %v, want [%s]", calls, tenant)
	}
	busy = true
	mu.Unlock()

	// The page it redirects to says the sync started and watches for its run.
	_, body := do(t, "GET", ts.URL+loc.String(), nil)
	if !strings.Contains(body, "Sync started") || !strings.Contains(body, `id="sync-live"`) || !strings.Contains(body, "data-started") {
		t.Error("after Sync now, the page neither says it started nor watches for the run")
	}
	if !strings.Contains(body, ">Sync now<") {
		t.Error("with a sync function the page offers Sync now")
	}

	resp, body = post(t, ts.URL+"/sync?tenant="+tenant, "", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "a sync of this tenant is already running") {
		t.Errorf("POST /sync while busy: %d, want 409 saying a sync is running", resp.StatusCode)
	}

	// A failure the page cannot explain is a plain 500.
	ts = syncServer(t, func(ctx context.Context, tenantID string) error { return errors.New("secret detail") })
	resp, body = post(t, ts.URL+"/sync?tenant="+tenant, "", nil)
	if resp.StatusCode != 500 || strings.Contains(body, "secret detail") {
		t.Errorf("POST /sync with a failing sync function: %d, want a 500 without the error's text", resp.StatusCode)
	}
}

// TestSyncNow_refusesCrossOriginAndLargeBodies: a cross-site form post is
// refused before the handler runs; an oversized body is 413.
func TestSyncNow_refusesCrossOriginAndLargeBodies(t *testing.T) {
	tenant := demoTenant(t)
	var called atomic.Bool
	ts := syncServer(t, func(ctx context.Context, tenantID string) error { called.Store(true); return nil })
	resp, body := post(t, ts.URL+"/sync?tenant="+tenant, "", map[string]string{
		"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Cross-origin requests") {
		t.Errorf("cross-site POST /sync: %d, want 403", resp.StatusCode)
	}
	if called.Load() {
		t.Error("a cross-site POST started a sync")
	}
	resp, _ = post(t, ts.URL+"/sync?tenant="+tenant, "x="+strings.Repeat("a", 64<<10), map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || called.Load() {
		t.Errorf("POST /sync with a 64 KB body: %d (sync started: %v), want 413", resp.StatusCode, called.Load())
	}
}

// post sends a form POST and does not follow redirects.
func post(tb testing.TB, target, form string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(body)
}

// apiRun is a run as /api/v1/sync/runs returns it, decoded strictly.
type apiRun struct {
	ID         int64   `json:"id"`
	Mode       string  `json:"mode"`
	Source     string  `json:"source"`
	Status     string  `json:"status"`
	StartedAt  string  `json:"startedAt"`
	FinishedAt *string `json:"finishedAt"`
	Error      string  `json:"error"`
	Resources  map[string]struct {
		Status     string `json:"status"`
		Fetched    int    `json:"fetched"`
		Added      int    `json:"added"`
		Changed    int    `json:"changed"`
		Deleted    int    `json:"deleted"`
		Withheld   int    `json:"withheld"`
		DurationMS int64  `json:"durationMs"`
		Error      string `json:"error"`
		Note       string `json:"note"`
	} `json:"resources"`
}

func decodeRuns(t *testing.T, body string) []apiRun {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var runs []apiRun
	if err := dec.Decode(&runs); err != nil {
		t.Fatalf("not the runs JSON: %v: %q", err, body)
	}
	return runs
}

// TestAPISyncRuns: valid JSON with the run and its resources; limit bounds.
func TestAPISyncRuns(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	want, err := testDB.SyncRuns(context.Background(), store.SyncRunFilter{TenantID: &tenant})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "GET", ts.URL+"/api/v1/sync/runs?tenant="+tenant, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/sync/runs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	runs := decodeRuns(t, body)
	if len(runs) != len(want) || runs[0].ID != want[0].ID || runs[0].Status != store.RunSucceeded ||
		runs[0].FinishedAt == nil || runs[0].StartedAt == "" {
		t.Fatalf("runs %+v, want the %d runs of the tenant, newest succeeded", runs, len(want))
	}
	for c, rs := range want[0].Resources {
		got := runs[0].Resources[c]
		if got.Status != rs.Status || got.Fetched != rs.Fetched || got.Added != rs.Added || got.DurationMS != rs.DurationMS {
			t.Errorf("resource %s = %+v, want %+v", c, got, rs)
		}
	}

	for _, tc := range []struct {
		query  string
		status int
	}{
		{"limit=1", 200},
		{"limit=1000", 200},
		{"limit=0", 400},
		{"limit=x", 400},
	} {
		resp, body := do(t, "GET", ts.URL+"/api/v1/sync/runs?tenant="+tenant+"&"+tc.query, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("?%s: %d, want %d", tc.query, resp.StatusCode, tc.status)
		}
		if tc.status == 200 && tc.query == "limit=1" && len(decodeRuns(t, body)) != 1 {
			t.Errorf("?limit=1: not one run: %s", body)
		}
	}
	if resp, _ := do(t, "GET", ts.URL+"/api/v1/sync/runs?tenant=44444444-4444-4444-8444-444444444444", nil); resp.StatusCode != 404 {
		t.Errorf("unknown tenant: %d, want 404", resp.StatusCode)
	}
}

// TestSyncList_runningAndNeedsReview uses a database of its own: a running
// run is followed live (with a refresh link for pages without script), and a
// needs-review run says why, with the breaker's numbers.
func TestSyncList_runningAndNeedsReview(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	ts, _ := newServer(t, db)
	if resp, body := do(t, "GET", ts.URL+"/sync", nil); resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") {
		t.Errorf("no tenant: %d, want the empty state", resp.StatusCode)
	}
	if resp, body := do(t, "GET", ts.URL+"/api/v1/sync/runs", nil); resp.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("API without a tenant: %d %q, want []", resp.StatusCode, body)
	}

	const tenant = "55555555-5555-4555-8555-555555555555"
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: `<i>Hostile</i> "tenant"`}); err != nil {
		t.Fatal(err)
	}
	review, err := db.StartSyncRun(ctx, tenant, "graph", "full")
	if err != nil {
		t.Fatal(err)
	}
	breaker := "users: 40 of 100 (40.0%) would be deleted, more than the 20% allowed; deletions withheld until reviewed"
	if err := db.FinishSyncRun(ctx, review.ID, store.RunNeedsReview, map[string]store.ResourceStatus{
		"users":      {Status: "needs_review", Fetched: 60, Withheld: 40, Note: breaker},
		"<b>odd</b>": {Status: "applied", Fetched: 1},
	}, breaker); err != nil {
		t.Fatal(err)
	}
	running, err := db.StartSyncRun(ctx, tenant, "graph", "delta")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateSyncRunResources(ctx, running.ID, map[string]store.ResourceStatus{
		"users": {Status: "running", Fetched: 1234, DurationMS: 2500},
	}); err != nil {
		t.Fatal(err)
	}

	_, body := do(t, "GET", ts.URL+"/sync?tenant="+tenant, nil)
	poll := html.EscapeString("/api/v1/sync/runs?limit=1&tenant=" + tenant)
	if !strings.Contains(body, `id="sync-live"`) || !strings.Contains(body, `data-poll="`+poll+`"`) ||
		!strings.Contains(body, `data-run="`+strconv.FormatInt(running.ID, 10)+`"`) {
		t.Errorf("a running run is not followed: no sync-live element polling %s", poll)
	}
	if !strings.Contains(body, ">Refresh</a>") {
		t.Error("no Refresh link for pages without script")
	}
	if row := syncRow(body, "users"); !strings.Contains(row, ">1234<") || !strings.Contains(row, "Fetching") {
		t.Errorf("running run's users row: %s", row)
	}
	if !strings.Contains(body, "Needs review (deletions withheld)") || !strings.Contains(body, html.EscapeString(breaker)) ||
		!strings.Contains(body, "--accept-deletions") {
		t.Error("the needs-review run does not say why, with the breaker's numbers, nor what to do")
	}
	if strings.Contains(body, "<b>odd</b>") || strings.Contains(body, "<i>Hostile</i>") {
		t.Error("a collection or tenant name is not escaped")
	}

	resp, body := do(t, "GET", ts.URL+"/api/v1/sync/runs?tenant="+tenant+"&limit=1", nil)
	runs := decodeRuns(t, body)
	if resp.StatusCode != 200 || len(runs) != 1 || runs[0].ID != running.ID || runs[0].Status != store.RunRunning ||
		runs[0].FinishedAt != nil || runs[0].Resources["users"].Fetched != 1234 {
		t.Errorf("API, newest run: %d %+v; want the running run with its progress", resp.StatusCode, runs)
	}
	if !strings.Contains(body, `"finishedAt":null`) {
		t.Error("a running run's finishedAt is not null")
	}
}
