package exposure_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/synthetic"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.golden")

// TestGolden_demo evaluates the whole demo tenant (seed 1) as written to and
// read back from disk, and compares the report with testdata/demo.golden,
// which was reviewed by hand. After a deliberate change to the rules:
// go test ./internal/exposure -run Golden -update, then review the diff.
func TestGolden_demo(t *testing.T) {
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := exposure.Evaluate(snap, exposure.DefaultConfig(synthetic.DefaultNow))
	var got bytes.Buffer
	if err := exposure.WriteReport(&got, ev); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "demo.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update and review it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		out := filepath.Join(t.TempDir(), "demo.got")
		_ = os.WriteFile(out, got.Bytes(), 0o644)
		t.Errorf("the demo evaluation differs from %s; got is in %s (diff them; -update after review)", golden, out)
	}
}
