package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/steward-dev/steward/internal/store"
)

// evaluator returns the sync runner's Evaluate hook: evaluate the tenant's
// stored directory (EXPOSURE.md) and store the results as its current
// evaluation, tagged with the run.
func evaluator(db *store.DB, ec ExposureConfig, log *slog.Logger) func(ctx context.Context, tenantID string, runID int64) error {
	return func(ctx context.Context, tenantID string, runID int64) error {
		// The sync's garbage (hundreds of MB on a large tenant) goes back
		// before the evaluation reads the directory: the two peaks do not add.
		debug.FreeOSMemory()
		st, err := db.EvaluateTenant(ctx, tenantID, runID, ec.evaluation(time.Now().UTC()))
		if err != nil {
			return err
		}
		log.Debug("evaluation stored", slog.String("tenant_id", tenantID), slog.Int64("evaluation_id", st.ID),
			slog.Int("accounts", st.Accounts), slog.Duration("load", st.Load),
			slog.Duration("evaluate", st.Evaluate), slog.Duration("save", st.Save))
		return nil
	}
}
