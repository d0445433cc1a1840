package store

import "sync"

// accountCounts is the process's countsCache.
var accountCounts = &countsCache{entries: map[countsKey][]accountCell{}}

// countsCache keeps the exposure_account_counts rows of recent evaluations.
// They are written once, in the transaction that makes an evaluation
// current (0009's trigger), and never change after: an entry, keyed by its
// database and evaluation, is never stale. Every accounts list request
// needs them; reading and decoding a few hundred rows with their finding
// arrays was an eighth of the server's time per request.
type countsCache struct {
	mu      sync.Mutex
	entries map[countsKey][]accountCell
}

// countsCacheMax is how many evaluations the cache keeps: one current per
// tenant, and the few it replaced that requests begun before may still read.
const countsCacheMax = 32

type countsKey struct {
	db         *DB // keeps the DB alive, so its address is not reused meanwhile
	evaluation int64
}

// get returns the cells of an evaluation. Callers must not modify them.
func (c *countsCache) get(k countsKey) ([]accountCell, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cells, ok := c.entries[k]
	return cells, ok
}

// put keeps the cells of an evaluation; past countsCacheMax it forgets the
// oldest evaluation (ids only grow: the oldest is the least likely current).
func (c *countsCache) put(k countsKey, cells []accountCell) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[k] = cells
	for len(c.entries) > countsCacheMax {
		var oldest countsKey
		first := true
		for e := range c.entries {
			if first || e.evaluation < oldest.evaluation {
				oldest, first = e, false
			}
		}
		delete(c.entries, oldest)
	}
}
