package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"

	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/static"
)

var testDB *store.DB

func TestMain(m *testing.M) { storetest.Main(m, func(db *store.DB) { testDB = db }) }

// freshDB is an empty, migrated database of the test's own, for tests that
// need no tenant or change data (the demo fixture is shared and read-only).
func freshDB(tb testing.TB) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.NewDB(tb), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// newServer builds a server on db, with a route that panics, and returns it
// with the buffer its log goes to.
func newServer(tb testing.TB, db *store.DB) (*httptest.Server, *testLog) {
	tb.Helper()
	logs := &testLog{}
	s := web.New(db, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), web.Options{})
	s.MountForTest(http.MethodGet, "/test/panic", func(http.ResponseWriter, *http.Request) {
		panic("secret panic detail")
	})
	ts := httptest.NewServer(logs.wrap(s.Handler()))
	tb.Cleanup(ts.Close)
	return ts, logs
}

// testLog is what a test server logs. A client can read a response before
// the server's access log line is written (after the response): String
// first waits for the requests in flight (wrap counts them).
type testLog struct {
	mu       gosync.Mutex
	buf      bytes.Buffer
	inflight gosync.WaitGroup
}

// wrap counts h's requests in flight, log lines included.
func (l *testLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.inflight.Add(1)
		defer l.inflight.Done()
		h.ServeHTTP(w, r)
	})
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the log once the requests in flight are handled.
func (l *testLog) String() string {
	l.inflight.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func do(tb testing.TB, method, url string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
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

func TestSecurityHeaders_onEveryResponse(t *testing.T) {
	ts, _ := newServer(t, testDB)
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		status       int
	}{
		{"GET", "/", nil, 200},
		{"GET", "/healthz", nil, 200},
		{"GET", "/readyz", nil, 200},
		{"GET", static.Path("app.css"), nil, 200},
		{"GET", "/no/such/page", nil, 404},
		{"GET", "/static/missing.css", nil, 404},
		{"DELETE", "/", map[string]string{"Sec-Fetch-Site": "same-origin"}, 405},
		{"POST", "/", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"GET", "/test/panic", nil, 500},
	} {
		resp, _ := do(t, tc.method, ts.URL+tc.path, tc.header)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: Content-Security-Policy %q", tc.method, tc.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: missing headers in %v", tc.method, tc.path, h)
		}
	}
}

func TestCrossOriginProtection(t *testing.T) {
	ts, _ := newServer(t, testDB)
	for _, tc := range []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"cross-site POST (fetch metadata)", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-origin POST (Origin only, older browsers)", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site PUT", "PUT", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same-origin POST passes to routing", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, 405},
		{"cross-site GET is safe", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		resp, body := do(t, tc.method, ts.URL+"/", tc.header)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 403 && !strings.Contains(body, "Cross-origin requests") {
			t.Errorf("%s: body is not the site's 403 page: %q", tc.name, body)
		}
	}
}

