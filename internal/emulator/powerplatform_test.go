package emulator_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/emulator"
)

func TestPowerPlatform(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{PageLimits: map[string]emulator.PageLimit{"flows": {Default: 2, Max: 2}}})
	token := h.e.IssueToken(ppAud)
	walk := func(url string) ([]map[string]any, int) {
		t.Helper()
		var items []map[string]any
		pages := 0
		for url != "" {
			resp, b := h.do(http.MethodGet, url, token, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
			}
			var p struct {
				Value        []map[string]any `json:"value"`
				NextLink     string           `json:"nextLink"`
				ODataContext string           `json:"@odata.context"`
				ODataNext    string           `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if p.ODataContext != "" || p.ODataNext != "" {
				t.Errorf("Power Platform page with OData annotations: %s", b)
			}
			items = append(items, p.Value...)
			pages++
			url = p.NextLink
		}
		return items, pages
	}
	names := func(items []map[string]any) []string {
		var out []string
		for _, m := range items {
			out = append(out, m["name"].(string))
		}
		return out
	}
	envs, _ := walk("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01")
	if got := names(envs); !slices.Equal(got, []string{envDefault, envProd}) {
		t.Errorf("environments %v", got)
	}
	flows, pages := walk("/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envDefault + "/v2/flows?api-version=2016-11-01")
	if len(flows) != 5 || pages != 3 {
		t.Errorf("flows: %d in %d pages, want 5 in 3", len(flows), pages)
	}
	if props, _ := flows[0]["properties"].(map[string]any); props["displayName"] != "Flow 1" {
		t.Errorf("flow served whole: %v", flows[0])
	}
	if flows, _ := walk("/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envProd + "/v2/flows?api-version=2016-11-01"); len(flows) != 0 {
		t.Errorf("flows of an environment without any: %v", flows)
	}
	perms, _ := walk("/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envDefault +
		"/flows/00000000-0000-0000-0007-000000000001/permissions?api-version=2016-11-01")
	if got := names(perms); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Errorf("permissions %v", got)
	}
	if perms, _ := walk("/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envDefault +
		"/flows/00000000-0000-0000-0007-000000000002/permissions?api-version=2016-11-01"); len(perms) != 0 {
		t.Errorf("permissions of a flow without any: %v", perms)
	}
	conns, _ := walk("/providers/Microsoft.PowerApps/scopes/admin/environments/" + envDefault + "/connections?api-version=2016-11-01")
	if got := names(conns); !slices.Equal(got, []string{"shared-office365-1"}) {
		t.Errorf("connections %v", got)
	}

	for _, tc := range []struct{ url, code string }{
		{"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments", "MissingApiVersionParameter"},
		{"/providers/Microsoft.PowerApps/scopes/admin/environments/" + envDefault + "/connections?api-version=latest", "InvalidApiVersionParameter"},
	} {
		resp, b := h.do(http.MethodGet, tc.url, token, nil)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":"`+tc.code+`"`) || strings.Contains(string(b), "innerError") {
			t.Errorf("%s: %d %s", tc.url, resp.StatusCode, b)
		}
	}
	for _, url := range []string{
		"/providers/Microsoft.ProcessSimple/scopes/admin/environments/nowhere/v2/flows?api-version=2016-11-01",
		"/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + envDefault + "/flows/nope/permissions?api-version=2016-11-01",
	} {
		if resp, b := h.do(http.MethodGet, url, token, nil); resp.StatusCode != 404 {
			t.Errorf("%s: %d %s", url, resp.StatusCode, b)
		}
	}
}
