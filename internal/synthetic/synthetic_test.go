package synthetic_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/synthetic"
)

func mustGenerate(tb testing.TB, opts synthetic.Options) *directory.Snapshot {
	tb.Helper()
	s, err := synthetic.Generate(opts)
	if err != nil {
		tb.Fatalf("Generate(%+v): %v", opts, err)
	}
	return s
}

// mustWrite writes s into a fresh directory and returns it.
func mustWrite(tb testing.TB, s *directory.Snapshot) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := snapshot.Write(dir, s); err != nil {
		tb.Fatalf("snapshot.Write: %v", err)
	}
	return dir
}

// files returns every file under dir by its relative path.
func files(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// canonical renders every object of a snapshot from its typed fields only
// (Raw is not marshalled), so a generated snapshot and the same snapshot read
// back from disk compare equal exactly when they carry the same data.
func canonical(tb testing.TB, s *directory.Snapshot) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	t, err := json.Marshal(s.Tenant)
	if err != nil {
		tb.Fatal(err)
	}
	out["tenant"] = []string{string(t)}
	for _, c := range directory.AllCollections {
		var list []string
		err := snapshot.Each(s, c, func(o directory.Object) error {
			b, err := json.Marshal(o)
			list = append(list, string(b))
			return err
		})
		if err != nil {
			tb.Fatalf("%s: %v", c, err)
		}
		out[string(c)] = list
	}
	return out
}

func TestGenerate_sameOptionsSameBytes(t *testing.T) {
	for _, opts := range []synthetic.Options{
		{Profile: synthetic.ProfileDemo, Seed: 1},
		{Profile: synthetic.ProfileDemo, Seed: 42, Hostile: true},
		{Profile: synthetic.ProfileDemo, Seed: 7, Now: time.Date(2025, 3, 9, 13, 30, 0, 0, time.UTC)},
	} {
		a := files(t, mustWrite(t, mustGenerate(t, opts)))
		b := files(t, mustWrite(t, mustGenerate(t, opts)))
		if got, want := len(a), len(directory.AllCollections)+1; got != want {
			t.Errorf("%+v: wrote %d files, want %d", opts, got, want)
		}
		for name, want := range a {
			if got := b[name]; !bytes.Equal(got, want) {
				t.Errorf("%+v: %s differs between two runs (%d and %d bytes)", opts, name, len(got), len(want))
			}
		}
	}
}

func TestGenerate_differentSeedDifferentTenant(t *testing.T) {
	a := files(t, mustWrite(t, mustGenerate(t, synthetic.Options{Seed: 1})))
	b := files(t, mustWrite(t, mustGenerate(t, synthetic.Options{Seed: 2})))
	for _, name := range []string{"tenant.json", "users.json", "groups.json", "conditionalAccessPolicies.json", "powerplatform/flows.json"} {
		if bytes.Equal(a[name], b[name]) {
			t.Errorf("%s: seeds 1 and 2 wrote the same bytes", name)
		}
	}
}

func TestGenerate_roundTripsThroughSnapshot(t *testing.T) {
	for _, opts := range []synthetic.Options{{Seed: 1}, {Seed: 3, Hostile: true}} {
		want := mustGenerate(t, opts)
		got, err := snapshot.Read(mustWrite(t, want))
		if err != nil {
			t.Fatalf("%+v: snapshot.Read: %v", opts, err)
		}
		for _, c := range directory.AllCollections {
			if !got.Captured[c] || !want.Captured[c] {
				t.Errorf("%+v: %s captured: got %v, generated %v, want both true", opts, c, got.Captured[c], want.Captured[c])
			}
		}
		g, w := canonical(t, got), canonical(t, want)
		for name, wl := range w {
			gl := g[name]
			if len(gl) != len(wl) {
				t.Errorf("%+v: %s: read %d objects, generated %d", opts, name, len(gl), len(wl))
				continue
			}
			for i := range wl {
				if gl[i] != wl[i] {
					t.Errorf("%+v: %s #%d differs after a round trip:\n got %s\nwant %s", opts, name, i, gl[i], wl[i])
					break
				}
			}
		}
	}
}

func TestGenerate_demoCounts(t *testing.T) {
	s := mustGenerate(t, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1})
	for _, tc := range []struct {
		c        directory.Collection
		min, max int
	}{
		{directory.Users, 300, 400},
		{directory.Groups, 25, 60},
		{directory.RoleDefinitions, 16, 16},
		{directory.RoleAssignments, 12, 25},
		{directory.ServicePrincipals, 50, 80},
		{directory.Applications, 25, 50},
		{directory.ConditionalAccessPolicies, 11, 15},
		{directory.NamedLocations, 3, 5},
		{directory.Environments, 3, 3},
		{directory.Flows, 120, 180},
		{directory.Connections, 160, 240},
		{directory.SignIns, 1000, 3000},
	} {
		if got := s.Count(tc.c); got < tc.min || got > tc.max {
			t.Errorf("%s: %d objects, want %d to %d", tc.c, got, tc.min, tc.max)
		}
	}
	services := 0
	for i := range s.Users {
		if isServiceAccount(&s.Users[i]) {
			services++
		}
	}
	if services < 30 || services > 50 {
		t.Errorf("%d service accounts, want about 40", services)
	}
}

func TestGenerate_unknownProfile(t *testing.T) {
	if _, err := synthetic.Generate(synthetic.Options{Profile: "huge"}); err == nil {
		t.Error("profile huge: no error")
	}
}

// TestGenerate_timesFollowNow checks that the data is relative to the
// capture time: nothing happens after it, and the sign-in logs cover the
// 14 days before it, whatever day it is.
func TestGenerate_timesFollowNow(t *testing.T) {
	for _, now := range []time.Time{synthetic.DefaultNow, time.Date(2031, 6, 30, 12, 0, 0, 0, time.UTC)} {
		s := mustGenerate(t, synthetic.Options{Seed: 5, Now: now})
		if !s.Tenant.CapturedAt.Equal(now) {
			t.Errorf("capturedAt %v, want %v", s.Tenant.CapturedAt, now)
		}
		for _, u := range s.Users {
			times := []directory.Time{u.CreatedDateTime, u.LastPasswordChangeDateTime}
			if a := u.SignInActivity; a != nil {
				times = append(times, a.LastSignInDateTime, a.LastNonInteractiveSignInDateTime, a.LastSuccessfulSignInDateTime)
			}
			for _, tm := range times {
				if tm.After(now) {
					t.Errorf("now %v: user %s has a time after capture: %v", now, u.UserPrincipalName, tm)
				}
			}
			if a := u.SignInActivity; a != nil && !a.LastSignInDateTime.IsZero() && a.LastSignInDateTime.Before(u.CreatedDateTime.Time) {
				t.Errorf("now %v: user %s signed in (%v) before it was created (%v)", now, u.UserPrincipalName, a.LastSignInDateTime, u.CreatedDateTime)
			}
		}
		for _, in := range s.SignIns {
			if in.CreatedDateTime.After(now) || in.CreatedDateTime.Before(now.Add(-14*24*time.Hour)) {
				t.Errorf("now %v: sign-in at %v is outside the 14 days before capture", now, in.CreatedDateTime)
			}
		}
	}
}
