package sync

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/steward-dev/steward/internal/store"
)

// Schedule syncs tenants periodically: a delta run every Interval, and a full
// run when the last successful full run is older than FullEvery (full runs
// also refresh what delta runs skip: registration details, service principal
// sign-in activity, permissions of old flows, signInActivity).
type Schedule struct {
	Runner    *Runner
	DB        *store.DB
	Tenants   []string
	Interval  time.Duration
	FullEvery time.Duration
	// Timeout bounds one run (default: Interval, at most 2 h).
	Timeout time.Duration
	Log     *slog.Logger
}

// Start runs the schedule until ctx is cancelled: a first pass at once, then
// one every Interval. It returns when the loop has stopped, so the caller can
// wait for it during shutdown.
func (s *Schedule) Start(ctx context.Context) {
	if s.Timeout <= 0 {
		s.Timeout = min(s.Interval, 2*time.Hour)
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		s.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass syncs every tenant once, one after the other: Graph budgets are per
// app and tenant, but the process's memory and database are shared.
func (s *Schedule) pass(ctx context.Context) {
	for _, tenant := range s.Tenants {
		if ctx.Err() != nil {
			return
		}
		mode := s.modeFor(ctx, tenant)
		rctx, cancel := context.WithTimeout(ctx, s.Timeout)
		run, err := s.Runner.Run(rctx, RunRequest{TenantID: tenant, Mode: mode})
		cancel()
		switch {
		case errors.Is(err, ErrBusy):
			s.Log.Info("scheduled sync skipped: another process is syncing this tenant", slog.String("tenant_id", tenant))
		case err != nil:
			s.Log.Error("scheduled sync failed", slog.String("tenant_id", tenant), slog.Int64("run_id", run.ID), slog.Any("error", err))
		case run.Status == store.RunNeedsReview:
			s.Log.Warn("scheduled sync needs review", slog.String("tenant_id", tenant), slog.Int64("run_id", run.ID), slog.String("reason", run.Error))
		}
	}
}

// modeFor picks delta unless a full run is due.
func (s *Schedule) modeFor(ctx context.Context, tenant string) Mode {
	runs, err := s.DB.SyncRuns(ctx, store.SyncRunFilter{TenantID: &tenant, Limit: 200})
	if err != nil {
		return Full
	}
	for _, r := range runs {
		if r.Mode == string(Full) && (r.Status == store.RunSucceeded || r.Status == store.RunNeedsReview) {
			if time.Since(r.StartedAt) < s.FullEvery {
				return Delta
			}
			return Full
		}
	}
	return Full
}
