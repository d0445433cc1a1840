package powerplatform_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
	"github.com/steward-dev/steward/internal/synthetic"
)

func TestName(t *testing.T) {
	if got := newSource(t, "http://x", nil, nil).Name(); got != "powerplatform" {
		t.Errorf("Name() = %q, want powerplatform", got)
	}
}

func TestFetchFullDemoTenant(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, run := MustEmulator(t, s, emulator.Options{})
	out, ss, p, err := fetch(t, newSource(t, run.URL, newTokens(e), nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := len(out); got != 4 {
		t.Errorf("got %d outcomes, want 4", got)
	}
	checkMatchesSnapshot(t, s, out, ss)
	for _, c := range ppCollections {
		if got, want := p.fetched[c], s.Count(c); got != want {
			t.Errorf("progress: fetched %d %s, want %d", got, c, want)
		}
	}
	stats := e.Stats()
	if got, want := stats.Total(patPermissions), int64(len(s.Flows)); got != want {
		t.Errorf("permission requests = %d, want one per flow (%d)", got, want)
	}
	var served int64
	for _, pat := range []string{patEnvironments, patFlows, patPermissions, patConnections} {
		served += stats.Count(pat, http.StatusOK)
	}
	var requested int
	for _, n := range p.requested {
		requested += n
	}
	if int64(requested) != served {
		t.Errorf("progress counted %d requests, the emulator answered %d", requested, served)
	}
}

// checkMatchesSnapshot checks that a complete fetch staged exactly the
// snapshot's Power Platform objects, each with raw JSON that says its
// environment.
func checkMatchesSnapshot(t *testing.T, s *directory.Snapshot, out []stsync.Outcome, ss *sinks) {
	t.Helper()
	for _, c := range ppCollections {
		o := outcomeOf(t, out, c)
		if !o.Complete || o.NotCaptured {
			t.Errorf("%s: outcome %+v, want complete", c, o)
		}
		got, want := ss.get(c).keys(), snapshotKeys(s, c)
		if !slices.Equal(got, want) {
			t.Errorf("%s: staged %d keys, want the snapshot's %d (first staged %q, first wanted %q)", c, len(got), len(want), first(got), first(want))
		}
		if dups := ss.get(c).dups; len(dups) > 0 {
			t.Errorf("%s: %d objects Put twice, e.g. %s", c, len(dups), dups[0])
		}
	}
	for _, c := range []directory.Collection{directory.Flows, directory.Connections} {
		for key, raw := range ss.get(c).puts {
			var v struct {
				Properties struct {
					Environment struct{ Name string } `json:"environment"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("%s %s: raw JSON: %v", c, key, err)
			}
			if env, _, _ := strings.Cut(key, "/"); v.Properties.Environment.Name != env {
				t.Errorf("%s %s: raw properties.environment.name = %q, want %q", c, key, v.Properties.Environment.Name, env)
			}
		}
	}
	want := map[string]int{}
	for i := range s.FlowPermissions {
		want[s.FlowPermissions[i].Key()] = len(s.FlowPermissions[i].Permissions)
	}
	for key, raw := range ss.get(directory.FlowPermissions).puts {
		var v struct {
			FlowName    string            `json:"flowName"`
			Environment string            `json:"environment"`
			Permissions []json.RawMessage `json:"permissions"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("flow permissions %s: raw JSON: %v", key, err)
		}
		if got := v.Environment + "/" + v.FlowName; got != key {
			t.Errorf("flow permissions %s: raw names %s", key, got)
		}
		if len(v.Permissions) != want[key] {
			t.Errorf("flow permissions %s: %d permissions, want %d", key, len(v.Permissions), want[key])
		}
		for _, p := range v.Permissions {
			if !bytes.Contains(p, []byte(`"roleName"`)) {
				t.Errorf("flow permissions %s: permission without roleName: %s", key, p)
			}
		}
	}
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func TestFetchFollowsNextLink(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, run := MustEmulator(t, s, emulator.Options{PageLimits: map[string]emulator.PageLimit{
		"environments":    {Default: 1, Max: 1},
		"flows":           {Default: 7, Max: 7},
		"connections":     {Default: 9, Max: 9},
		"flowPermissions": {Default: 1, Max: 1},
	}})
	out, ss, _, err := fetch(t, newSource(t, run.URL, newTokens(e), nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	checkMatchesSnapshot(t, s, out, ss)

	pages := func(n, size int) int64 { return int64(max(1, (n+size-1)/size)) }
	flows, conns := map[string]int{}, map[string]int{}
	for i := range s.Flows {
		flows[s.Flows[i].EnvironmentName()]++
	}
	for i := range s.Connections {
		conns[s.Connections[i].EnvironmentName()]++
	}
	var wantFlows, wantConns, wantPerms int64
	for i := range s.Environments {
		wantFlows += pages(flows[s.Environments[i].Name], 7)
		wantConns += pages(conns[s.Environments[i].Name], 9)
	}
	for i := range s.FlowPermissions {
		wantPerms += pages(len(s.FlowPermissions[i].Permissions), 1)
	}
	stats := e.Stats()
	for _, tc := range []struct {
		pattern string
		want    int64
	}{
		{patEnvironments, int64(len(s.Environments))},
		{patFlows, wantFlows},
		{patConnections, wantConns},
		{patPermissions, wantPerms},
	} {
		if got := stats.Count(tc.pattern, http.StatusOK); got != tc.want {
			t.Errorf("%s: %d pages requested, want %d", tc.pattern, got, tc.want)
		}
	}
}

func TestFetchDeltaSkipsByDefault(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, run := MustEmulator(t, s, emulator.Options{})
	out, ss, _, err := fetch(t, newSource(t, run.URL, newTokens(e), nil), stsync.Delta)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	for _, c := range []directory.Collection{directory.Environments, directory.Flows, directory.FlowPermissions, directory.Connections} {
		if o := outcomeOf(t, out, c); !o.Skipped || o.Reason == "" {
			t.Errorf("%s: outcome %+v, want skipped with a reason", c, o)
		}
		if n := len(ss.get(c).keys()); n != 0 {
			t.Errorf("%s: staged %d objects in a skipped delta run", c, n)
		}
	}
	if n := e.Stats().Total("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"); n != 0 {
		t.Errorf("%d requests in a skipped delta run", n)
	}
}

// With RefreshInDelta, a delta run lists everything but fetches the
// permissions of recently modified flows only.
func TestFetchDeltaRefreshesRecentPermissionsOnly(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, run := MustEmulator(t, s, emulator.Options{})
	refresh := func(c *powerplatform.Config) { c.RefreshInDelta = true }
	out, ss, _, err := fetch(t, newSource(t, run.URL, newTokens(e), refresh), stsync.Delta)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	since := synthetic.DefaultNow.Add(-7 * 24 * time.Hour)
	var want []string
	for i := range s.Flows {
		if s.Flows[i].Properties.LastModifiedTime.After(since) {
			want = append(want, s.Flows[i].Key())
		}
	}
	slices.Sort(want)
	if len(want) == 0 || len(want) == len(s.Flows) {
		t.Fatalf("the demo tenant has %d of %d flows modified in the last 7 days: the test needs some, not all", len(want), len(s.Flows))
	}

	for _, c := range []directory.Collection{directory.Environments, directory.Flows, directory.Connections} {
		if o := outcomeOf(t, out, c); !o.Complete {
			t.Errorf("%s: outcome %+v, want complete", c, o)
		}
		if got, want := len(ss.get(c).keys()), s.Count(c); got != want {
			t.Errorf("%s: staged %d, want %d", c, got, want)
		}
	}
	o := outcomeOf(t, out, directory.FlowPermissions)
	if o.Complete || o.NotCaptured || !strings.Contains(o.Reason, "delta run") {
		t.Errorf("flow permissions: outcome %+v, want incomplete with a delta Reason", o)
	}
	perms := ss.get(directory.FlowPermissions)
	if got := perms.keys(); !slices.Equal(got, want) {
		t.Errorf("permissions staged for %v, want %v", got, want)
	}
	if got := slices.Sorted(slices.Values(perms.scopes)); !slices.Equal(got, want) {
		t.Errorf("scoped %v, want %v", got, want)
	}
	if got := e.Stats().Total(patPermissions); got != int64(len(want)) {
		t.Errorf("%d permission requests, want %d", got, len(want))
	}
}

// TestFetchAddsMissingEnvironment serves flows and connections without
// properties.environment, as an API might: the source must add it.
func TestFetchAddsMissingEnvironment(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, _ := MustEmulator(t, s, emulator.Options{})
	strip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.Handler().ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK && (strings.HasSuffix(r.URL.Path, "/v2/flows") || strings.HasSuffix(r.URL.Path, "/connections")) {
			body = stripEnvironment(t, body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
	srv := httptest.NewServer(strip)
	t.Cleanup(srv.Close)
	out, ss, _, err := fetch(t, newSource(t, srv.URL, newTokens(e), nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	checkMatchesSnapshot(t, s, out, ss)
}

// stripEnvironment removes properties.environment from every item of a page.
func stripEnvironment(t *testing.T, body []byte) []byte {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		t.Errorf("strip: %v", err)
		return body
	}
	var items []map[string]any
	if err := json.Unmarshal(page["value"], &items); err != nil {
		t.Errorf("strip: %v", err)
		return body
	}
	for _, it := range items {
		if props, ok := it["properties"].(map[string]any); ok {
			delete(props, "environment")
		}
	}
	page["value"], _ = json.Marshal(items)
	out, _ := json.Marshal(page)
	return out
}
