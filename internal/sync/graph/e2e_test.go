package graph_test

// End-to-end tests of the sync: the runner, the Graph source (msgraph-sdk-go,
// azidentity's client-credentials flow against the emulator's token
// endpoint) and the Power Platform source, wired as cmd/server wires them,
// syncing the synthetic demo tenant served by the emulator into PostgreSQL.
// Each test syncs a tenant of its own (the demo tenant of its own seed), so
// they run in parallel on the package's database.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
	"github.com/steward-dev/steward/internal/synthetic"
)

var testDB *store.DB

func TestMain(m *testing.M) { storetest.Main(m, func(db *store.DB) { testDB = db }) }

// signInWindow covers the demo tenant's whole sign-in log (14 days).
const signInWindow = 30 * 24 * time.Hour

// e2eTenant is one test's tenant: the demo tenant of the test's seed, served
// by an emulator of its own.
type e2eTenant struct {
	id   string
	snap *directory.Snapshot
	e    *emulator.Emulator
	r    *emulator.Running
}

// newTenant generates the demo tenant of seed, relative to today as the demo
// command does (so its sign-ins fall in the run's window), and serves it.
func newTenant(t *testing.T, seed uint64, opts emulator.Options) *e2eTenant {
	t.Helper()
	snap, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: seed,
		Now: time.Now().UTC().Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e, r := startEmulator(t, snap, opts)
	return &e2eTenant{id: directory.ID(snap.Tenant.ID), snap: snap, e: e, r: r}
}

// runner builds a runner over the tenant's Graph and Power Platform sources,
// as cmd/server's liveSources builds them: one client-secret credential from
// the AZURE_* variables, used for Graph and, through graph.TokenProvider, for
// the Power Platform APIs. Retries are short, to keep the tests fast.
func (tn *e2eTenant) runner(t *testing.T, tune func(*graph.Config)) *stsync.Runner {
	t.Helper()
	return tn.runnerWith(t, stsync.Options{SignInWindow: signInWindow}, tune)
}

// runnerWith is runner with options of the test's choosing.
func (tn *e2eTenant) runnerWith(t *testing.T, opts stsync.Options, tune func(*graph.Config)) *stsync.Runner {
	t.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tn.e.ClientTLSConfig()
	transport.MaxIdleConnsPerHost = 32
	// Before the emulator stops (cleanups run last first): it waits for open connections.
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport}
	cred, kind, err := graph.CredentialFromEnv(getenv(emulatorEnv(tn.e)), graph.CredentialOptions{
		AuthorityHost: tn.r.AuthorityHost, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	if kind != graph.KindClientSecret {
		t.Fatalf("credential kind %q, want %q", kind, graph.KindClientSecret)
	}
	cfg := graph.Config{TenantID: tn.e.TenantID(), GraphURL: tn.r.URL, Credential: cred, HTTPClient: client,
		RetryMax: 3, RetryDelay: time.Second,
		// Each test syncs its tenant several times in a row: Graph's pacing
		// would make each run wait out the previous one's budget.
		ConditionalAccessPerSecond: 50, SignInRequestsPer10s: 500}
	if tune != nil {
		tune(&cfg)
	}
	g, err := graph.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pp := powerplatform.New(powerplatform.Config{BAPURL: tn.r.URL, FlowURL: tn.r.URL, PowerAppsURL: tn.r.URL,
		Tokens: graph.TokenProvider(cred), ApplicationID: tn.e.Client().ID, HTTPClient: client,
		RetryBase: 10 * time.Millisecond})
	return stsync.NewRunner(testDB, slog.New(slog.DiscardHandler), opts, g, pp)
}

// request asks for a run of the tenant, named as the snapshot names it.
func (tn *e2eTenant) request(mode stsync.Mode) stsync.RunRequest {
	return stsync.RunRequest{TenantID: tn.e.TenantID(), Mode: mode,
		Tenant: &store.Tenant{ID: tn.id, DisplayName: tn.snap.Tenant.DisplayName, DefaultDomain: tn.snap.Tenant.DefaultDomain}}
}

// mustRun runs a sync that must succeed.
func (tn *e2eTenant) mustRun(t *testing.T, r *stsync.Runner, req stsync.RunRequest) store.SyncRun {
	t.Helper()
	run, err := r.Run(t.Context(), req)
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("%s run: status %q, error %v (%s)", req.Mode, run.Status, err, run.Error)
	}
	return run
}

// queryAll runs a query on the test database and returns its rows as Ts,
// columns in field order.
func queryAll[T any](t *testing.T, sql string, args ...any) []T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storetest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type key struct{ Key string }

// liveKeys returns the keys of a table's live rows for a tenant, each its
// key columns joined with "/" as directory.Object.Key joins them, sorted.
func liveKeys(t *testing.T, tenant, table string, cols ...string) []string {
	t.Helper()
	rows := queryAll[key](t, fmt.Sprintf(`SELECT concat_ws('/', %s) FROM %s WHERE tenant_id = $1 AND deleted_at IS NULL`,
		strings.Join(cols, ", "), pgx.Identifier{table}.Sanitize()), tenant)
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	slices.Sort(keys)
	return keys
}

