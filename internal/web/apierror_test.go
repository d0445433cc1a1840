package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/web"
)

// apiErrorBody is the documented shape of every API error (README, "JSON API").
type apiErrorBody struct {
	Error struct {
		Status    int    `json:"status"`
		Message   string `json:"message"`
		RequestID string `json:"requestId"`
	} `json:"error"`
}

// checkAPIError checks that resp is a JSON API error with status want, and
// returns its message.
func checkAPIError(tb testing.TB, name string, resp *http.Response, body string, want int) string {
	tb.Helper()
	if resp.StatusCode != want {
		tb.Errorf("%s: status %d, want %d: %.300s", name, resp.StatusCode, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Errorf("%s: Content-Type %q, want JSON", name, ct)
	}
	if strings.Contains(strings.ToLower(body), "<html") || strings.Contains(body, "<!") {
		tb.Errorf("%s: HTML in an API error: %.300s", name, body)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var got apiErrorBody
	if err := dec.Decode(&got); err != nil {
		tb.Errorf("%s: body is not the API error shape (%v): %.300s", name, err, body)
		return ""
	}
	if got.Error.Status != want || got.Error.Message == "" {
		tb.Errorf("%s: error body %+v, want status %d and a message", name, got.Error, want)
	}
	if id := resp.Header.Get("X-Request-Id"); got.Error.RequestID != id || id == "" {
		tb.Errorf("%s: requestId %q, want the X-Request-Id %q", name, got.Error.RequestID, id)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		tb.Errorf("%s: an error must not be cached: Cache-Control %q", name, resp.Header.Get("Cache-Control"))
	}
	return got.Error.Message
}

func TestAPIErrors_areJSON(t *testing.T) {
	tenant := demoTenant(t)
	logs := &testLog{}
	s := web.New(testDB, slog.New(slog.NewTextHandler(logs, nil)), web.Options{})
	s.MountForTest(http.MethodGet, "/api/test/panic", func(http.ResponseWriter, *http.Request) {
		panic("secret panic detail")
	})
	ts := httptest.NewServer(logs.wrap(s.Handler()))
	t.Cleanup(ts.Close)
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		status             int
		message            string // part of the message, if it matters
		allow              string // the Allow header of a 405
	}{
		{"unknown account", "GET", "/api/v1/accounts/00000000-0000-0000-0000-00000000dead?tenant=" + tenant, nil, 404, "", ""},
		{"unknown tenant", "GET", "/api/v1/accounts?tenant=nope", nil, 404, `No tenant "nope"`, ""},
		{"unknown tenant, policies", "GET", "/api/v1/policies?tenant=nope", nil, 404, "", ""},
		{"bad filter value", "GET", "/api/v1/accounts?kind=bogus", nil, 400, "", ""},
		{"bad limit", "GET", "/api/v1/sync/runs?limit=many", nil, 400, "limit", ""},
		{"no such endpoint", "GET", "/api/v1/nothing", nil, 404, "API endpoint", ""},
		{"API root", "GET", "/api", nil, 404, "API endpoint", ""},
		{"read-only API", "POST", "/api/v1/accounts", map[string]string{"Sec-Fetch-Site": "same-origin"}, 405, "method", "GET, HEAD"},
		{"DELETE", "DELETE", "/api/v1/policies", map[string]string{"Sec-Fetch-Site": "same-origin"}, 405, "", "GET, HEAD"},
		{"cross-site POST", "POST", "/api/v1/accounts", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "Cross-origin", ""},
		{"panic", "GET", "/api/test/panic", nil, 500, "Internal error.", ""},
	} {
		resp, body := do(t, tc.method, ts.URL+tc.path, tc.header)
		msg := checkAPIError(t, tc.name, resp, body, tc.status)
		if !strings.Contains(msg, tc.message) {
			t.Errorf("%s: message %q, want it to mention %q", tc.name, msg, tc.message)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", tc.name, got, tc.allow)
		}
		if strings.Contains(body, "secret panic detail") || strings.Contains(body, "goroutine") {
			t.Errorf("%s: internals leak: %s", tc.name, body)
		}
	}
	if !strings.Contains(logs.String(), "secret panic detail") {
		t.Error("the panic is not in the log")
	}
}

// TestAPIErrors_internalIsLoggedNotShown: a store failure is a 500 whose
// body says only "Internal error."; the cause goes to the log.
func TestAPIErrors_internalIsLoggedNotShown(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.NewDB(t)
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.Exec(t, dbURL, `DROP TABLE tenants CASCADE`)
	logs := &testLog{}
	s := web.New(db, slog.New(slog.NewTextHandler(logs, nil)), web.Options{})
	ts := httptest.NewServer(logs.wrap(s.Handler()))
	t.Cleanup(ts.Close)

	for _, path := range []string{"/api/v1/accounts", "/api/v1/accounts/x", "/api/v1/policies", "/api/v1/sync/runs"} {
		resp, body := do(t, "GET", ts.URL+path, nil)
		if msg := checkAPIError(t, path, resp, body, 500); msg != "Internal error." {
			t.Errorf("%s: message %q, want Internal error.", path, msg)
		}
		if strings.Contains(body, "tenants") || strings.Contains(body, "does not exist") {
			t.Errorf("%s: the internal error leaks: %s", path, body)
		}
	}
	if !strings.Contains(logs.String(), "does not exist") {
		t.Errorf("the internal error is not logged:\n%s", logs.String())
	}

	// The pages keep their HTML error page.
	resp, body := do(t, "GET", ts.URL+"/accounts", nil)
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Internal error.") || strings.Contains(body, "does not exist") {
		t.Errorf("page: %d %q, want the HTML 500 page: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestPageErrors_stayHTML: outside /api/ errors are the site's pages, even
// at addresses that merely start like the API's.
func TestPageErrors_stayHTML(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		status             int
		allow              string
	}{
		{"unknown account", "GET", "/accounts/00000000-0000-0000-0000-00000000dead?tenant=" + tenant, nil, 404, ""},
		{"bad filter value", "GET", "/accounts?kind=bogus", nil, 400, ""},
		{"no such page", "GET", "/apiary", nil, 404, ""},
		{"method", "DELETE", "/sync", map[string]string{"Sec-Fetch-Site": "same-origin"}, 405, "GET, HEAD, POST"},
		{"cross-site POST", "POST", "/sync", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"panic", "GET", "/test/panic", nil, 500, ""},
	} {
		resp, body := do(t, tc.method, ts.URL+tc.path, tc.header)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(body, "<main") {
			t.Errorf("%s: Content-Type %q, want the HTML error page: %.200s", tc.name, ct, body)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", tc.name, got, tc.allow)
		}
	}
}
