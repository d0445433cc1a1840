package graph_test

import (
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/snapshot"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
	"github.com/steward-dev/steward/internal/synthetic"
)

// demo returns the synthetic demo tenant (generated once: it is deterministic).
var demo = sync.OnceValues(func() (*directory.Snapshot, error) {
	return synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1})
})

func mustDemo(t testing.TB) *directory.Snapshot {
	t.Helper()
	s, err := demo()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startEmulator serves s until the test ends.
func startEmulator(t testing.TB, s *directory.Snapshot, opts emulator.Options) (*emulator.Emulator, *emulator.Running) {
	t.Helper()
	e, err := emulator.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return e, r
}

// emulatorEnv is the environment a deployment pointed at the emulator has.
func emulatorEnv(e *emulator.Emulator) map[string]string {
	return map[string]string{
		"AZURE_TENANT_ID":     e.TenantID(),
		"AZURE_CLIENT_ID":     e.Client().ID,
		"AZURE_CLIENT_SECRET": e.Client().Secret,
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// mustSource builds a source reading the emulator through the real
// client-credentials flow: azidentity's ClientSecretCredential against the
// emulator's TLS token endpoint, then Graph over plain http on loopback.
func mustSource(t testing.TB, e *emulator.Emulator, r *emulator.Running, tune func(*graph.Config)) *graph.Source {
	t.Helper()
	// Idle connections are closed before the emulator shuts down (cleanups
	// run last first): the server waits 5 s for a connection that never
	// sent a request, which the transport's dialer leaves behind at times.
	tokenClient := r.HTTPClient()
	graphTransport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		tokenClient.CloseIdleConnections()
		graphTransport.CloseIdleConnections()
	})
	cred, kind, err := graph.CredentialFromEnv(getenv(emulatorEnv(e)), graph.CredentialOptions{
		AuthorityHost: r.AuthorityHost, HTTPClient: tokenClient})
	if err != nil {
		t.Fatal(err)
	}
	if kind != graph.KindClientSecret {
		t.Fatalf("kind %q, want %q", kind, graph.KindClientSecret)
	}
	cfg := graph.Config{TenantID: e.TenantID(), GraphURL: r.URL, Credential: cred, RetryMax: 3, RetryDelay: time.Second,
		HTTPClient: &http.Client{Transport: graphTransport},
		// Tests fetch the same tenant several times in a row: Graph's pacing
		// would make each run wait out the previous one's budget.
		ConditionalAccessPerSecond: 50, SignInRequestsPer10s: 500}
	if tune != nil {
		tune(&cfg)
	}
	s, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// memSinks records what a source stages, per collection.
type memSinks struct {
	mu    sync.Mutex
	sinks map[directory.Collection]*memSink
}

func newMemSinks() *memSinks { return &memSinks{sinks: map[directory.Collection]*memSink{}} }

func (m *memSinks) Sink(c directory.Collection) stsync.Sink {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sinks[c]; ok {
		return s
	}
	s := &memSink{puts: map[string]directory.Object{}}
	m.sinks[c] = s
	return s
}

func (m *memSinks) get(c directory.Collection) *memSink { return m.Sink(c).(*memSink) }

// memSink is one collection's record. It is deliberately not locked: the
// source must serialise its calls, and the race detector says if it does not.
type memSink struct {
	puts    map[string]directory.Object // last Put by key
	putLog  []directory.Object
	removes []string
	scopes  []string
}

func (s *memSink) Put(o directory.Object) error {
	s.puts[o.Key()] = o
	s.putLog = append(s.putLog, o)
	return nil
}
func (s *memSink) Remove(key string) error   { s.removes = append(s.removes, key); return nil }
func (s *memSink) Scope(parent string) error { s.scopes = append(s.scopes, parent); return nil }

func (s *memSink) keys() []string { return slices.Sorted(maps.Keys(s.puts)) }

// snapshotKeys returns the keys of a snapshot collection, sorted.
func snapshotKeys(t testing.TB, s *directory.Snapshot, c directory.Collection) []string {
	t.Helper()
	var keys []string
	if err := snapshot.Each(s, c, func(o directory.Object) error { keys = append(keys, o.Key()); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// earliestSignIn bounds a sign-in window that covers the whole snapshot.
func earliestSignIn(s *directory.Snapshot) time.Time {
	t := time.Now()
	for _, si := range s.SignIns {
		if si.CreatedDateTime.Time.Before(t) {
			t = si.CreatedDateTime.Time
		}
	}
	return t.Add(-time.Minute)
}

// graphCollections are the collections the Graph source fills.
var graphCollections = []directory.Collection{
	directory.Users, directory.Groups, directory.GroupMembers, directory.RoleDefinitions, directory.RoleAssignments,
	directory.ServicePrincipals, directory.Applications, directory.AppRoleAssignments, directory.Owners,
	directory.ConditionalAccessPolicies, directory.NamedLocations, directory.RegistrationDetails, directory.SignIns,
	directory.ServicePrincipalSignInActivities,
}

func outcomeOf(out []stsync.Outcome, c directory.Collection) (stsync.Outcome, bool) {
	for _, o := range out {
		if o.Collection == c {
			return o, true
		}
	}
	return stsync.Outcome{}, false
}

// refSet renders a list of references as a set of "kind:id".
func refSet(refs []directory.Ref) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Kind()+":"+r.ID)
	}
	slices.Sort(out)
	return out
}