// tenantTables lists every table holding a tenant's rows, but the run log.
func tenantTables(t *testing.T) []string {
	t.Helper()
	rows := queryAll[key](t, `SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'tenant_id' AND table_name <> 'sync_runs' ORDER BY 1`)
	tables := make([]string, len(rows))
	for i, r := range rows {
		tables[i] = r.Key
	}
	if len(tables) < 19 {
		t.Fatalf("tenant tables %v: fewer than the schema has", tables)
	}
	return tables
}

// fingerprint digests every row of every tenant table.
func (tn *e2eTenant) fingerprint(t *testing.T) map[string]string {
	t.Helper()
	return storetest.Fingerprint(t, storetest.URL(), tn.id, tenantTables(t)...)
}

// mustBeUnchanged fails the test if any table differs from before.
func (tn *e2eTenant) mustBeUnchanged(t *testing.T, before map[string]string, what string) {
	t.Helper()
	after := tn.fingerprint(t)
	for table, digest := range before {
		if after[table] != digest {
			t.Errorf("%s: %s changed by %s (%s, was %s)", tn.id, table, what, after[table], digest)
		}
	}
}

// stagingTablesOf counts the staging tables of a run.
func stagingTablesOf(t *testing.T, runID int64) int {
	t.Helper()
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'sync_stage' AND tablename LIKE $1`,
		[]any{fmt.Sprintf("r%d\\_%%", runID)}, &n)
	return n
}

// orphanStagingTables counts staging tables of runs no longer running.
func orphanStagingTables(t *testing.T) int {
	t.Helper()
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'sync_stage'
		AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.status = 'running' AND tablename LIKE 'r' || r.id || '\_%')`, nil, &n)
	return n
}

