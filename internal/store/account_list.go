package store

import (
	"cmp"
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
)

// Sort orders of the accounts list.
const (
	AccountSortExposure = "exposure" // exposed first, then partial, protected, notApplicable; then by name
	AccountSortName     = "name"
	AccountSortScore    = "score" // highest service-account score first; then by name
)

// AccountListFilter selects accounts of a tenant's current evaluation. Nil
// fields do not filter; a non-nil slice keeps the accounts with any of its
// values. Values the evaluation never stores simply match nothing: callers
// validate what people type.
type AccountListFilter struct {
	Kinds      []string // exposure.Kind
	Levels     []string // exposure.ServiceAccountLevel
	Exposures  []string // exposure.Level
	Finding    *string  // has a finding with this code
	Privileged *bool    // holds an admin role
	OwnsFlows  *bool    // owns or created flows or connections (the ownsAutomation signal)
	Search     *string  // case-insensitive substring of the display name or UPN; one line
	Sort       string   // AccountSortExposure (default), AccountSortName or AccountSortScore
	After      *AccountCursor
	Limit      int // default 50, at most AccountListMaxLimit
}

// Page sizes of the accounts list.
const (
	AccountListDefaultLimit = 50
	AccountListMaxLimit     = 200
)

// AccountSearchCountLimit is how many accounts a text search counts. A
// search that matches more (a domain every UPN holds, a single letter)
// would read every match to count them: the list says it matches more
// than the limit (SearchOver) instead of its counts.
const AccountSearchCountLimit = 5000

// AccountList is one page of the accounts list, with counts for its filters.
type AccountList struct {
	EvaluationID int64
	EvaluatedAt  time.Time
	Accounts     []AccountListItem
	// Next is the position after this page; nil on the last page.
	Next *AccountCursor
	// Total counts the accounts the filter selects, on every page, and
	// Facets the accounts each filter value would select. Both are exact,
	// and both are zero when SearchOver is set.
	Total  int
	Facets AccountFacets
	// SearchOver is AccountSearchCountLimit when the text search matches
	// more accounts than that, which are then not counted; 0 otherwise.
	SearchOver int
}

// AccountListItem is one account as the list shows it.
type AccountListItem struct {
	ID          string
	UPN         string // service principals: their appId
	DisplayName string
	Kind        string
	Enabled     bool
	Exposure    string
	Workload    string // service principals and managed identities only
	Level       string // service-account classification
	Score       int
	Privileged  []string // admin roles held
	Findings    []string // finding codes, each once, highest severity first
	MaxSeverity string   // "" without findings
}

// AccountFacets counts, for every value of every filter, the accounts the
// filter would select with that value instead of its own, the other filters
// applied: the numbers shown next to each choice.
type AccountFacets struct {
	Kind       map[string]int
	Level      map[string]int
	Exposure   map[string]int
	Finding    map[string]int
	Privileged AccountFlagCount
	OwnsFlows  AccountFlagCount
}

// AccountFlagCount counts the two values of a yes/no filter.
type AccountFlagCount struct{ Yes, No int }

// AccountCursor is a position in the accounts list: the sort keys of the
// last account of a page. It is opaque to clients (String and
// ParseAccountCursor) and tied to its sort order.
type AccountCursor struct {
	Sort string
	Key  int    // exposure rank, or the negated score
	Name string // the name sort key
	ID   string
}

