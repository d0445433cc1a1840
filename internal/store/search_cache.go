package store

import (
	"container/list"
	"sync"
)

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
	max     int                         // cost kept, at most (searchResult.cost)
	cost    int                         // cost kept
	entries map[searchKey]*list.Element // of *searchEntry
	recent  *list.List                  // most recently used first
}

type searchKey struct {
	db         *DB
	evaluation int64
	term, sort string
}

// searchEntryCost is what an entry itself weighs, in matches (about 110
// bytes each): its key, term, density and list element. Without it the
// entries of broad searches, which keep no matches, would never be
// forgotten, and distinct terms could grow the cache without bound.
const searchEntryCost = 8

// cost is what a result weighs in the cache, in matches.
func (r *searchResult) cost() int { return len(r.matches) + searchEntryCost }

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
	c.cost += r.cost()
	for c.cost > c.max && c.recent.Len() > 1 {
		last := c.recent.Remove(c.recent.Back()).(*searchEntry)
		delete(c.entries, last.key)
		c.cost -= last.result.cost()
	}
}
