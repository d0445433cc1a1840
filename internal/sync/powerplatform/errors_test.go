package powerplatform_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
)

func TestFetchRefusedOnEnvironments(t *testing.T) {
	t.Parallel()
	demo := MustDemo(t)
	// A tenant whose environments the API will not list to this app: the
	// emulator answers 403 for a collection that was not captured.
	noEnvs := *demo
	noEnvs.Environments = nil
	noEnvs.Captured = maps.Clone(demo.Captured)
	delete(noEnvs.Captured, directory.Environments)

	for _, tc := range []struct {
		name     string
		snap     *directory.Snapshot
		audience map[string]string
		status   string
	}{
		{"401 token the API does not accept", demo, map[string]string{powerplatform.DefaultPowerAppsScope: "https://graph.microsoft.com"}, "HTTP 401"},
		{"403 not a Power Platform admin", &noEnvs, nil, "HTTP 403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, run := MustEmulator(t, tc.snap, emulator.Options{})
			tok := newTokens(e)
			tok.audience = tc.audience
			out, ss, _, err := fetch(t, newSource(t, run.URL, tok, nil), stsync.Full)
			if err != nil {
				t.Fatalf("Fetch: %v, want no error", err)
			}
			if len(out) != 4 {
				t.Fatalf("got %d outcomes, want 4", len(out))
			}
			for _, c := range ppCollections {
				o := outcomeOf(t, out, c)
				if !o.NotCaptured || o.Complete {
					t.Errorf("%s: outcome %+v, want not captured", c, o)
				}
				for _, want := range []string{tc.status, "New-PowerAppManagementApp -ApplicationId 11111111-2222-3333-4444-555555555555", "management application"} {
					if !strings.Contains(o.Reason, want) {
						t.Errorf("%s: Reason %q does not say %q", c, o.Reason, want)
					}
				}
				if n := len(ss.get(c).keys()); n != 0 {
					t.Errorf("%s: %d objects staged, want none", c, n)
				}
			}
		})
	}
}