// String encodes the cursor for a URL.
func (c AccountCursor) String() string {
	b, _ := json.Marshal([]any{c.Sort, c.Key, c.Name, c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseAccountCursor decodes a cursor made by AccountCursor.String.
func ParseAccountCursor(s string) (AccountCursor, error) {
	var c AccountCursor
	bad := derr.Errorf(derr.EINVALID, "The page position (after) is not valid: start again from the first page.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, bad
	}
	var parts []json.RawMessage
	if json.Unmarshal(b, &parts) != nil || len(parts) != 4 ||
		json.Unmarshal(parts[0], &c.Sort) != nil || json.Unmarshal(parts[1], &c.Key) != nil ||
		json.Unmarshal(parts[2], &c.Name) != nil || json.Unmarshal(parts[3], &c.ID) != nil ||
		!validAccountSort(c.Sort) || c.ID == "" {
		return AccountCursor{}, bad
	}
	return c, nil
}

func validAccountSort(s string) bool {
	return s == AccountSortExposure || s == AccountSortName || s == AccountSortScore
}

// accountOrders maps a sort order to its keyset: the key columns (after
// sa_level and kind in the matching index of migration 0009) and the
// expression of the cursor's Key, if any.
var accountOrders = map[string]struct{ keys, key string }{
	AccountSortExposure: {"exposure_rank, name_key, account_id", "exposure_rank"},
	AccountSortName:     {"name_key, account_id", ""},
	AccountSortScore:    {"-sa_score, name_key, account_id", "-sa_score"},
}

// AccountList returns a page of a tenant's current evaluation's accounts,
// with the filter's total and facet counts, all from one snapshot of the
// database. ENOTFOUND when the tenant has no evaluation yet.
//
// The counts come first, from exposure_account_counts (a few hundred rows):
// they say exactly how many accounts of each service-account level and kind
// the filter selects, so the page query reads only the index ranges that
// hold matches (see accountPageQuery). A text search finds its matches
// first instead, and takes both its counts and its page from them (see
// searchAccounts).
func (db *DB) AccountList(ctx context.Context, tenantID string, f AccountListFilter) (_ AccountList, err error) {
	defer derr.Wrap(&err, "store.AccountList(%s)", tenantID)
	var out AccountList
	if f, err = checkAccountListFilter(f); err != nil {
		return out, err
	}

	// Repeatable read: the page and the counts come from the evaluation that
	// was current when the transaction began, even if a newer one replaces
	// it (and prunes its rows) meanwhile.
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return out, mapError(err, "begin")
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	var b pgx.Batch
	b.Queue(`
		SELECT e.id, e.evaluated_at
		FROM exposure_current c JOIN exposure_evaluations e ON e.id = c.evaluation_id
		WHERE c.tenant_id = lower($1)`, tenantID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&out.EvaluationID, &out.EvaluatedAt)
	})
	var stored []accountCell
	b.Queue(`
		SELECT sa_level, kind, exposure, is_privileged, owns_flows, finding_codes, facet_key, accounts
		FROM exposure_account_counts WHERE evaluation_id = `+currentEvaluation, tenantID).Query(scanCells(&stored))
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return out, mapError(err, "evaluation of tenant "+tenantID)
	}
	if f.Search != nil {
		err = db.searchAccounts(ctx, tx, &out, f, stored)
	} else {
		err = listAccounts(ctx, tx, &out, f, stored)
	}
	if err != nil {
		return out, err
	}
	return out, mapError(tx.Commit(ctx), "commit")
}

// currentEvaluation is the tenant's ($1) current evaluation, in SQL.
const currentEvaluation = `(SELECT evaluation_id FROM exposure_current WHERE tenant_id = lower($1))`

// checkAccountListFilter fills in the defaults of f and checks the rest.
func checkAccountListFilter(f AccountListFilter) (AccountListFilter, error) {
	if f.Sort == "" {
		f.Sort = AccountSortExposure
	}
	if !validAccountSort(f.Sort) {
		return f, derr.Errorf(derr.EINVALID, "Unknown sort order %q.", f.Sort)
	}
	if f.After != nil && f.After.Sort != f.Sort {
		return f, derr.Errorf(derr.EINVALID, "The page position (after) belongs to another sort order: start again from the first page.")
	}
	if f.Limit == 0 {
		f.Limit = AccountListDefaultLimit
	}
	if f.Limit < 1 || f.Limit > AccountListMaxLimit {
		return f, derr.Errorf(derr.EINVALID, "The page size must be between 1 and %d.", AccountListMaxLimit)
	}
	if f.Search != nil && *f.Search == "" {
		f.Search = nil
	}
	// The search columns join the name and the UPN with a newline (0010).
	if f.Search != nil && strings.Contains(*f.Search, "\n") {
		return f, derr.Errorf(derr.EINVALID, "The text search must be one line.")
	}
	return f, nil
}

// listAccounts reads the page of a filter without a text search: the
// counts are the stored ones.
func listAccounts(ctx context.Context, tx pgx.Tx, out *AccountList, f AccountListFilter, stored []accountCell) error {
	var segs []accountSegment
	out.Total, out.Facets, segs = countAccounts(stored, f)
	if out.Total == 0 {
		return nil
	}
	sizeSegments(segs, stored, f)
	return readAccountPage(ctx, tx, out, f, segs)
}

