package graph

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Graph throttles per app and tenant (GRAPH.md §12): identity resources by
// resource units per 10 s, Conditional Access at 1 request/s per tenant (with
// 429s that carry no Retry-After), sign-in logs at 5 requests per 10 s. The
// source paces itself below those budgets instead of learning them from 429s:
// a 429 costs a round trip and, for Conditional Access, a blind back-off.

// class is the budget a request spends.
type class int

const (
	classNone    class = iota // the $batch envelope: its inner requests pay
	classRU                   // resource units
	classCA                   // Conditional Access requests
	classSignIns              // sign-in log requests
)

// pacingMargin keeps the client slightly under each budget: the server's
// bucket and ours do not start at the same instant, and a request sent on
// time can arrive early after a slower one. 5% was enough for no 429 in
// the throttled benchmarks (docs/BENCHMARKS.md); a 429 is retried anyway.
const pacingMargin = 0.95

// bucket is a token bucket that lends: a request takes its tokens at once
// and waits until the balance is back to zero, so waiters are served in
// arrival order and a large request never starves behind small ones.
type bucket struct {
	mu       sync.Mutex
	capacity float64
	rate     float64 // tokens per second
	tokens   float64
	last     time.Time
}

func newBucket(capacity, rate float64) *bucket {
	return &bucket{capacity: capacity, rate: rate, tokens: capacity, last: time.Now()}
}

// wait takes n tokens, waiting until they are earned or ctx is done.
func (b *bucket) wait(ctx context.Context, n float64) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= min(n, b.capacity)
	deficit := -b.tokens
	b.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / b.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// limiter holds the source's budgets; every request of every run of the
// source spends from it.
type limiter struct {
	ru, ca, signIns *bucket
}

func newLimiter(c Config) *limiter {
	ru := float64(c.ResourceUnitsPer10s)
	si := float64(c.SignInRequestsPer10s)
	return &limiter{
		ru:      newBucket(ru, ru/10*pacingMargin),
		ca:      newBucket(max(1, c.ConditionalAccessPerSecond), c.ConditionalAccessPerSecond*pacingMargin),
		signIns: newBucket(si, si/10*pacingMargin),
	}
}

// wait spends n units of a class.
func (l *limiter) wait(ctx context.Context, c class, n int) error {
	switch c {
	case classRU:
		return l.ru.wait(ctx, float64(n))
	case classCA:
		return l.ca.wait(ctx, float64(n))
	case classSignIns:
		return l.signIns.wait(ctx, float64(n))
	}
	return nil
}

// cost is what a request spends: its class and, for resource units, how many.
type cost struct {
	class class
	units int
}

// costOf prices a Graph request by its path (relative to the version root,
// e.g. /servicePrincipals/{id}/appRoleAssignments) and whether it selects or
// expands, with GRAPH.md §12's table: users and applications 2, group members
// 3, transitive members 5, app role assignments 2, others 1; $select −1,
// $expand +1, at least 1. Delta queries cost 1 whatever they list.
func costOf(path string, selected, expanded bool) cost {
	p := strings.ToLower(strings.Trim(path, "/"))
	switch {
	case strings.HasPrefix(p, "identity/conditionalaccess/"):
		return cost{classCA, 1}
	case strings.HasPrefix(p, "auditlogs/signins"):
		return cost{classSignIns, 1}
	case p == "$batch":
		return cost{classNone, 0}
	}
	units := 1
	last := p[strings.LastIndexByte(p, '/')+1:]
	switch {
	case strings.HasSuffix(p, "/delta"):
		units = 1
	case p == "users" || p == "applications":
		units = 2
	case last == "members":
		units = 3
	case last == "transitivemembers":
		units = 5
	case last == "approleassignments" || last == "approleassignedto":
		units = 2
	}
	if selected {
		units--
	}
	if expanded {
		units++
	}
	return cost{classRU, max(units, 1)}
}
