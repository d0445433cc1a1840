package main

import (
	"context"
	"log/slog"
	"net"
	gosync "sync"

	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/web"
)

// serveCmd runs the web server, and the scheduled sync of the configured
// tenants, until SIGINT/SIGTERM; then it drains requests and stops the loop.
func serveCmd(ctx context.Context, env *environment, args []string) error {
	fs, cfg := newCommandFlags("serve", env.getenv, env.stderr, true)
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	// Before anything else starts: a refused address is the caller's mistake.
	addr, err := loopbackAddr(ctx, lookupHost, cfg.Addr)
	if err != nil {
		return usageError{err}
	}
	cfg.Addr = addr
	log := cfg.logger(env.stderr)

	db, err := openMigrated(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	var runner *sync.Runner
	var schedule *sync.Schedule
	if len(cfg.Sync.Tenants) > 0 {
		if runner, err = liveRunner(*cfg, env.getenv, db, log); err != nil {
			return usageError{err}
		}
	}
	if runner != nil && cfg.Sync.Interval > 0 {
		schedule = &sync.Schedule{Runner: runner, DB: db, Tenants: cfg.Sync.Tenants, Interval: cfg.Sync.Interval,
			FullEvery: cfg.Sync.FullEvery, Log: log}
	} else {
		log.Info("scheduled sync is off: no tenant configured (AZURE_TENANT_ID / STEWARD_TENANTS) or STEWARD_SYNC_INTERVAL=off")
	}
	ln, err := listenLoopback(cfg.Addr)
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, ln, db, log, runner, schedule, false)
}

// liveRunner builds the schedule's runner: one set of sources per configured
// tenant (their credential is per tenant), dispatched by sync.PerTenant.
func liveRunner(cfg Config, getenv func(string) string, db *store.DB, log *slog.Logger) (*sync.Runner, error) {
	byTenant := map[string][]sync.Source{}
	for _, t := range cfg.Sync.Tenants {
		sources, err := liveSources(cfg, getenv, t, nil, "", log)
		if err != nil {
			return nil, err
		}
		byTenant[t] = sources
	}
	return sync.NewRunner(db, log, cfg.runnerOptions(db, log), sync.PerTenant(byTenant)), nil
}

// serveUntilDone serves the UI on ln (loopback only: listenLoopback) and runs the schedule (if any) beside it; on cancellation it
// stops both and waits for them. runner (if any) backs the "Sync now" button:
// a delta run in the background.
func serveUntilDone(ctx context.Context, ln net.Listener, db *store.DB, log *slog.Logger, runner *sync.Runner, schedule *sync.Schedule, demo bool) error {
	var wg gosync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(ctx)
	if schedule != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			schedule.Start(loopCtx)
		}()
	}
	opts := web.Options{Demo: demo}
	if runner != nil {
		opts.SyncNow = func(_ context.Context, tenantID string) error {
			unlock, free, err := db.TryLockTenant(loopCtx, tenantID)
			if err != nil {
				return err
			}
			if !free {
				return sync.ErrBusy
			}
			unlock() // the run takes the lock itself; this only answers "busy" at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := runner.Run(loopCtx, sync.RunRequest{TenantID: tenantID, Mode: sync.Delta}); err != nil {
					log.Warn("sync started from the UI failed", slog.String("tenant_id", tenantID), slog.Any("error", err))
				}
			}()
			return nil
		}
	}
	log.Info("steward listening", slog.String("url", "http://"+ln.Addr().String()))
	err := web.New(db, log, opts).Serve(ctx, ln)
	stopLoops()
	wg.Wait()
	log.Info("steward stopped")
	return err
}

// openMigrated opens the database, creating it if needed, and brings its
// schema up to date.
func openMigrated(ctx context.Context, cfg Config, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, name := range applied {
		log.Info("migration applied", slog.String("migration", name))
	}
	log.Info("database ready", slog.String("database_url", store.RedactURL(cfg.DatabaseURL)))
	return db, nil
}