// readAccountPage reads the page of accountPageQuery into out.
func readAccountPage(ctx context.Context, tx pgx.Tx, out *AccountList, f AccountListFilter, segs []accountSegment) error {
	pageSQL, pageArgs, walks := accountPageQuery(out.EvaluationID, f, segs)
	var pb pgx.Batch
	if f.Search != nil {
		queueSearchSettings(&pb)
	}
	if walks {
		// The counts know what the planner's statistics cannot: that these
		// segments are dense with matches. Without a sort, the only plan
		// left for a walking part is the walk of its sorted index. (A sort
		// still happens where nothing else can: the gathered part. The
		// penalty it then carries must not make the plan look worth
		// compiling.)
		pb.Queue(`SET LOCAL enable_sort = off`)
		pb.Queue(`SET LOCAL jit = off`)
	}
	var page accountPage
	pb.Queue(pageSQL, pageArgs...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var a AccountListItem
			c := AccountCursor{Sort: f.Sort}
			if err := rows.Scan(&a.ID, &a.UPN, &a.DisplayName, &a.Kind, &a.Enabled, &a.Exposure, &a.Workload,
				&a.Level, &a.Score, &a.Privileged, &a.Findings, &a.MaxSeverity, &c.Key, &c.Name); err != nil {
				return err
			}
			page.add(out, f.Limit, a, c)
		}
		return rows.Err()
	})
	return mapError(tx.SendBatch(ctx, &pb).Close(), "accounts")
}

// accountPage collects the rows of a page query: the page, then one probe
// row that says another page follows.
type accountPage struct{ last AccountCursor }

func (p *accountPage) add(out *AccountList, limit int, a AccountListItem, c AccountCursor) {
	if len(out.Accounts) == limit {
		if out.Next == nil {
			out.Next = &p.last
		}
		return
	}
	a.Findings = uniqueCodes(a.Findings)
	c.ID = a.ID
	p.last = c
	out.Accounts = append(out.Accounts, a)
}

// uniqueCodes keeps the first of equal finding codes (an account has one
// finding per policy that excludes it, say), in order.
func uniqueCodes(codes []string) []string {
	out := codes[:0]
	for _, c := range codes {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func scanCells(cells *[]accountCell) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		for rows.Next() {
			var c accountCell
			if err := rows.Scan(&c.level, &c.kind, &c.exposure, &c.privileged, &c.ownsFlows, &c.findings, &c.key, &c.n); err != nil {
				return err
			}
			*cells = append(*cells, c)
		}
		return rows.Err()
	}
}

// likePattern is the LIKE pattern of a substring: LIKE's wildcards and its
// escape character in s are quoted. The SQL lower-cases it, as ILIKE would.
func likePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// accountCell is a number of accounts alike in every filterable attribute:
// a row of exposure_account_counts, with its key (facet_key of 0010).
type accountCell struct {
	level, kind, exposure string
	privileged, ownsFlows bool
	findings              []string
	key                   int64
	n                     int
}

// accountSegment is the part of the evaluation of one service-account
// level and kind: each has its own range in the sorted indexes.
type accountSegment struct {
	level, kind string
	matches     int // accounts the filter selects
	size        int // accounts a walk of the range may have to pass over
	// For a text search: a gather reads the matches of every account of the
	// segment's kind (its index), and a walk is counted as reading ten
	// times its even share (matches cluster along the name order: svc-…).
	gathered  int
	clustered bool
}

// countAccounts sums cells into the filter's total, its facets and its
// segments: a cell counts towards a filter's values when it passes every
// other filter.
func countAccounts(cells []accountCell, f AccountListFilter) (total int, fc AccountFacets, segs []accountSegment) {
	fc = AccountFacets{Kind: map[string]int{}, Level: map[string]int{}, Exposure: map[string]int{}, Finding: map[string]int{}}
	for _, c := range cells {
		pass := c.passes(f)
		failed := 0
		for _, ok := range pass {
			if !ok {
				failed++
			}
		}
		// others reports whether the cell passes every filter but the i-th.
		others := func(i int) bool { return failed == 0 || failed == 1 && !pass[i] }
		if failed == 0 {
			total += c.n
			i := slices.IndexFunc(segs, func(s accountSegment) bool { return s.level == c.level && s.kind == c.kind })
			if i < 0 {
				i = len(segs)
				segs = append(segs, accountSegment{level: c.level, kind: c.kind})
			}
			segs[i].matches += c.n
		}
		if others(0) {
			fc.Kind[c.kind] += c.n
		}
		if others(1) {
			fc.Level[c.level] += c.n
		}
		if others(2) {
			fc.Exposure[c.exposure] += c.n
		}
		if others(3) {
			for i, code := range c.findings {
				if !slices.Contains(c.findings[:i], code) { // a code may repeat (one per policy)
					fc.Finding[code] += c.n
				}
			}
		}
		if others(4) {
			if c.privileged {
				fc.Privileged.Yes += c.n
			} else {
				fc.Privileged.No += c.n
			}
		}
		if others(5) {
			if c.ownsFlows {
				fc.OwnsFlows.Yes += c.n
			} else {
				fc.OwnsFlows.No += c.n
			}
		}
	}
	// The same segments give the same query text (pgx caches statements).
	slices.SortFunc(segs, func(a, b accountSegment) int {
		return cmp.Or(strings.Compare(a.level, b.level), strings.Compare(a.kind, b.kind))
	})
	return total, fc, segs
}

