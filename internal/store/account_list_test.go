package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestAccountList pages through an evaluated demo tenant with many filters
// and every sort order, in small pages, and compares each walk with the
// same selection written directly in SQL: every account exactly once, in
// the order of the sort. Totals and facet counts match the lists they
// count.
func TestAccountList(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 97, Hostile: true}); err != nil {
		t.Fatal(err)
	}
	snap, run := importDir(t, dir)
	tenant := snap.Tenant.ID
	if _, err := testDB.AccountList(ctx, tenant, store.AccountListFilter{}); derr.Code(err) != derr.ENOTFOUND {
		t.Fatalf("AccountList before any evaluation: %v, want ENOTFOUND", err)
	}
	cfg := exposure.DefaultConfig(synthetic.DefaultNow)
	first, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A second evaluation replaces the first: the counts follow.
	second, err := testDB.EvaluateTenant(ctx, tenant, run.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("counts follow the current evaluation", func(t *testing.T) {
		var old, stale int
		if err := testDB.QueryRowForTest(ctx, `SELECT count(*) FROM exposure_account_counts WHERE evaluation_id = $1`,
			first.ID).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if err := testDB.QueryRowForTest(ctx, `
			SELECT count(*) FROM (
				(SELECT kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, accounts::bigint
				 FROM exposure_account_counts WHERE evaluation_id = $1
				 EXCEPT
				 SELECT kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, count(*)
				 FROM exposure_accounts WHERE evaluation_id = $1
				 GROUP BY kind, sa_level, exposure, is_privileged, owns_flows, finding_codes)
				UNION ALL
				(SELECT kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, count(*)
				 FROM exposure_accounts WHERE evaluation_id = $1
				 GROUP BY kind, sa_level, exposure, is_privileged, owns_flows, finding_codes
				 EXCEPT
				 SELECT kind, sa_level, exposure, is_privileged, owns_flows, finding_codes, accounts::bigint
				 FROM exposure_account_counts WHERE evaluation_id = $1)) d`, second.ID).Scan(&stale); err != nil {
			t.Fatal(err)
		}
		if old != 0 || stale != 0 {
			t.Errorf("counts: %d rows left for the replaced evaluation, %d differ from the accounts of the current one", old, stale)
		}
	})

	str := func(s string) *string { return &s }
	yes, no := true, false
	defaults := []string{"confirmed", "likely"}
	cases := []struct {
		name  string
		f     store.AccountListFilter
		where string // the same selection, in SQL
	}{
		{"everything", store.AccountListFilter{}, `true`},
		{"likely and confirmed", store.AccountListFilter{Levels: defaults}, `sa_level IN ('likely', 'confirmed')`},
		{"users", store.AccountListFilter{Kinds: []string{"user"}}, `kind = 'user'`},
		{"workload identities", store.AccountListFilter{Kinds: []string{"servicePrincipal", "managedIdentity"}}, `kind <> 'user'`},
		{"possible", store.AccountListFilter{Levels: []string{"possible"}}, `sa_level = 'possible'`},
		{"exposed or partial", store.AccountListFilter{Exposures: []string{"partial", "exposed"}}, `exposure IN ('exposed', 'partial')`},
		{"exposed and not applicable", store.AccountListFilter{Exposures: []string{"notApplicable", "exposed"}, Levels: defaults},
			`exposure IN ('exposed', 'notApplicable') AND sa_level IN ('likely', 'confirmed')`},
		{"excluded from MFA", store.AccountListFilter{Finding: str(exposure.CodeExcludedFromMFA)}, `'EXCLUDED_FROM_MFA' = ANY(finding_codes)`},
		{"privileged", store.AccountListFilter{Privileged: &yes}, `cardinality(privileged) > 0`},
		{"not privileged service accounts", store.AccountListFilter{Privileged: &no, Levels: defaults},
			`cardinality(privileged) = 0 AND sa_level IN ('likely', 'confirmed')`},
		{"owns flows", store.AccountListFilter{OwnsFlows: &yes}, `signals @> '[{"code": "ownsAutomation"}]'`},
		{"owns nothing", store.AccountListFilter{OwnsFlows: &no, Kinds: []string{"user"}},
			`NOT signals @> '[{"code": "ownsAutomation"}]' AND kind = 'user'`},
		{"search, any case", store.AccountListFilter{Search: str("FLOW")}, `(display_name ILIKE '%flow%' OR upn ILIKE '%flow%')`},
		{"search for markup", store.AccountListFilter{Search: str("<script>")}, `(display_name ILIKE '%<script>%' OR upn ILIKE '%<script>%')`},
		{"search wildcards are literal", store.AccountListFilter{Search: str("%_")}, `(strpos(display_name, '%_') > 0 OR strpos(upn, '%_') > 0)`},
		{"everything at once", store.AccountListFilter{Kinds: []string{"user"}, Levels: defaults, Exposures: []string{"exposed"},
			Finding: str(exposure.CodeExcludedFromMFA), OwnsFlows: &yes, Search: str("-")},
			`kind = 'user' AND sa_level IN ('likely', 'confirmed') AND exposure = 'exposed' AND 'EXCLUDED_FROM_MFA' = ANY(finding_codes)
			 AND signals @> '[{"code": "ownsAutomation"}]' AND (display_name ILIKE '%-%' OR upn ILIKE '%-%')`},
	}
	orders := map[string]string{
		store.AccountSortExposure: `exposure_rank, name_key, account_id`,
		store.AccountSortName:     `name_key, account_id`,
		store.AccountSortScore:    `sa_score DESC, name_key, account_id`,
	}
	nonEmpty := 0
	for _, tc := range cases {
		for sort, order := range orders {
			t.Run(tc.name+"/"+sort, func(t *testing.T) {
				want := accountIDs(t, `
					SELECT account_id FROM exposure_accounts a JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
					WHERE c.tenant_id = $1 AND `+tc.where+` ORDER BY `+order, tenant)
				if len(want) > 0 {
					nonEmpty++
				}
				f := tc.f
				f.Sort, f.Limit = sort, 7
				var got []string
				for pages := 0; ; pages++ {
					l, err := testDB.AccountList(ctx, tenant, f)
					if err != nil {
						t.Fatal(err)
					}
					if l.Total != len(want) {
						t.Fatalf("Total = %d, want %d", l.Total, len(want))
					}
					for _, a := range l.Accounts {
						got = append(got, a.ID)
					}
					if l.Next == nil || pages > len(want) {
						break
					}
					if len(l.Accounts) != f.Limit {
						t.Fatalf("a page of %d accounts has a next page", len(l.Accounts))
					}
					f.After = l.Next
				}
				if !slices.Equal(got, want) {
					t.Errorf("walked %d accounts, want %d in this order:\n got %v\nwant %v", len(got), len(want), got, want)
				}
			})
		}
	}
	if nonEmpty < 3*len(cases)-3 {
		t.Errorf("only %d of %d walks found accounts: the cases test too little", nonEmpty, 3*len(cases))
	}

	t.Run("facets count the lists they name", func(t *testing.T) {
		for _, base := range []store.AccountListFilter{
			{Levels: defaults},
			{Exposures: []string{"exposed"}, Kinds: []string{"user"}, Search: str("a")},
			{Finding: str(exposure.CodeExcludedFromMFA), Privileged: &no},
		} {
			l, err := testDB.AccountList(ctx, tenant, base)
			if err != nil {
				t.Fatal(err)
			}
			total := func(f store.AccountListFilter) int {
				l, err := testDB.AccountList(ctx, tenant, f)
				if err != nil {
					t.Fatal(err)
				}
				return l.Total
			}
			check := func(what string, got int, f store.AccountListFilter) {
				if want := total(f); got != want {
					t.Errorf("%+v: facet %s = %d, but that list has %d accounts", base, what, got, want)
				}
			}
			for _, k := range []string{"user", "servicePrincipal", "managedIdentity"} {
				f := base
				f.Kinds = []string{k}
				check("kind "+k, l.Facets.Kind[k], f)
			}
			for _, v := range []string{"confirmed", "likely", "possible", "no"} {
				f := base
				f.Levels = []string{v}
				check("level "+v, l.Facets.Level[v], f)
			}
			for _, v := range []string{"exposed", "partial", "protected", "notApplicable"} {
				f := base
				f.Exposures = []string{v}
				check("exposure "+v, l.Facets.Exposure[v], f)
			}
			for _, code := range exposure.Codes {
				f := base
				f.Finding = &code
				check("finding "+code, l.Facets.Finding[code], f)
			}
			for _, b := range []bool{true, false} {
				f, g := base, base
				f.Privileged, g.OwnsFlows = &b, &b
				p, o := l.Facets.Privileged.No, l.Facets.OwnsFlows.No
				if b {
					p, o = l.Facets.Privileged.Yes, l.Facets.OwnsFlows.Yes
				}
				check(fmt.Sprintf("privileged %v", b), p, f)
				check(fmt.Sprintf("owns flows %v", b), o, g)
			}
		}
	})

	t.Run("cursors", func(t *testing.T) {
		l, err := testDB.AccountList(ctx, tenant, store.AccountListFilter{Limit: 3, Sort: store.AccountSortScore})
		if err != nil || l.Next == nil {
			t.Fatalf("first page: %v, next %v", err, l.Next)
		}
		c, err := store.ParseAccountCursor(l.Next.String())
		if err != nil || c != *l.Next {
			t.Errorf("cursor round trip: %+v, %v; want %+v", c, err, *l.Next)
		}
		for _, bad := range []string{"", "!!", "bm90IGpzb24", "WyJleHBvc3VyZSJd", "WyJzaXplIiwwLCJhIiwiYiJd"} {
			if _, err := store.ParseAccountCursor(bad); derr.Code(err) != derr.EINVALID {
				t.Errorf("ParseAccountCursor(%q) = %v, want EINVALID", bad, err)
			}
		}
		for _, f := range []store.AccountListFilter{
			{After: l.Next}, // another sort order
			{Sort: "size"},
			{Limit: store.AccountListMaxLimit + 1},
			{Limit: -1},
		} {
			if _, err := testDB.AccountList(ctx, tenant, f); derr.Code(err) != derr.EINVALID {
				t.Errorf("AccountList(%+v) = %v, want EINVALID", f, err)
			}
		}
	})
}

// accountIDs runs a query of account ids.
func accountIDs(t *testing.T, sql string, args ...any) []string {
	t.Helper()
	rows, err := testDB.QueryForTest(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