func TestPanic_isAPlain500WithoutInternals(t *testing.T) {
	ts, logs := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/test/panic", nil)
	if resp.StatusCode != 500 {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	if strings.Contains(body, "secret panic detail") || strings.Contains(body, "goroutine") {
		t.Errorf("500 page leaks the panic: %q", body)
	}
	if !strings.Contains(body, "Internal error.") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
		t.Errorf("500 page should say Internal error. and give the request id: %q", body)
	}
	if !strings.Contains(logs.String(), "secret panic detail") {
		t.Error("the panic is not in the log")
	}
	// The server keeps serving.
	if resp, _ := do(t, "GET", ts.URL+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("healthz after panic: %d", resp.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	ts, _ := newServer(t, testDB)
	if resp, body := do(t, "GET", ts.URL+"/readyz", nil); resp.StatusCode != 200 {
		t.Errorf("readyz on a current schema: %d %q", resp.StatusCode, body)
	}

	// A database whose schema is behind: one migration short of current.
	ctx := context.Background()
	behindURL := storetest.NewDB(t)
	behind, err := store.Open(ctx, behindURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(behind.Close)
	if _, err := behind.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.Exec(t, behindURL, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`)
	ts2, _ := newServer(t, behind)
	resp, body := do(t, "GET", ts2.URL+"/readyz", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "server migrate") {
		t.Errorf("readyz on a schema behind: %d %q, want 503 saying to migrate", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", ts2.URL+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("healthz must not depend on the database: %d", resp.StatusCode)
	}
}

func TestHome_emptyStateThenTenantsEscaped(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	ts, _ := newServer(t, db)

	resp, body := do(t, "GET", ts.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "No tenant has been synced yet") {
		t.Fatalf("empty home: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(body, `aria-current="page"`) || !strings.Contains(body, "<main") {
		t.Error("layout lacks navigation state or main landmark")
	}

	hostile := `<script>alert("x")</script>`
	if _, err := db.UpsertTenant(ctx, store.Tenant{ID: "22222222-2222-2222-2222-222222222222", DisplayName: hostile}); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, "GET", ts.URL+"/", nil)
	if strings.Contains(body, hostile) || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("tenant name not escaped: %q", body)
	}
	if strings.Contains(body, "No tenant has been synced yet") {
		t.Error("empty state shown with a tenant present")
	}
}

func TestStaticFiles_cacheHeaders(t *testing.T) {
	ts, _ := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+static.Path("app.css"), nil)
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned asset Cache-Control = %q, want immutable", got)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, ":root") {
		t.Errorf("app.css: %s %q", resp.Header.Get("Content-Type"), body[:min(len(body), 40)])
	}
	resp, _ = do(t, "GET", ts.URL+"/static/app.css", nil)
	if got := resp.Header.Get("Cache-Control"); strings.Contains(got, "immutable") {
		t.Errorf("unversioned asset Cache-Control = %q, want a short cache", got)
	}
	resp, _ = do(t, "GET", ts.URL+"/static/app.css", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}
	for _, p := range []string{"/static/../go.mod", "/static/%2e%2e/go.mod", "/static/static.go", "/static/"} {
		if resp, _ := do(t, "GET", ts.URL+p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestRequestID(t *testing.T) {
	ts, _ := newServer(t, testDB)
	resp, _ := do(t, "GET", ts.URL+"/healthz", map[string]string{"X-Request-Id": "proxy-id-12345"})
	if got := resp.Header.Get("X-Request-Id"); got != "proxy-id-12345" {
		t.Errorf("well-formed incoming id not kept: %q", got)
	}
	resp, _ = do(t, "GET", ts.URL+"/healthz", map[string]string{"X-Request-Id": "bad id\" injected=1"})
	if got := resp.Header.Get("X-Request-Id"); strings.Contains(got, " ") || len(got) != 16 {
		t.Errorf("malformed incoming id kept: %q", got)
	}
}

func TestNotFound_isTheSitesPage(t *testing.T) {
	ts, logs := newServer(t, testDB)
	resp, body := do(t, "GET", ts.URL+"/accounts/does-not-exist", nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "There is no page at this address.") {
		t.Errorf("404: %d %q", resp.StatusCode, body)
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Error("a 404 was logged as a failure")
	}
}

// HEAD is answered wherever GET is, as GET would be (link checkers and
// monitors use it).
func TestHead_servedWhereGetIs(t *testing.T) {
	tenant := demoTenant(t)
	ts, _ := newServer(t, testDB)
	for _, path := range []string{"/", "/accounts?tenant=" + tenant, "/api/v1/accounts?tenant=" + tenant, "/healthz"} {
		resp, _ := do(t, http.MethodHead, ts.URL+path, nil)
		get, _ := do(t, http.MethodGet, ts.URL+path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: status %d, Content-Type %q; want 200 and GET's %q", path, resp.StatusCode,
				resp.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("HEAD %s: no security headers", path)
		}
	}
	if resp, _ := do(t, http.MethodHead, ts.URL+"/accounts/00000000-0000-0000-0000-00000000dead?tenant="+tenant, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of an unknown account: status %d, want 404", resp.StatusCode)
	}
}
