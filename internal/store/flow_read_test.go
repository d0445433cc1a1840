package store_test

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestFlowOverview checks the flows page's numbers against an oracle
// computed in Go from the same snapshot and the engine's evaluation: the
// counts by owner type, connection status, and the set of flows at risk with
// each one's reasons.
func TestFlowOverview(t *testing.T) {
	ctx := context.Background()

	empty, err := testDB.FlowOverview(ctx, "00000000-0000-4000-8000-0000000f1085", 100)
	if err != nil || empty.Flows != 0 || empty.Connections != 0 || len(empty.Groups) != len(store.OwnerTypes) || len(empty.AtRisk) != 0 {
		t.Fatalf("FlowOverview of an unknown tenant: %+v, %v; want zeros", empty, err)
	}

	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 61}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID
	cfg := exposure.DefaultConfig(synthetic.DefaultNow)
	if _, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg); err != nil {
		t.Fatal(err)
	}
	loaded, err := testDB.LoadSnapshot(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	want := flowOracle(loaded, exposure.Evaluate(loaded, cfg))

	got, err := testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got.Flows != len(loaded.Flows) || got.Connections != len(loaded.Connections) || got.Environments != len(loaded.Environments) {
		t.Errorf("totals: %d flows, %d connections, %d environments; want %d, %d, %d",
			got.Flows, got.Connections, got.Environments, len(loaded.Flows), len(loaded.Connections), len(loaded.Environments))
	}
	for _, g := range got.Groups {
		if w := want.groups[g.Type]; g != w {
			t.Errorf("group %s = %+v, want %+v", g.Type, g, w)
		}
	}
	if want.groups[store.OwnerServiceAccount].Flows == 0 || want.groups[store.OwnerWorkload].Flows == 0 {
		t.Errorf("the demo should have flows of service accounts and of service principals: %+v", want.groups)
	}
	statuses := map[string]int{}
	for _, s := range got.ConnectionStatus {
		statuses[s.Status] = s.Count
	}
	if !maps.Equal(statuses, want.statuses) {
		t.Errorf("connection status %v, want %v", statuses, want.statuses)
	}

	t.Logf("groups %+v; %d flows at risk, %d connections not connected", got.Groups, got.AtRiskTotal, got.NotConnectedTotal)
	if got.AtRiskTotal != len(want.atRisk) || len(got.AtRisk) != len(want.atRisk) {
		t.Fatalf("%d flows at risk (%d listed), want %d", got.AtRiskTotal, len(got.AtRisk), len(want.atRisk))
	}
	var exposedSeen, brokenSeen, dormantSeen bool
	for i, f := range got.AtRisk {
		w, ok := want.atRisk[f.EnvironmentName+"/"+f.Name]
		if !ok {
			t.Errorf("flow %s/%s listed at risk, the oracle says it is not", f.EnvironmentName, f.Name)
			continue
		}
		if ids := flowOwnerIDs(f.ExposedOwners); !slices.Equal(ids, w.exposed) {
			t.Errorf("flow %s: exposed owners %v, want %v", f.Name, ids, w.exposed)
		}
		if ids := flowOwnerIDs(f.DormantOwners); !slices.Equal(ids, w.dormant) {
			t.Errorf("flow %s: dormant owners %v, want %v", f.Name, ids, w.dormant)
		}
		var conns []string
		for _, c := range f.BrokenConnections {
			conns = append(conns, c.Name)
			if c.Error == "" || c.ViaOwner {
				t.Errorf("flow %s: broken connection %+v lacks its error or is not from a reference", f.Name, c)
			}
		}
		if !slices.Equal(conns, w.broken) {
			t.Errorf("flow %s: broken connections %v, want %v", f.Name, conns, w.broken)
		}
		for _, o := range slices.Concat(f.ExposedOwners, f.DormantOwners) {
			if o.DisplayName == "" && o.UPN == "" {
				t.Errorf("flow %s: owner %s is not named", f.Name, o.ID)
			}
		}
		// Exposed owners first, then connections in error.
		if i > 0 {
			prev := got.AtRisk[i-1]
			if len(prev.ExposedOwners) == 0 && len(f.ExposedOwners) > 0 ||
				len(prev.ExposedOwners) == 0 && len(f.ExposedOwners) == 0 && len(prev.BrokenConnections) == 0 && len(f.BrokenConnections) > 0 {
				t.Errorf("flow %s listed after %s: order is exposed, connection in error, dormant", f.Name, prev.Name)
			}
		}
		exposedSeen = exposedSeen || len(f.ExposedOwners) > 0
		brokenSeen = brokenSeen || len(f.BrokenConnections) > 0
		dormantSeen = dormantSeen || len(f.DormantOwners) > 0
	}
	if !exposedSeen || !brokenSeen || !dormantSeen {
		t.Errorf("the demo should have flows at risk for every reason: exposed %v, connection %v, dormant %v", exposedSeen, brokenSeen, dormantSeen)
	}

	wantNotConnected := 0
	for _, c := range loaded.Connections {
		if c.Properties.OverallStatus != "Connected" {
			wantNotConnected++
		}
	}
	if got.NotConnectedTotal != wantNotConnected || len(got.NotConnected) != wantNotConnected {
		t.Errorf("%d connections not connected (%d listed), want %d", got.NotConnectedTotal, len(got.NotConnected), wantNotConnected)
	}
	for _, c := range got.NotConnected {
		if c.Status == "Connected" || c.Status == "Error" && c.Error == "" {
			t.Errorf("connection %+v: not-connected list shows a connected one, or an error without message", c)
		}
	}

	// A cap keeps the first flows and the totals.
	capped, err := testDB.FlowOverview(ctx, tenant, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(capped.AtRisk) != 3 || capped.AtRiskTotal != got.AtRiskTotal || capped.AtRisk[0].Name != got.AtRisk[0].Name ||
		len(capped.NotConnected) != 3 || capped.NotConnectedTotal != got.NotConnectedTotal {
		t.Errorf("capped at 3: %d at risk of %d, %d not connected of %d", len(capped.AtRisk), capped.AtRiskTotal,
			len(capped.NotConnected), capped.NotConnectedTotal)
	}

	// A deleted flow is neither counted nor at risk. The page shows what
	// the current evaluation stored, so evaluate again, as after a sync.
	first := got.AtRisk[0]
	if _, err := testDB.ExecForTest(ctx, `UPDATE flows SET deleted_at = now() WHERE tenant_id = $1 AND environment_name = $2 AND name = $3`,
		tenant, first.EnvironmentName, first.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg); err != nil {
		t.Fatal(err)
	}
	after, err := testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if after.Flows != got.Flows-1 || after.AtRiskTotal != got.AtRiskTotal-1 {
		t.Errorf("after deleting a flow: %d flows, %d at risk; want %d, %d", after.Flows, after.AtRiskTotal, got.Flows-1, got.AtRiskTotal-1)
	}
	for _, f := range after.AtRisk {
		if f.Name == first.Name && f.EnvironmentName == first.EnvironmentName {
			t.Errorf("deleted flow %s still at risk", f.Name)
		}
	}

	// A flow that lists no connection references falls back to its
	// owner's connections in error in its environment.
	var env, name, conn string
	if err := testDB.QueryRowForTest(ctx, `
		SELECT f.environment_name, f.name, c.name FROM flows f
		JOIN connections c ON c.tenant_id = f.tenant_id AND c.environment_name = f.environment_name
			AND c.created_by_id = f.creator_object_id AND c.overall_status = 'Error' AND c.deleted_at IS NULL
		WHERE f.tenant_id = $1 AND f.deleted_at IS NULL
		ORDER BY f.name, c.name LIMIT 1`, tenant).Scan(&env, &name, &conn); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.ExecForTest(ctx, `UPDATE flows SET raw = raw #- '{properties,connectionReferences}'
		WHERE tenant_id = $1 AND environment_name = $2 AND name = $3`, tenant, env, name); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg); err != nil {
		t.Fatal(err)
	}
	after, err = testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(after.AtRisk, func(f store.FlowAtRisk) bool { return f.EnvironmentName == env && f.Name == name })
	if i < 0 || !slices.ContainsFunc(after.AtRisk[i].BrokenConnections, func(c store.FlowBrokenConnection) bool {
		return c.Name == conn && c.ViaOwner
	}) {
		t.Errorf("flow %s without references: not at risk through its owner's connection %s in error", name, conn)
	}
}

