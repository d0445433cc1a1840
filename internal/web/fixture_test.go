package web_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	gosync "sync"
	"testing"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/synthetic"
)

var demo struct {
	once   gosync.Once
	tenant string
	err    error
}

// demoTenant loads the demo synthetic tenant (seed 1, with the generator's
// hostile names planted) into the package's test database once, through the
// same path as `server import`: the sync runner, then the evaluation. It
// returns the tenant id. Tests must not change its data.
func demoTenant(tb testing.TB) string {
	tb.Helper()
	demo.once.Do(func() {
		dir, err := os.MkdirTemp("", "steward-web-demo-") // small; left for the OS to clean
		if err != nil {
			demo.err = err
			return
		}
		if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1, Hostile: true}); err != nil {
			demo.err = err
			return
		}
		snap, err := snapshot.Read(dir)
		if err != nil {
			demo.err = err
			return
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		runner := sync.NewRunner(testDB, quiet, sync.Options{
			Evaluate: func(ctx context.Context, tenantID string, runID int64) error {
				_, err := testDB.EvaluateTenant(ctx, tenantID, runID, exposure.DefaultConfig(synthetic.DefaultNow))
				return err
			},
		}, sync.SnapshotSource{Snapshot: snap})
		_, demo.err = runner.Run(context.Background(), sync.RunRequest{
			TenantID: snap.Tenant.ID, Mode: sync.Full,
			Tenant: &store.Tenant{ID: snap.Tenant.ID, DisplayName: snap.Tenant.DisplayName, DefaultDomain: snap.Tenant.DefaultDomain},
		})
		demo.tenant = snap.Tenant.ID
	})
	if demo.err != nil {
		tb.Fatalf("loading the demo tenant: %v", demo.err)
	}
	return demo.tenant
}
