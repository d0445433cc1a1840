// Package powerplatform is the Power Platform source of Steward's sync. It
// lists environments (BAP admin API), their flows and each flow's permissions
// (Flow admin API) and their connections (PowerApps admin API) with plain
// net/http, tokens coming from a sync.TokenProvider.
//
// None of these APIs has a delta query. A Full run lists every collection
// completely. A Delta run still lists environments, flows and connections
// completely, because that costs one request per page, but fetches
// permissions, which cost one request per flow, only for flows modified within
// Config.DeltaPermissionsWindow: it scopes each of those flows and reports
// flow permissions incomplete, so the permissions of older flows stay as the
// last full run left them.
package powerplatform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// Source fetches a tenant's Power Platform collections. It is safe for
// concurrent use; each Fetch is independent.
type Source struct {
	cfg Config
}

var _ stsync.Source = (*Source)(nil)

// New returns a Source; see Config for the defaults.
func New(cfg Config) *Source {
	return &Source{cfg: cfg.withDefaults()}
}

// Name identifies the source in logs and run records.
func (s *Source) Name() string { return "powerplatform" }

// Fetch fills the environments, flows, flowPermissions and connections sinks
// and returns one Outcome for each, in that order.
//
// When the admin APIs refuse Steward's app on environments (it is not
// registered as a Power Platform management application), the four
// collections come back NotCaptured with how to fix it, and no error: the
// rest of the run is still worth applying. A later refusal (the flows or
// connections of some or all environments, the permissions of some flows)
// makes only the collections concerned incomplete or not captured, with a
// Reason. Anything else that still fails after the retries fails the run.
func (s *Source) Fetch(ctx context.Context, req stsync.Request, sinks stsync.Sinks) ([]stsync.Outcome, error) {
	if s.cfg.Tokens == nil {
		return nil, errors.New("powerplatform: no token provider configured")
	}
	if req.Mode == stsync.Delta && !s.cfg.RefreshInDelta {
		var out []stsync.Outcome
		for _, c := range []directory.Collection{directory.Environments, directory.Flows, directory.FlowPermissions, directory.Connections} {
			out = append(out, stsync.Outcome{Collection: c, Skipped: true, Reason: "no change API: refreshed by full runs"})
		}
		return out, nil
	}
	r, err := s.newRun(req, sinks)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	envs, err := r.environments(ctx)
	if ae, ok := skippable(err); ok && ae.refused() {
		s.cfg.Log.Warn("power platform admin APIs refused the app", slog.Int("status", ae.Status), slog.String("code", ae.Code))
		return refusedOutcomes(s.cfg, ae), nil
	}
	if err == nil {
		err = r.children(ctx, envs)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("powerplatform: %w", err)
	}
	out, err := r.outcomes(len(envs))
	if err != nil {
		return nil, fmt.Errorf("powerplatform: %w", err)
	}
	s.cfg.Log.Info("power platform fetched",
		slog.String("mode", string(req.Mode)),
		slog.Int("environments", len(envs)),
		slog.Int("flows", r.tally.flows),
		slog.Int("flow_permissions", len(r.tally.fetched)),
		slog.Int("connections", r.tally.connections),
		slog.Duration("elapsed", time.Since(started)))
	return out, nil
}

// run is the state of one Fetch.
type run struct {
	cfg   *Config
	c     *client
	mode  stsync.Mode
	since time.Time // Delta: flows modified after it get their permissions fetched

	envs, flows, perms, conns stsync.Sink
	permQ                     chan flowRef

	mu    sync.Mutex // guards tally
	tally tally
}

// tally is what a run saw, for its outcomes and its log line.
type tally struct {
	flows, connections int
	permsWanted        int
	flowsSkipped       []skip   // environments whose flows could not be listed
	connsSkipped       []skip   // environments whose connections could not be listed
	permsSkipped       []skip   // flows whose permissions could not be read
	fetched            []string // keys of the permission sets Put
}

