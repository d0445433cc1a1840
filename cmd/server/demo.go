package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/synthetic"
)

// demoDatabaseURL keeps the demo tenant out of a real deployment's database
// when DATABASE_URL is not set.
const demoDatabaseURL = "postgres://postgres@127.0.0.1:5432/steward_demo?sslmode=disable"

// demoCmd runs everything with no Azure account: it generates the demo
// tenant, serves it with the in-process emulator, syncs it through the real
// Graph (msgraph-sdk-go) and Power Platform sources — token endpoint included —
// and serves the UI.
func demoCmd(ctx context.Context, env *environment, args []string) error {
	getenv := func(k string) string {
		if k == "DATABASE_URL" && env.getenv(k) == "" {
			return demoDatabaseURL
		}
		return env.getenv(k)
	}
	fs, cfg := newCommandFlags("demo", getenv, env.stderr, true)
	seed := fs.Uint64("seed", 1, "which synthetic tenant")
	hostile := fs.Bool("hostile", false, "plant hostile strings in names (escaping checks)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	// Before the database, the tenant and the sync: a refused address is the
	// caller's mistake, told at once.
	addr, err := loopbackAddr(ctx, lookupHost, cfg.Addr)
	if err != nil {
		return usageError{err}
	}
	cfg.Addr = addr
	// Listening first: an address in use fails now, not after the sync, and
	// the address printed below is served the moment it is printed.
	ln, err := listenLoopback(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // a no-op once served; closes it on the way out otherwise
	log := cfg.logger(env.stderr)

	db, err := openMigrated(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	// Timestamps relative to today, so the demo's dormant accounts and
	// expiring secrets are dormant and expiring now.
	snap, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: *seed,
		Now: time.Now().UTC().Truncate(24 * time.Hour), Hostile: *hostile})
	if err != nil {
		return err
	}
	emu, err := emulator.New(snap, emulator.Options{Log: log})
	if err != nil {
		return err
	}
	running, err := emu.Start(ctx)
	if err != nil {
		return err
	}
	defer running.Close()
	log.Info("demo tenant served by the emulator", slog.String("tenant", snap.Tenant.DisplayName),
		slog.String("graph", running.GraphURL()), slog.String("authority", running.AuthorityHost))

	// The emulator's client, as if the AZURE_* variables named it.
	client := emu.Client()
	demoEnv := func(k string) string {
		switch k {
		case "AZURE_TENANT_ID":
			return emu.TenantID()
		case "AZURE_CLIENT_ID":
			return client.ID
		case "AZURE_CLIENT_SECRET":
			return client.Secret
		case "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "STEWARD_MANAGED_IDENTITY", "AZURE_USERNAME", "AZURE_PASSWORD":
			return ""
		}
		return getenv(k)
	}
	cfg.Sync.GraphURL = running.URL
	cfg.Sync.BAPURL, cfg.Sync.FlowURL, cfg.Sync.PowerAppsURL = running.URL, running.URL, running.URL
	cfg.Sync.PowerPlatform = true
	sources, err := liveSources(*cfg, demoEnv, emu.TenantID(), running.HTTPClient(), running.AuthorityHost, log)
	if err != nil {
		return err
	}
	runner := sync.NewRunner(db, log, cfg.runnerOptions(db, log), sources...)
	tenant := &store.Tenant{ID: snap.Tenant.ID, DisplayName: snap.Tenant.DisplayName, DefaultDomain: snap.Tenant.DefaultDomain}
	progress := newProgressPrinter(env.stdout)
	run, err := runner.Run(ctx, sync.RunRequest{TenantID: emu.TenantID(), Tenant: tenant, Mode: sync.Full, Observe: progress.observe})
	if run.ID != 0 {
		printRunSummary(env.stdout, run)
	}
	if err != nil {
		return err
	}

	var schedule *sync.Schedule
	if cfg.Sync.Interval > 0 {
		schedule = &sync.Schedule{Runner: runner, DB: db, Tenants: []string{emu.TenantID()},
			Interval: cfg.Sync.Interval, FullEvery: cfg.Sync.FullEvery, Log: log}
		// The first pass just ran; the loop's own first pass is a cheap delta.
	}
	fmt.Fprintf(env.stdout, "\nSteward demo: open http://%s (Ctrl-C stops it)\n", ln.Addr())
	return serveUntilDone(ctx, ln, db, log, runner, schedule, true)
}
