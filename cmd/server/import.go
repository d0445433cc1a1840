package main

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
)

// importCmd loads a snapshot directory through the sync's store path, for
// offline analysis of an export.
func importCmd(ctx context.Context, env *environment, args []string) error {
	fs, cfg := newCommandFlags("import", env.getenv, env.stderr, false)
	accept := fs.Bool("accept-deletions", false, "apply deletions even when more than the breaker allows (after review)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("want one snapshot directory: server import DIR")}
	}
	snap, err := snapshot.Read(fs.Arg(0))
	if err != nil {
		return usageError{fmt.Errorf("cannot import %s: %w", fs.Arg(0), err)}
	}
	log := cfg.logger(env.stderr)
	db, err := openMigrated(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	runner := sync.NewRunner(db, log, cfg.runnerOptions(db, log), sync.SnapshotSource{Snapshot: snap})
	progress := newProgressPrinter(env.stdout)
	run, err := runner.Run(ctx, sync.RunRequest{
		TenantID:        snap.Tenant.ID,
		Tenant:          &store.Tenant{ID: snap.Tenant.ID, DisplayName: snap.Tenant.DisplayName, DefaultDomain: snap.Tenant.DefaultDomain},
		Mode:            sync.Full,
		AcceptDeletions: *accept,
		Observe:         progress.observe,
	})
	if run.ID != 0 {
		printRunSummary(env.stdout, run)
	}
	return err
}