// skip is an environment or a flow left out of a run, and why.
type skip struct {
	what string
	err  *APIError
}

func (s *Source) newRun(req stsync.Request, sinks stsync.Sinks) (*run, error) {
	progress := req.Progress
	if progress == nil {
		progress = noProgress{}
	}
	r := &run{
		cfg:  &s.cfg,
		mode: req.Mode,
		c: &client{
			http: s.cfg.HTTPClient, tokens: s.cfg.Tokens, retryMax: s.cfg.RetryMax,
			base: s.cfg.RetryBase, timeout: s.cfg.RequestTimeout, log: s.cfg.Log, progress: progress,
		},
	}
	if req.Mode == stsync.Delta {
		r.since = s.cfg.Now().Add(-s.cfg.DeltaPermissionsWindow)
	}
	for _, x := range []struct {
		c    directory.Collection
		sink *stsync.Sink
	}{{directory.Environments, &r.envs}, {directory.Flows, &r.flows}, {directory.FlowPermissions, &r.perms}, {directory.Connections, &r.conns}} {
		sink := sinks.Sink(x.c)
		if sink == nil {
			return nil, fmt.Errorf("powerplatform: no sink for %s", x.c)
		}
		// Workers Put concurrently; the Sink contract does not promise that
		// is safe, so each sink is used under its own lock.
		*x.sink = &lockedSink{s: sink}
	}
	return r, nil
}

// children lists the flows and connections of every environment with a pool
// of workers, while another pool fetches the permissions of the flows as they
// are listed. The first error cancels everything.
func (r *run) children(ctx context.Context, envs []directory.Environment) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() {
			first = err
			cancel()
		})
	}

	r.permQ = make(chan flowRef, r.cfg.PermissionConcurrency)
	var permWorkers, listWorkers sync.WaitGroup
	for range r.cfg.PermissionConcurrency {
		permWorkers.Go(func() { drain(ctx, r.permQ, r.permissions, fail) })
	}
	lists := make(chan func(context.Context) error)
	for range min(r.cfg.Concurrency, 2*len(envs)) {
		listWorkers.Go(func() {
			drain(ctx, lists, func(ctx context.Context, job func(context.Context) error) error { return job(ctx) }, fail)
		})
	}
feed:
	for _, e := range envs {
		for _, job := range []func(context.Context) error{
			func(ctx context.Context) error { return r.flowsIn(ctx, e.Name) },
			func(ctx context.Context) error { return r.connectionsIn(ctx, e.Name) },
		} {
			select {
			case lists <- job:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(lists)
	listWorkers.Wait()
	// Only the flow listers send permission jobs: they are done.
	close(r.permQ)
	permWorkers.Wait()
	return first
}

// drain is a worker: it runs do on each job of q until q is closed. Once the
// run has failed it keeps receiving without working, so that whoever feeds q
// is never left blocked.
func drain[T any](ctx context.Context, q <-chan T, do func(context.Context, T) error, fail func(error)) {
	for job := range q {
		if ctx.Err() != nil {
			continue
		}
		if err := do(ctx, job); err != nil {
			fail(err)
		}
	}
}

// skipped records an environment or flow left out of the run.
func (r *run) skipped(list *[]skip, what string, err *APIError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, skip{what: what, err: err})
}

// counted adds n to a tally counter.
func (r *run) counted(n *int, add int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*n += add
}

// lockedSink serialises the calls to a Sink.
type lockedSink struct {
	mu sync.Mutex
	s  stsync.Sink
}

func (l *lockedSink) Put(o directory.Object) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Put(o)
}

func (l *lockedSink) Remove(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Remove(key)
}

func (l *lockedSink) Scope(parentKey string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Scope(parentKey)
}

// noProgress stands in for a Request without Progress.
type noProgress struct{}

func (noProgress) Fetched(directory.Collection, int) {}
func (noProgress) Requested(directory.Collection)    {}