type flowWant struct {
	groups   map[string]store.FlowOwnerGroup
	statuses map[string]int
	atRisk   map[string]flowRiskWant // by environment/name
}

type flowRiskWant struct{ exposed, dormant, broken []string }

// flowOracle computes the flows page from a loaded snapshot and its
// evaluation, the straightforward way.
func flowOracle(s *directory.Snapshot, ev *exposure.Evaluation) flowWant {
	accounts := map[string]*exposure.Account{}
	for _, a := range ev.Accounts {
		accounts[a.ID] = a
	}
	users := map[string]bool{}
	for _, u := range s.Users {
		users[u.ID] = true
	}
	sps := map[string]bool{}
	for _, sp := range s.ServicePrincipals {
		sps[sp.ID] = true
	}
	typeOf := func(id string) string {
		switch {
		case users[id] && accounts[id] != nil && (accounts[id].ServiceAccount.Level == exposure.ServiceLikely ||
			accounts[id].ServiceAccount.Level == exposure.ServiceConfirmed):
			return store.OwnerServiceAccount
		case users[id]:
			return store.OwnerPerson
		case sps[id]:
			return store.OwnerWorkload
		}
		return store.OwnerUnknown
	}

	owners := map[string][]string{} // flow key → owner ids, sorted, unique
	for _, f := range s.Flows {
		k := f.EnvironmentName() + "/" + f.Name
		owners[k] = nil
		if id := f.CreatorID(); id != "" {
			owners[k] = append(owners[k], id)
		}
	}
	for _, set := range s.FlowPermissions {
		k := set.Environment + "/" + set.FlowName
		if _, live := owners[k]; !live {
			continue
		}
		for _, p := range set.Permissions {
			if id := p.Properties.Principal.ID; p.Properties.RoleName == "Owner" && id != "" {
				owners[k] = append(owners[k], id)
			}
		}
	}
	for k, ids := range owners {
		slices.Sort(ids)
		owners[k] = slices.Compact(ids)
	}

	w := flowWant{groups: map[string]store.FlowOwnerGroup{}, statuses: map[string]int{}, atRisk: map[string]flowRiskWant{}}
	for _, t := range store.OwnerTypes {
		w.groups[t] = store.FlowOwnerGroup{Type: t}
	}
	flowOwners := map[string]map[string]bool{}
	connOwners := map[string]map[string]bool{}
	for _, t := range store.OwnerTypes {
		flowOwners[t], connOwners[t] = map[string]bool{}, map[string]bool{}
	}
	for _, ids := range owners {
		types := map[string]bool{}
		for _, id := range ids {
			types[typeOf(id)] = true
			flowOwners[typeOf(id)][id] = true
		}
		if len(ids) == 0 {
			types[store.OwnerUnknown] = true
		}
		for t := range types {
			g := w.groups[t]
			g.Flows++
			w.groups[t] = g
		}
	}
	bad := map[string]directory.Connection{} // environment/lower(name) → connection in error
	for _, c := range s.Connections {
		w.statuses[c.Properties.OverallStatus]++
		id := ""
		if c.Properties.CreatedBy != nil {
			id = c.Properties.CreatedBy.ID
		}
		t := typeOf(id)
		if id != "" {
			connOwners[t][id] = true
		}
		g := w.groups[t]
		g.Connections++
		switch c.Properties.OverallStatus {
		case "Connected":
			g.Connected++
		case "Error":
			g.InError++
			bad[c.EnvironmentName()+"/"+strings.ToLower(c.Name)] = c
		}
		w.groups[t] = g
	}
	for _, t := range store.OwnerTypes {
		g := w.groups[t]
		g.FlowOwners, g.ConnOwners = len(flowOwners[t]), len(connOwners[t])
		w.groups[t] = g
	}

	for _, f := range s.Flows {
		k := f.EnvironmentName() + "/" + f.Name
		var r flowRiskWant
		for _, id := range owners[k] {
			a := accounts[id]
			if a == nil {
				continue
			}
			if a.Exposure == exposure.LevelExposed {
				r.exposed = append(r.exposed, id)
			}
			if slices.ContainsFunc(a.Findings, func(f exposure.Finding) bool { return f.Code == exposure.CodeDormant }) {
				r.dormant = append(r.dormant, id)
			}
		}
		for _, ref := range f.Properties.ConnectionReferences {
			if c, ok := bad[f.EnvironmentName()+"/"+strings.ToLower(ref.ConnectionName)]; ok {
				r.broken = append(r.broken, c.Name)
			}
		}
		slices.Sort(r.broken)
		if len(r.exposed)+len(r.dormant)+len(r.broken) > 0 {
			w.atRisk[k] = r
		}
	}
	return w
}

