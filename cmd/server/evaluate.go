package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
)

// evaluator returns the sync runner's Evaluate hook: read the tenant's
// stored directory, evaluate it (EXPOSURE.md) and store the results as the
// tenant's current evaluation, tagged with the run.
func evaluator(db *store.DB, ec ExposureConfig, log *slog.Logger) func(ctx context.Context, tenantID string, runID int64) error {
	return func(ctx context.Context, tenantID string, runID int64) error {
		began := time.Now()
		snap, err := db.LoadForEvaluation(ctx, tenantID)
		if err != nil {
			return err
		}
		loaded := time.Now()
		ev := exposure.Evaluate(snap, ec.evaluation(time.Now().UTC()))
		evaluated := time.Now()
		// Only the results are stored: let the directory go before writing
		// them (on a large tenant it is most of the memory).
		ev.Forget()
		id, err := db.SaveEvaluation(ctx, tenantID, runID, ev, evaluated.Sub(loaded))
		if err != nil {
			return err
		}
		log.Debug("evaluation stored", slog.String("tenant_id", tenantID), slog.Int64("evaluation_id", id),
			slog.Int("accounts", len(ev.Accounts)), slog.Duration("load", loaded.Sub(began)),
			slog.Duration("evaluate", evaluated.Sub(loaded)), slog.Duration("save", time.Since(evaluated)))
		return nil
	}
}
