package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/synthetic"
)

// generateCmd writes a synthetic tenant as a snapshot directory, for demos,
// tests and benchmarks without an Azure account. It needs no database.
func generateCmd(ctx context.Context, env *environment, args []string) error {
	fset := flag.NewFlagSet("generate", flag.ContinueOnError)
	fset.SetOutput(env.stderr)
	profile := fset.String("profile", synthetic.ProfileDemo, "demo (a few hundred users, for people) or large (100,000 users, for benchmarks)")
	seed := fset.Uint64("seed", 1, "selects the tenant: the same flags always write the same bytes")
	out := fset.String("out", "", "directory to write the snapshot into (required; new, empty, or an earlier snapshot)")
	nowFlag := fset.String("now", synthetic.DefaultNow.Format(time.RFC3339), "capture time every timestamp is relative to: RFC 3339 or YYYY-MM-DD")
	hostile := fset.Bool("hostile", false, "plant hostile strings (markup, right-to-left marks, a 4 KB name, spreadsheet formulas) in some names")
	if err := fset.Parse(args); err != nil {
		return usageError{err}
	}
	if fset.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fset.Arg(0))}
	}
	if *out == "" {
		return usageError{errors.New("-out is required: the directory to write the snapshot into")}
	}
	if !slices.Contains(synthetic.Profiles(), *profile) {
		return usageError{fmt.Errorf("-profile %q: want %s or %s", *profile, synthetic.ProfileDemo, synthetic.ProfileLarge)}
	}
	now, err := parseNow(*nowFlag)
	if err != nil {
		return usageError{err}
	}
	if err := checkOutDir(*out); err != nil {
		return err
	}

	start := time.Now()
	s, err := synthetic.Generate(synthetic.Options{Profile: *profile, Seed: *seed, Now: now, Hostile: *hostile})
	if err != nil {
		return err
	}
	generated := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := snapshot.Write(*out, s); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "synthetic tenant %q (profile %s, seed %d, captured %s) written to %s\n",
		s.Tenant.DisplayName, *profile, *seed, now.Format(time.RFC3339), *out)
	for _, c := range directory.AllCollections {
		fmt.Fprintf(env.stdout, "  %-38s %9d\n", snapshot.Path(c), s.Count(c))
	}
	fmt.Fprintf(env.stdout, "generated in %s, written in %s\n",
		generated.Round(time.Millisecond), (time.Since(start) - generated).Round(time.Millisecond))
	return nil
}

// parseNow accepts an RFC 3339 instant or a date (midnight UTC).
func parseNow(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("-now %q: want an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01)", s)
}

// checkOutDir refuses a directory that holds anything but a snapshot, so a
// mistyped -out never mixes tenant files into someone's folder, and a
// snapshot whose CA policies live one per file, which would be read back
// together with the new ones.
func checkOutDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) == 0:
		return nil
	case !snapshot.Exists(dir):
		return usageError{fmt.Errorf("refusing to write into %s: it is not empty and is not a snapshot (no %s); choose a new or empty directory",
			dir, snapshot.TenantFile)}
	}
	if _, err := os.Stat(filepath.Join(dir, "conditionalAccessPolicies")); err == nil {
		return usageError{fmt.Errorf("refusing to write into %s: its conditionalAccessPolicies/ folder would be read back with the new policies; choose a new or empty directory", dir)}
	}
	return nil
}