// passes reports, for each filter of f but the text search (kinds, levels,
// exposures, finding, privileged, owns flows), whether the cell passes it.
func (c accountCell) passes(f AccountListFilter) [6]bool {
	in := func(list []string, v string) bool { return list == nil || slices.Contains(list, v) }
	flag := func(want *bool, v bool) bool { return want == nil || *want == v }
	return [...]bool{
		in(f.Kinds, c.kind),
		in(f.Levels, c.level),
		in(f.Exposures, c.exposure),
		f.Finding == nil || slices.Contains(c.findings, *f.Finding),
		flag(f.Privileged, c.privileged),
		flag(f.OwnsFlows, c.ownsFlows),
	}
}

// sizeSegments sets each segment's size from the evaluation's counts: the
// accounts of its level and kind, within the range of exposure levels
// asked for when sorted by exposure (the range a walk reads).
func sizeSegments(segs []accountSegment, stored []accountCell, f AccountListFilter) {
	lo, hi := 0, 3
	if f.Sort == AccountSortExposure && f.Exposures != nil {
		lo, hi, _ = exposureRanks(f.Exposures)
	}
	for _, c := range stored {
		if r := exposureRank(c.exposure); r < lo || r > hi {
			continue
		}
		for i := range segs {
			if segs[i].level == c.level && segs[i].kind == c.kind {
				segs[i].size += c.n
			}
		}
	}
}

// exposureRank is exposure_rank of migration 0009: exposed first.
func exposureRank(level string) int {
	switch level {
	case "exposed":
		return 0
	case "partial":
		return 1
	case "protected":
		return 2
	}
	return 3
}

// exposureRanks returns the ranks of exposure levels, and their range.
func exposureRanks(levels []string) (lo, hi int, ranks []int) {
	lo, hi = 3, 0
	for _, l := range levels {
		r := exposureRank(l)
		if !slices.Contains(ranks, r) {
			ranks = append(ranks, r)
		}
		lo, hi = min(lo, r), max(hi, r)
	}
	slices.Sort(ranks)
	return lo, hi, ranks
}

// walks reports whether a segment's page is best found by walking its range
// of a sorted index rather than by gathering its matches and sorting them.
// Matches spread evenly, a walk passes over about (limit+1)·size/matches
// rows to find a page (the whole range at most), a gather reads all matches
// (or what gathered says): walk when that is fewer.
func (s accountSegment) walks(limit int) bool {
	walk := s.size
	if s.matches > 0 {
		walk = (limit + 1) * s.size / s.matches
		if s.clustered {
			walk *= 10
		}
	}
	return min(walk, s.size) < max(s.matches, s.gathered)
}

