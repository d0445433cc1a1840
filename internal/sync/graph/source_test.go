package graph_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
)

// countingProgress counts what the source reports.
type countingProgress struct {
	mu        chan struct{}
	fetched   map[directory.Collection]int
	requested map[directory.Collection]int
}

func newProgress() *countingProgress {
	p := &countingProgress{mu: make(chan struct{}, 1), fetched: map[directory.Collection]int{}, requested: map[directory.Collection]int{}}
	return p
}

func (p *countingProgress) Fetched(c directory.Collection, n int) {
	p.mu <- struct{}{}
	p.fetched[c] += n
	<-p.mu
}

func (p *countingProgress) Requested(c directory.Collection) {
	p.mu <- struct{}{}
	p.requested[c]++
	<-p.mu
}

func TestFetch_fullFillsEveryGraphCollection(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{})
	src := mustSource(t, e, r, nil)
	if src.Name() != "graph" {
		t.Errorf("Name() = %q", src.Name())
	}
	sinks, progress := newMemSinks(), newProgress()
	out, err := src.Fetch(t.Context(), stsync.Request{TenantID: e.TenantID(), Mode: stsync.Full,
		SignInsSince: earliestSignIn(snap), Progress: progress}, sinks)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range graphCollections {
		o, ok := outcomeOf(out, c)
		if !ok {
			t.Errorf("%s: no outcome", c)
			continue
		}
		wantComplete := c != directory.SignIns // a window of the log is never all of it
		if o.NotCaptured || o.Complete != wantComplete {
			t.Errorf("%s: outcome %+v, want complete=%v", c, o, wantComplete)
		}
		got, want := sinks.get(c).keys(), snapshotKeys(t, snap, c)
		if c == directory.Owners {
			// The snapshot may record an object's empty owner list; Graph
			// lists no owners for it, and the source stages nothing.
			want = ownedKeys(snap)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d objects staged, snapshot has %d (first differences: %v)", c, len(got), len(want), diff(got, want))
		}
		if len(want) > 0 && progress.fetched[c] < len(want) {
			t.Errorf("%s: progress says %d fetched, want at least %d", c, progress.fetched[c], len(want))
		}
		if len(want) > 0 && progress.requested[c] == 0 && c != directory.GroupMembers { // members come with groups/delta
			t.Errorf("%s: progress counted no request", c)
		}
	}
	for _, c := range []directory.Collection{directory.Users, directory.Groups, directory.ServicePrincipals, directory.Applications} {
		if o, _ := outcomeOf(out, c); !strings.HasPrefix(o.DeltaLink, r.URL+"/v1.0/") {
			t.Errorf("%s: delta link %q", c, o.DeltaLink)
		}
	}

	// Children: members, owners, federated credentials, as in the snapshot.
	for _, want := range snap.GroupMembers {
		got := sinks.get(directory.GroupMembers).puts[want.GroupID].(*directory.GroupMembership)
		if !slices.Equal(refSet(got.Members), refSet(want.Members)) {
			t.Errorf("members of %s: %v, want %v", want.GroupID, refSet(got.Members), refSet(want.Members))
		}
	}
	for _, want := range snap.Owners {
		if len(want.Owners) == 0 {
			continue
		}
		got := sinks.get(directory.Owners).puts[want.ObjectID].(*directory.Ownership)
		if !slices.Equal(refSet(got.Owners), refSet(want.Owners)) {
			t.Errorf("owners of %s: %v, want %v", want.ObjectID, refSet(got.Owners), refSet(want.Owners))
		}
	}
	fics := 0
	for _, want := range snap.Applications {
		got := sinks.get(directory.Applications).puts[want.ID].(*directory.Application)
		if len(got.FederatedIdentityCredentials) != len(want.FederatedIdentityCredentials) {
			t.Errorf("application %s: %d federated credentials, want %d", want.ID, len(got.FederatedIdentityCredentials), len(want.FederatedIdentityCredentials))
		}
		if !bytes.Contains(got.RawJSON(), []byte(`"federatedIdentityCredentials":[`)) {
			t.Errorf("application %s: raw JSON has no inline federatedIdentityCredentials: %s", want.ID, got.RawJSON())
		}
		fics += len(got.FederatedIdentityCredentials)
	}
	if fics == 0 {
		t.Error("the demo tenant has no federated credentials: the inline check proves nothing")
	}
	// Raw JSON is kept as Graph sent it: signInActivity on users, nothing
	// the delta annotations add on groups.
	for _, o := range sinks.get(directory.Users).puts {
		if !bytes.Contains(o.RawJSON(), []byte(`"signInActivity"`)) {
			t.Fatalf("user %s: raw JSON without signInActivity: %s", o.Key(), o.RawJSON())
		}
	}
	for _, o := range sinks.get(directory.Groups).puts {
		if bytes.Contains(o.RawJSON(), []byte("members@delta")) {
			t.Fatalf("group %s: raw JSON keeps members@delta", o.Key())
		}
	}

	st := e.Stats()
	if st.TokensIssued == 0 {
		t.Error("no token was issued: the client-credentials flow did not run")
	}
	var total int64
	for pattern, byStatus := range st.Requests {
		for status, n := range byStatus {
			if strings.Contains(pattern, "oauth2") || strings.Contains(pattern, "well-known") || strings.Contains(pattern, "discovery") {
				continue
			}
			if !strings.Contains(pattern, "{id}") { // requests inside a $batch are counted too, under their own pattern
				total += n
			}
			if status != 200 {
				t.Errorf("%s answered %d %d times", pattern, status, n)
			}
		}
	}
	if st.LowPriority < total || total == 0 {
		t.Errorf("%d of %d requests were marked x-ms-throttle-priority: low", st.LowPriority, total)
	}
}

