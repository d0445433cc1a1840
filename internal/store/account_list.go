package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	tx, err := db.beginRead(ctx)
	if err != nil {
		return out, err
	}
	defer tx.close(ctx)

	var b pgx.Batch
	b.Queue(`
		SELECT e.id, e.evaluated_at
		FROM exposure_current c JOIN exposure_evaluations e ON e.id = c.evaluation_id
		WHERE c.tenant_id = lower($1)`, tenantID).QueryRow(func(row pgx.Row) error {
		return row.Scan(&out.EvaluationID, &out.EvaluatedAt)
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return out, mapError(err, "evaluation of tenant "+tenantID)
	}
	stored, err := db.accountCells(ctx, tx, out.EvaluationID)
	if err != nil {
		return out, err
	}
	if f.Search != nil {
		err = db.searchAccounts(ctx, tx, &out, f, stored)
	} else {
		tx.commitWithNext = true // the page is listAccounts' one batch, if any
		err = listAccounts(ctx, tx, &out, f, stored)
	}
	if err != nil {
		return out, err
	}
	return out, mapError(tx.Commit(ctx), "commit")
}

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
func listAccounts(ctx context.Context, tx *readTx, out *AccountList, f AccountListFilter, stored []accountCell) error {
	var segs []accountSegment
	out.Total, out.Facets, segs = countAccounts(stored, f)
	if out.Total == 0 {
		return nil
	}
	sizeSegments(segs, stored, f)
	return readAccountPage(ctx, tx, out, f, segs)
}

// readAccountPage reads the page of accountPageQuery into out.
func readAccountPage(ctx context.Context, tx *readTx, out *AccountList, f AccountListFilter, segs []accountSegment) error {
	pageSQL, pageArgs, walks := accountPageQuery(out.EvaluationID, f, segs)
	var pb pgx.Batch
	if f.Search != nil {
		queueSearchSettings(&pb)
	} else {
		// Go has chosen the query's shape from the counts (walk or gather,
		// segment by segment), which is most of what a custom plan would
		// weigh; planning it afresh was most of the database's time for a
		// page (0.7 ms of 1.1 ms).
		pb.Queue(genericPlans)
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

// accountCells returns the exposure_account_counts rows of an evaluation,
// from accountCounts when they were read before.
func (db *DB) accountCells(ctx context.Context, tx *readTx, evalID int64) ([]accountCell, error) {
	key := countsKey{db: db, evaluation: evalID}
	if cells, ok := accountCounts.get(key); ok {
		return cells, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT sa_level, kind, exposure, is_privileged, owns_flows, finding_codes, facet_key, accounts
		FROM exposure_account_counts WHERE evaluation_id = $1`, evalID)
	if err != nil {
		return nil, mapError(err, "account counts")
	}
	cells, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (c accountCell, err error) {
		err = row.Scan(&c.level, &c.kind, &c.exposure, &c.privileged, &c.ownsFlows, &c.findings, &c.key, &c.n)
		return c, err
	})
	if err != nil {
		return nil, mapError(err, "account counts")
	}
	accountCounts.put(key, cells)
	return cells, nil
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

// exposureLevels are the exposure levels an evaluation stores.
var exposureLevels = []string{"exposed", "partial", "protected", "notApplicable"}

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
// Values the evaluation never stores are left out (they match nothing; none
// at all gives the empty range 3..0), not ranked with notApplicable.
func exposureRanks(levels []string) (lo, hi int, ranks []int) {
	lo, hi = 3, 0
	for _, l := range levels {
		if !slices.Contains(exposureLevels, l) {
			continue
		}
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
	// The evaluation as a literal: its partition is pruned when the plan is
	// made, so the plan can be generic (readAccountPage), made once per
	// connection and evaluation rather than on every request.
	w.conds = append(w.conds, "evaluation_id = "+strconv.FormatInt(evalID, 10))
	// The filters as literals too: a generic plan cannot see a parameter's
	// value, and costed, say, is_privileged = $1 as half the accounts.
	if f.Exposures != nil {
		if f.Sort == AccountSortExposure {
			// As ranks: the walk of the exposure index reads only their range.
			lo, hi, ranks := exposureRanks(f.Exposures)
			w.conds = append(w.conds, "exposure_rank BETWEEN "+strconv.Itoa(lo)+" AND "+strconv.Itoa(hi))
			if hi-lo+1 > len(ranks) {
				in := make([]string, len(ranks))
				for i, r := range ranks {
					in[i] = strconv.Itoa(r)
				}
				w.conds = append(w.conds, "exposure_rank IN ("+strings.Join(in, ", ")+")")
			}
		} else {
			w.conds = append(w.conds, "exposure IN ("+w.literals(f.Exposures...)+")")
		}
	}
	if f.Finding != nil {
		w.conds = append(w.conds, "finding_codes @> ARRAY["+w.literals(*f.Finding)+"]::text[]")
	}
	if f.Privileged != nil {
		w.conds = append(w.conds, "is_privileged = "+strconv.FormatBool(*f.Privileged))
	}
	if f.OwnsFlows != nil {
		w.conds = append(w.conds, "owns_flows = "+strconv.FormatBool(*f.OwnsFlows))
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
		cond := "sa_level = " + w.literals(s.level) + " AND kind = " + w.literals(s.kind)
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

// accountConds builds the conditions of a query: literals, and numbered
// parameters for what a literal cannot hold safely (cursors, search terms).
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

// literals writes strings as SQL literals, separated by commas. A string
// that quoting alone cannot make safe whatever standard_conforming_strings
// says (a backslash; NUL, which text cannot hold anyway) becomes a
// parameter instead.
func (w *accountConds) literals(vs ...string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if strings.ContainsAny(v, "\\\x00") {
			out[i] = w.arg(v) + "::text"
		} else {
			out[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
	}
	return strings.Join(out, ", ")
}

func (w *accountConds) where() string { return strings.Join(w.conds, " AND ") }