// accountPageQuery selects one page, and one row more to learn whether
// another page follows. It is a union of one part per segment holding
// matches, each cut at the page size, which PostgreSQL merges: a part
// either walks its segment's range of the sort order's index (from the
// cursor on: an index range scan) or gathers its matches by the filters'
// indexes and sorts them, whichever reads fewer rows. Segments that gather
// are gathered together. Only the conditions in use are written out, so
// the planner sees each query as it is.
func accountPageQuery(evalID int64, f AccountListFilter, segs []accountSegment) (_ string, _ []any, walks bool) {
	order := accountOrders[f.Sort]
	key := "0"
	if order.key != "" {
		key = order.key
	}
	limit := " LIMIT " + strconv.Itoa(f.Limit+1)
	var w accountConds
	w.add("evaluation_id = %s", evalID)
	if f.Exposures != nil {
		if f.Sort == AccountSortExposure {
			// As ranks: the walk of the exposure index reads only their range.
			lo, hi, ranks := exposureRanks(f.Exposures)
			w.conds = append(w.conds, "exposure_rank BETWEEN "+strconv.Itoa(lo)+" AND "+strconv.Itoa(hi))
			if hi-lo+1 > len(ranks) {
				w.add("exposure_rank = ANY(%s::smallint[])", ranks)
			}
		} else {
			w.add("exposure = ANY(%s)", f.Exposures)
		}
	}
	if f.Finding != nil {
		w.add("finding_codes @> ARRAY[%s::text]", *f.Finding)
	}
	if f.Privileged != nil {
		w.add("is_privileged = %s", *f.Privileged)
	}
	if f.OwnsFlows != nil {
		w.add("owns_flows = %s", *f.OwnsFlows)
	}
	var search string // the pattern's placeholder
	if f.Search != nil {
		search = w.arg(likePattern(*f.Search))
	}
	if c := f.After; c != nil {
		if order.key != "" {
			w.add("("+order.keys+") > (%s::integer, %s::text, %s::text)", c.Key, c.Name, c.ID)
		} else {
			w.add("("+order.keys+") > (%s::text, %s::text)", c.Name, c.ID)
		}
	}
	common := w.where()
	sel := `SELECT account_id, upn, display_name, kind, enabled, exposure, workload, sa_level, sa_score,
		privileged, finding_codes, max_severity, ` + key + ` AS sort_key, name_key FROM exposure_accounts WHERE `
	const from = `SELECT account_id, upn, display_name, kind, enabled, exposure, workload, sa_level, sa_score,
		privileged, finding_codes, max_severity, sort_key, name_key FROM `
	const sorted = " ORDER BY sort_key, name_key, account_id"

	var parts, gather []string
	for _, s := range segs {
		cond := "sa_level = " + w.arg(s.level) + " AND kind = " + w.arg(s.kind)
		if search != "" {
			cond += " AND " + searchColumn(s.kind) + " LIKE (SELECT lower(" + search + "))"
		}
		if s.walks(f.Limit) {
			walks = true
			parts = append(parts, "("+sel+common+" AND "+cond+" ORDER BY "+order.keys+limit+")")
		} else {
			gather = append(gather, "("+cond+")")
		}
	}
	with := ""
	if gather != nil {
		// MATERIALIZED: found by the filters alone, never by walking an
		// index in the hope of meeting them.
		with = "WITH gathered AS MATERIALIZED (" + sel + common + " AND (" + strings.Join(gather, " OR ") + ")) "
		parts = append(parts, "("+from+"gathered"+sorted+limit+")")
	}
	if len(parts) == 1 && with == "" {
		return parts[0][1 : len(parts[0])-1], w.args, walks
	}
	return with + from + "(" + strings.Join(parts, " UNION ALL ") + ") u" + sorted + limit, w.args, walks
}

// A text search matches the accounts whose lower-cased display name or UPN
// holds the lower-cased term: the search column of their kind (0010), each
// with a trigram index.

// searchAccounts reads the page and the counts of a filter with a text
// search. The search's matches (at most the count limit's worth) are found
// once per evaluation, term and sort order, in the sort order, and kept
// (searchCache): the counts are theirs, and a page is the next of them the
// other filters select, read by primary key. Past the limit the list is
// not counted, and its page is read as listAccounts reads one, each
// segment walked or gathered by its estimated matches.
func (db *DB) searchAccounts(ctx context.Context, tx pgx.Tx, out *AccountList, f AccountListFilter, stored []accountCell) error {
	key := searchKey{db: db, evaluation: out.EvaluationID, term: *f.Search, sort: f.Sort}
	r, ok := accountSearches.get(key)
	if !ok {
		var err error
		if r, err = findMatches(ctx, tx, out.EvaluationID, f, stored); err != nil {
			return err
		}
		accountSearches.put(key, r)
	}
	if r.over {
		out.SearchOver = AccountSearchCountLimit
		if segs := searchSegments(stored, f, r.density); len(segs) > 0 {
			return readAccountPage(ctx, tx, out, f, segs)
		}
		return nil // the other filters select no account
	}
	cells, err := searchedCells(stored, r.counts)
	if err != nil {
		return err
	}
	out.Total, out.Facets, _ = countAccounts(cells, f)
	if out.Total == 0 {
		return nil
	}
	start, err := r.start(ctx, tx, f.After)
	if err != nil {
		return err
	}
	return readMatches(ctx, tx, out, f, r.page(start, selectedKeys(stored, f), f.Limit+1))
}

