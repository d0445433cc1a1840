package store

import (
	"strconv"
	"testing"
)

// Results that keep no matches (broad searches) still weigh something:
// distinct terms cannot grow the cache without bound.
func TestSearchCacheForgetsBroadSearches(t *testing.T) {
	c := newSearchCache(100)
	for i := range 1000 {
		c.put(searchKey{evaluation: 1, term: "term" + strconv.Itoa(i), sort: "name"}, &searchResult{over: true})
	}
	if n := len(c.entries); n > 100/searchEntryCost {
		t.Fatalf("%d entries kept, want at most %d", n, 100/searchEntryCost)
	}
	if _, ok := c.get(searchKey{evaluation: 1, term: "term999", sort: "name"}); !ok {
		t.Fatal("the most recent search was forgotten")
	}
	if _, ok := c.get(searchKey{evaluation: 1, term: "term0", sort: "name"}); ok {
		t.Fatal("the oldest search is still kept")
	}
}

// A result bigger than the whole cache is kept alone, until the next.
func TestSearchCacheKeepsMostRecent(t *testing.T) {
	c := newSearchCache(10)
	big := &searchResult{matches: make([]searchMatch, 50)}
	c.put(searchKey{term: "a"}, big)
	if _, ok := c.get(searchKey{term: "a"}); !ok {
		t.Fatal("an oversized result was not kept")
	}
	c.put(searchKey{term: "b"}, &searchResult{})
	if _, ok := c.get(searchKey{term: "a"}); ok || c.cost != searchEntryCost {
		t.Fatalf("the oversized result is still kept (cost %d)", c.cost)
	}
}

// The counts of a tenant whose evaluation is older than many others' stay
// kept while they are used.
func TestCountsCacheKeepsWhatIsUsed(t *testing.T) {
	c := &countsCache{entries: map[countsKey]*countsEntry{}}
	quiet := countsKey{evaluation: 1}
	c.put(quiet, []accountCell{{n: 1}})
	for i := range 10 * countsCacheMax {
		c.put(countsKey{evaluation: int64(100 + i)}, nil)
		if _, ok := c.get(quiet); !ok {
			t.Fatalf("the counts of evaluation 1, used after every put, were forgotten after %d puts", i+1)
		}
	}
	if len(c.entries) != countsCacheMax {
		t.Errorf("%d entries kept, want %d", len(c.entries), countsCacheMax)
	}
	if _, ok := c.get(countsKey{evaluation: 100}); ok {
		t.Error("the least recently used counts are still kept")
	}
}
