package sync_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	gosync "sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/synthetic"
)

var testDB *store.DB

func TestMain(m *testing.M) { storetest.Main(m, func(db *store.DB) { testDB = db }) }

var tables = []string{"users", "groups", "group_members", "role_definitions", "role_assignments", "service_principals",
	"applications", "app_role_assignments", "owners", "ca_policies", "ca_policy_versions", "named_locations",
	"registration_details", "sign_ins", "service_principal_sign_in_activities", "environments", "flows",
	"flow_permissions", "connections", "sync_state"}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// demo generates the demo tenant under a tenant id of the test's own, so
// tests can run in parallel on one database.
func demo(t *testing.T, seed uint64) *directory.Snapshot {
	t.Helper()
	s, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func importRun(t *testing.T, s *directory.Snapshot, extra ...sync.Source) (store.SyncRun, error) {
	t.Helper()
	r := sync.NewRunner(testDB, quiet, sync.Options{}, append([]sync.Source{sync.SnapshotSource{Snapshot: s}}, extra...)...)
	return r.Run(context.Background(), sync.RunRequest{TenantID: s.Tenant.ID, Tenant: &store.Tenant{ID: s.Tenant.ID, DisplayName: s.Tenant.DisplayName}, Mode: sync.Full})
}

func liveCount(t *testing.T, table, tenant string) int {
	t.Helper()
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM `+table+` WHERE tenant_id = $1 AND deleted_at IS NULL`, []any{tenant}, &n)
	return n
}

func TestImport_storesEveryObjectOfTheSnapshot(t *testing.T) {
	t.Parallel()
	s := demo(t, 11)
	run, err := importRun(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunSucceeded || run.Source != "snapshot" {
		t.Fatalf("run = %+v", run)
	}
	edges := func(n int, f func(i int) int) int {
		total := 0
		for i := range n {
			total += f(i)
		}
		return total
	}
	for _, tc := range []struct {
		table string
		want  int
	}{
		{"users", len(s.Users)},
		{"groups", len(s.Groups)},
		{"group_members", edges(len(s.GroupMembers), func(i int) int { return len(s.GroupMembers[i].Members) })},
		{"role_definitions", len(s.RoleDefinitions)},
		{"role_assignments", len(s.RoleAssignments)},
		{"service_principals", len(s.ServicePrincipals)},
		{"applications", len(s.Applications)},
		{"app_role_assignments", len(s.AppRoleAssignments)},
		{"owners", edges(len(s.Owners), func(i int) int { return len(s.Owners[i].Owners) })},
		{"ca_policies", len(s.ConditionalAccessPolicies)},
		{"named_locations", len(s.NamedLocations)},
		{"registration_details", len(s.RegistrationDetails)},
		{"sign_ins", len(s.SignIns)},
		{"service_principal_sign_in_activities", len(s.ServicePrincipalSignInActivities)},
		{"environments", len(s.Environments)},
		{"flows", len(s.Flows)},
		{"flow_permissions", edges(len(s.FlowPermissions), func(i int) int { return len(s.FlowPermissions[i].Permissions) })},
		{"connections", len(s.Connections)},
	} {
		if got := liveCount(t, tc.table, s.Tenant.ID); got != tc.want || got == 0 {
			t.Errorf("%s: %d live rows, want %d", tc.table, got, tc.want)
		}
		if rs := run.Resources[string(collectionOf(tc.table))]; rs.Status != "applied" {
			t.Errorf("%s: resource status %+v", tc.table, rs)
		}
	}

	// The same snapshot again changes nothing but last_seen_run.
	again, err := importRun(t, s)
	if err != nil {
		t.Fatal(err)
	}
	for c, rs := range again.Resources {
		if rs.Added != 0 || rs.Changed != 0 || rs.Deleted != 0 {
			t.Errorf("re-import: %s %+v, want no change", c, rs)
		}
	}
}

func collectionOf(table string) directory.Collection {
	m := map[string]directory.Collection{"users": directory.Users, "groups": directory.Groups, "group_members": directory.GroupMembers,
		"role_definitions": directory.RoleDefinitions, "role_assignments": directory.RoleAssignments,
		"service_principals": directory.ServicePrincipals, "applications": directory.Applications,
		"app_role_assignments": directory.AppRoleAssignments, "owners": directory.Owners,
		"ca_policies": directory.ConditionalAccessPolicies, "named_locations": directory.NamedLocations,
		"registration_details": directory.RegistrationDetails, "sign_ins": directory.SignIns,
		"service_principal_sign_in_activities": directory.ServicePrincipalSignInActivities,
		"environments":                         directory.Environments, "flows": directory.Flows, "flow_permissions": directory.FlowPermissions,
		"connections": directory.Connections}
	return m[table]
}

// failing stages some rows, then fails (or blocks until released).
type failing struct {
	err     error
	started chan struct{}
	release chan struct{}
}

func (f *failing) Name() string { return "failing" }

func (f *failing) Fetch(ctx context.Context, req sync.Request, sinks sync.Sinks) ([]sync.Outcome, error) {
	sink := sinks.Sink(directory.Users)
	u, _ := directory.Decode[directory.User]([]byte(`{"id":"99999999-0000-0000-0000-000000000001","displayName":"Half-fetched"}`))
	if err := sink.Put(&u); err != nil {
		return nil, err
	}
	if f.started != nil {
		close(f.started)
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return []sync.Outcome{{Collection: directory.Users, Complete: false}}, nil
}

func TestRun_failedSourceChangesNothing(t *testing.T) {
	t.Parallel()
	s := demo(t, 12)
	if _, err := importRun(t, s); err != nil {
		t.Fatal(err)
	}
	before := storetest.Fingerprint(t, storetest.URL(), s.Tenant.ID, tables...)

	// The next import would rename a user and drop two.
	changed := *s
	changed.Users = append([]directory.User{}, s.Users[2:]...)
	changed.Users[0].DisplayName = "Renamed"
	changed.Users[0].Raw = nil
	run, err := importRun(t, &changed, &failing{err: errors.New("graph: users: page 3: malformed JSON")})
	if err == nil || run.Status != store.RunFailed || run.Error == "" {
		t.Fatalf("run = %+v, err = %v; want a failed run", run, err)
	}
	after := storetest.Fingerprint(t, storetest.URL(), s.Tenant.ID, tables...)
	for _, table := range tables {
		if before[table] != after[table] {
			t.Errorf("%s changed by a failed run", table)
		}
	}
	if n := stagingTables(t); n != 0 {
		t.Errorf("%d staging tables left behind", n)
	}
	// The next clean run recovers.
	run, err = importRun(t, &changed)
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("recovery run = %+v, %v", run, err)
	}
	if rs := run.Resources["users"]; rs.Changed != 1 || rs.Deleted != 2 {
		t.Errorf("recovery run users = %+v, want 1 changed and 2 deleted", rs)
	}
}

func stagingTables(t *testing.T) int {
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'sync_stage'
		AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.status = 'running' AND tablename LIKE 'r' || r.id || '\_%')`, nil, &n)
	return n
}

