package synthetic_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/synthetic"
)

// humanStrings returns the human-entered strings of a snapshot, by the kind
// of object that carries them.
func humanStrings(s *directory.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, u := range s.Users {
		out["user"] = append(out["user"], u.DisplayName, u.Department, u.JobTitle)
	}
	for _, g := range s.Groups {
		out["group"] = append(out["group"], g.DisplayName, g.Description)
	}
	for _, p := range s.ConditionalAccessPolicies {
		out["policy"] = append(out["policy"], p.DisplayName)
	}
	for _, l := range s.NamedLocations {
		out["location"] = append(out["location"], l.DisplayName)
	}
	for _, a := range s.Applications {
		out["app"] = append(out["app"], a.DisplayName)
	}
	for _, e := range s.Environments {
		out["environment"] = append(out["environment"], e.Properties.DisplayName)
	}
	for _, f := range s.Flows {
		out["flow"] = append(out["flow"], f.Properties.DisplayName)
	}
	for _, c := range s.Connections {
		out["connection"] = append(out["connection"], c.Properties.DisplayName)
	}
	return out
}

func TestGenerate_hostilePlantsEveryString(t *testing.T) {
	hostile := synthetic.HostileStrings()
	s := mustGenerate(t, synthetic.Options{Seed: 1, Hostile: true})
	byKind := humanStrings(s)
	var all []string
	for kind, values := range byKind {
		all = append(all, values...)
		if !slices.ContainsFunc(values, func(v string) bool { return slices.Contains(hostile, v) }) {
			t.Errorf("no hostile %s name", kind)
		}
	}
	for _, h := range hostile {
		if !slices.Contains(all, h) {
			t.Errorf("hostile string %q planted nowhere", h)
		}
	}
	if !slices.ContainsFunc(hostile, func(h string) bool { return len(h) == 4096 }) {
		t.Error("no 4 KB hostile string")
	}
	if !slices.ContainsFunc(hostile, func(h string) bool { return strings.ContainsRune(h, '\u202e') }) {
		t.Error("no right-to-left override among the hostile strings")
	}

	// Planting changes names, never the shape of the tenant.
	plain := mustGenerate(t, synthetic.Options{Seed: 1})
	for _, c := range directory.AllCollections {
		if got, want := s.Count(c), plain.Count(c); got != want {
			t.Errorf("%s: %d objects with hostile strings, %d without", c, got, want)
		}
	}
	for kind, values := range humanStrings(plain) {
		for _, v := range values {
			if slices.Contains(hostile, v) {
				t.Errorf("%s %q: hostile string without Options.Hostile", kind, v)
			}
		}
	}
}