// syncRuns counts a tenant's run records.
func syncRuns(t *testing.T, tenant string) int {
	t.Helper()
	var n int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM sync_runs WHERE tenant_id = $1`, []any{tenant}, &n)
	return n
}

// edgeKeys lists the "parent/child" keys of a snapshot's reference lists;
// a parent with an empty list has none.
func edgeKeys[T any](items []T, edges func(T) (string, []directory.Ref)) []string {
	var keys []string
	for _, it := range items {
		parent, refs := edges(it)
		for _, r := range refs {
			keys = append(keys, parent+"/"+r.ID)
		}
	}
	slices.Sort(keys)
	return keys
}

// flowPermissionKeys lists the snapshot's flow permissions as the store keys them.
func flowPermissionKeys(s *directory.Snapshot) []string {
	var keys []string
	for _, set := range s.FlowPermissions {
		for _, p := range set.Permissions {
			id := cmp.Or(p.Name, p.ID, p.Properties.Principal.ID+":"+p.Properties.RoleName)
			keys = append(keys, set.Environment+"/"+set.FlowName+"/"+id)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestSync_fullRunStoresTheWholeTenant syncs the demo tenant through the real
// SDK, token endpoint included, and finds every object of the snapshot
// stored, with the fields Steward's pages read.
func TestSync_fullRunStoresTheWholeTenant(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, 101, emulator.Options{})
	s := tn.snap
	began := time.Now()
	run := tn.mustRun(t, tn.runner(t, nil), tn.request(stsync.Full))
	if run.Source != "graph" || run.Mode != string(stsync.Full) || run.FinishedAt == nil || run.Error != "" {
		t.Errorf("run = %+v", run)
	}
	for _, c := range directory.AllCollections {
		if rs := run.Resources[string(c)]; rs.Status != "applied" || rs.Error != "" {
			t.Errorf("%s: %+v, want applied", c, rs)
		}
	}
	if tn.e.Stats().TokensIssued == 0 {
		t.Error("no token was issued: the client-credentials flow did not run")
	}

	// The run's window starts at most signInWindow before it began.
	var signIns []string
	for _, si := range s.SignIns {
		if si.CreatedDateTime.After(began.Add(-signInWindow)) {
			signIns = append(signIns, si.ID)
		}
	}
	slices.Sort(signIns)
	owners := edgeKeys(s.Owners, func(o directory.Ownership) (string, []directory.Ref) { return o.ObjectID, o.Owners })
	members := edgeKeys(s.GroupMembers, func(m directory.GroupMembership) (string, []directory.Ref) { return m.GroupID, m.Members })
	for _, tc := range []struct {
		table string
		cols  []string
		want  []string
	}{
		{"users", []string{"id"}, snapshotKeys(t, s, directory.Users)},
		{"groups", []string{"id"}, snapshotKeys(t, s, directory.Groups)},
		{"group_members", []string{"group_id", "member_id"}, members},
		{"role_definitions", []string{"id"}, snapshotKeys(t, s, directory.RoleDefinitions)},
		{"role_assignments", []string{"id"}, snapshotKeys(t, s, directory.RoleAssignments)},
		{"service_principals", []string{"id"}, snapshotKeys(t, s, directory.ServicePrincipals)},
		{"applications", []string{"id"}, snapshotKeys(t, s, directory.Applications)},
		{"app_role_assignments", []string{"id"}, snapshotKeys(t, s, directory.AppRoleAssignments)},
		{"owners", []string{"object_id", "owner_id"}, owners},
		{"ca_policies", []string{"id"}, snapshotKeys(t, s, directory.ConditionalAccessPolicies)},
		{"named_locations", []string{"id"}, snapshotKeys(t, s, directory.NamedLocations)},
		{"registration_details", []string{"id"}, snapshotKeys(t, s, directory.RegistrationDetails)},
		{"sign_ins", []string{"id"}, signIns},
		{"service_principal_sign_in_activities", []string{"id"}, snapshotKeys(t, s, directory.ServicePrincipalSignInActivities)},
		{"environments", []string{"name"}, snapshotKeys(t, s, directory.Environments)},
		{"flows", []string{"environment_name", "name"}, snapshotKeys(t, s, directory.Flows)},
		{"flow_permissions", []string{"environment_name", "flow_name", "id"}, flowPermissionKeys(s)},
		{"connections", []string{"environment_name", "name"}, snapshotKeys(t, s, directory.Connections)},
	} {
		if len(tc.want) == 0 {
			t.Errorf("%s: the snapshot has none: the comparison proves nothing", tc.table)
		}
		if got := liveKeys(t, tn.id, tc.table, tc.cols...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %d live rows, the snapshot has %d (first differences: %v)", tc.table, len(got), len(tc.want), diff(got, tc.want))
		}
	}
	if len(signIns) != len(s.SignIns) {
		t.Errorf("%d of the demo's %d sign-ins are in the window: it should hold them all", len(signIns), len(s.SignIns))
	}

	type userRow struct {
		ID, UPN    string
		Enabled    *bool
		LastSignIn *time.Time
	}
	users := map[string]userRow{}
	for _, u := range queryAll[userRow](t, `SELECT id, user_principal_name, account_enabled, last_sign_in_at
		FROM users WHERE tenant_id = $1`, tn.id) {
		users[u.ID] = u
	}
	withSignIn := 0
	for _, want := range s.Users {
		got := users[want.ID]
		var lastSignIn *time.Time
		if want.SignInActivity != nil {
			lastSignIn = want.SignInActivity.LastSignInDateTime.Ptr()
		}
		if lastSignIn != nil {
			withSignIn++
		}
		if got.UPN != want.UserPrincipalName || !equalPtr(got.Enabled, want.AccountEnabled) || !equalTime(got.LastSignIn, lastSignIn) {
			t.Errorf("user %s: stored %s enabled=%v last sign-in %v; want %s enabled=%v last sign-in %v", want.ID,
				got.UPN, deref(got.Enabled), deref(got.LastSignIn), want.UserPrincipalName, deref(want.AccountEnabled), deref(lastSignIn))
		}
	}
	if withSignIn == 0 {
		t.Error("no demo user has signInActivity: the last_sign_in_at check proves nothing")
	}

	type spRow struct{ ID, AppID, Type string }
	sps := map[string]spRow{}
	for _, sp := range queryAll[spRow](t, `SELECT id, app_id, service_principal_type FROM service_principals WHERE tenant_id = $1`, tn.id) {
		sps[sp.ID] = sp
	}
	for _, want := range s.ServicePrincipals {
		if got := sps[want.ID]; got.AppID != want.AppID || got.Type != want.ServicePrincipalType {
			t.Errorf("service principal %s: stored app %q type %q, want %q %q", want.ID, got.AppID, got.Type, want.AppID, want.ServicePrincipalType)
		}
	}

	type policyRow struct{ ID, Name, State string }
	policies := map[string]policyRow{}
	for _, p := range queryAll[policyRow](t, `SELECT id, display_name, state FROM ca_policies WHERE tenant_id = $1`, tn.id) {
		policies[p.ID] = p
	}
	for _, want := range s.ConditionalAccessPolicies {
		if got := policies[want.ID]; got.Name != want.DisplayName || got.State != want.State {
			t.Errorf("policy %s: stored %q %q, want %q %q", want.ID, got.Name, got.State, want.DisplayName, want.State)
		}
	}
	var versions int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM ca_policy_versions WHERE tenant_id = $1`, []any{tn.id}, &versions)
	if versions != len(s.ConditionalAccessPolicies) {
		t.Errorf("%d policy versions, want one per policy (%d)", versions, len(s.ConditionalAccessPolicies))
	}

	type appRow struct {
		ID, Kind string
		FICs     int
	}
	apps := map[string]appRow{}
	for _, a := range queryAll[appRow](t, `SELECT id, coalesce(jsonb_typeof(raw->'federatedIdentityCredentials'), 'absent'),
		coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(raw->'federatedIdentityCredentials') = 'array' THEN raw->'federatedIdentityCredentials' END), 0)
		FROM applications WHERE tenant_id = $1`, tn.id) {
		apps[a.ID] = a
	}
	fics := 0
	for _, want := range s.Applications {
		got := apps[want.ID]
		if got.Kind != "array" || got.FICs != len(want.FederatedIdentityCredentials) {
			t.Errorf("application %s: raw federatedIdentityCredentials is %s of %d, want an array of %d",
				want.ID, got.Kind, got.FICs, len(want.FederatedIdentityCredentials))
		}
		fics += len(want.FederatedIdentityCredentials)
	}
	if fics == 0 {
		t.Error("the demo tenant has no federated credentials: the inline check proves nothing")
	}

	type connRow struct{ Key, Status, Error string }
	conns := map[string]connRow{}
	for _, c := range queryAll[connRow](t, `SELECT environment_name || '/' || name, overall_status, error_message
		FROM connections WHERE tenant_id = $1`, tn.id) {
		conns[c.Key] = c
	}
	inError := 0
	for _, want := range s.Connections {
		got := conns[want.Key()]
		if got.Status != want.Properties.OverallStatus || got.Error != want.ErrorMessage() {
			t.Errorf("connection %s: stored %q %q, want %q %q", want.Key(), got.Status, got.Error, want.Properties.OverallStatus, want.ErrorMessage())
		}
		if want.ErrorMessage() != "" {
			inError++
		}
	}
	if inError == 0 {
		t.Error("no demo connection is in error: the error_message check proves nothing")
	}
}

func equalPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func equalTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// current reads the directory objects the emulator serves now, through a
// Graph fetch.
func (tn *e2eTenant) current(t *testing.T) *directory.Snapshot {
	t.Helper()
	sinks := newMemSinks()
	if _, err := mustSource(t, tn.e, tn.r, nil).Fetch(t.Context(), stsync.Request{Mode: stsync.Full, SignInsSince: time.Now()}, sinks); err != nil {
		t.Fatal(err)
	}
	return &directory.Snapshot{Tenant: tn.snap.Tenant,
		Users:              objects[directory.User](sinks, directory.Users),
		Groups:             objects[directory.Group](sinks, directory.Groups),
		GroupMembers:       objects[directory.GroupMembership](sinks, directory.GroupMembers),
		RoleAssignments:    objects[directory.RoleAssignment](sinks, directory.RoleAssignments),
		ServicePrincipals:  objects[directory.ServicePrincipal](sinks, directory.ServicePrincipals),
		AppRoleAssignments: objects[directory.AppRoleAssignment](sinks, directory.AppRoleAssignments),
		Owners:             objects[directory.Ownership](sinks, directory.Owners),
	}
}

// objects returns what a source put in a collection, the last of each key, by key.
func objects[T any](sinks *memSinks, c directory.Collection) []T {
	s := sinks.get(c)
	out := make([]T, 0, len(s.puts))
	for _, k := range s.keys() {
		out = append(out, *any(s.puts[k]).(*T))
	}
	return out
}

// explicitChurn picks, in the demo tenant, the changes a delta run must
// follow: a user added, one renamed, one deleted, one moved from a group to
// another, a service principal and a group deleted.
type explicitChurn struct {
	emulator.Churn
	added, renamed, moved string
	from, to              string // the moved user's groups
}

func pickChurn(t *testing.T, s *directory.Snapshot) explicitChurn {
	t.Helper()
	ch := explicitChurn{Churn: deletions(t, s)}
	deleted := map[string]bool{ch.DeleteUsers[0]: true, ch.DeleteGroups[0]: true}
	groupsOf := map[string][]string{}
	for _, g := range s.GroupMembers {
		for _, m := range g.Members {
			if m.Kind() == "user" {
				groupsOf[m.ID] = append(groupsOf[m.ID], g.GroupID)
			}
		}
	}
	for _, u := range s.Users {
		if deleted[u.ID] || len(groupsOf[u.ID]) == 0 {
			continue
		}
		for _, g := range s.Groups {
			if !deleted[g.ID] && !slices.Contains(groupsOf[u.ID], g.ID) && !deleted[groupsOf[u.ID][0]] && g.MembershipRule == "" {
				ch.moved, ch.from, ch.to = u.ID, groupsOf[u.ID][0], g.ID
				break
			}
		}
		if ch.moved != "" {
			break
		}
	}
	if ch.moved == "" {
		t.Fatal("no user to move between groups")
	}
	ref := directory.Ref{ODataType: directory.ODataType("user"), ID: ch.moved}
	ch.RemoveMembers = []emulator.Membership{{GroupID: ch.from, Member: ref}}
	ch.AddMembers = []emulator.Membership{{GroupID: ch.to, Member: ref}}
	for _, u := range s.Users {
		if !deleted[u.ID] && u.ID != ch.moved {
			renamed := u
			renamed.DisplayName = "Renamed by the e2e test"
			ch.renamed = u.ID
			ch.UpdateUsers = []directory.User{renamed}
			break
		}
	}
	ch.added = "0e2e0000-0000-4000-8000-000000000001"
	ch.AddUsers = []directory.User{{ID: ch.added, DisplayName: "Added by the e2e test", UserPrincipalName: "e2e.added@" + s.Tenant.DefaultDomain,
		AccountEnabled: new(true), UserType: "Member",
		SignInActivity: &directory.UserSignInActivity{LastSignInDateTime: directory.NewTime(time.Now().UTC().Truncate(time.Second))}}}
	return ch
}

