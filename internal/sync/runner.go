package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// Options tune a Runner. The zero value gets the defaults.
type Options struct {
	// Apply configures the mass-deletion breaker (default store.DefaultApplyOptions).
	Apply *store.ApplyOptions
	// SignInWindow is how far back a full run reads sign-in logs (default 7 days).
	SignInWindow time.Duration
	// ProgressEvery is how often a running run's counts are written to its
	// sync_runs row for the sync page (default 2 s).
	ProgressEvery time.Duration
	// Evaluate, when set, is called once a run that applied data (succeeded
	// or needs review) is finished, still holding the tenant's lock, to
	// evaluate the tenant and store the results. A failure is logged.
	Evaluate func(ctx context.Context, tenantID string, runID int64) error
}

func (o Options) withDefaults() Options {
	if o.Apply == nil {
		a := store.DefaultApplyOptions
		o.Apply = &a
	}
	if o.SignInWindow <= 0 {
		o.SignInWindow = 7 * 24 * time.Hour
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 2 * time.Second
	}
	return o
}

// Runner runs syncs: it takes the tenant's lock, runs its sources
// concurrently into staging tables and applies what they staged in one
// transaction only if all of them finished.
type Runner struct {
	db      *store.DB
	sources []Source
	log     *slog.Logger
	opts    Options
}

// NewRunner builds a runner over sources. The run record's source is "graph"
// unless the only source is a snapshot.
func NewRunner(db *store.DB, log *slog.Logger, opts Options, sources ...Source) *Runner {
	return &Runner{db: db, sources: sources, log: log, opts: opts.withDefaults()}
}

// Request asks for one run.
type RunRequest struct {
	TenantID string
	// Tenant, when known (a snapshot says it), names the tenant.
	Tenant *store.Tenant
	// Mode is Full or Delta; Delta falls back to Full when no delta link is stored.
	Mode Mode
	// AcceptDeletions lets this run delete more than the breaker allows.
	AcceptDeletions bool
	// Observe, if set, is called with the counts as the run progresses and
	// once at the end (for terminal progress bars).
	Observe func(resources map[string]store.ResourceStatus)
}

// ErrBusy is returned when another run of the tenant holds its lock.
var ErrBusy = derr.Errorf(derr.ECONFLICT, "a sync of this tenant is already running")

