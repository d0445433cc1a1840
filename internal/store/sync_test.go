package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// newTenant creates a tenant of its own for a test, so tests can run in parallel.
func newTenant(t *testing.T, name string) string {
	t.Helper()
	id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", crc32.ChecksumIEEE([]byte(t.Name()+name)))
	if _, err := testDB.UpsertTenant(context.Background(), store.Tenant{ID: id, DisplayName: name}); err != nil {
		t.Fatal(err)
	}
	return id
}

func user(id, name string) *directory.User {
	raw, _ := json.Marshal(map[string]any{"id": id, "displayName": name})
	u, err := directory.Decode[directory.User](raw)
	if err != nil {
		panic(err)
	}
	return &u
}

func membership(group string, members ...string) *directory.GroupMembership {
	m := &directory.GroupMembership{GroupID: group}
	for _, id := range members {
		m.Members = append(m.Members, directory.Ref{ODataType: directory.ODataType("user"), ID: id})
	}
	return m
}

// run stages objects for one collection and applies them, returning the result.
func run(t *testing.T, tenant string, c directory.Collection, complete bool, opts store.ApplyOptions,
	fill func(ctx context.Context, s *store.Stage) error) (store.CollectionResult, int64) {
	t.Helper()
	ctx := context.Background()
	r, err := testDB.StartSyncRun(ctx, tenant, "snapshot", "full")
	if err != nil {
		t.Fatal(err)
	}
	st, err := testDB.NewStage(ctx, r.ID, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := fill(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := testDB.ApplyStaged(ctx, r.ID, tenant, []store.StagedCollection{{Collection: c, Complete: complete, DeltaLink: "link-" + string(c)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := testDB.FinishSyncRun(ctx, r.ID, store.RunSucceeded, nil, ""); err != nil {
		t.Fatal(err)
	}
	return res[c], r.ID
}

func liveUsers(t *testing.T, tenant string) map[string]string {
	t.Helper()
	rows, err := testDB.QueryForTest(context.Background(),
		`SELECT id, display_name FROM users WHERE tenant_id = $1 AND deleted_at IS NULL`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		rows.Scan(&id, &name)
		out[id] = name
	}
	return out
}

func putUsers(users ...*directory.User) func(context.Context, *store.Stage) error {
	return func(ctx context.Context, s *store.Stage) error {
		for _, u := range users {
			if err := s.Put(ctx, u); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestApply_completeListingAddsChangesSoftDeletes(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "complete")
	opts := store.ApplyOptions{MaxDeleteFraction: 0.9, MinDeletes: 1}
	a, b, c := "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002", "aaaaaaaa-0000-0000-0000-000000000003"

	res, _ := run(t, tenant, directory.Users, true, opts, putUsers(user(a, "Ann"), user(b, "Bob"), user(c, "Cy")))
	if res.Fetched != 3 || res.Added != 3 || res.Changed != 0 || res.Deleted != 0 {
		t.Errorf("first run: %+v", res)
	}
	// Bob renamed, Cy gone, Dee new; Ann staged twice (last one wins).
	d := "aaaaaaaa-0000-0000-0000-000000000004"
	res, run2 := run(t, tenant, directory.Users, true, opts, putUsers(user(a, "Ann (old)"), user(a, "Ann"), user(b, "Robert"), user(d, "Dee")))
	if res.Fetched != 3 || res.Added != 1 || res.Changed != 1 || res.Deleted != 1 {
		t.Errorf("second run: %+v, want fetched 3, added 1, changed 1, deleted 1", res)
	}
	got := liveUsers(t, tenant)
	if len(got) != 3 || got[b] != "Robert" || got[a] != "Ann" || got[c] != "" {
		t.Errorf("live users = %v", got)
	}
	// Cy is soft-deleted, not removed, and comes back if seen again.
	var deletedAt *string
	testDB.QueryRowForTest(context.Background(), `SELECT deleted_at::text FROM users WHERE tenant_id = $1 AND id = $2`, tenant, c).Scan(&deletedAt)
	if deletedAt == nil {
		t.Error("a user missing from a complete listing was not soft-deleted")
	}
	links, _ := testDB.DeltaLinks(context.Background(), tenant)
	if links["users"] != "link-users" {
		t.Errorf("delta link not stored: %v", links)
	}
	// last_seen_run is the last run that wrote the row: Bob's rename, not Ann's no-op.
	var annSeen, bobSeen int64
	testDB.QueryRowForTest(context.Background(), `SELECT last_seen_run FROM users WHERE tenant_id = $1 AND id = $2`, tenant, a).Scan(&annSeen)
	testDB.QueryRowForTest(context.Background(), `SELECT last_seen_run FROM users WHERE tenant_id = $1 AND id = $2`, tenant, b).Scan(&bobSeen)
	if bobSeen != run2 || annSeen >= run2 {
		t.Errorf("last_seen_run: Bob %d (want %d), Ann %d (want her first run's)", bobSeen, run2, annSeen)
	}
	res, _ = run(t, tenant, directory.Users, true, opts, putUsers(user(a, "Ann"), user(b, "Robert"), user(c, "Cy"), user(d, "Dee")))
	if res.Added != 1 || len(liveUsers(t, tenant)) != 4 {
		t.Errorf("a returning user: %+v", res)
	}
}

func TestApply_deltaRemovesAndScopes(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "delta")
	opts := store.ApplyOptions{MaxDeleteFraction: 0.9, MinDeletes: 1}
	g1, g2 := "bbbbbbbb-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
	u1, u2, u3 := "cccccccc-0000-0000-0000-000000000001", "cccccccc-0000-0000-0000-000000000002", "cccccccc-0000-0000-0000-000000000003"
	run(t, tenant, directory.GroupMembers, true, opts, func(ctx context.Context, s *store.Stage) error {
		if err := s.Put(ctx, membership(g1, u1, u2)); err != nil {
			return err
		}
		return s.Put(ctx, membership(g2, u1, u3))
	})
	// Delta: u2 leaves g1 (explicit edge removal), u3 joins g1; g2 is re-listed completely as {u3}.
	res, _ := run(t, tenant, directory.GroupMembers, false, opts, func(ctx context.Context, s *store.Stage) error {
		if err := s.Remove(ctx, g1+"/"+u2); err != nil {
			return err
		}
		if err := s.Put(ctx, membership(g1, u3)); err != nil {
			return err
		}
		if err := s.Scope(ctx, g2); err != nil {
			return err
		}
		return s.Put(ctx, membership(g2, u3))
	})
	if res.Added != 1 || res.Deleted != 2 {
		t.Errorf("delta: %+v, want 1 added (u3 in g1) and 2 deleted (u2 from g1, u1 from g2)", res)
	}
	var edges []string
	rows, _ := testDB.QueryForTest(context.Background(), `SELECT group_id || '>' || member_id FROM group_members
		WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY 1`, tenant)
	for rows.Next() {
		var e string
		rows.Scan(&e)
		edges = append(edges, e)
	}
	rows.Close()
	want := []string{g1 + ">" + u1, g1 + ">" + u3, g2 + ">" + u3}
	if strings.Join(edges, " ") != strings.Join(want, " ") {
		t.Errorf("edges = %v, want %v", edges, want)
	}
}

func TestApply_massDeletionBreakerWithholdsDeletes(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "breaker")
	var all []*directory.User
	for i := range 20 {
		all = append(all, user(strings.Replace("dddddddd-0000-0000-0000-0000000000xx", "xx", string(rune('a'+i/10))+string(rune('0'+i%10)), 1), "U"))
	}
	opts := store.DefaultApplyOptions
	run(t, tenant, directory.Users, true, opts, putUsers(all...))
	// A listing that lost 15 of 20 users (a truncated page, say) plus one rename.
	renamed := user(all[0].ID, "Renamed")
	res, _ := run(t, tenant, directory.Users, true, opts, putUsers(renamed, all[1], all[2], all[3], all[4]))
	if res.Withheld != 15 || res.Deleted != 0 || !strings.Contains(res.Breaker, "15 of 20") {
		t.Errorf("breaker: %+v", res)
	}
	if got := liveUsers(t, tenant); len(got) != 20 || got[all[0].ID] != "Renamed" {
		t.Errorf("after a tripped breaker: %d live users, want 20 (with the rename applied)", len(got))
	}
	// A person accepts the deletions.
	opts.AcceptDeletions = true
	res, _ = run(t, tenant, directory.Users, true, opts, putUsers(renamed, all[1], all[2], all[3], all[4]))
	if res.Deleted != 15 || len(liveUsers(t, tenant)) != 5 {
		t.Errorf("accepted deletions: %+v", res)
	}
}

func TestApply_cascadesEdgesOfDeletedObjects(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "cascade")
	opts := store.ApplyOptions{MaxDeleteFraction: 1, MinDeletes: 1}
	g, u1, u2 := "eeeeeeee-0000-0000-0000-000000000001", "eeeeeeee-0000-0000-0000-000000000002", "eeeeeeee-0000-0000-0000-000000000003"
	run(t, tenant, directory.GroupMembers, true, opts, func(ctx context.Context, s *store.Stage) error { return s.Put(ctx, membership(g, u1, u2)) })
	run(t, tenant, directory.Users, true, opts, putUsers(user(u1, "One"), user(u2, "Two")))
	res, _ := run(t, tenant, directory.Users, false, opts, func(ctx context.Context, s *store.Stage) error { return s.Remove(ctx, u2) })
	if res.Deleted != 1 {
		t.Errorf("users: %+v", res)
	}
	var live int
	testDB.QueryRowForTest(context.Background(), `SELECT count(*) FROM group_members WHERE tenant_id = $1 AND deleted_at IS NULL`, tenant).Scan(&live)
	if live != 1 {
		t.Errorf("%d live edges, want 1: the deleted user's membership must go with it", live)
	}
}

func TestApply_policyVersions(t *testing.T) {
	t.Parallel()
	tenant := newTenant(t, "versions")
	opts := store.DefaultApplyOptions
	policy := func(state string) *directory.ConditionalAccessPolicy {
		p, err := directory.Decode[directory.ConditionalAccessPolicy]([]byte(`{"id":"ffffffff-0000-0000-0000-000000000001","displayName":"MFA","state":"` + state + `","modifiedDateTime":"2026-01-0` + map[string]string{"enabled": "1", "disabled": "2"}[state] + `T00:00:00Z"}`))
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	for _, state := range []string{"enabled", "enabled", "disabled", "enabled"} {
		run(t, tenant, directory.ConditionalAccessPolicies, true, opts, func(ctx context.Context, s *store.Stage) error { return s.Put(ctx, policy(state)) })
	}
	var versions int
	testDB.QueryRowForTest(context.Background(), `SELECT count(*) FROM ca_policy_versions WHERE tenant_id = $1`, tenant).Scan(&versions)
	if versions != 2 {
		t.Errorf("%d versions, want 2 (enabled, disabled; modifiedDateTime alone is not a change)", versions)
	}
}

func TestSyncRuns_lockAndOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tenant := newTenant(t, "lock")
	unlock, ok, err := testDB.TryLockTenant(ctx, tenant)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok2, err := testDB.TryLockTenant(ctx, strings.ToUpper(tenant)); err != nil || ok2 {
		t.Errorf("second lock taken while the first is held (ok=%v err=%v)", ok2, err)
	}
	r, err := testDB.StartSyncRun(ctx, tenant, "graph", "full")
	if err != nil {
		t.Fatal(err)
	}
	st, err := testDB.NewStage(ctx, r.ID, directory.Users)
	if err != nil {
		t.Fatal(err)
	}
	st.Put(ctx, user("abababab-0000-0000-0000-000000000001", "x"))
	st.Flush(ctx)
	n, err := testDB.FailOrphanedRuns(ctx, tenant)
	if err != nil || n != 1 {
		t.Errorf("FailOrphanedRuns = %d, %v", n, err)
	}
	if err := testDB.DropOrphanStaging(ctx); err != nil {
		t.Fatal(err)
	}
	var tables int
	testDB.QueryRowForTest(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'sync_stage' AND tablename LIKE $1`, fmt.Sprintf("r%d\\_%%", r.ID)).Scan(&tables)
	if tables != 0 {
		t.Errorf("%d staging tables of a dead run left", tables)
	}
	got, err := testDB.SyncRun(ctx, r.ID)
	if err != nil || got.Status != store.RunFailed || got.FinishedAt == nil {
		t.Errorf("orphaned run = %+v, %v", got, err)
	}
	unlock()
	unlock2, ok, err := testDB.TryLockTenant(ctx, tenant)
	if err != nil || !ok {
		t.Fatalf("lock after unlock: %v %v", ok, err)
	}
	unlock2()
	if _, err := testDB.SyncRun(ctx, 987654321); derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("unknown run: %v", err)
	}
}
