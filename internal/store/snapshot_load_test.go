package store_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/synthetic"
)

// importDir reads a snapshot directory and imports it the way "server
// import" does: SnapshotSource through the sync runner's staging and apply.
func importDir(t *testing.T, dir string) (*directory.Snapshot, store.SyncRun) {
	t.Helper()
	s, err := snapshot.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := sync.NewRunner(testDB, quiet, sync.Options{}, sync.SnapshotSource{Snapshot: s})
	run, err := r.Run(context.Background(), sync.RunRequest{
		TenantID: s.Tenant.ID,
		Tenant:   &store.Tenant{ID: s.Tenant.ID, DisplayName: s.Tenant.DisplayName, DefaultDomain: s.Tenant.DefaultDomain},
		Mode:     sync.Full,
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunSucceeded {
		t.Fatalf("import: run %+v", run)
	}
	return s, run
}

// keyed returns a collection's objects by key, as JSON of their typed
// fields (Raw is not marshalled), with children put in the order
// LoadSnapshot gives them, and the keys in the collection's order.
func keyed(t *testing.T, s *directory.Snapshot, c directory.Collection) (map[string]string, []string) {
	t.Helper()
	out := map[string]string{}
	var keys []string
	err := snapshot.Each(s, c, func(o directory.Object) error {
		switch v := o.(type) {
		case *directory.GroupMembership:
			c := *v
			c.Members = slices.Clone(v.Members)
			sort.Slice(c.Members, func(i, j int) bool { return c.Members[i].ID < c.Members[j].ID })
			o = &c
		case *directory.Ownership:
			c := *v
			c.Owners = slices.Clone(v.Owners)
			sort.Slice(c.Owners, func(i, j int) bool { return c.Owners[i].ID < c.Owners[j].ID })
			o = &c
		case *directory.FlowPermissionSet:
			c := *v
			c.Permissions = slices.Clone(v.Permissions)
			sort.Slice(c.Permissions, func(i, j int) bool { return c.Permissions[i].Name < c.Permissions[j].Name })
			o = &c
		}
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		out[o.Key()] = string(b)
		keys = append(keys, o.Key())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, keys
}

// sameJSON reports whether two JSON documents hold the same values (jsonb
// keeps neither key order nor spacing).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestLoadSnapshot_roundTripsAnImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 41, Hostile: true}); err != nil {
		t.Fatal(err)
	}
	// Sign-ins not captured (no file); named locations captured empty.
	if err := os.Remove(filepath.Join(dir, snapshot.Path(directory.SignIns))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, snapshot.Path(directory.NamedLocations)), []byte(`{"value":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	want, run := importDir(t, dir)
	// The store keeps edges, not lists: an object listed with no owners (an
	// ownerless app, which the demo has) leaves no row, and comes back absent,
	// which readers of a snapshot already treat alike.
	dropped := len(want.Owners)
	want.Owners = slices.DeleteFunc(want.Owners, func(o directory.Ownership) bool { return len(o.Owners) == 0 })
	want.GroupMembers = slices.DeleteFunc(want.GroupMembers, func(m directory.GroupMembership) bool { return len(m.Members) == 0 })
	want.FlowPermissions = slices.DeleteFunc(want.FlowPermissions, func(p directory.FlowPermissionSet) bool { return len(p.Permissions) == 0 })
	t.Logf("%d ownerless objects listed in the snapshot", dropped-len(want.Owners))

	start := time.Now()
	got, err := testDB.LoadSnapshot(ctx, strings.ToUpper(want.Tenant.ID))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LoadSnapshot of the demo tenant: %v", time.Since(start))

	if got.Tenant.ID != want.Tenant.ID || got.Tenant.DisplayName != want.Tenant.DisplayName ||
		got.Tenant.DefaultDomain != want.Tenant.DefaultDomain {
		t.Errorf("Tenant = %+v, want %+v", got.Tenant, want.Tenant)
	}
	if run.FinishedAt == nil || !got.Tenant.CapturedAt.Equal(*run.FinishedAt) {
		t.Errorf("Tenant.CapturedAt = %v, want the run's finish %v", got.Tenant.CapturedAt, run.FinishedAt)
	}
	if !reflect.DeepEqual(got.Captured, want.Captured) {
		t.Errorf("Captured = %v, want %v", got.Captured, want.Captured)
	}
	if got.Captured[directory.SignIns] || !got.Captured[directory.NamedLocations] {
		t.Errorf("Captured: signIns %v (want false), namedLocations %v (want true)",
			got.Captured[directory.SignIns], got.Captured[directory.NamedLocations])
	}

	for _, c := range directory.AllCollections {
		if got.Count(c) != want.Count(c) {
			t.Errorf("%s: %d objects, want %d", c, got.Count(c), want.Count(c))
		}
		if want.Count(c) == 0 && c != directory.SignIns && c != directory.NamedLocations {
			t.Errorf("%s: the demo tenant has none, the test proves nothing", c)
		}
		gotObjs, gotKeys := keyed(t, got, c)
		wantObjs, _ := keyed(t, want, c)
		if !slices.IsSorted(gotKeys) {
			t.Errorf("%s: not sorted by key", c)
		}
		bad := 0
		for k, w := range wantObjs {
			g, ok := gotObjs[k]
			switch {
			case !ok:
				t.Errorf("%s %s: missing", c, k)
			case g != w:
				t.Errorf("%s %s:\n got %s\nwant %s", c, k, g, w)
			default:
				continue
			}
			if bad++; bad > 5 {
				t.Fatalf("%s: too many differences", c)
			}
		}
		for k := range gotObjs {
			if _, ok := wantObjs[k]; !ok {
				t.Errorf("%s %s: not in the snapshot", c, k)
			}
		}
		// Objects keep their source JSON (as jsonb gives it back).
		err := snapshot.Each(got, c, func(o directory.Object) error {
			if len(o.RawJSON()) == 0 {
				t.Errorf("%s %s: no raw JSON", c, o.Key())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// A few fields by hand, and the raw JSON of plain objects.
	wantUsers := map[string]directory.User{}
	for _, u := range want.Users {
		wantUsers[u.ID] = u
	}
	for _, u := range got.Users {
		w := wantUsers[u.ID]
		if u.UserPrincipalName != w.UserPrincipalName || u.DisplayName != w.DisplayName || u.Enabled() != w.Enabled() {
			t.Errorf("user %s = %q %q, want %q %q", u.ID, u.UserPrincipalName, u.DisplayName, w.UserPrincipalName, w.DisplayName)
		}
		if !sameJSON(u.Raw, w.Raw) {
			t.Errorf("user %s: raw %s, want %s", u.ID, u.Raw, w.Raw)
		}
	}
	for i, p := range got.ConditionalAccessPolicies {
		j := slices.IndexFunc(want.ConditionalAccessPolicies, func(w directory.ConditionalAccessPolicy) bool { return w.ID == p.ID })
		if j < 0 || !sameJSON(p.Raw, want.ConditionalAccessPolicies[j].Raw) {
			t.Errorf("policy #%d %s: raw differs", i, p.ID)
		}
	}
	members := 0
	for _, m := range got.GroupMembers {
		members += len(m.Members)
		if !slices.IsSortedFunc(m.Members, func(a, b directory.Ref) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("group %s: members not sorted by id", m.GroupID)
		}
	}
	wantMembers := 0
	for _, m := range want.GroupMembers {
		wantMembers += len(m.Members)
	}
	if members != wantMembers {
		t.Errorf("%d group member edges, want %d", members, wantMembers)
	}
	// A rebuilt permission set stages back to the same rows: its raw holds
	// each permission's raw.
	for _, set := range got.FlowPermissions[:min(5, len(got.FlowPermissions))] {
		var raws struct {
			Permissions []json.RawMessage `json:"permissions"`
		}
		if err := json.Unmarshal(set.Raw, &raws); err != nil || len(raws.Permissions) != len(set.Permissions) {
			t.Errorf("flow permissions %s: raw %s", set.Key(), set.Raw)
		}
	}
}

func TestLoadSnapshot_followsLaterRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	first, _ := importDir(t, dir)

	// The next export lost one user, a group membership edge of another, and
	// could not see flows at all: the user and their edges are soft-deleted,
	// the flows stored before stay, captured.
	gone := first.Users[len(first.Users)-1].ID
	var users []directory.User
	for _, u := range first.Users {
		if u.ID != gone {
			users = append(users, u)
		}
	}
	first.Users = users
	flows := len(first.Flows)
	first.Captured[directory.Flows] = false
	dir2 := t.TempDir()
	if err := snapshot.Write(dir2, first); err != nil {
		t.Fatal(err)
	}
	second, _ := importDir(t, dir2)

	got, err := testDB.LoadSnapshot(ctx, second.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != len(second.Users) || slices.ContainsFunc(got.Users, func(u directory.User) bool { return u.ID == gone }) {
		t.Errorf("%d users (want %d), deleted user %s present: %v", len(got.Users), len(second.Users), gone,
			slices.ContainsFunc(got.Users, func(u directory.User) bool { return u.ID == gone }))
	}
	for _, m := range got.GroupMembers {
		for _, r := range m.Members {
			if r.ID == gone {
				t.Errorf("group %s still lists the deleted user", m.GroupID)
			}
		}
	}
	if second.Captured[directory.Flows] || !got.Captured[directory.Flows] || flows == 0 || len(got.Flows) != flows {
		t.Errorf("flows: captured %v, %d objects; want captured with the %d of the first import",
			got.Captured[directory.Flows], len(got.Flows), flows)
	}
}

func TestLoadSnapshot_unknownTenant(t *testing.T) {
	t.Parallel()
	_, err := testDB.LoadSnapshot(context.Background(), "0badc0de-0000-4000-8000-000000000000")
	if derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("LoadSnapshot(unknown) = %v, want ENOTFOUND", err)
	}
}

func TestLoadSnapshot_tenantWithoutRuns(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "empty")
	got, err := testDB.LoadSnapshot(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant.ID != tenant || got.Tenant.DisplayName != "empty" || !got.Tenant.CapturedAt.IsZero() || len(got.Captured) != 0 {
		t.Errorf("LoadSnapshot = %+v", got)
	}
}
