package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/emulator"
)

func TestBatch(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	resp, b := h.do(http.MethodPost, "/v1.0/$batch", h.token, jsonBody(map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/servicePrincipals/" + spID(1) + "/owners?$select=id,displayName"},
		{"id": "2", "method": "GET", "url": "/servicePrincipals/" + spID(1) + "/appRoleAssignments"},
		{"id": "3", "method": "GET", "url": "/servicePrincipals/" + spID(9) + "/owners"},
		{"id": "4", "method": "GET", "url": "/users?$top=2"},
		{"id": "5", "method": "GET", "url": "/users", "dependsOn": []string{"3"}},
		{"id": "6", "method": "GET", "url": "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"},
	}}), "Content-Type", "application/json")
	var out struct {
		Responses []struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"responses"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Responses) != 6 {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	want := map[string]int{"1": 200, "2": 200, "3": 404, "4": 200, "5": 424, "6": 400}
	for _, r := range out.Responses {
		if r.Status != want[r.ID] {
			t.Errorf("inner %s: %d %s, want %d", r.ID, r.Status, r.Body, want[r.ID])
		}
	}
	if got := string(out.Responses[0].Body); !strings.Contains(got, `"value":[{"@odata.type":"#microsoft.graph.user","id":"`+userID(1)+`","displayName":"User 1"}]`) {
		t.Errorf("inner owners body: %s", got)
	}
	wantGraphError(t, out.Responses[2].Body, "Request_ResourceNotFound")
	var p page
	json.Unmarshal(out.Responses[3].Body, &p)
	if !strings.HasPrefix(p.NextLink, h.r.URL+"/v1.0/users?") {
		t.Errorf("inner next link %q is not absolute on the batch's version", p.NextLink)
	}
	// The next link works as-is outside the batch.
	if rest, _ := h.walk(p.NextLink); len(rest) != 4 {
		t.Errorf("following the inner next link: %d users", len(rest))
	}
	s := h.e.Stats()
	if s.Count("/v1.0/$batch", 200) != 1 || s.Count("/v1.0/servicePrincipals/{id}/owners", 404) != 1 || s.Count("/v1.0/users", 200) != 3 {
		t.Errorf("counters: %v", s.Requests)
	}

	// More than 20 requests is a 400.
	var reqs []map[string]any
	for i := range 21 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/users"})
	}
	resp, b = h.do(http.MethodPost, "/beta/$batch", h.token, jsonBody(map[string]any{"requests": reqs}))
	if resp.StatusCode != 400 {
		t.Errorf("21 requests: %d", resp.StatusCode)
	}
	wantGraphError(t, b, "BadRequest")
	for _, body := range []string{`{`, `{"requests":[]}`, `{"requests":[{"id":"1","method":"GET","url":"/users"},{"id":"1","method":"GET","url":"/users"}]}`} {
		if resp, _ := h.do(http.MethodPost, "/v1.0/$batch", h.token, strings.NewReader(body)); resp.StatusCode != 400 {
			t.Errorf("batch %s: %d", body, resp.StatusCode)
		}
	}
	if resp, _ := h.do(http.MethodPost, "/v1.0/$batch", "", strings.NewReader(`{"requests":[{"id":"1","method":"GET","url":"/users"}]}`)); resp.StatusCode != 401 {
		t.Errorf("batch without a token: %d", resp.StatusCode)
	}
}
