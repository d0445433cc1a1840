package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
)

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
func (db *DB) searchAccounts(ctx context.Context, tx *readTx, out *AccountList, f AccountListFilter, stored []accountCell) error {
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

// likePattern is the LIKE pattern of a substring: LIKE's wildcards and its
// escape character in s are quoted. The SQL lower-cases it, as ILIKE would.
func likePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
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
func findMatches(ctx context.Context, tx *readTx, evalID int64, f AccountListFilter, stored []accountCell) (*searchResult, error) {
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
func (r *searchResult) start(ctx context.Context, tx *readTx, after *AccountCursor) (int, error) {
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
func readMatches(ctx context.Context, tx *readTx, out *AccountList, f AccountListFilter, matches []searchMatch) error {
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
	for _, c := range stored {
		if n := counts[c.key]; n > 0 {
			c.n = n
			cells = append(cells, c)
		}
	}
	if len(cells) != len(counts) {
		return nil, fmt.Errorf("%d facet keys of the search's matches are not in the evaluation's counts", len(counts)-len(cells))
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
	b.Queue(genericPlans)
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