// searchResult is what a search finds in an evaluation, in a sort order.
type searchResult struct {
	// over: the search matches more than AccountSearchCountLimit accounts,
	// of which nothing else is kept but the density that found them.
	over    bool
	density searchDensity
	counts  map[int64]int // matches by facet key
	matches []searchMatch // in the sort order
}

// searchMatch is a matching account: its facet key and its sort keys.
type searchMatch struct {
	id, name string
	facet    int64
	key      int // the cursor's Key
}

// findMatches finds the matches of f's search, in its sort order: the
// trigram index looks them up, or, for a broad term, accounts are read in
// turn until the count limit is passed (the expression is one no index
// holds).
func findMatches(ctx context.Context, tx pgx.Tx, evalID int64, f AccountListFilter, stored []accountCell) (*searchResult, error) {
	r := &searchResult{counts: map[int64]int{}}
	pattern := likePattern(*f.Search)
	var b pgx.Batch
	queueSearchSettings(&b)
	b.Queue(searchDensitySQL, accountsPartition(evalID), pattern).Query(func(rows pgx.Rows) (err error) {
		r.density, err = scanSearchDensity(rows)
		return err
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, mapError(err, "search statistics")
	}
	// (SELECT lower()): once, not for every row the index returns.
	where := `(user_search LIKE (SELECT lower($2)) OR service_principal_search LIKE (SELECT lower($2))
		OR managed_identity_search LIKE (SELECT lower($2)))`
	if searchBroad(*f.Search, r.density, stored) {
		where = `coalesce(user_search, service_principal_search, managed_identity_search) LIKE (SELECT lower($2))`
	}
	limit := strconv.Itoa(AccountSearchCountLimit)
	rows, err := tx.Query(ctx, `
		WITH m AS MATERIALIZED (
			SELECT account_id, facet_key, (`+cmp.Or(accountOrders[f.Sort].key, "0")+`)::integer AS sort_key, name_key
			FROM exposure_accounts WHERE evaluation_id = $1 AND `+where+` LIMIT `+limit+` + 1)
		SELECT account_id, name_key, facet_key, sort_key FROM m ORDER BY sort_key, name_key, account_id`, evalID, pattern)
	if err != nil {
		return nil, mapError(err, "search")
	}
	r.matches, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (m searchMatch, err error) {
		err = row.Scan(&m.id, &m.name, &m.facet, &m.key)
		return m, err
	})
	if err != nil {
		return nil, mapError(err, "search")
	}
	if len(r.matches) > AccountSearchCountLimit {
		r.over, r.matches = true, nil
	}
	for _, m := range r.matches {
		r.counts[m.facet]++
	}
	return r, nil
}

// start returns the index of the first match after a page position. A
// position is the sort keys of the last account of the previous page: that
// account, if its keys are unchanged (the same evaluation), or else the
// place PostgreSQL compares the keys into.
func (r *searchResult) start(ctx context.Context, tx pgx.Tx, after *AccountCursor) (int, error) {
	if after == nil {
		return 0, nil
	}
	for i, m := range r.matches {
		if m.id == after.ID && m.key == after.Key && m.name == after.Name {
			return i + 1, nil
		}
	}
	keys, names, ids := make([]int, len(r.matches)), make([]string, len(r.matches)), make([]string, len(r.matches))
	for i, m := range r.matches {
		keys[i], names[i], ids[i] = m.key, m.name, m.id
	}
	var n int
	err := tx.QueryRow(ctx, `
		SELECT count(*) FROM unnest($1::integer[], $2::text[], $3::text[]) AS m(k, n, id)
		WHERE (k, n, id) <= ($4::integer, $5::text, $6::text)`,
		keys, names, ids, after.Key, after.Name, after.ID).Scan(&n)
	return n, mapError(err, "page position")
}

// page returns up to n matches from start on that have a selected facet
// key (nil: every key is).
func (r *searchResult) page(start int, selected map[int64]bool, n int) []searchMatch {
	var out []searchMatch
	for _, m := range r.matches[start:] {
		if selected == nil || selected[m.facet] {
			if out = append(out, m); len(out) == n {
				break
			}
		}
	}
	return out
}