// Run performs one sync and returns its record. The error is nil when the run
// succeeded or needs review; a failed or cancelled run returns its record and
// an error, having changed nothing.
func (r *Runner) Run(ctx context.Context, req RunRequest) (_ store.SyncRun, err error) {
	defer derr.Wrap(&err, "sync.Run(%s)", req.TenantID)
	if req.Tenant != nil {
		if _, err := r.db.UpsertTenant(ctx, *req.Tenant); err != nil {
			return store.SyncRun{}, err
		}
	} else if err := r.db.EnsureTenant(ctx, req.TenantID); err != nil {
		return store.SyncRun{}, err
	}
	unlock, ok, err := r.db.TryLockTenant(ctx, req.TenantID)
	if err != nil {
		return store.SyncRun{}, err
	}
	if !ok {
		return store.SyncRun{}, ErrBusy
	}
	defer unlock()
	// Holding the lock, any "running" run of the tenant is an orphan.
	if n, err := r.db.FailOrphanedRuns(ctx, req.TenantID); err != nil {
		return store.SyncRun{}, err
	} else if n > 0 {
		r.log.Warn("closed sync runs left running by a stopped process", slog.String("tenant_id", req.TenantID), slog.Int64("runs", n))
	}
	if err := r.db.DropOrphanStaging(ctx); err != nil {
		return store.SyncRun{}, err
	}

	links, err := r.db.DeltaLinks(ctx, req.TenantID)
	if err != nil {
		return store.SyncRun{}, err
	}
	mode := req.Mode
	if mode != Delta || len(links) == 0 {
		mode = Full
	}
	since := time.Now().Add(-r.opts.SignInWindow)
	if mode == Delta {
		if last, err := r.db.LastRun(ctx, req.TenantID, store.RunSucceeded); err == nil && last.StartedAt.Add(-time.Hour).After(since) {
			since = last.StartedAt.Add(-time.Hour) // overlap: sign-ins are upserted by id
		}
	}

	run, err := r.db.StartSyncRun(ctx, req.TenantID, r.sourceKind(), string(mode))
	if err != nil {
		return store.SyncRun{}, err
	}
	log := r.log.With(slog.String("tenant_id", req.TenantID), slog.Int64("run_id", run.ID), slog.String("mode", string(mode)))
	log.Info("sync started")

	tr := newTracker()
	stopProgress := r.reportProgress(ctx, run.ID, tr, req.Observe)
	st := newStages(ctx, r.db, run.ID)
	outcomes, fetchErr := fetchAll(ctx, r.sources, Request{
		TenantID:     req.TenantID,
		Mode:         mode,
		DeltaLinks:   linksByCollection(links),
		SignInsSince: since,
		Progress:     tr,
	}, st)
	if fetchErr == nil {
		fetchErr = st.flush()
	} else {
		_ = st.wait() // so that no staging table is created after the drop below
	}
	stopProgress()
	log.Debug("sources finished", slog.Duration("elapsed", time.Since(tr.started)), slog.Any("error", fetchErr))

	status, msg := store.RunSucceeded, ""
	if fetchErr == nil {
		applyStart := time.Now()
		status, msg, fetchErr = r.apply(ctx, run.ID, req, st, outcomes, tr)
		log.Debug("staged data applied", slog.Duration("elapsed", time.Since(applyStart)), slog.Any("error", fetchErr))
	}
	if fetchErr != nil {
		status, msg = store.RunFailed, safeMessage(fetchErr)
		if ctx.Err() != nil {
			status, msg = store.RunCancelled, "the sync was cancelled; nothing it fetched was applied"
		}
		// The staged rows are worthless now; drop them even if ctx is done.
		if err := r.db.DropStaging(context.WithoutCancel(ctx), run.ID); err != nil {
			log.Error("dropping staging tables", slog.Any("error", err))
		}
		tr.failRunning(msg)
	}
	resources := tr.snapshot()
	if err := r.db.FinishSyncRun(context.WithoutCancel(ctx), run.ID, status, resources, msg); err != nil {
		return run, err
	}
	if req.Observe != nil {
		req.Observe(resources)
	}
	if fetchErr == nil && r.opts.Evaluate != nil {
		// Still under the tenant's lock, so evaluations follow runs in order.
		// A failure leaves the previous evaluation current; the applied data
		// stays, and the next run evaluates again.
		began := time.Now()
		if err := r.opts.Evaluate(ctx, req.TenantID, run.ID); err != nil {
			log.Error("evaluating the tenant failed; the previous evaluation stays current", slog.Any("error", err))
		} else {
			log.Info("tenant evaluated", slog.Duration("elapsed", time.Since(began)))
		}
	}
	final, err := r.db.SyncRun(context.WithoutCancel(ctx), run.ID)
	if err != nil {
		return run, err
	}
	log.Info("sync finished", slog.String("status", status), slog.Duration("duration", time.Since(tr.started)), slog.String("error", msg))
	if fetchErr != nil {
		return final, fetchErr
	}
	return final, nil
}

// fetchAll runs sources concurrently; the first error cancels the others.
func fetchAll(ctx context.Context, sources []Source, req Request, sinks Sinks) ([]Outcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       gosync.Mutex
		outcomes []Outcome
		firstErr error
		wg       gosync.WaitGroup
	)
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := src.Fetch(ctx, req, sinks)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", src.Name(), err)
				}
				cancel()
				return
			}
			outcomes = append(outcomes, out...)
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return outcomes, firstErr
}