// TestSync_deltaRunAfterChurnMatchesAFullRun applies a delta run after churn
// and checks it against the truth: a full run that follows finds nothing to
// add, change or delete.
func TestSync_deltaRunAfterChurnMatchesAFullRun(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, 102, emulator.Options{})
	r := tn.runner(t, nil)
	tn.mustRun(t, r, tn.request(stsync.Full))

	sum, err := tn.e.RandomChurn(0.05, 102)
	if err != nil {
		t.Fatal(err)
	}
	// Picked in the tenant as the random churn left it, so that the two
	// never touch the same object.
	ch := pickChurn(t, tn.current(t))
	if _, err := tn.e.Apply(ch.Churn); err != nil {
		t.Fatal(err)
	}
	delta := tn.mustRun(t, r, tn.request(stsync.Delta))
	if delta.Mode != string(stsync.Delta) {
		t.Fatalf("mode %q: the delta run fell back to a full run", delta.Mode)
	}
	for _, c := range []struct {
		c                       directory.Collection
		added, changed, deleted int // at least
	}{
		{directory.Users, 1 + sum.UsersAdded, 1 + sum.UsersChanged, 1 + sum.UsersDeleted},
		{directory.GroupMembers, 1, 0, 1},
		{directory.Groups, 0, 0, 1},
		{directory.ServicePrincipals, sum.ServicePrincipalsAdded, sum.ServicePrincipalsChanged, 1 + sum.ServicePrincipalsDeleted},
	} {
		rs := delta.Resources[string(c.c)]
		if rs.Status != "applied" || rs.Added < c.added || rs.Changed < c.changed || rs.Deleted < c.deleted {
			t.Errorf("delta %s: %+v, want applied with at least %d added, %d changed, %d deleted", c.c, rs, c.added, c.changed, c.deleted)
		}
	}

	type userRow struct {
		ID, UPN, Name string
		Deleted       bool
	}
	users := map[string]userRow{}
	for _, u := range queryAll[userRow](t, `SELECT id, user_principal_name, display_name, deleted_at IS NOT NULL
		FROM users WHERE tenant_id = $1`, tn.id) {
		users[u.ID] = u
	}
	if u, ok := users[ch.added]; !ok || u.Deleted || u.UPN != ch.AddUsers[0].UserPrincipalName {
		t.Errorf("added user: %+v (stored %v)", u, ok)
	}
	if u := users[ch.renamed]; u.Deleted || !strings.HasPrefix(u.Name, "Renamed by the e2e test") {
		t.Errorf("renamed user: %+v", u)
	}
	if u, ok := users[ch.DeleteUsers[0]]; !ok || !u.Deleted {
		t.Errorf("deleted user: %+v (row kept: %v), want soft-deleted", u, ok)
	}
	type edgeRow struct {
		Group   string
		Deleted bool
	}
	edges := map[string]bool{}
	for _, e := range queryAll[edgeRow](t, `SELECT group_id, deleted_at IS NOT NULL FROM group_members
		WHERE tenant_id = $1 AND member_id = $2`, tn.id, ch.moved) {
		edges[e.Group] = e.Deleted
	}
	if deleted, ok := edges[ch.from]; !ok || !deleted {
		t.Errorf("moved user's old membership: kept %v, deleted %v; want a soft-deleted row", ok, deleted)
	}
	if deleted, ok := edges[ch.to]; !ok || deleted {
		t.Errorf("moved user's new membership: stored %v, deleted %v; want live (%v)", ok, deleted, edges)
	}
	var spDeleted bool
	storetest.QueryRow(t, storetest.URL(), `SELECT deleted_at IS NOT NULL FROM service_principals WHERE tenant_id = $1 AND id = $2`,
		[]any{tn.id, ch.DeleteServicePrincipals[0]}, &spDeleted)
	if !spDeleted {
		t.Error("deleted service principal is still live")
	}

	// The truth: a full run by another runner, with sources of its own,
	// finds the store as the delta run left it.
	full := tn.mustRun(t, tn.runner(t, nil), tn.request(stsync.Full))
	for _, c := range []directory.Collection{directory.Users, directory.Groups, directory.GroupMembers, directory.ServicePrincipals,
		directory.Applications, directory.AppRoleAssignments, directory.Owners} {
		if rs := full.Resources[string(c)]; rs.Added != 0 || rs.Changed != 0 || rs.Deleted != 0 || rs.Fetched == 0 {
			t.Errorf("full run after the delta run, %s: %+v; want nothing added, changed or deleted", c, rs)
		}
	}
}

