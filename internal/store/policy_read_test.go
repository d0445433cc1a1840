package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestPolicies_demo reads the demo tenant's policies after an import and
// an evaluation: every policy with its one version, the service accounts
// CA001 excludes with their paths, the ones CA012 (a Sales-only policy)
// misses, and the names the policies reference.
func TestPolicies_demo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 43}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID

	// Before any evaluation, policies read with no exclusions, summarised
	// from their JSON.
	ps, err := testDB.Policies(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(snap.ConditionalAccessPolicies) {
		t.Fatalf("%d policies, want %d", len(ps), len(snap.ConditionalAccessPolicies))
	}
	before := map[string]string{}
	for _, p := range ps {
		if p.ExcludedServiceAccounts != 0 || p.Summary == "" || p.Summary == store.UnreadablePolicyForTest || len(p.Raw) == 0 {
			t.Errorf("policy %q before any evaluation: %+v", p.DisplayName, p)
		}
		before[p.ID] = p.Summary
	}
	if _, err := testDB.EvaluateTenant(ctx, tenant, run.ID, exposure.DefaultConfig(synthetic.DefaultNow)); err != nil {
		t.Fatal(err)
	}
	ps, err = testDB.Policies(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(ps, func(a, b store.Policy) int { return strings.Compare(a.DisplayName, b.DisplayName) }) {
		t.Error("policies not sorted by name")
	}
	// The list leaves out the JSON it has a stored summary for; Policy
	// reads it.
	byName := map[string]store.Policy{}
	for i, p := range ps {
		if p.Versions != 1 || p.FirstSeen != run.ID || p.Summary == "" || len(p.Raw) != 0 || p.DeletedAt != nil {
			t.Errorf("policy %q: %+v, want one version seen in run %d, its summary and no JSON", p.DisplayName, p, run.ID)
		}
		if ps[i], err = testDB.Policy(ctx, tenant, p.ID); err != nil || len(ps[i].Raw) == 0 || ps[i].Summary != p.Summary {
			t.Errorf("Policy(%q) = %+v, %v; want the list's policy with its JSON", p.DisplayName, ps[i], err)
		}
		byName[p.DisplayName] = ps[i]
	}
	// The counts SaveEvaluation stored are the exclusions counted directly.
	rows, err := testDB.QueryForTest(ctx, `
		SELECT e.policy_id, count(DISTINCT e.account_id)
		FROM exposure_current c
		JOIN exposure_exclusions e ON e.evaluation_id = c.evaluation_id
		JOIN exposure_accounts a ON a.evaluation_id = e.evaluation_id AND a.account_id = e.account_id
		WHERE c.tenant_id = $1 AND e.via <> 'app' AND a.sa_level IN ('likely', 'confirmed')
		GROUP BY e.policy_id`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	excluded := map[string]int{}
	var id string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { excluded[id] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ExcludedServiceAccounts != excluded[p.ID] {
			t.Errorf("policy %q: %d excluded service accounts, counted directly %d", p.DisplayName, p.ExcludedServiceAccounts, excluded[p.ID])
		}
	}
	ca001, ok := byName["CA001 - Require MFA - All users"]
	if !ok {
		t.Fatalf("no CA001 among %v", ps)
	}
	if ca001.ExcludedServiceAccounts == 0 {
		t.Error("CA001 excludes no service account; the demo excludes a group of them")
	}

	one, err := testDB.Policy(ctx, tenant, ca001.ID)
	if err != nil || one.ID != ca001.ID || one.ExcludedServiceAccounts != ca001.ExcludedServiceAccounts {
		t.Errorf("Policy(CA001) = %+v, %v", one, err)
	}
	if _, err := testDB.Policy(ctx, tenant, "00000000-0000-4000-8000-000000000bad"); derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("Policy(unknown) = %v, want ENOTFOUND", err)
	}

	excl, err := testDB.PolicyExclusions(ctx, tenant, ca001.ID, 500)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, a := range excl {
		ids[a.ID] = true
		if a.Path == "" || a.Via == "app" || (a.ServiceAccount != "likely" && a.ServiceAccount != "confirmed") {
			t.Errorf("exclusion %+v", a)
		}
	}
	if len(ids) != ca001.ExcludedServiceAccounts {
		t.Errorf("%d accounts excluded, the list counted %d", len(ids), ca001.ExcludedServiceAccounts)
	}
	if !slices.ContainsFunc(excl, func(a store.PolicyAccount) bool { return strings.HasPrefix(a.Path, "group ") }) {
		t.Errorf("no exclusion through a group: %+v", excl)
	}
	if few, _ := testDB.PolicyExclusions(ctx, tenant, ca001.ID, 1); len(few) != 1 {
		t.Errorf("limit 1 gave %d rows", len(few))
	}

	ca012 := byName["CA012 - Require MFA or compliant device - Sales"]
	misses, err := testDB.PolicyMisses(ctx, tenant, ca012.ID, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(misses) == 0 {
		t.Error("a Sales-only policy misses no exposed service account")
	}
	for _, m := range misses {
		if m.Kind != "user" || len(m.Resources) == 0 || (m.Exposure != "exposed" && m.Exposure != "partial") {
			t.Errorf("miss %+v", m)
		}
	}
	// CA002 reaches the service account group but leaves out the Power
	// Platform apps: what it names as not targeted is among what it misses.
	ca002 := byName["CA002 - Require MFA - Service accounts (except Power Platform)"]
	misses, err = testDB.PolicyMisses(ctx, tenant, ca002.ID, false, 100)
	if err != nil || len(misses) == 0 {
		t.Fatalf("CA002 misses: %d, %v", len(misses), err)
	}
	for _, m := range misses {
		for _, r := range m.NotTargeted {
			if !slices.Contains(m.Resources, r) {
				t.Errorf("%s: %q not targeted but not missed", m.ID, r)
			}
		}
	}
	if few, _ := testDB.PolicyMisses(ctx, tenant, ca002.ID, false, 2); len(few) > 2 {
		t.Errorf("limit 2 gave %d rows", len(few))
	}
	// CA001's excluded accounts are excluded, not missed.
	ca001Misses, err := testDB.PolicyMisses(ctx, tenant, ca001.ID, false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ca001Misses {
		if ids[m.ID] {
			t.Errorf("%s is both excluded from and missed by CA001", m.ID)
		}
	}

	var refs exposure.PolicyRefs
	for _, p := range ps {
		dp, err := directory.Decode[directory.ConditionalAccessPolicy](p.Raw)
		if err != nil {
			t.Fatal(err)
		}
		refs.Add(&dp)
	}
	missing := "00000000-0000-4000-8000-00000000beef"
	refs.Groups = append(refs.Groups, missing)
	names, err := testDB.PolicyNames(ctx, tenant, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(names.Groups) == 0 || len(names.Users) == 0 || len(names.Locations) == 0 || len(names.ServicePrincipals) == 0 {
		t.Errorf("names: %+v", names)
	}
	if _, ok := names.Groups[missing]; ok {
		t.Error("a group the tenant lacks got a name")
	}
	if s := exposure.SummarizePolicy(mustDecodePolicy(t, ca012.Raw), names); s != "Requires MFA or a compliant device for group SG-Dept-Sales" {
		t.Errorf("CA012 summarised as %q", s)
	}

	// The summaries SaveEvaluation stored are the policies summarised now,
	// and the ones the list made before there was an evaluation.
	for _, p := range ps {
		if want := exposure.SummarizePolicy(mustDecodePolicy(t, p.Raw), names); p.Summary != want || before[p.ID] != want {
			t.Errorf("policy %q: stored summary %q, summarised now %q, before the evaluation %q", p.DisplayName, p.Summary, want, before[p.ID])
		}
	}
	// A policy whose content changed since the evaluation is summarised
	// from its JSON as it is now (here: MFA alone), and the list reads the
	// JSON of that policy only.
	if _, err := testDB.ExecForTest(ctx, `UPDATE ca_policies SET content_hash = 'changed',
		raw = jsonb_set(raw, '{grantControls,builtInControls}', '["mfa"]') WHERE tenant_id = $1 AND id = $2`,
		tenant, ca012.ID); err != nil {
		t.Fatal(err)
	}
	p, err := testDB.Policy(ctx, tenant, ca012.ID)
	const live = "Requires MFA for group SG-Dept-Sales"
	if err != nil || p.Summary != live || p.ExcludedServiceAccounts != ca012.ExcludedServiceAccounts {
		t.Errorf("CA012 changed since the evaluation: summary %q, %d excluded, %v; want %q, %d excluded",
			p.Summary, p.ExcludedServiceAccounts, err, live, ca012.ExcludedServiceAccounts)
	}
	ps, err = testDB.Policies(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if (p.ID == ca012.ID) != (len(p.Raw) > 0) || p.ID == ca012.ID && p.Summary != live {
			t.Errorf("policy %q in the list: summary %q, %d bytes of JSON; want its JSON and %q only when it changed",
				p.DisplayName, p.Summary, len(p.Raw), live)
		}
	}
	// A policy whose JSON no longer decodes says so.
	if _, err := testDB.ExecForTest(ctx, `UPDATE ca_policies SET raw = '{"conditions": 7}' WHERE tenant_id = $1 AND id = $2`,
		tenant, ca012.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := testDB.Policy(ctx, tenant, ca012.ID); err != nil || p.Summary != store.UnreadablePolicyForTest {
		t.Errorf("CA012 unreadable: summary %q, %v", p.Summary, err)
	}
}

func mustDecodePolicy(t *testing.T, raw []byte) *directory.ConditionalAccessPolicy {
	t.Helper()
	p, err := directory.Decode[directory.ConditionalAccessPolicy](raw)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPolicyVersions: a policy whose content changes between syncs has two
// versions, newest first, and their diff names the change.
func TestPolicyVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tenant := newTenant(t, "policy-versions")
	opts := store.DefaultApplyOptions
	id := "ffffffff-0000-4000-8000-000000000002"
	put := func(state string) {
		p := mustDecodePolicy(t, []byte(`{"id":"`+id+`","displayName":"MFA","state":"`+state+`"}`))
		run(t, tenant, directory.ConditionalAccessPolicies, true, opts, func(ctx context.Context, s *store.Stage) error { return s.Put(ctx, p) })
	}
	put("enabled")
	put("enabled")
	put("disabled")
	vs, err := testDB.PolicyVersions(ctx, tenant, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].FirstSeen <= vs[1].FirstSeen || vs[1].LastSeen <= vs[1].FirstSeen || vs[0].FirstSeenAt == nil {
		t.Fatalf("versions %+v, want 2, newest first, the first seen in two runs", vs)
	}
	changes, err := exposure.DiffPolicies(vs[1].Raw, vs[0].Raw, exposure.Names{})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0] != (exposure.Change{Path: "state", Old: "enabled", New: "disabled"}) {
		t.Errorf("diff %+v", changes)
	}
	if vs, _ := testDB.PolicyVersions(ctx, tenant, "no-such-policy", 10); len(vs) != 0 {
		t.Errorf("versions of an unknown policy: %+v", vs)
	}
}
