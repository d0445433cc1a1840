package emulator_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/emulator"
)

// rawGet GETs on a fresh connection (a reused one may be retried by the
// transport after a reset) and returns the status, the body and the error
// reading it.
func (h *harness) rawGet(url string) (*http.Response, []byte, error) {
	h.t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, h.r.URL+url, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaults(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	add := func(spec string) {
		t.Helper()
		f, err := emulator.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.e.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}

	// A 5xx on the second request only.
	add("path=/v1.0/users,nth=2,kind=503")
	for i, want := range []int{200, 503, 200} {
		resp, b, err := h.rawGet("/v1.0/users")
		if err != nil || resp.StatusCode != want {
			t.Fatalf("request %d: %v %v, want %d", i+1, resp, err, want)
		}
		if want == 503 {
			wantGraphError(t, b, "ServiceUnavailable")
		}
	}

	// 429 with and without Retry-After.
	add("path=/v1.0/groups,kind=429,retry=3s")
	add("path=/v1.0/applications,kind=429,retry=none")
	if resp, _, _ := h.rawGet("/v1.0/groups"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("429 with Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _, _ := h.rawGet("/v1.0/applications"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
		t.Errorf("429 without Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// A prefix, on every request from the second on.
	add("path=/v1.0/servicePrincipals/*,nth=2,count=all,kind=500")
	for i, want := range []int{200, 500, 500, 500} {
		if resp, _, _ := h.rawGet("/v1.0/servicePrincipals/" + spID(1) + "/owners"); resp.StatusCode != want {
			t.Errorf("prefix request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}

	// Connection reset: the client gets an error, no response.
	add("path=/v1.0/roleManagement/directory/roleDefinitions,kind=reset")
	if _, _, err := h.rawGet("/v1.0/roleManagement/directory/roleDefinitions"); err == nil {
		t.Error("reset: the client got a response")
	}

	// Truncated body: valid headers, then the connection closes mid-body.
	add("path=/v1.0/users,kind=truncate") // counting starts when a fault is added
	resp, _, err := h.rawGet("/v1.0/users")
	if resp == nil || resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v, err %v, want 200 and unexpected EOF", resp, err)
	}

	// Malformed JSON: a 200 whose page stops inside an object.
	add("path=/v1.0/users,kind=malformed")
	resp, b, err := h.rawGet("/v1.0/users")
	var p page
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(b, &p) == nil || !strings.HasSuffix(string(b), "{") {
		t.Errorf("malformed: %v %v, body ends %q", resp, err, b[max(0, len(b)-20):])
	}

	// Slow body: complete, but late.
	add("path=/v1.0/users,kind=slow,delay=20ms")
	began := time.Now()
	resp, b, err = h.rawGet("/v1.0/users")
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(b, &p) != nil || len(p.Value) != 6 {
		t.Errorf("slow: %v %v %s", resp, err, b)
	}
	if d := time.Since(began); d < 7*20*time.Millisecond {
		t.Errorf("slow body arrived in %v, want at least 140ms", d)
	}

	// Faults are counted, a reset as status 0.
	s := h.e.Stats()
	if s.Faults != 10 || s.Count("/v1.0/roleManagement/directory/roleDefinitions", 0) != 1 || s.Count("/v1.0/users", 503) != 1 {
		t.Errorf("stats: faults %d, requests %v", s.Faults, s.Requests)
	}

	// Status faults reach the requests of a batch.
	h.e.ClearFaults()
	add("path=/v1.0/servicePrincipals/" + spID(2) + "/owners,kind=504")
	resp, b = h.do(http.MethodPost, "/v1.0/$batch", h.token, jsonBody(map[string]any{"requests": []map[string]any{
		{"id": "a", "method": "GET", "url": "/servicePrincipals/" + spID(1) + "/owners"},
		{"id": "b", "method": "GET", "url": "servicePrincipals/" + spID(2) + "/owners"},
	}}))
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"b","status":504`) || !strings.Contains(string(b), `"id":"a","status":200`) {
		t.Errorf("batch with a fault: %d %s", resp.StatusCode, b)
	}
}

func TestParseFault(t *testing.T) {
	f, err := emulator.ParseFault("path=/v1.0/users, nth=3, count=2, kind=503")
	if err != nil || f.Path != "/v1.0/users" || f.Nth != 3 || f.Count != 2 || f.Kind != emulator.FaultStatus || f.Status != 503 {
		t.Errorf("ParseFault: %+v %v", f, err)
	}
	if f, err := emulator.ParseFault("path=/beta/*,kind=slow,delay=1s,count=all"); err != nil || f.Count != emulator.Always || f.Delay != time.Second {
		t.Errorf("ParseFault slow: %+v %v", f, err)
	}
	for _, bad := range []string{"", "kind=503", "path=/x,kind=404", "path=/x,kind=explode", "path=/x,nth=-1,kind=reset", "path=/x,color=red,kind=reset", "path=/x,nth"} {
		if _, err := emulator.ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) succeeded", bad)
		}
	}
}