// TestFetchFlowAPIRefused: the Flow admin API may not accept service
// principals (GRAPH.md §10, unverified); environments and connections still
// come through.
func TestFetchFlowAPIRefused(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, run := MustEmulator(t, s, emulator.Options{})
	tok := newTokens(e)
	tok.audience = map[string]string{powerplatform.DefaultFlowScope: "https://graph.microsoft.com"}
	out, ss, _, err := fetch(t, newSource(t, run.URL, tok, nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	for _, c := range []directory.Collection{directory.Environments, directory.Connections} {
		if o := outcomeOf(t, out, c); !o.Complete {
			t.Errorf("%s: outcome %+v, want complete", c, o)
		}
		if got, want := len(ss.get(c).keys()), s.Count(c); got != want {
			t.Errorf("%s: staged %d, want %d", c, got, want)
		}
	}
	for _, c := range []directory.Collection{directory.Flows, directory.FlowPermissions} {
		if o := outcomeOf(t, out, c); !o.NotCaptured || !strings.Contains(o.Reason, "HTTP 401") {
			t.Errorf("%s: outcome %+v, want not captured with the 401", c, o)
		}
	}
}

func TestFetchSkipsForbiddenFlowPermissions(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, _ := MustEmulator(t, s, emulator.Options{})
	denied := s.Flows[0]
	deniedPath := "/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + denied.EnvironmentName() + "/flows/" + denied.Name + "/permissions"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.URL.Path, deniedPath) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"Forbidden","message":"The caller does not have permission to this flow."}}`))
			return
		}
		e.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	out, ss, _, err := fetch(t, newSource(t, srv.URL, newTokens(e), nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	o := outcomeOf(t, out, directory.FlowPermissions)
	if o.Complete || o.NotCaptured || !strings.Contains(o.Reason, "1 refused (HTTP 403)") || !strings.Contains(o.Reason, denied.Name) {
		t.Errorf("flow permissions: outcome %+v, want incomplete naming the refused flow", o)
	}
	perms := ss.get(directory.FlowPermissions)
	got := perms.keys()
	if len(got) != len(s.Flows)-1 {
		t.Errorf("%d permission sets staged, want %d", len(got), len(s.Flows)-1)
	}
	if _, ok := perms.puts[denied.Key()]; ok {
		t.Errorf("the refused flow's permissions were staged")
	}
	if len(perms.scopes) != len(got) {
		t.Errorf("%d flows scoped, want every fetched one (%d)", len(perms.scopes), len(got))
	}
	if o := outcomeOf(t, out, directory.Flows); !o.Complete {
		t.Errorf("flows: outcome %+v, want complete", o)
	}
}

func TestFetchRetriesFaults(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	env := s.Environments[0].Name
	flowsPath := "/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + env + "/v2/flows"
	connsPath := "/providers/Microsoft.PowerApps/scopes/admin/environments/" + env + "/connections"
	permsPath := "/providers/Microsoft.ProcessSimple/scopes/admin/environments/" + s.Flows[0].EnvironmentName() + "/flows/" + s.Flows[0].Name + "/permissions"

	for _, tc := range []struct {
		name    string
		fault   string
		timeout time.Duration
		wantErr []string // empty: the fetch succeeds
	}{
		{name: "429 with Retry-After", fault: "path=" + patEnvironments + ",kind=429,retry=1s"},
		{name: "503 burst within the retry budget", fault: "path=" + flowsPath + ",kind=503,count=3"},
		{name: "504 on permissions", fault: "path=" + permsPath + ",kind=504,count=2"},
		{name: "connection reset", fault: "path=" + connsPath + ",kind=reset"},
		{name: "body cut short once", fault: "path=" + patEnvironments + ",kind=truncate"},
		{name: "answer slower than the request timeout", fault: "path=" + patEnvironments + ",kind=slow,delay=100ms", timeout: 200 * time.Millisecond},
		{name: "503 beyond the retry budget", fault: "path=" + flowsPath + ",kind=503,count=4",
			wantErr: []string{flowsPath, "HTTP 503", "gave up after 4 attempts"}},
		{name: "body always cut short", fault: "path=" + connsPath + ",kind=truncate,count=all",
			wantErr: []string{connsPath, "reading the body"}},
		{name: "malformed JSON", fault: "path=" + flowsPath + ",kind=malformed",
			wantErr: []string{flowsPath, "malformed response body"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := emulator.ParseFault(tc.fault)
			if err != nil {
				t.Fatal(err)
			}
			e, run := MustEmulator(t, s, emulator.Options{Faults: []emulator.Fault{f}})
			tok := newTokens(e)
			src := newSource(t, run.URL, tok, func(c *powerplatform.Config) {
				if tc.timeout > 0 {
					c.RequestTimeout = tc.timeout
				}
			})
			out, ss, _, err := fetch(t, src, stsync.Full)
			if e.Stats().Faults == 0 {
				t.Errorf("the fault never fired")
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				checkMatchesSnapshot(t, s, out, ss)
				return
			}
			if err == nil {
				t.Fatalf("Fetch succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, token := range tok.issued() {
				if strings.Contains(err.Error(), token) {
					t.Errorf("error %q carries a token", err)
				}
			}
		})
	}
}

// TestFetchRetryAfterDate honours a Retry-After given as an HTTP date.
func TestFetchRetryAfterDate(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	e, _ := MustEmulator(t, s, emulator.Options{})
	var (
		calls                  counter
		mu                     sync.Mutex
		throttledAt, retriedAt time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == patEnvironments {
			mu.Lock()
			defer mu.Unlock()
			switch calls.next() {
			case 1:
				throttledAt = time.Now()
				w.Header().Set("Retry-After", throttledAt.Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
				return
			case 2:
				retriedAt = time.Now()
			}
		}
		e.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	out, ss, _, err := fetch(t, newSource(t, srv.URL, newTokens(e), nil), stsync.Full)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	checkMatchesSnapshot(t, s, out, ss)
	if calls.n.Load() != 2 {
		t.Errorf("environments requested %d times, want 2", calls.n.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	// The date has a one-second resolution: the retry waits at least until
	// the second after the throttled answer.
	if retriedAt.Sub(throttledAt) < time.Second-100*time.Millisecond {
		t.Errorf("retried %v after the 429, before its Retry-After date", retriedAt.Sub(throttledAt))
	}
}

func TestFetchCancelled(t *testing.T) {
	t.Parallel()
	s := MustDemo(t)
	for _, tc := range []struct {
		name   string
		faults string
		// cancelOn: the collection whose first request cancels the run
		cancelOn directory.Collection
		after    time.Duration
	}{
		{name: "while fetching permissions", cancelOn: directory.FlowPermissions},
		{name: "while waiting out a Retry-After", faults: "path=" + patEnvironments + ",kind=429,retry=1h", cancelOn: directory.Environments, after: 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts emulator.Options
			if tc.faults != "" {
				f, err := emulator.ParseFault(tc.faults)
				if err != nil {
					t.Fatal(err)
				}
				opts.Faults = []emulator.Fault{f}
			}
			e, run := MustEmulator(t, s, opts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := newProgress()
			var fired counter
			p.onRequest = func(c directory.Collection) {
				if c == tc.cancelOn && fired.next() == 1 {
					time.AfterFunc(tc.after, cancel)
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := newSource(t, run.URL, newTokens(e), nil).Fetch(ctx, stsync.Request{Mode: stsync.Full, Progress: p}, newSinks())
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Fetch: %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Fetch did not return after its context was cancelled")
			}
		})
	}
}

func TestFetchWithoutTokens(t *testing.T) {
	_, _, _, err := fetch(t, newSource(t, "http://127.0.0.1:1", nil, nil), stsync.Full)
	if err == nil || !strings.Contains(err.Error(), "token provider") {
		t.Errorf("Fetch: %v, want an error about the token provider", err)
	}
}

// TestFetchRefusesForeignNextLink: the bearer token goes with every page, so
// a next link to another host is an error, never followed.
func TestFetchRefusesForeignNextLink(t *testing.T) {
	t.Parallel()
	var foreign counter
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.next()
		w.Write([]byte(`{"value":[]}`))
	}))
	t.Cleanup(evil.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"value":[],"nextLink":"` + strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + r.URL.Path + `?api-version=2020-10-01"}`))
	}))
	t.Cleanup(srv.Close)
	_, _, _, err := fetch(t, newSource(t, srv.URL, staticToken("t0k3n"), nil), stsync.Full)
	if err == nil || !strings.Contains(err.Error(), "nextLink points to another host") {
		t.Errorf("Fetch: %v, want a refusal of the next link", err)
	}
	if n := foreign.n.Load(); n != 0 {
		t.Errorf("the other host was asked %d times", n)
	}
}

// staticToken is a TokenProvider for servers that do not check tokens.
type staticToken string

func (s staticToken) Token(context.Context, string) (string, error) { return string(s), nil }