// TestSync_faultsFailCleanlyOrAreRetried injects one fault per case into a
// run that follows churn: the run succeeds (the fault was retried) or fails
// having changed nothing, and a clean run afterwards succeeds.
func TestSync_faultsFailCleanlyOrAreRetried(t *testing.T) {
	t.Parallel()
	const flows = "/providers/Microsoft.ProcessSimple/scopes/admin/environments/%s/v2/flows"
	for i, tc := range []struct {
		name     string
		fault    func(s *directory.Snapshot) emulator.Fault
		retryMax int
		want     string // run status
		errText  string // what a failed run's error says
	}{
		{name: "429 with Retry-After", want: store.RunSucceeded, fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 2, Kind: emulator.FaultStatus, Status: 429, RetryAfter: time.Second}
		}},
		{name: "429 without Retry-After on Conditional Access", want: store.RunSucceeded, fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/identity/conditionalAccess/policies", Kind: emulator.FaultStatus, Status: 429, NoRetryAfter: true}
		}},
		{name: "503 burst within the retry budget", want: store.RunSucceeded, retryMax: 3, fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 2, Count: 2, Kind: emulator.FaultStatus, Status: 503}
		}},
		{name: "503 burst beyond the retry budget", want: store.RunFailed, retryMax: 1, errText: "503", fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 2, Count: emulator.Always, Kind: emulator.FaultStatus, Status: 503}
		}},
		{name: "connection reset", want: store.RunFailed, errText: "graph: users: GET /v1.0/users", fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 2, Count: emulator.Always, Kind: emulator.FaultReset}
		}},
		{name: "truncated JSON", want: store.RunFailed, errText: "graph: users: GET /v1.0/users", fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 2, Kind: emulator.FaultTruncate}
		}},
		{name: "malformed page in the middle of users", want: store.RunFailed, errText: "malformed page", fault: func(*directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: "/v1.0/users", Nth: 3, Kind: emulator.FaultMalformed}
		}},
		{name: "Power Platform flows unavailable", want: store.RunFailed, errText: "powerplatform", fault: func(s *directory.Snapshot) emulator.Fault {
			return emulator.Fault{Path: fmt.Sprintf(flows, s.Environments[0].Name), Count: emulator.Always, Kind: emulator.FaultStatus, Status: 503}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t, uint64(200+i), emulator.Options{})
			r := tn.runner(t, func(c *graph.Config) {
				c.UsersPageSize = 50 // several pages, so that a fault can land in the middle
				if tc.retryMax > 0 {
					c.RetryMax = tc.retryMax
				}
			})
			tn.mustRun(t, r, tn.request(stsync.Full))
			// Churn first: a run that applied part of what it fetched would show.
			if _, err := tn.e.RandomChurn(0.05, uint64(i)); err != nil {
				t.Fatal(err)
			}
			before := tn.fingerprint(t)
			if err := tn.e.AddFault(tc.fault(tn.snap)); err != nil {
				t.Fatal(err)
			}

			run, err := r.Run(t.Context(), tn.request(stsync.Full))
			if tn.e.Stats().Faults == 0 {
				t.Fatal("the fault never fired")
			}
			if run.Status != tc.want {
				t.Fatalf("run status %q (%s), error %v; want %q", run.Status, run.Error, err, tc.want)
			}
			switch tc.want {
			case store.RunSucceeded:
				if err != nil {
					t.Errorf("succeeded run returned %v", err)
				}
				if rs := run.Resources[string(directory.Users)]; rs.Added+rs.Changed+rs.Deleted == 0 {
					t.Errorf("users %+v: the churn was not applied", rs)
				}
			case store.RunFailed:
				if err == nil || !strings.Contains(run.Error, tc.errText) {
					t.Errorf("failed run: error %v, recorded %q; want it to say %q", err, run.Error, tc.errText)
				}
				if strings.Contains(run.Error, tn.e.Client().Secret) || strings.Contains(strings.ToLower(run.Error), "bearer") {
					t.Errorf("the run's error leaks a credential: %s", run.Error)
				}
				tn.mustBeUnchanged(t, before, "a failed run")
				if n := stagingTablesOf(t, run.ID); n != 0 {
					t.Errorf("the failed run left %d staging tables", n)
				}
			}

			tn.e.ClearFaults()
			again := tn.mustRun(t, r, tn.request(stsync.Full))
			rs := again.Resources[string(directory.Users)]
			if changed := rs.Added + rs.Changed + rs.Deleted; (tc.want == store.RunFailed) != (changed > 0) {
				t.Errorf("clean run after the %s one: users %+v", tc.want, rs)
			}
		})
	}
}

