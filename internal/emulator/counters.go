package emulator

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// counters count what the emulator served, for test assertions and
// /_emulator/stats.
type counters struct {
	mu       sync.Mutex
	requests map[string]map[int]int64 // route pattern → status → requests

	throttled     atomic.Int64
	lowPriority   atomic.Int64
	faults        atomic.Int64
	objects       atomic.Int64
	resourceUnits atomic.Int64
	tokens        atomic.Int64
}

func newCounters() *counters { return &counters{requests: map[string]map[int]int64{}} }

// add counts one answered request. status 0 is a connection reset.
func (c *counters) add(pattern string, status, objects int) {
	c.objects.Add(int64(objects))
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.requests[pattern]
	if m == nil {
		m = map[int]int64{}
		c.requests[pattern] = m
	}
	m[status]++
}

// Stats is a snapshot of the emulator's counters.
type Stats struct {
	// Requests counts requests by route pattern (e.g. "/v1.0/users",
	// "/v1.0/servicePrincipals/{id}/owners"; "unmatched" for unknown paths;
	// requests inside a $batch under their own pattern too) and status
	// (0 for a connection reset).
	Requests map[string]map[int]int64 `json:"requests"`
	// Throttled counts 429s from the throttling model (not injected faults).
	Throttled int64 `json:"throttled"`
	// LowPriority counts requests marked x-ms-throttle-priority: low.
	LowPriority int64 `json:"lowPriority"`
	// Faults counts injected faults.
	Faults int64 `json:"faults"`
	// Objects counts objects served in lists.
	Objects int64 `json:"objects"`
	// ResourceUnits is what Graph requests cost under the throttling model's prices.
	ResourceUnits int64 `json:"resourceUnits"`
	// TokensIssued counts access tokens issued.
	TokensIssued int64 `json:"tokensIssued"`
	// Version is the tenant's current version (1, plus one per churn).
	Version uint64 `json:"version"`
	// LowerBound is LowerBound() at the time of the snapshot.
	LowerBound        time.Duration `json:"-"`
	LowerBoundSeconds float64       `json:"lowerBoundSeconds"`
}

// Count returns the requests counted for a pattern and status.
func (s Stats) Count(pattern string, status int) int64 { return s.Requests[pattern][status] }

// Total returns the requests counted for a pattern, whatever their status.
func (s Stats) Total(pattern string) int64 {
	var n int64
	for _, v := range s.Requests[pattern] {
		n += v
	}
	return n
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats {
	c := e.stats
	s := Stats{
		Throttled:     c.throttled.Load(),
		LowPriority:   c.lowPriority.Load(),
		Faults:        c.faults.Load(),
		Objects:       c.objects.Load(),
		ResourceUnits: c.resourceUnits.Load(),
		TokensIssued:  c.tokens.Load(),
		Version:       e.cur.Load().seq,
		LowerBound:    e.LowerBound(),
	}
	s.LowerBoundSeconds = s.LowerBound.Seconds()
	c.mu.Lock()
	defer c.mu.Unlock()
	s.Requests = make(map[string]map[int]int64, len(c.requests))
	for k, v := range c.requests {
		s.Requests[k] = maps.Clone(v)
	}
	return s
}

// ResetStats zeroes the counters.
func (e *Emulator) ResetStats() {
	c := e.stats
	c.mu.Lock()
	c.requests = map[string]map[int]int64{}
	c.mu.Unlock()
	for _, n := range []*atomic.Int64{&c.throttled, &c.lowPriority, &c.faults, &c.objects, &c.resourceUnits, &c.tokens} {
		n.Store(0)
	}
}