// readMatches reads the accounts of a page of matches into out, in their
// order.
func readMatches(ctx context.Context, tx pgx.Tx, out *AccountList, f AccountListFilter, matches []searchMatch) error {
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.id
	}
	rows, err := tx.Query(ctx, `
		SELECT account_id, upn, display_name, kind, enabled, exposure, workload, sa_level, sa_score,
			privileged, finding_codes, max_severity
		FROM exposure_accounts WHERE evaluation_id = $1 AND account_id = ANY($2)`, out.EvaluationID, ids)
	if err != nil {
		return mapError(err, "accounts")
	}
	accounts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (a AccountListItem, err error) {
		err = row.Scan(&a.ID, &a.UPN, &a.DisplayName, &a.Kind, &a.Enabled, &a.Exposure, &a.Workload,
			&a.Level, &a.Score, &a.Privileged, &a.Findings, &a.MaxSeverity)
		return a, err
	})
	if err != nil {
		return mapError(err, "accounts")
	}
	byID := make(map[string]AccountListItem, len(accounts))
	for _, a := range accounts {
		byID[a.ID] = a
	}
	var page accountPage
	for _, m := range matches {
		if a, ok := byID[m.id]; ok {
			page.add(out, f.Limit, a, AccountCursor{Sort: f.Sort, Key: m.key, Name: m.name})
		}
	}
	return nil
}

// selectedKeys returns the facet keys of the cells that pass every filter
// of f but the text search; nil when every cell does.
func selectedKeys(cells []accountCell, f AccountListFilter) map[int64]bool {
	keys := map[int64]bool{}
	for _, c := range cells {
		if pass := c.passes(f); !slices.Contains(pass[:], false) {
			keys[c.key] = true
		}
	}
	if len(keys) == len(cells) {
		return nil
	}
	return keys
}

// searchedCells are the stored cells that hold matches, with their counts.
func searchedCells(stored []accountCell, counts map[int64]int) ([]accountCell, error) {
	var cells []accountCell
	found := 0
	for _, c := range stored {
		if n := counts[c.key]; n > 0 {
			c.n = n
			cells = append(cells, c)
			found++
		}
	}
	if found != len(counts) {
		return nil, fmt.Errorf("%d facet keys of the search's matches are not in the evaluation's counts", len(counts)-found)
	}
	return cells, nil
}

// searchSegments are the segments of the accounts the other filters select,
// each estimated to hold as many matches as its kind's density says; a
// gather reads the matches of all accounts of its kind (the index of its
// search column).
func searchSegments(stored []accountCell, f AccountListFilter, d searchDensity) []accountSegment {
	_, _, segs := countAccounts(stored, f)
	sizeSegments(segs, stored, f)
	kinds := map[string]int{}
	for _, c := range stored {
		kinds[c.kind] += c.n
	}
	for i, s := range segs {
		share, ok := d[s.kind]
		if !ok { // no statistics: as if every account matched
			share = 1
		}
		segs[i].matches = int(math.Ceil(share * float64(s.matches)))
		segs[i].gathered = int(math.Ceil(share * float64(kinds[s.kind])))
		segs[i].clustered = true
	}
	return segs
}

// searchColumns are the search columns of 0010, by kind of account.
var searchColumns = []struct{ kind, column string }{
	{"user", "user_search"},
	{"servicePrincipal", "service_principal_search"},
	{"managedIdentity", "managed_identity_search"},
}

// searchColumn is the search column of a kind of account.
func searchColumn(kind string) string {
	for _, c := range searchColumns {
		if c.kind == kind {
			return c.column
		}
	}
	return searchColumns[0].column // the CHECK of 0008 allows no other kind
}

// searchDensity is, by kind of account, the share of the accounts whose
// search column holds a term, estimated from the planner's statistics of
// the evaluation's partition: the histogram of each column, about a hundred
// of its values. A kind without statistics (a partition autovacuum has not
// analysed yet) is missing.
type searchDensity map[string]float64

// searchDensitySQL reads a term's ($2) density in an evaluation's
// partition ($1).
const searchDensitySQL = `
	SELECT s.attname, count(*) FILTER (WHERE v LIKE lower($2)), count(*)
	FROM pg_stats s CROSS JOIN LATERAL unnest(s.histogram_bounds::text::text[]) v
	WHERE s.schemaname = current_schema() AND s.tablename = $1::name
	  AND s.attname IN ('user_search', 'service_principal_search', 'managed_identity_search')
	GROUP BY s.attname`

