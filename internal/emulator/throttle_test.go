package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/emulator"
)

// frozen is a clock that does not move, so buckets never refill during a test.
func frozen() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

func TestThrottle_resourceUnits(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Now: frozen, Throttle: emulator.Throttle{Enabled: true, ResourceUnitsPer10s: 10}})
	for i := range 4 {
		resp, b := h.do(http.MethodGet, "/v1.0/users", h.token, nil)
		if resp.StatusCode != 200 || resp.Header.Get("x-ms-resource-unit") != "2" {
			t.Fatalf("request %d: %d, x-ms-resource-unit %q\n%s", i+1, resp.StatusCode, resp.Header.Get("x-ms-resource-unit"), b)
		}
	}
	resp, _ := h.do(http.MethodGet, "/v1.0/users?$select=id", h.token, nil) // $select costs one less
	if resp.Header.Get("x-ms-resource-unit") != "1" {
		t.Errorf("x-ms-resource-unit with $select: %q", resp.Header.Get("x-ms-resource-unit"))
	}
	if p := resp.Header.Get("x-ms-throttle-limit-percentage"); p == "" {
		t.Errorf("no x-ms-throttle-limit-percentage at 90%% of the limit")
	}
	resp, b := h.do(http.MethodGet, "/v1.0/users", h.token, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("x-ms-throttle-scope") != "Tenant_Application/ReadWrite/"+h.e.Client().ID+"/"+tenantID ||
		resp.Header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" {
		t.Fatalf("over the limit: %d %v", resp.StatusCode, resp.Header)
	}
	wantGraphError(t, b, "TooManyRequests")

	// The limit is per app.
	other := h.e.IssueTokenFor("cccccccc-0000-0000-0000-000000000000", graphAud)
	if resp, _ := h.do(http.MethodGet, "/v1.0/users", other, nil); resp.StatusCode != 200 {
		t.Errorf("another app: %d", resp.StatusCode)
	}
	// Each request of a batch pays, and may be throttled alone.
	var reqs []map[string]any
	for i := range 3 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/servicePrincipals/" + spID(1) + "/owners"})
	}
	h.e.SetThrottle(emulator.Throttle{Enabled: true, ResourceUnitsPer10s: 10})
	resp, b = h.do(http.MethodPost, "/v1.0/$batch", other, jsonBody(map[string]any{"requests": reqs}), "Content-Type", "application/json")
	var out struct {
		Responses []struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
		} `json:"responses"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Responses) != 3 {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	// The other app spent 2 of its 10 units; 8 remain: the three owners requests (1 each) pass.
	for _, r := range out.Responses {
		if r.Status != 200 {
			t.Errorf("inner %s: %d", r.ID, r.Status)
		}
	}
	if s := h.e.Stats(); s.Throttled != 1 {
		t.Errorf("throttled %d, want 1", s.Throttled)
	}
	h.e.SetThrottle(emulator.Throttle{})
	if resp, _ := h.do(http.MethodGet, "/v1.0/users", h.token, nil); resp.StatusCode != 200 {
		t.Errorf("throttling off: %d", resp.StatusCode)
	}
}

func TestThrottle_batchInnerRequests(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Now: frozen, Throttle: emulator.Throttle{Enabled: true, ResourceUnitsPer10s: 4}})
	var reqs []map[string]any
	for i := range 6 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/servicePrincipals/" + spID(1) + "/owners"})
	}
	resp, b := h.do(http.MethodPost, "/v1.0/$batch", h.token, jsonBody(map[string]any{"requests": reqs}))
	var out struct {
		Responses []struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
		} `json:"responses"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	var statuses []int
	for _, r := range out.Responses {
		statuses = append(statuses, r.Status)
		if r.Status == 429 && r.Headers["Retry-After"] == "" {
			t.Errorf("inner 429 without Retry-After")
		}
	}
	if fmt.Sprint(statuses) != "[200 200 200 200 429 429]" {
		t.Errorf("inner statuses %v", statuses)
	}
}

func TestThrottle_conditionalAccessAndSignIns(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Now: frozen, Throttle: emulator.Throttle{Enabled: true}})
	h.get("/v1.0/identity/conditionalAccess/policies", http.StatusOK)
	resp, b := h.do(http.MethodGet, "/v1.0/identity/conditionalAccess/namedLocations", h.token, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
		t.Errorf("second CA request within a second: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	wantGraphError(t, b, "TooManyRequests")
	for i := range 5 {
		h.get(fmt.Sprintf("/beta/auditLogs/signIns?$top=%d", i+1), http.StatusOK)
	}
	resp, _ = h.do(http.MethodGet, "/v1.0/auditLogs/signIns", h.token, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("sixth sign-in request in 10 s: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestLowerBound(t *testing.T) {
	e, err := emulator.New(fixture(t, 6), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := e.LowerBound(); b != 0 {
		t.Errorf("no model: bound %v, want 0", b)
	}
	// 8 listings of 1 page at 1 unit, plus 8 per-object requests in a batch:
	// 16 units against a limit of 10 per 10 s, the first 10 free → 6 s.
	// Conditional Access: 2 requests at 1/s, the first free → 1 s.
	e.SetThrottle(emulator.Throttle{Enabled: true, ResourceUnitsPer10s: 10})
	if b := e.LowerBound(); b != 6*time.Second {
		t.Errorf("throttling: bound %v, want 6s", b)
	}
	// Latency: the longest chain is the environments page, then the flows
	// page of the default environment, then a flow's permissions:
	// 3 × 40 ms + (2 + 5 + 2) × 50 µs.
	e.SetThrottle(emulator.Throttle{})
	e.SetLatency(emulator.Latency{Base: 40 * time.Millisecond, PerObject: 50 * time.Microsecond})
	if b := e.LowerBound(); b != 120*time.Millisecond+450*time.Microsecond {
		t.Errorf("latency: bound %v, want 120.45ms", b)
	}
	if s := e.Stats(); s.LowerBound != e.LowerBound() || s.LowerBoundSeconds == 0 {
		t.Errorf("stats lower bound %v", s.LowerBound)
	}
}

func TestLatency(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{Latency: emulator.Latency{Base: 30 * time.Millisecond, PerObject: time.Millisecond}})
	began := time.Now()
	h.get("/v1.0/users", http.StatusOK)
	if d := time.Since(began); d < 36*time.Millisecond {
		t.Errorf("6 users answered in %v, want at least 36ms", d)
	}
	if l, err := emulator.ParseLatency("40ms,50us"); err != nil || l.Base != 40*time.Millisecond || l.PerObject != 50*time.Microsecond {
		t.Errorf("ParseLatency: %v %v", l, err)
	}
	for _, bad := range []string{"", "fast", "40ms,x", "-1s"} {
		if _, err := emulator.ParseLatency(bad); err == nil {
			t.Errorf("ParseLatency(%q) succeeded", bad)
		}
	}
}