// TestSync_massDeletionWaitsForReview deletes more than a fifth of the users:
// the run withholds their deletions and needs review, the rest of what it
// fetched is applied, and a run that accepts the deletions applies them.
func TestSync_massDeletionWaitsForReview(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, 103, emulator.Options{})
	r := tn.runner(t, nil)
	tn.mustRun(t, r, tn.request(stsync.Full))
	s := tn.snap
	users := len(s.Users)

	var gone []string
	for _, u := range s.Users[:users/4+1] {
		gone = append(gone, u.ID)
	}
	renamed := s.Users[len(s.Users)-1]
	renamed.DisplayName = "Renamed while others left"
	added := directory.ServicePrincipal{ID: "0e2e0000-0000-4000-8000-000000000002", AppID: "0e2e0000-0000-4000-8000-000000000003",
		DisplayName: "Added while users left", ServicePrincipalType: "Application", AppOwnerOrganizationID: s.Tenant.ID, AccountEnabled: new(true)}
	if _, err := tn.e.Apply(emulator.Churn{DeleteUsers: gone, UpdateUsers: []directory.User{renamed},
		AddServicePrincipals: []directory.ServicePrincipal{added}}); err != nil {
		t.Fatal(err)
	}

	run, err := r.Run(t.Context(), tn.request(stsync.Full))
	if err != nil || run.Status != store.RunNeedsReview || !strings.Contains(run.Error, "users:") {
		t.Fatalf("run status %q (%s), error %v; want needs_review naming users", run.Status, run.Error, err)
	}
	t.Logf("breakers: %s", run.Error)
	if rs := run.Resources[string(directory.Users)]; rs.Status != "needs_review" || rs.Withheld != len(gone) || rs.Deleted != 0 || rs.Changed == 0 {
		t.Errorf("users: %+v, want needs_review with %d deletions withheld and the rename applied", rs, len(gone))
	}
	for _, c := range directory.AllCollections {
		rs := run.Resources[string(c)]
		switch {
		case rs.Status == "needs_review" && (rs.Withheld == 0 || rs.Deleted != 0):
			t.Errorf("%s: %+v: a tripped breaker withholds every deletion", c, rs)
		case rs.Status != "needs_review" && rs.Status != "applied":
			t.Errorf("%s: %+v, want applied", c, rs)
		}
	}
	if rs := run.Resources[string(directory.ServicePrincipals)]; rs.Status != "applied" || rs.Added != 1 {
		t.Errorf("service principals: %+v, want applied with one added", rs)
	}
	if got := liveKeys(t, tn.id, "users", "id"); len(got) != users {
		t.Errorf("%d live users, want all %d kept", len(got), users)
	}
	var name string
	storetest.QueryRow(t, storetest.URL(), `SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2`, []any{tn.id, renamed.ID}, &name)
	if name != renamed.DisplayName {
		t.Errorf("renamed user is %q, want %q", name, renamed.DisplayName)
	}
	if got := liveKeys(t, tn.id, "service_principals", "id"); !slices.Contains(got, added.ID) {
		t.Error("added service principal not stored")
	}

	req := tn.request(stsync.Full)
	req.AcceptDeletions = true
	accepted := tn.mustRun(t, r, req)
	if rs := accepted.Resources[string(directory.Users)]; rs.Deleted != len(gone) || rs.Withheld != 0 || rs.Status != "applied" {
		t.Errorf("accepted users: %+v, want %d deleted", rs, len(gone))
	}
	live := liveKeys(t, tn.id, "users", "id")
	if len(live) != users-len(gone) {
		t.Errorf("%d live users after accepting, want %d", len(live), users-len(gone))
	}
	for _, id := range gone {
		if slices.Contains(live, id) {
			t.Errorf("user %s still live", id)
			break
		}
	}
	var kept int
	storetest.QueryRow(t, storetest.URL(), `SELECT count(*) FROM users WHERE tenant_id = $1 AND deleted_at IS NOT NULL`, []any{tn.id}, &kept)
	if kept != len(gone) {
		t.Errorf("%d soft-deleted user rows, want %d", kept, len(gone))
	}
}

// runningRun returns the id of the tenant's running run, or 0.
func runningRun(t *testing.T, tenant string) int64 {
	t.Helper()
	type idRow struct{ ID int64 }
	rows := queryAll[idRow](t, `SELECT id FROM sync_runs WHERE tenant_id = $1 AND status = 'running'`, tenant)
	if len(rows) == 0 {
		return 0
	}
	return rows[0].ID
}

