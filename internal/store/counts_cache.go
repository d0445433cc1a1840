package store

import "sync"

// accountCounts is the process's countsCache.
var accountCounts = &countsCache{entries: map[countsKey]*countsEntry{}}

// countsCache keeps the exposure_account_counts rows of recent evaluations.
// They are written once, in the transaction that makes an evaluation
// current (the trigger of 0009, given facet_key by 0010), and never change
// after: an entry, keyed by its database and evaluation, is never stale.
// Every accounts list request needs them; reading and decoding a few
// hundred rows with their finding arrays was an eighth of the server's time
// per request.
type countsCache struct {
	mu      sync.Mutex
	entries map[countsKey]*countsEntry
	clock   uint64 // counts uses, for least recently used
}

type countsEntry struct {
	cells []accountCell
	used  uint64 // the clock when last used
}

// countsCacheMax is how many evaluations the cache keeps (a few hundred
// small rows each): the current ones of as many tenants, and the ones they
// replaced, which age out.
const countsCacheMax = 64

type countsKey struct {
	db         *DB // keeps the DB alive, so its address is not reused meanwhile
	evaluation int64
}

// get returns the cells of an evaluation. Callers must not modify them.
func (c *countsCache) get(k countsKey) ([]accountCell, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.clock++
	e.used = c.clock
	return e.cells, true
}

// put keeps the cells of an evaluation; past countsCacheMax it forgets the
// least recently used (a scan of 64 entries, once per new evaluation).
func (c *countsCache) put(k countsKey, cells []accountCell) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	c.entries[k] = &countsEntry{cells: cells, used: c.clock}
	for len(c.entries) > countsCacheMax {
		var lru countsKey
		oldest := c.clock + 1
		for k, e := range c.entries {
			if e.used < oldest {
				lru, oldest = k, e.used
			}
		}
		delete(c.entries, lru)
	}
}