// ownedKeys lists the objects that have owners.
func ownedKeys(s *directory.Snapshot) []string {
	var keys []string
	for _, o := range s.Owners {
		if len(o.Owners) > 0 {
			keys = append(keys, o.Key())
		}
	}
	slices.Sort(keys)
	return keys
}

// diff returns a few keys in one list and not the other.
func diff(got, want []string) []string {
	var out []string
	for _, k := range got {
		if _, ok := slices.BinarySearch(want, k); !ok && len(out) < 5 {
			out = append(out, "+"+k)
		}
	}
	for _, k := range want {
		if _, ok := slices.BinarySearch(got, k); !ok && len(out) < 10 {
			out = append(out, "-"+k)
		}
	}
	return out
}

func TestFetch_overTLS(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{})
	src := mustSource(t, e, r, func(c *graph.Config) {
		c.GraphURL = r.TLSURL + "/v1.0"
		c.HTTPClient.Transport.(*http.Transport).TLSClientConfig = e.ClientTLSConfig()
	})
	sinks := newMemSinks()
	if _, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, sinks); err != nil {
		t.Fatal(err)
	}
	if got, want := len(sinks.get(directory.Users).puts), len(snap.Users); got != want {
		t.Errorf("%d users over TLS, want %d", got, want)
	}
}

func TestFetch_refusesAnotherTenant(t *testing.T) {
	t.Parallel()
	e, r := startEmulator(t, mustDemo(t), emulator.Options{})
	src := mustSource(t, e, r, nil)
	_, err := src.Fetch(t.Context(), stsync.Request{TenantID: "99999999-0000-0000-0000-000000000000"}, newMemSinks())
	if err == nil || !strings.Contains(err.Error(), "99999999") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetch_throttledTenantIsPacedNotRefused(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{Throttle: emulator.Throttle{Enabled: true}})
	src := mustSource(t, e, r, func(c *graph.Config) {
		c.ResourceUnitsPer10s = 3500
		c.ConditionalAccessPerSecond, c.SignInRequestsPer10s = 0, 0 // Graph's limits
	})
	if _, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, newMemSinks()); err != nil {
		t.Fatal(err)
	}
	if n := e.Stats().Throttled; n != 0 {
		t.Errorf("%d requests were throttled: the client-side limiter should pace Conditional Access and sign-ins", n)
	}
}

func TestFetch_forbiddenSignInsAreNotCaptured(t *testing.T) {
	t.Parallel()
	snap := *mustDemo(t)
	snap.SignIns = nil
	snap.Captured = map[directory.Collection]bool{}
	for _, c := range directory.AllCollections {
		snap.Captured[c] = c != directory.SignIns
	}
	e, r := startEmulator(t, &snap, emulator.Options{})
	src := mustSource(t, e, r, nil)
	out, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full}, newMemSinks())
	if err != nil {
		t.Fatal(err)
	}
	o, _ := outcomeOf(out, directory.SignIns)
	if !o.NotCaptured || !strings.Contains(o.Reason, "403") || !strings.Contains(o.Reason, "AuditLog.Read.All") {
		t.Errorf("sign-ins outcome %+v, want not captured with a reason naming the permission", o)
	}
	if o, _ := outcomeOf(out, directory.Users); o.NotCaptured || !o.Complete {
		t.Errorf("users outcome %+v", o)
	}
}

// The auth provider compares host names without their port, and sends
// tokens over plain http to loopback only: both spellings of loopback work.
func TestFetch_localhostSpelling(t *testing.T) {
	t.Parallel()
	snap := mustDemo(t)
	e, r := startEmulator(t, snap, emulator.Options{})
	src := mustSource(t, e, r, func(c *graph.Config) { c.GraphURL = strings.Replace(r.URL, "127.0.0.1", "localhost", 1) })
	sinks := newMemSinks()
	if _, err := src.Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: earliestSignIn(snap)}, sinks); err != nil {
		t.Fatal(err)
	}
	if got, want := len(sinks.get(directory.Users).puts), len(snap.Users); got != want {
		t.Errorf("%d users through localhost, want %d", got, want)
	}
}