func TestRun_cancelledChangesNothing(t *testing.T) {
	t.Parallel()
	s := demo(t, 14)
	if _, err := importRun(t, s); err != nil {
		t.Fatal(err)
	}
	before := storetest.Fingerprint(t, storetest.URL(), s.Tenant.ID, tables...)
	f := &failing{started: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r := sync.NewRunner(testDB, quiet, sync.Options{}, sync.SnapshotSource{Snapshot: demo(t, 15)}, f)
	go func() { <-f.started; cancel() }()
	run, err := r.Run(ctx, sync.RunRequest{TenantID: s.Tenant.ID, Mode: sync.Full})
	if err == nil || run.Status != store.RunCancelled {
		t.Fatalf("run = %+v, err = %v; want cancelled", run, err)
	}
	after := storetest.Fingerprint(t, storetest.URL(), s.Tenant.ID, tables...)
	for _, table := range tables {
		if before[table] != after[table] {
			t.Errorf("%s changed by a cancelled run", table)
		}
	}
}

func TestRun_oneRunPerTenant(t *testing.T) {
	t.Parallel()
	s := demo(t, 16)
	f := &failing{started: make(chan struct{}), release: make(chan struct{})}
	first := sync.NewRunner(testDB, quiet, sync.Options{}, f)
	var wg gosync.WaitGroup
	wg.Add(1)
	var firstRun store.SyncRun
	var firstErr error
	go func() {
		defer wg.Done()
		firstRun, firstErr = first.Run(context.Background(), sync.RunRequest{TenantID: s.Tenant.ID, Mode: sync.Full})
	}()
	<-f.started
	second := sync.NewRunner(testDB, quiet, sync.Options{}, sync.SnapshotSource{Snapshot: s})
	_, err := second.Run(context.Background(), sync.RunRequest{TenantID: s.Tenant.ID, Mode: sync.Full})
	if !errors.Is(err, sync.ErrBusy) || derr.Code(err) != derr.ECONFLICT {
		t.Errorf("second concurrent run: %v, want ErrBusy", err)
	}
	close(f.release)
	wg.Wait()
	if firstErr != nil || firstRun.Status != store.RunSucceeded {
		t.Errorf("first run = %+v, %v", firstRun, firstErr)
	}
}

func TestRun_massDeletionNeedsReview(t *testing.T) {
	t.Parallel()
	s := demo(t, 17)
	if _, err := importRun(t, s); err != nil {
		t.Fatal(err)
	}
	users := len(s.Users)
	shrunk := *s
	shrunk.Users = s.Users[:users/2]
	run, err := importRun(t, &shrunk)
	if err != nil || run.Status != store.RunNeedsReview {
		t.Fatalf("run = %+v, %v; want needs_review", run, err)
	}
	if rs := run.Resources["users"]; rs.Withheld != users-users/2 || rs.Deleted != 0 || rs.Status != "needs_review" {
		t.Errorf("users = %+v", rs)
	}
	if got := liveCount(t, "users", s.Tenant.ID); got != users {
		t.Errorf("%d live users, want all %d kept", got, users)
	}
	r := sync.NewRunner(testDB, quiet, sync.Options{}, sync.SnapshotSource{Snapshot: &shrunk})
	run, err = r.Run(context.Background(), sync.RunRequest{TenantID: s.Tenant.ID, Mode: sync.Full, AcceptDeletions: true})
	if err != nil || run.Status != store.RunSucceeded || liveCount(t, "users", s.Tenant.ID) != users/2 {
		t.Errorf("accepted: %+v, %v", run, err)
	}
}

func TestRun_notCapturedCollectionIsKept(t *testing.T) {
	t.Parallel()
	s := demo(t, 18)
	if _, err := importRun(t, s); err != nil {
		t.Fatal(err)
	}
	partial := *s
	partial.Captured = map[directory.Collection]bool{directory.Users: true}
	run, err := importRun(t, &partial)
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("run = %+v, %v", run, err)
	}
	if rs := run.Resources["signIns"]; rs.Status != "not_captured" {
		t.Errorf("signIns = %+v", rs)
	}
	if got := liveCount(t, "sign_ins", s.Tenant.ID); got != len(s.SignIns) {
		t.Errorf("%d sign-ins after an import that did not capture them, want %d kept", got, len(s.SignIns))
	}
}

func TestRun_progressIsObserved(t *testing.T) {
	t.Parallel()
	s := demo(t, 19)
	var mu gosync.Mutex
	calls := 0
	r := sync.NewRunner(testDB, quiet, sync.Options{ProgressEvery: time.Millisecond}, sync.SnapshotSource{Snapshot: s})
	run, err := r.Run(context.Background(), sync.RunRequest{TenantID: s.Tenant.ID, Mode: sync.Full,
		Observe: func(map[string]store.ResourceStatus) { mu.Lock(); calls++; mu.Unlock() }})
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatal(run, err)
	}
	if calls == 0 {
		t.Error("observer never called")
	}
}