// TestSync_cancelledRunChangesNothing cancels a run that has staged part of
// the tenant and is waiting for a slow page.
func TestSync_cancelledRunChangesNothing(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, 104, emulator.Options{})
	r := tn.runnerWith(t, stsync.Options{SignInWindow: signInWindow, ProgressEvery: 20 * time.Millisecond},
		func(c *graph.Config) { c.UsersPageSize = 50 })
	tn.mustRun(t, r, tn.request(stsync.Full))
	if _, err := tn.e.RandomChurn(0.05, 104); err != nil {
		t.Fatal(err)
	}
	before := tn.fingerprint(t)
	// Every users page after the first trickles in for seconds.
	if err := tn.e.AddFault(emulator.Fault{Path: "/v1.0/users", Nth: 2, Count: emulator.Always, Kind: emulator.FaultSlow, Delay: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		run store.SyncRun
		err error
	}
	done := make(chan result, 1)
	fetching := make(chan struct{})
	var once gosync.Once
	req := tn.request(stsync.Full)
	req.Observe = func(resources map[string]store.ResourceStatus) {
		if resources[string(directory.Users)].Fetched > 0 {
			once.Do(func() { close(fetching) })
		}
	}
	go func() {
		run, err := r.Run(ctx, req)
		done <- result{run, err}
	}()
	// Cancel once the run is in flight: objects fetched, staging tables made.
	select {
	case res := <-done:
		t.Fatalf("the run ended before it was cancelled: %q %v", res.run.Status, res.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the run never fetched anything")
	case <-fetching:
	}
	id := runningRun(t, tn.id)
	if id == 0 || stagingTablesOf(t, id) == 0 {
		t.Fatalf("run %d is fetching but has no staging table", id)
	}
	cancel()
	res := <-done
	if !errors.Is(res.err, context.Canceled) || res.run.Status != store.RunCancelled || res.run.ID != id {
		t.Fatalf("run %d: status %q (%s), error %v; want run %d cancelled", res.run.ID, res.run.Status, res.run.Error, res.err, id)
	}
	fetched := 0
	for _, rs := range res.run.Resources {
		fetched += rs.Fetched
	}
	if fetched == 0 {
		t.Errorf("the cancelled run records nothing fetched: it was not cancelled mid-run: %+v", res.run.Resources)
	}
	tn.mustBeUnchanged(t, before, "a cancelled run")
	if n := stagingTablesOf(t, id); n != 0 {
		t.Errorf("the cancelled run left %d staging tables", n)
	}
	if n := orphanStagingTables(t); n != 0 {
		t.Errorf("%d staging tables of finished runs left", n)
	}

	tn.e.ClearFaults()
	again := tn.mustRun(t, r, tn.request(stsync.Full))
	if rs := again.Resources[string(directory.Users)]; rs.Added+rs.Changed+rs.Deleted == 0 {
		t.Errorf("users %+v: the run after the cancelled one did not apply the churn", rs)
	}
}

// TestSync_concurrentRunnersRunOnce starts two runners of one tenant
// together: one runs, the other is refused with ErrBusy before recording a run.
func TestSync_concurrentRunnersRunOnce(t *testing.T) {
	t.Parallel()
	// A slow users page: whichever runner wins is still running when the other asks.
	tn := newTenant(t, 105, emulator.Options{Faults: []emulator.Fault{
		{Path: "/v1.0/users", Kind: emulator.FaultSlow, Delay: 200 * time.Millisecond}}})
	runners := []*stsync.Runner{
		tn.runner(t, func(c *graph.Config) { c.UsersPageSize = 50 }),
		tn.runner(t, func(c *graph.Config) { c.UsersPageSize = 50 }),
	}
	start := make(chan struct{})
	runs := make([]store.SyncRun, len(runners))
	errs := make([]error, len(runners))
	var wg gosync.WaitGroup
	for i, r := range runners {
		wg.Go(func() {
			<-start
			runs[i], errs[i] = r.Run(t.Context(), tn.request(stsync.Full))
		})
	}
	close(start)
	wg.Wait()

	var ran, busy int
	for i := range runners {
		switch {
		case errors.Is(errs[i], stsync.ErrBusy):
			busy++
			if runs[i].ID != 0 {
				t.Errorf("the refused runner returned run %+v", runs[i])
			}
		case errs[i] == nil && runs[i].Status == store.RunSucceeded:
			ran++
		default:
			t.Errorf("runner %d: status %q (%s), error %v", i, runs[i].Status, runs[i].Error, errs[i])
		}
	}
	if ran != 1 || busy != 1 {
		t.Errorf("%d runs succeeded and %d were refused, want one each", ran, busy)
	}
	if n := syncRuns(t, tn.id); n != 1 {
		t.Errorf("%d sync_runs rows, want 1", n)
	}
}

// TestSync_deltaDeletionsWithheldThenAccepted withholds a mass deletion that
// a delta run reports: a delta run that accepts the deletions must still
// apply them, so the withheld run must not move the delta link past them.
func TestSync_deltaDeletionsWithheldThenAccepted(t *testing.T) {
	t.Parallel()
	tn := newTenant(t, 106, emulator.Options{})
	r := tn.runner(t, nil)
	tn.mustRun(t, r, tn.request(stsync.Full))
	users := len(tn.snap.Users)
	var gone []string
	for _, u := range tn.snap.Users[:users/4+1] {
		gone = append(gone, u.ID)
	}
	if _, err := tn.e.Apply(emulator.Churn{DeleteUsers: gone}); err != nil {
		t.Fatal(err)
	}

	run, err := r.Run(t.Context(), tn.request(stsync.Delta))
	if err != nil || run.Mode != string(stsync.Delta) || run.Status != store.RunNeedsReview {
		t.Fatalf("delta run: mode %q status %q (%s), error %v; want a delta run needing review", run.Mode, run.Status, run.Error, err)
	}
	if rs := run.Resources[string(directory.Users)]; rs.Withheld != len(gone) || rs.Deleted != 0 {
		t.Errorf("users: %+v, want %d deletions withheld", rs, len(gone))
	}

	req := tn.request(stsync.Delta)
	req.AcceptDeletions = true
	accepted := tn.mustRun(t, r, req)
	if rs := accepted.Resources[string(directory.Users)]; rs.Deleted != len(gone) {
		t.Errorf("accepting delta run, users: %+v; want the %d withheld deletions applied", rs, len(gone))
	}
	if live := liveKeys(t, tn.id, "users", "id"); len(live) != users-len(gone) {
		t.Errorf("%d live users after accepting, want %d", len(live), users-len(gone))
	}
}
