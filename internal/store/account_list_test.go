package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

	t.Run("unknown values match nothing", func(t *testing.T) {
		// Not even in the page query, where exposures are ranks: an unknown
		// value must not be ranked with notApplicable.
		all := []string{"", "exposed", "partial", "protected", "notApplicable"}
		for _, known := range all {
			f := store.AccountListFilter{Exposures: []string{"bogus"}, Limit: store.AccountListMaxLimit}
			if known != "" {
				f.Exposures = append(f.Exposures, known)
			}
			want := 0
			if known != "" {
				want = accountListTotal(t, tenant, store.AccountListFilter{Exposures: []string{known}})
			}
			ids, first := walkAccounts(t, tenant, f, want)
			if len(ids) != want || first.Total != want {
				t.Errorf("exposures %q: %d accounts listed, total %d; want %d", f.Exposures, len(ids), first.Total, want)
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

// TestAccountList_broadSearch: on a tenant of 500 users more than
// AccountSearchCountLimit, whose UPNs all hold its domain, and 300 service
// principals, a text search that matches more accounts than the limit is
// not counted (SearchOver) but still pages through exactly its matches in
// every sort order, and one within the limit is counted exactly, up to the
// limit itself. Both before and after the partition is analysed: its
// statistics choose how the matches are read, never which.
func TestAccountList_broadSearch(t *testing.T) {
	ctx := context.Background()
	tenant := "6d1e5b0c-3f7a-4c1e-9a52-2b8f0e4d7c91"
	if _, err := testDB.UpsertTenant(ctx, store.Tenant{ID: tenant, DisplayName: "Broad", DefaultDomain: "broad.example"}); err != nil {
		t.Fatal(err)
	}

	str := func(s string) *string { return &s }
	yes := true
	type search struct {
		q       string
		matches int // accounts the search alone matches, to check the case tests what it says
	}
	const limit = store.AccountSearchCountLimit
	searches := []search{
		{"broad.example", limit + 500}, // every user: the domain
		{"E", limit + 502},             // one letter, no trigram: every user
		{"Alpha", limit + 1},           // just past the limit
		{" alpha", limit},              // at the limit: counted
		{"beta", 500},
		{"zq", 0},         // short and rare: every account read, none found
		{"100%", 1},       // LIKE's wildcards and escape match themselves
		{"_under", 1},     //
		{`\score`, 1},     //
		{"%_", 0},         //
		{"app 01", 10},    // service principals only
		{"-0000-00", 300}, // their appIds
	}
	filters := []store.AccountListFilter{
		{},
		{Levels: []string{"confirmed", "likely"}},
		{Kinds: []string{"servicePrincipal"}},
		{Exposures: []string{"exposed"}, Finding: str(exposure.CodeExcludedFromMFA)},
		{Privileged: &yes, Levels: []string{"no"}},
		{Kinds: []string{"managedIdentity"}}, // none in this tenant
	}
	orders := map[string]string{
		store.AccountSortExposure: `exposure_rank, name_key, account_id`,
		store.AccountSortName:     `name_key, account_id`,
		store.AccountSortScore:    `sa_score DESC, name_key, account_id`,
	}
	for _, analysed := range []bool{false, true} {
		// An evaluation of its own: searches are kept by evaluation.
		if _, err := testDB.SaveEvaluation(ctx, tenant, 0, broadEvaluation(tenant), 0); err != nil {
			t.Fatal(err)
		}
		if analysed {
			var partition string
			if err := testDB.QueryRowForTest(ctx, `SELECT 'exposure_accounts_e' || evaluation_id FROM exposure_current
				WHERE tenant_id = $1`, tenant).Scan(&partition); err != nil {
				t.Fatal(err)
			}
			if _, err := testDB.ExecForTest(ctx, `ANALYZE `+partition); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range searches {
			match := `(strpos(lower(display_name), lower($2)) > 0 OR strpos(lower(upn), lower($2)) > 0)`
			all := accountIDs(t, `SELECT account_id FROM exposure_accounts a JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
				WHERE c.tenant_id = $1 AND `+match, tenant, s.q)
			if len(all) != s.matches {
				t.Fatalf("%q matches %d accounts, want %d: fix the case", s.q, len(all), s.matches)
			}
			for i, base := range filters {
				for sort, order := range orders {
					t.Run(fmt.Sprintf("analysed=%v/%s/%d/%s", analysed, s.q, i, sort), func(t *testing.T) {
						f := base
						f.Search, f.Sort, f.Limit = str(s.q), sort, 197
						want := accountIDs(t, `SELECT account_id FROM exposure_accounts a JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
							WHERE c.tenant_id = $1 AND `+match+` AND `+filterSQL(f)+` ORDER BY `+order, tenant, s.q)
						got, first := walkAccounts(t, tenant, f, len(want))
						if !slices.Equal(got, want) {
							t.Errorf("walked %d accounts, want %d in this order:\n got %v\nwant %v", len(got), len(want), got, want)
						}
						if s.matches > store.AccountSearchCountLimit {
							if first.SearchOver != store.AccountSearchCountLimit || first.Total != 0 || first.Facets.Kind["user"] != 0 {
								t.Errorf("SearchOver %d, Total %d, user facet %d: want %d, 0, 0",
									first.SearchOver, first.Total, first.Facets.Kind["user"], store.AccountSearchCountLimit)
							}
						} else if first.SearchOver != 0 || first.Total != len(want) {
							t.Errorf("SearchOver %d, Total %d: want 0, %d", first.SearchOver, first.Total, len(want))
						}
					})
				}
			}
		}
	}

	t.Run("a page position no match holds", func(t *testing.T) {
		// A position is sort keys, compared as the index orders them:
		// here, those of a service principal the search does not match,
		// and those of a match whose keys changed (a cursor made for
		// another evaluation).
		for _, after := range []store.AccountCursor{
			{Sort: store.AccountSortName, Name: "app 150", ID: "s0150"},
			{Sort: store.AccountSortExposure, Key: 0, Name: fmt.Sprintf("staff %05d beta", limit+251), ID: fmt.Sprintf("u%05d", limit+251)}, // its rank is 1
		} {
			order := orders[after.Sort]
			keys := strings.TrimSuffix(order, ", name_key, account_id")
			if keys == order {
				keys = "0"
			}
			want := accountIDs(t, `SELECT account_id FROM exposure_accounts a JOIN exposure_current c ON c.evaluation_id = a.evaluation_id
				WHERE c.tenant_id = $1 AND strpos(lower(display_name), 'beta') > 0
				  AND (`+keys+`, name_key, account_id) > ($2::integer, $3::text, $4::text) ORDER BY `+order,
				tenant, after.Key, after.Name, after.ID)
			f := store.AccountListFilter{Search: str("beta"), Sort: after.Sort, After: &after, Limit: 97}
			if got, _ := walkAccounts(t, tenant, f, len(want)); len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("after %+v: walked %d accounts, want %d in this order:\n got %v\nwant %v", after, len(got), len(want), got, want)
			}
		}
	})

	t.Run("facets of a search at the limit", func(t *testing.T) {
		base := store.AccountListFilter{Search: str(" alpha"), Levels: []string{"likely", "possible"}}
		l, err := testDB.AccountList(ctx, tenant, base)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"user", "servicePrincipal"} {
			f := base
			f.Kinds = []string{k}
			if got, want := l.Facets.Kind[k], accountListTotal(t, tenant, f); got != want {
				t.Errorf("facet kind %s = %d, but that list has %d accounts", k, got, want)
			}
		}
		for _, v := range []string{"confirmed", "likely", "possible", "no"} {
			f := base
			f.Levels = []string{v}
			if got, want := l.Facets.Level[v], accountListTotal(t, tenant, f); got != want {
				t.Errorf("facet level %s = %d, but that list has %d accounts", v, got, want)
			}
		}
		if l.Facets.Level["no"] == 0 || l.Facets.Finding[exposure.CodeExcludedFromMFA] == 0 {
			t.Errorf("facets %+v: the case tests too little", l.Facets)
		}
	})

	t.Run("a search on two lines", func(t *testing.T) {
		_, err := testDB.AccountList(ctx, tenant, store.AccountListFilter{Search: str("example\nApp")})
		if derr.Code(err) != derr.EINVALID {
			t.Errorf("AccountList = %v, want EINVALID", err)
		}
	})
}

// broadEvaluation is an evaluation of AccountSearchCountLimit + 500 users
// and 300 service principals with names made for
// TestAccountList_broadSearch.
func broadEvaluation(tenant string) *exposure.Evaluation {
	ev := &exposure.Evaluation{TenantID: tenant, EvaluatedAt: synthetic.DefaultNow}
	levels := []exposure.ServiceAccountLevel{exposure.ServiceConfirmed, exposure.ServiceLikely, exposure.ServicePossible, exposure.ServiceNo}
	exposures := []exposure.Level{exposure.LevelExposed, exposure.LevelPartial, exposure.LevelProtected, exposure.LevelNotApplicable}
	for i := range store.AccountSearchCountLimit + 500 {
		a := &exposure.Account{
			ID:             fmt.Sprintf("u%05d", i),
			UPN:            fmt.Sprintf("staff%05d@broad.example", i),
			DisplayName:    fmt.Sprintf("Staff %05d Beta", i),
			Kind:           exposure.KindUser,
			Enabled:        i%10 != 0,
			ServiceAccount: exposure.Classification{Level: levels[i%4], Score: i % 97},
			Exposure:       exposures[i%3],
		}
		if i < store.AccountSearchCountLimit {
			a.DisplayName = fmt.Sprintf("Staff %05d Alpha", i)
		}
		if i%13 == 0 {
			a.Privileged = []string{"Global Administrator"}
		}
		if i%7 == 0 {
			a.Findings = []exposure.Finding{{Code: exposure.CodeExcludedFromMFA, Severity: exposure.SeverityHigh}}
		}
		ev.Accounts = append(ev.Accounts, a)
	}
	hostile := []string{"Load 100% now", "Job _under line", `Share \score`}
	for i := range 300 {
		a := &exposure.Account{
			ID:             fmt.Sprintf("s%04d", i),
			UPN:            fmt.Sprintf("%08d-0000-0000-0000-000000000000", i),
			DisplayName:    fmt.Sprintf("App %03d", i),
			Kind:           exposure.KindServicePrincipal,
			Enabled:        true,
			ServiceAccount: exposure.Classification{Level: exposure.ServiceConfirmed},
			Exposure:       exposures[i%2],
			Workload:       exposure.WorkloadNotApplicable,
		}
		switch {
		case i == 0:
			a.DisplayName = "Alpha App"
		case i < len(hostile)+1:
			a.DisplayName = hostile[i-1]
		}
		ev.Accounts = append(ev.Accounts, a)
	}
	return ev
}

// filterSQL is the SQL of a filter's conditions but the search.
func filterSQL(f store.AccountListFilter) string {
	conds := []string{"true"}
	quoted := func(vs []string) string { return "'" + strings.Join(vs, "', '") + "'" }
	if f.Kinds != nil {
		conds = append(conds, "kind IN ("+quoted(f.Kinds)+")")
	}
	if f.Levels != nil {
		conds = append(conds, "sa_level IN ("+quoted(f.Levels)+")")
	}
	if f.Exposures != nil {
		conds = append(conds, "exposure IN ("+quoted(f.Exposures)+")")
	}
	if f.Finding != nil {
		conds = append(conds, "'"+*f.Finding+"' = ANY(finding_codes)")
	}
	if f.Privileged != nil {
		conds = append(conds, fmt.Sprintf("(cardinality(privileged) > 0) = %v", *f.Privileged))
	}
	return strings.Join(conds, " AND ")
}

// walkAccounts pages through a filter and returns the account ids in order,
// and the first page.
func walkAccounts(t *testing.T, tenant string, f store.AccountListFilter, want int) (ids []string, first store.AccountList) {
	t.Helper()
	for pages := 0; ; pages++ {
		l, err := testDB.AccountList(context.Background(), tenant, f)
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 {
			first = l
		}
		for _, a := range l.Accounts {
			ids = append(ids, a.ID)
		}
		if l.Next == nil || pages > want {
			return ids, first
		}
		f.After = l.Next
	}
}

// accountListTotal is the Total of a filter's list.
func accountListTotal(t *testing.T, tenant string, f store.AccountListFilter) int {
	t.Helper()
	l, err := testDB.AccountList(context.Background(), tenant, f)
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

// Filter values are written into the page query as literals (its plan is
// generic, and must see them): whatever they hold, they reach PostgreSQL as
// the same strings, never as SQL.
func TestAccountList_literalsRoundTrip(t *testing.T) {
	ctx := context.Background()
	values := []string{"EXCLUDED_FROM_MFA", "O'Brien", "''; DROP TABLE tenants; --", `back\slash`, `\'`, "tab\tand é", "$1", ""}
	sql, args := store.LiteralsForTest(values...)
	var got []string
	if err := testDB.QueryRowForTest(ctx, "SELECT ARRAY["+sql+"]::text[]", args...).Scan(&got); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if !slices.Equal(got, values) {
		t.Errorf("literals %s read back as %q, want %q", sql, got, values)
	}
	if len(args) != 2 {
		t.Errorf("%d values sent as parameters, want the 2 with a backslash", len(args))
	}
}