func flowOwnerIDs(os []store.FlowOwner) []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

// TestFlowOverview_storedEqualsComputed: the summary SaveEvaluation stores
// is what the page computes from the tables when there is none (before the
// first evaluation, or for an evaluation stored before summaries existed),
// and a new evaluation replaces the previous one's.
func TestFlowOverview_storedEqualsComputed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 62}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID

	// Not evaluated: every owner is unknown, only connections put flows at risk.
	before, err := testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if unknown := before.Groups[len(before.Groups)-1]; before.Evaluated || before.Flows == 0 || unknown.Flows != before.Flows ||
		unknown.Connections != before.Connections || before.Groups[0].Flows != 0 {
		t.Errorf("before any evaluation: evaluated %v, %d flows, groups %+v; want not evaluated, every flow and connection unknown",
			before.Evaluated, before.Flows, before.Groups)
	}
	for _, f := range before.AtRisk {
		if len(f.ExposedOwners)+len(f.DormantOwners) > 0 || len(f.BrokenConnections) == 0 {
			t.Errorf("before any evaluation, flow %s is at risk for its owners: %+v", f.Name, f)
		}
	}

	cfg := exposure.DefaultConfig(synthetic.DefaultNow)
	st, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := testDB.QueryRowForTest(ctx, `SELECT count(*) FROM exposure_flows_at_risk WHERE evaluation_id = $1`, st.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if !stored.Evaluated || rows != stored.AtRiskTotal || rows == 0 || len(stored.AtRisk) != rows {
		t.Fatalf("%d flows at risk stored with evaluation %d, the page says %d (%d listed; evaluated %v)",
			rows, st.ID, stored.AtRiskTotal, len(stored.AtRisk), stored.Evaluated)
	}
	for i, f := range stored.AtRisk {
		if f.Position != i+1 {
			t.Fatalf("flow at risk %d has position %d", i, f.Position)
		}
	}

	// Without the stored summary, the page computes it: the same overview.
	listTables := []string{"exposure_flows_at_risk", "exposure_flow_broken_connections", "exposure_connections_not_connected"}
	if _, err := testDB.ExecForTest(ctx, `DELETE FROM exposure_aggregates WHERE evaluation_id = $1 AND dimension = ANY($2)`,
		st.ID, []string{"flowTotals", "flowsByOwner", "flowOwnersByType", "connectionsByOwner", "connectionOwnersByType",
			"connectedByOwner", "inErrorByOwner", "connectionStatus"}); err != nil {
		t.Fatal(err)
	}
	for _, table := range listTables {
		if _, err := testDB.ExecForTest(ctx, `DELETE FROM `+table+` WHERE evaluation_id = $1`, st.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1000, 3} {
		computed, err := testDB.FlowOverview(ctx, tenant, limit)
		if err != nil {
			t.Fatal(err)
		}
		want := stored
		want.AtRisk, want.NotConnected = want.AtRisk[:min(limit, len(want.AtRisk))], want.NotConnected[:min(limit, len(want.NotConnected))]
		if !reflect.DeepEqual(computed, want) {
			t.Errorf("limit %d: computed from the tables\n%+v\nstored with the evaluation\n%+v", limit, computed, want)
		}
	}

	// A new evaluation stores its own summary and drops the previous one's.
	next, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := testDB.FlowOverview(ctx, tenant, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, stored) {
		t.Errorf("evaluated again: the overview changed\n%+v\nwas\n%+v", again, stored)
	}
	for _, table := range listTables {
		var old int
		if err := testDB.QueryRowForTest(ctx, `SELECT count(*) FROM `+table+` WHERE evaluation_id <> $1 AND evaluation_id IN
			(SELECT id FROM exposure_evaluations WHERE tenant_id = $2)`, next.ID, tenant).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if old != 0 {
			t.Errorf("%s: %d rows of replaced evaluations left", table, old)
		}
	}
}
