package exposure_test

import (
	"runtime"
	"testing"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/synthetic"
)

// BenchmarkEvaluateLarge evaluates the large synthetic tenant (100,000 users,
// 150 policies, 25,000 service principals) with every finding. The engine
// is single-threaded: run with -cpu 1 for the one-core figure. Reported:
// accounts/s, and the heap the evaluation holds once done (snapshot
// excluded) as evaluation-MB.
func BenchmarkEvaluateLarge(b *testing.B) {
	snap, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileLarge, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg := exposure.DefaultConfig(synthetic.DefaultNow)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	b.ResetTimer()
	var ev *exposure.Evaluation
	for range b.N {
		ev = exposure.Evaluate(snap, cfg)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(len(ev.Accounts))*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(base))/(1<<20), "evaluation-MB")
	runtime.KeepAlive(ev)
}
