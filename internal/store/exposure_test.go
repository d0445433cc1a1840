package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestSaveEvaluation stores the demo tenant's evaluation twice while a
// reader counts the current evaluation's accounts: the reader only ever
// sees a whole evaluation, the second replaces the first, the first one's
// rows are gone and both evaluations' aggregates stay for trends.
func TestSaveEvaluation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID
	if _, err := testDB.CurrentEvaluation(ctx, "00000000-0000-4000-8000-00000000dead"); derr.Code(err) != derr.ENOTFOUND {
		t.Fatalf("CurrentEvaluation of an unknown tenant: %v, want ENOTFOUND", err)
	}

	loaded, err := testDB.LoadSnapshot(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	ev := exposure.Evaluate(loaded, exposure.DefaultConfig(synthetic.DefaultNow))
	want := len(ev.Accounts)
	var findings, exclusions int
	for _, a := range ev.Accounts {
		findings += len(a.Findings)
		exclusions += len(a.Exclusions)
	}

	var partial atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a reader that must never see half an evaluation
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int64
			err := testDB.QueryRowForTest(ctx, `SELECT count(*) FROM exposure_accounts a
				JOIN exposure_current c ON c.evaluation_id = a.evaluation_id WHERE c.tenant_id = $1`, tenant).Scan(&n)
			if err == nil && n != 0 && n != int64(want) {
				partial.Add(1)
			}
		}
	}()
	first, err := testDB.SaveEvaluation(ctx, tenant, run.ID, ev, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	second, err := testDB.SaveEvaluation(ctx, tenant, run.ID, ev, time.Second)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if partial.Load() > 0 {
		t.Errorf("a reader saw a partly written evaluation %d times", partial.Load())
	}

	cur, err := testDB.CurrentEvaluation(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if cur.ID != second || cur.Accounts != want || cur.SyncRunID == nil || *cur.SyncRunID != run.ID {
		t.Errorf("current evaluation = %+v, want id %d with %d accounts of run %d", cur, second, want, run.ID)
	}
	for table, n := range map[string]int{"exposure_accounts": want, "exposure_findings": findings, "exposure_exclusions": exclusions} {
		var got, old int
		if err := testDB.QueryRowForTest(ctx, `SELECT count(*) FILTER (WHERE evaluation_id = $1), count(*) FILTER (WHERE evaluation_id = $2) FROM `+table, second, first).Scan(&got, &old); err != nil {
			t.Fatal(err)
		}
		if got != n || old != 0 {
			t.Errorf("%s: %d rows in the current evaluation (want %d), %d left of the replaced one (want 0)", table, got, n, old)
		}
	}
	counts, err := testDB.EvaluationCounts(ctx, tenant, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts[0].EvaluationID != first || counts[1].EvaluationID != second {
		t.Fatalf("EvaluationCounts = %+v, want the two evaluations oldest first", counts)
	}
	byLevel := 0
	for _, l := range []exposure.Level{exposure.LevelProtected, exposure.LevelPartial, exposure.LevelExposed, exposure.LevelNotApplicable} {
		byLevel += counts[1].Counts["exposure/"+string(l)]
	}
	if byLevel != want || counts[1].Counts["finding/"+exposure.CodeExcludedFromMFA] == 0 {
		t.Errorf("aggregates %v: exposure levels sum to %d (want %d), and EXCLUDED_FROM_MFA must be counted", counts[1].Counts, byLevel, want)
	}
}

// BenchmarkSaveEvaluationLarge stores the evaluation of the large synthetic
// tenant (125,000 accounts with their verdicts, exclusions and findings) as
// the current one, replacing the previous: the persistence step after a
// sync. The tenant row is created directly; the evaluation does not need
// the directory rows.
func BenchmarkSaveEvaluationLarge(b *testing.B) {
	ctx := context.Background()
	snap, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileLarge, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ev := exposure.Evaluate(snap, exposure.DefaultConfig(synthetic.DefaultNow))
	rows := 0
	for _, a := range ev.Accounts {
		rows += 1 + len(a.Findings) + len(a.Exclusions)
	}
	if err := testDB.EnsureTenant(ctx, snap.Tenant.ID); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := testDB.SaveEvaluation(ctx, snap.Tenant.ID, 0, ev, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
