package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/sync"
)

// syncCmd runs one sync of each configured tenant now, with a progress bar on
// a terminal (plain lines elsewhere), then a summary.
func syncCmd(ctx context.Context, env *environment, args []string) error {
	fs, cfg := newCommandFlags("sync", env.getenv, env.stderr, false)
	tenant := fs.String("tenant", "", "sync only this tenant (default: STEWARD_TENANTS or AZURE_TENANT_ID)")
	mode := fs.String("mode", "full", "full, or delta (changes since the last run; falls back to full)")
	accept := fs.Bool("accept-deletions", false, "apply deletions even when more than the breaker allows (after review)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *mode != string(sync.Full) && *mode != string(sync.Delta) {
		return usageError{fmt.Errorf("-mode %q: want full or delta", *mode)}
	}
	tenants := cfg.Sync.Tenants
	if *tenant != "" {
		tenants = []string{*tenant}
	}
	if len(tenants) == 0 {
		return usageError{errors.New("no tenant to sync: set AZURE_TENANT_ID (or STEWARD_TENANTS) and the AZURE_* credential variables, or pass -tenant (see the README's \"Connect a tenant\")")}
	}
	log := cfg.logger(env.stderr)
	db, err := openMigrated(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	var failed []string
	for _, t := range tenants {
		sources, err := liveSources(*cfg, env.getenv, t, nil, "", log)
		if err != nil {
			return usageError{err}
		}
		runner := sync.NewRunner(db, log, cfg.runnerOptions(db, log), sources...)
		progress := newProgressPrinter(env.stdout)
		run, err := runner.Run(ctx, sync.RunRequest{TenantID: t, Mode: sync.Mode(*mode), AcceptDeletions: *accept, Observe: progress.observe})
		if run.ID != 0 {
			printRunSummary(env.stdout, run)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s", t, describe(err)))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d tenants failed:\n  %s", len(failed), len(tenants), strings.Join(failed, "\n  "))
	}
	return nil
}