func scanSearchDensity(rows pgx.Rows) (searchDensity, error) {
	d := searchDensity{}
	for rows.Next() {
		var column string
		var hits, values int
		if err := rows.Scan(&column, &hits, &values); err != nil {
			return nil, err
		}
		for _, c := range searchColumns {
			if c.column == column {
				d[c.kind] = float64(hits) / float64(values)
			}
		}
	}
	return d, rows.Err()
}

// queueSearchSettings queues the settings of a search's queries. Go shapes
// them (searchBroad, walks): their plans need not be made again for each
// term (a custom plan costs more than the query), and reading up to the
// count limit is no work for parallel workers.
func queueSearchSettings(b *pgx.Batch) {
	b.Queue(`SET LOCAL plan_cache_mode = force_generic_plan`)
	b.Queue(`SET LOCAL max_parallel_workers_per_gather = 0`)
}

// searchBroad reports whether a term's matches are best found by reading
// accounts in turn until the count limit is passed rather than through the
// trigram index: when the index cannot serve it (no trigram to look up, so
// it would return every account), or when more than one account in ten
// holds it, where reading the limit's matches costs less than the index's
// bitmap of all of them and the rows of the limit's worth.
func searchBroad(term string, d searchDensity, stored []accountCell) bool {
	if !hasTrigram(term) {
		return true
	}
	var accounts, matches float64
	for _, c := range stored {
		share, ok := d[c.kind]
		if !ok {
			return false
		}
		accounts += float64(c.n)
		matches += share * float64(c.n)
	}
	return matches*10 > accounts
}

// hasTrigram reports whether pg_trgm takes a trigram to look up from the
// pattern of a term (%term%), as its wildcard extraction does: from each
// word (a run of letters and digits), padded with two spaces in front
// unless it starts the term (a wildcard precedes it) and one behind unless
// it ends it.
func hasTrigram(term string) bool {
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	runes := []rune(term)
	for i := 0; i < len(runes); {
		if !word(runes[i]) {
			i++
			continue
		}
		j := i
		for j < len(runes) && word(runes[j]) {
			j++
		}
		padded := j - i
		if i > 0 {
			padded += 2
		}
		if j < len(runes) {
			padded++
		}
		if padded >= 3 {
			return true
		}
		i = j
	}
	return false
}

// accountSearches is the process's searchCache: about 100,000 matches of
// recent searches, some 11 MB.
var accountSearches = newSearchCache(100_000)

// searchCache keeps the results of recent searches. An evaluation's
// accounts never change once written, so an entry, keyed by its database
// and evaluation, is never stale: the next evaluation has keys of its own,
// and the entries of the last one age out. The first request of a term
// pays for finding its matches; paging through them, changing the other
// filters, or asking again costs what the list without a search costs.
type searchCache struct {
	mu      sync.Mutex
	max     int                         // matches kept, at most
	matches int                         // matches kept
	entries map[searchKey]*list.Element // of *searchEntry
	recent  *list.List                  // most recently used first
}

type searchKey struct {
	db         *DB
	evaluation int64
	term, sort string
}

type searchEntry struct {
	key    searchKey
	result *searchResult
}

func newSearchCache(max int) *searchCache {
	return &searchCache{max: max, entries: map[searchKey]*list.Element{}, recent: list.New()}
}

func (c *searchCache) get(k searchKey) (*searchResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.recent.MoveToFront(e)
	return e.Value.(*searchEntry).result, true
}

// put keeps a result, and forgets the least recently used ones past max.
func (c *searchCache) put(k searchKey, r *searchResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.recent.PushFront(&searchEntry{key: k, result: r})
	c.matches += len(r.matches)
	for c.matches > c.max && c.recent.Len() > 1 {
		last := c.recent.Remove(c.recent.Back()).(*searchEntry)
		delete(c.entries, last.key)
		c.matches -= len(last.result.matches)
	}
}

// accountConds builds the conditions of a query with numbered parameters.
type accountConds struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *accountConds) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds a condition, its verbs replaced by placeholders of args.
func (w *accountConds) add(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = w.arg(a)
	}
	w.conds = append(w.conds, fmt.Sprintf(format, ph...))
}

func (w *accountConds) where() string { return strings.Join(w.conds, " AND ") }
