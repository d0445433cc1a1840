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