// apply applies the staged collections that their sources vouched for.
func (r *Runner) apply(ctx context.Context, runID int64, req RunRequest, st *stages, outcomes []Outcome, tr *tracker) (status, msg string, err error) {
	var staged []store.StagedCollection
	for _, o := range outcomes {
		if o.NotCaptured || o.Skipped {
			status := "not_captured"
			if o.Skipped {
				status = "skipped"
			}
			tr.update(o.Collection, func(rs *store.ResourceStatus) { rs.Status = status; rs.Note = o.Reason })
			continue
		}
		if !st.has(o.Collection) {
			// A source that fetched nothing still stages an empty collection.
			st.Sink(o.Collection)
			if err := st.flush(); err != nil {
				return "", "", err
			}
		}
		staged = append(staged, store.StagedCollection{Collection: o.Collection, Complete: o.Complete, DeltaLink: o.DeltaLink})
		tr.update(o.Collection, func(rs *store.ResourceStatus) { rs.Complete = o.Complete; rs.Note = o.Reason })
	}
	sort.Slice(staged, func(i, j int) bool { return order(staged[i].Collection) < order(staged[j].Collection) })
	opts := *r.opts.Apply
	opts.AcceptDeletions = req.AcceptDeletions
	results, err := r.db.ApplyStaged(ctx, runID, req.TenantID, staged, opts)
	if err != nil {
		return "", "", err
	}
	status = store.RunSucceeded
	var breakers []string
	for c, res := range results {
		tr.update(c, func(rs *store.ResourceStatus) {
			rs.Status = "applied"
			rs.Fetched, rs.Added, rs.Changed, rs.Deleted, rs.Withheld = res.Fetched, res.Added, res.Changed, res.Deleted, res.Withheld
			if res.Breaker != "" {
				rs.Status = "needs_review"
				rs.Note = res.Breaker
			}
		})
		if res.Breaker != "" {
			breakers = append(breakers, res.Breaker)
		}
	}
	if len(breakers) > 0 {
		sort.Strings(breakers)
		status, msg = store.RunNeedsReview, strings.Join(breakers, "; ")
	}
	return status, msg, nil
}

// reportProgress writes counts to the run row (and the observer) until stopped.
func (r *Runner) reportProgress(ctx context.Context, runID int64, tr *tracker, observe func(map[string]store.ResourceStatus)) (stop func()) {
	done := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				snap := tr.snapshot()
				if observe != nil {
					observe(snap)
				}
				if err := r.db.UpdateSyncRunResources(ctx, runID, snap); err != nil && ctx.Err() == nil {
					r.log.Warn("recording sync progress", slog.Any("error", err))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (r *Runner) sourceKind() string {
	if len(r.sources) == 1 && r.sources[0].Name() == "snapshot" {
		return "snapshot"
	}
	return "graph"
}

func linksByCollection(links map[string]string) map[directory.Collection]string {
	out := make(map[directory.Collection]string, len(links))
	for c, l := range links {
		out[directory.Collection(c)] = l
	}
	return out
}

// order applies collections in dependency order (snapshot order), so that,
// for example, groups are in place before their members' cascades run.
func order(c directory.Collection) int {
	for i, x := range directory.AllCollections {
		if x == c {
			return i
		}
	}
	return len(directory.AllCollections)
}

// safeMessage is the text stored on a failed run: the error chain as sources
// and the store word it (neither ever includes a token or secret), with Go's
// context noise removed.
func safeMessage(err error) string {
	if errors.Is(err, context.Canceled) {
		return "the sync was cancelled"
	}
	if code := derr.Code(err); code != derr.EINTERNAL {
		return derr.Message(err)
	}
	msg := err.Error()
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	return msg
}

// failRunning marks collections still "running" as failed with msg.
func (t *tracker) failRunning(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.resources {
		if r.Status == "running" {
			r.Status = "failed"
			r.Error = msg
			t.resources[k] = r
		}
	}
}
