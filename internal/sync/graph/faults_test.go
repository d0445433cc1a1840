package graph_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
)

func TestFetch_faults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    emulator.Fault
		retryMax int
		wantErr  string // "" for success; else text the error must hold
	}{
		{name: "429 with Retry-After", fault: emulator.Fault{Path: "/v1.0/users", Kind: emulator.FaultStatus, Status: 429, RetryAfter: time.Second}},
		{name: "429 without Retry-After", fault: emulator.Fault{Path: "/v1.0/users", Kind: emulator.FaultStatus, Status: 429, NoRetryAfter: true}},
		{name: "503 burst within the retry budget", fault: emulator.Fault{Path: "/v1.0/users", Nth: 2, Count: 2, Kind: emulator.FaultStatus, Status: 503}, retryMax: 3},
		// Nth 2 on a /servicePrincipals/* prefix skips the one delta page:
		// the requests after it are inside batches.
		{name: "429 inside $batch", fault: emulator.Fault{Path: "/v1.0/servicePrincipals/*", Nth: 2, Count: 25, Kind: emulator.FaultStatus, Status: 429, RetryAfter: time.Second}},
		{name: "503 burst beyond the retry budget", fault: emulator.Fault{Path: "/v1.0/users", Count: emulator.Always, Kind: emulator.FaultStatus, Status: 503},
			retryMax: 1, wantErr: "graph: users: GET /v1.0/users?"},
		{name: "503 inside $batch beyond the budget", fault: emulator.Fault{Path: "/v1.0/applications/*", Nth: 2, Count: emulator.Always, Kind: emulator.FaultStatus, Status: 503},
			retryMax: 1, wantErr: "(in $batch): 503 ServiceUnavailable"},
		{name: "connection reset", fault: emulator.Fault{Path: "/v1.0/users", Count: emulator.Always, Kind: emulator.FaultReset}, wantErr: "graph: users: GET /v1.0/users?"},
		{name: "truncated body", fault: emulator.Fault{Path: "/v1.0/users", Count: emulator.Always, Kind: emulator.FaultTruncate}, wantErr: "graph: users: GET /v1.0/users?"},
		{name: "malformed page in the middle of users", fault: emulator.Fault{Path: "/v1.0/users", Nth: 3, Kind: emulator.FaultMalformed}, wantErr: "graph: users: GET /v1.0/users?$skiptoken=…: malformed page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			snap := mustDemo(t)
			e, r := startEmulator(t, snap, emulator.Options{Faults: []emulator.Fault{tc.fault}})
			src := mustSource(t, e, r, func(c *graph.Config) {
				c.UsersPageSize = 50 // several pages, so a fault can land in the middle
				if tc.retryMax > 0 {
					c.RetryMax = tc.retryMax
				}
			})
			sinks := newMemSinks()
			out, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, sinks)
			if e.Stats().Faults == 0 {
				t.Fatal("the fault never fired")
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				for _, c := range []directory.Collection{directory.Users, directory.Owners, directory.AppRoleAssignments} {
					if o, _ := outcomeOf(out, c); !o.Complete {
						t.Errorf("%s: %+v", c, o)
					}
				}
				if got, want := len(sinks.get(directory.Users).puts), len(snap.Users); got != want {
					t.Errorf("%d users, want %d", got, want)
				}
				return
			}
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), e.Client().Secret) || strings.Contains(strings.ToLower(err.Error()), "bearer") {
				t.Errorf("error %q leaks a credential", err)
			}
			var re *graph.RequestError
			if !errors.As(err, &re) || re.Collection == "" {
				t.Errorf("error %v is not a RequestError naming its collection", err)
			}
		})
	}
}

func TestFetch_cancelledMidFetchReturnsPromptly(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{Latency: emulator.Latency{Base: 200 * time.Millisecond}})
	src := mustSource(t, e, r, func(c *graph.Config) { c.UsersPageSize = 20 })
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	began := time.Now()
	_, err := src.Fetch(ctx, stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, newMemSinks())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Generous, for a loaded CI machine: what matters is that cancellation
	// is honoured at all, not a hang until the request timeout.
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("Fetch returned %v after the start, %v after cancellation", took, took-700*time.Millisecond)
	}
	if e.Stats().Total("/v1.0/users") == 0 {
		t.Error("cancelled before listing anything: the test proves nothing")
	}
}

// An object deleted between its listing and the per-object requests of its
// children answers 404 inside the batch: skipped, not a failed run.
func TestFetch_objectDeletedMeanwhileIsSkipped(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{})
	gone := deletions(t, snap).DeleteServicePrincipals[0]
	// The deletion lands the moment the last page listing service principals
	// has been answered, before any of the per-object batches: a transport
	// that applies it on the way back makes the order certain, not timed.
	src := mustSource(t, e, r, func(c *graph.Config) {
		next := c.HTTPClient.Transport
		var once gosync.Once
		c.HTTPClient = &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if err == nil && strings.Contains(req.URL.Path, "/servicePrincipals") && !strings.Contains(req.URL.Path, "$batch") {
				if body, rerr := io.ReadAll(resp.Body); rerr == nil {
					resp.Body.Close()
					resp.Body = io.NopCloser(bytes.NewReader(body))
					if !bytes.Contains(body, []byte("nextLink")) {
						once.Do(func() {
							if _, err := e.Apply(emulator.Churn{DeleteServicePrincipals: []string{gone}}); err != nil {
								t.Error(err)
							}
						})
					}
				}
			}
			return resp, err
		})}
	})
	sinks := newMemSinks()
	out, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sinks.get(directory.ServicePrincipals).puts[gone]; !ok {
		t.Fatal("the service principal was not listed before its deletion: the test proves nothing")
	}
	if n := e.Stats().Count("/v1.0/servicePrincipals/{id}/owners", 404); n != 1 {
		t.Errorf("%d owners requests answered 404, want 1", n)
	}
	if _, ok := sinks.get(directory.Owners).puts[gone]; ok {
		t.Error("owners staged for a deleted service principal")
	}
	if o, _ := outcomeOf(out, directory.Owners); !o.Complete {
		t.Errorf("owners: %+v", o)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
