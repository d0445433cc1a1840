package powerplatform_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
	"github.com/steward-dev/steward/internal/synthetic"
)

// Route patterns of the emulator's Power Platform counters.
const (
	patEnvironments = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"
	patFlows        = "/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/v2/flows"
	patPermissions  = "/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/flows/{flow}/permissions"
	patConnections  = "/providers/Microsoft.PowerApps/scopes/admin/environments/{env}/connections"
)

var ppCollections = []directory.Collection{directory.Environments, directory.Flows, directory.FlowPermissions, directory.Connections}

var (
	demoOnce sync.Once
	demo     *directory.Snapshot
	demoErr  error
)

// MustDemo returns the Power Platform part of the synthetic demo tenant,
// generated once per test binary; emulators share it read-only. The Entra ID
// collections are left out: this source never reads them, and indexing them
// makes every emulator slow to start under the race detector.
func MustDemo(tb testing.TB) *directory.Snapshot {
	tb.Helper()
	demoOnce.Do(func() {
		full, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1})
		if err != nil {
			demoErr = err
			return
		}
		demo = &directory.Snapshot{
			Tenant:          full.Tenant,
			Captured:        map[directory.Collection]bool{},
			Environments:    full.Environments,
			Flows:           full.Flows,
			FlowPermissions: full.FlowPermissions,
			Connections:     full.Connections,
		}
		for _, c := range ppCollections {
			demo.Captured[c] = full.Captured[c]
		}
	})
	if demoErr != nil {
		tb.Fatalf("generate demo tenant: %v", demoErr)
	}
	return demo
}

// MustEmulator starts an emulator serving s until the test ends.
func MustEmulator(tb testing.TB, s *directory.Snapshot, opts emulator.Options) (*emulator.Emulator, *emulator.Running) {
	tb.Helper()
	e, err := emulator.New(s, opts)
	if err != nil {
		tb.Fatalf("emulator.New: %v", err)
	}
	run, err := e.Start(context.Background())
	if err != nil {
		tb.Fatalf("emulator.Start: %v", err)
	}
	tb.Cleanup(func() { run.Close() })
	return e, run
}

// tokens issues emulator tokens for the audience of each scope, caching them
// as a real provider does. audience overrides the audience of a scope, to
// get tokens an API refuses.
type tokens struct {
	e        *emulator.Emulator
	audience map[string]string

	mu     sync.Mutex
	cached map[string]string
}

func newTokens(e *emulator.Emulator) *tokens {
	return &tokens{e: e, cached: map[string]string{}}
}

func (p *tokens) Token(_ context.Context, scope string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tok, ok := p.cached[scope]; ok {
		return tok, nil
	}
	aud := scope
	if a, ok := p.audience[scope]; ok {
		aud = a
	}
	tok := p.e.IssueToken(aud)
	p.cached[scope] = tok
	return tok, nil
}

// issued returns every token handed out.
func (p *tokens) issued() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, t := range p.cached {
		out = append(out, t)
	}
	return out
}

// sinks records what a source stages, per collection.
type sinks struct {
	mu sync.Mutex
	m  map[directory.Collection]*sink
}

func newSinks() *sinks { return &sinks{m: map[directory.Collection]*sink{}} }

func (s *sinks) Sink(c directory.Collection) stsync.Sink { return s.get(c) }

func (s *sinks) get(c directory.Collection) *sink {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[c] == nil {
		s.m[c] = &sink{puts: map[string]json.RawMessage{}, objects: map[string]directory.Object{}}
	}
	return s.m[c]
}

type sink struct {
	mu      sync.Mutex
	puts    map[string]json.RawMessage
	objects map[string]directory.Object
	dups    []string
	removes []string
	scopes  []string
}

func (s *sink) Put(o directory.Object) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := o.Key()
	if _, ok := s.puts[k]; ok {
		s.dups = append(s.dups, k)
	}
	s.puts[k] = o.RawJSON()
	s.objects[k] = o
	return nil
}

func (s *sink) Remove(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removes = append(s.removes, key)
	return nil
}

func (s *sink) Scope(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = append(s.scopes, key)
	return nil
}

func (s *sink) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.puts))
	for k := range s.puts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// progress counts what a source reports; onRequest, when set, sees every request.
type progress struct {
	mu        sync.Mutex
	fetched   map[directory.Collection]int
	requested map[directory.Collection]int
	onRequest func(directory.Collection)
}

func newProgress() *progress {
	return &progress{fetched: map[directory.Collection]int{}, requested: map[directory.Collection]int{}}
}

func (p *progress) Fetched(c directory.Collection, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetched[c] += n
}

func (p *progress) Requested(c directory.Collection) {
	p.mu.Lock()
	p.requested[c]++
	hook := p.onRequest
	p.mu.Unlock()
	if hook != nil {
		hook(c)
	}
}

// newSource returns a Source pointed at base (all three hosts), with fast
// retries and the synthetic tenant's clock.
func newSource(tb testing.TB, base string, tok stsync.TokenProvider, edit func(*powerplatform.Config)) *powerplatform.Source {
	// A cancelled run can leave a connection dialled but never used, which
	// the emulator's shutdown waits 5 s for: close them first (cleanups run
	// last-registered first, and the emulator was started before).
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tb.Cleanup(hc.CloseIdleConnections)
	cfg := powerplatform.Config{
		BAPURL: base, FlowURL: base, PowerAppsURL: base,
		Tokens:         tok,
		ApplicationID:  "11111111-2222-3333-4444-555555555555",
		Concurrency:    4,
		RetryMax:       3,
		RetryBase:      time.Millisecond,
		RequestTimeout: 10 * time.Second,
		Now:            func() time.Time { return synthetic.DefaultNow },
		HTTPClient:     hc,
	}
	if edit != nil {
		edit(&cfg)
	}
	return powerplatform.New(cfg)
}

// snapshotKeys returns the sorted keys of a snapshot's collection.
func snapshotKeys(s *directory.Snapshot, c directory.Collection) []string {
	var out []string
	add := func(o directory.Object) { out = append(out, o.Key()) }
	switch c {
	case directory.Environments:
		for i := range s.Environments {
			add(&s.Environments[i])
		}
	case directory.Flows:
		for i := range s.Flows {
			add(&s.Flows[i])
		}
	case directory.FlowPermissions:
		for i := range s.FlowPermissions {
			add(&s.FlowPermissions[i])
		}
	case directory.Connections:
		for i := range s.Connections {
			add(&s.Connections[i])
		}
	}
	sort.Strings(out)
	return out
}

// outcomeOf returns the outcome of a collection, failing the test without one.
func outcomeOf(tb testing.TB, out []stsync.Outcome, c directory.Collection) stsync.Outcome {
	tb.Helper()
	for _, o := range out {
		if o.Collection == c {
			return o
		}
	}
	tb.Fatalf("no outcome for %s in %+v", c, out)
	return stsync.Outcome{}
}

// fetch runs one Fetch with fresh sinks and progress.
func fetch(tb testing.TB, src *powerplatform.Source, mode stsync.Mode) ([]stsync.Outcome, *sinks, *progress, error) {
	tb.Helper()
	ss, p := newSinks(), newProgress()
	out, err := src.Fetch(context.Background(), stsync.Request{TenantID: "t", Mode: mode, Progress: p}, ss)
	return out, ss, p, err
}

// counter counts calls, for wrappers around the emulator.
type counter struct{ n atomic.Int64 }

func (c *counter) next() int64 { return c.n.Add(1) }
