package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestAccountDetail reads accounts of an evaluated demo tenant back: the
// stored evaluation rebuilds the account the engine produced, and the
// directory facts, automation and failures come with it.
func TestAccountDetail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 73}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID
	cfg := exposure.DefaultConfig(synthetic.DefaultNow)
	if _, err := testDB.AccountDetail(ctx, tenant, "anything"); derr.Code(err) != derr.ENOTFOUND {
		t.Fatalf("AccountDetail before any evaluation: %v, want ENOTFOUND", err)
	}
	if _, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg); err != nil {
		t.Fatal(err)
	}
	loaded, err := testDB.LoadSnapshot(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	engine := exposure.Evaluate(loaded, cfg)
	byID := map[string]*exposure.Account{}
	for _, a := range engine.Accounts {
		byID[a.ID] = a
	}

	var finance string
	if err := testDB.QueryRowForTest(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND user_principal_name LIKE 'flow-finance@%'`,
		tenant).Scan(&finance); err != nil {
		t.Fatal(err)
	}
	d, err := testDB.AccountDetail(ctx, tenant, finance)
	if err != nil {
		t.Fatal(err)
	}
	want := byID[finance]
	a := d.Account
	if a.ID != want.ID || a.UPN != want.UPN || a.Kind != want.Kind || a.Exposure != want.Exposure ||
		a.ServiceAccount.Level != want.ServiceAccount.Level || a.ServiceAccount.Score != want.ServiceAccount.Score ||
		len(a.ServiceAccount.Signals) != len(want.ServiceAccount.Signals) {
		t.Errorf("account %+v, want %+v", a, want)
	}
	if len(a.Resources) != len(want.Resources) {
		t.Fatalf("%d resources, want %d", len(a.Resources), len(want.Resources))
	}
	for i, r := range a.Resources {
		w := want.Resources[i]
		if r.AppID != w.AppID || r.Verdict != w.Verdict || r.Used != w.Used || len(r.Policies) != len(w.Policies) {
			t.Errorf("resource %d = %+v, want %+v", i, r, w)
		}
		if r.Reason == "" {
			t.Errorf("resource %s has no reason", r.Name)
		}
	}
	if len(a.Exclusions) != len(want.Exclusions) || len(a.Findings) != len(want.Findings) {
		t.Errorf("%d exclusions and %d findings, want %d and %d", len(a.Exclusions), len(a.Findings), len(want.Exclusions), len(want.Findings))
	}
	if !slices.ContainsFunc(a.Exclusions, func(e exposure.Exclusion) bool {
		return e.Via == "group" && strings.Contains(e.Path, "CA-Exclude-ServiceAccounts")
	}) {
		t.Errorf("exclusions %+v lack the group path", a.Exclusions)
	}
	for i := 1; i < len(a.Findings); i++ {
		if accountSeverityRank(a.Findings[i-1].Severity) < accountSeverityRank(a.Findings[i].Severity) {
			t.Errorf("findings not most severe first: %s before %s", a.Findings[i-1].Severity, a.Findings[i].Severity)
		}
	}
	if d.User == nil || d.User.Created == nil || d.User.LastNonInteractiveSignIn == nil || d.User.MFA == nil ||
		d.ServicePrincipal != nil || !strings.Contains(string(d.Raw), `"userPrincipalName"`) {
		t.Errorf("directory facts: user %+v, sp %+v, raw %d bytes", d.User, d.ServicePrincipal, len(d.Raw))
	}
	if d.FlowCount == 0 || len(d.Flows) != d.FlowCount || d.ConnectionCount == 0 || len(d.Connections) != d.ConnectionCount {
		t.Errorf("%d of %d flows, %d of %d connections", len(d.Flows), d.FlowCount, len(d.Connections), d.ConnectionCount)
	}
	var flows, conns int
	if err := testDB.QueryRowForTest(ctx, `
		SELECT (SELECT count(*) FROM flows f WHERE f.tenant_id = $1 AND f.deleted_at IS NULL AND (f.creator_object_id = $2 OR EXISTS (
			SELECT 1 FROM flow_permissions p WHERE p.tenant_id = f.tenant_id AND p.environment_name = f.environment_name
			AND p.flow_name = f.name AND p.principal_id = $2 AND p.role_name = 'Owner' AND p.deleted_at IS NULL))),
		       (SELECT count(*) FROM connections WHERE tenant_id = $1 AND created_by_id = $2 AND deleted_at IS NULL)`,
		tenant, finance).Scan(&flows, &conns); err != nil {
		t.Fatal(err)
	}
	if d.FlowCount != flows || d.ConnectionCount != conns {
		t.Errorf("%d flows and %d connections, want %d and %d", d.FlowCount, d.ConnectionCount, flows, conns)
	}

	// The user with the most failed sign-ins: newest first, at most 20, no successes.
	var failing string
	var failures int
	if err := testDB.QueryRowForTest(ctx, `SELECT user_id, count(*) FROM sign_ins WHERE tenant_id = $1 AND error_code <> 0
		GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1`, tenant).Scan(&failing, &failures); err != nil {
		t.Fatal(err)
	}
	d, err = testDB.AccountDetail(ctx, tenant, failing)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.SignInFailures) != min(failures, 20) {
		t.Errorf("%d sign-in failures, want %d", len(d.SignInFailures), min(failures, 20))
	}
	for i, s := range d.SignInFailures {
		if s.ErrorCode == 0 || i > 0 && s.At.After(d.SignInFailures[i-1].At) {
			t.Errorf("failure %d: %+v (not a failure, or not newest first)", i, s)
		}
	}

	// A service principal: its own facts, the same whatif as the engine's.
	for _, kind := range []exposure.Kind{exposure.KindServicePrincipal, exposure.KindManagedIdentity} {
		var id string
		for _, acc := range engine.Accounts {
			if acc.Kind == kind {
				id = acc.ID
				break
			}
		}
		d, err := testDB.AccountDetail(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.ServicePrincipal == nil || d.User != nil || d.ServicePrincipal.AppID != byID[id].UPN {
			t.Errorf("%s %s: sp %+v, user %+v", kind, id, d.ServicePrincipal, d.User)
		}
		got, err := testDB.EvaluatedAccount(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got.WhatIf(), byID[id].WhatIf(); g.Exposure != w.Exposure || g.Workload != w.Workload ||
			len(g.Resources) != len(w.Resources) || len(g.Findings) != len(w.Findings) {
			t.Errorf("%s whatif = %+v, want %+v", kind, g, w)
		}
	}

	for _, id := range []string{"00000000-0000-4000-8000-000000000000", ""} {
		if _, err := testDB.AccountDetail(ctx, tenant, id); derr.Code(err) != derr.ENOTFOUND {
			t.Errorf("AccountDetail(%q): %v, want ENOTFOUND", id, err)
		}
		if _, err := testDB.EvaluatedAccount(ctx, tenant, id); derr.Code(err) != derr.ENOTFOUND {
			t.Errorf("EvaluatedAccount(%q): %v, want ENOTFOUND", id, err)
		}
	}
	if _, err := testDB.EvaluatedAccount(ctx, "00000000-0000-4000-8000-00000000dead", finance); derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("EvaluatedAccount in another tenant: %v, want ENOTFOUND", err)
	}
}

func accountSeverityRank(s exposure.Severity) int {
	return map[exposure.Severity]int{exposure.SeverityHigh: 3, exposure.SeverityMedium: 2, exposure.SeverityLow: 1}[s]
}
