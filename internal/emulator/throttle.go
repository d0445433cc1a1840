package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The throttling model of GRAPH.md §12, as token buckets that start full:
//   - identity resources: resource units per app and tenant, refilled at the
//     10-second limit Graph sets by tenant size; each request costs its
//     route's units, one less with $select, one more with $expand, at least 1;
//   - Conditional Access policies and named locations: requests per tenant
//     (1 per second), answered 429 without Retry-After as Graph does;
//   - sign-in logs: 5 requests per 10 s per app and tenant.
// Requests marked x-ms-throttle-priority: low are counted but treated alike.

type bucket struct {
	tokens float64
	last   time.Time
}

type throttler struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newThrottler() *throttler { return &throttler{buckets: map[string]*bucket{}} }

// take spends cost from a bucket of the given capacity refilled at rate per
// second. It reports whether the request may go, how long to wait when not,
// and the share of the capacity in use afterwards.
func (t *throttler) take(key string, cost, capacity, rate float64, now time.Time) (ok bool, wait time.Duration, used float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		t.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(capacity, b.tokens+elapsed*rate)
		b.last = now
	}
	if b.tokens < cost {
		return false, time.Duration((cost - b.tokens) / rate * float64(time.Second)), 1 - b.tokens/capacity
	}
	b.tokens -= cost
	return true, 0, 1 - b.tokens/capacity
}

// resourceUnitLimit is the RU budget per 10 s of an app in a tenant.
func resourceUnitLimit(th Throttle, users int) float64 {
	switch {
	case th.ResourceUnitsPer10s > 0:
		return float64(th.ResourceUnitsPer10s)
	case users < 50:
		return 3500
	case users <= 500:
		return 5000
	}
	return 8000
}

func caRate(th Throttle) float64 {
	if th.CARequestsPerSecond > 0 {
		return th.CARequestsPerSecond
	}
	return 1
}

func signInsPer10s(th Throttle) float64 {
	if th.SignInRequestsPer10s > 0 {
		return float64(th.SignInRequestsPer10s)
	}
	return 5
}

// cost is the call's price in resource units.
func (c *call) cost() int {
	n := c.route.cost
	sel, expand := c.q.hasSelect, c.q.expand != ""
	if c.q.skipToken != "" || c.q.deltaToken != "" {
		// A next link carries the first request's options in its token.
		tok := c.q.skipToken
		if tok == "" {
			tok = c.q.deltaToken
		}
		if st, ok := c.e.decodeToken(tok); ok {
			sel, expand = st.Select != "", st.Expand != ""
		}
	}
	if sel {
		n--
	}
	if expand {
		n++
	}
	return max(n, 1)
}

// limit applies the throttling model to a call, returning the 429 to answer
// when a limit is reached.
func (e *Emulator) limit(c *call, cost int) *response {
	th := e.settings.Load().throttle
	if !th.Enabled || c.route.class == classNone {
		return nil
	}
	tid := c.t.info.ID
	tooMany := func(retry time.Duration, withRetry bool) *response {
		e.stats.throttled.Add(1)
		resp := c.fail(errorf(http.StatusTooManyRequests, "TooManyRequests", "Too many requests. Please try again later."))
		if withRetry {
			resp.header.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retry.Seconds())))))
		}
		return resp
	}
	switch c.route.class {
	case classRU:
		limit := resourceUnitLimit(th, c.t.userCount())
		ok, wait, used := e.throttle.take("ru|"+c.app+"|"+tid, float64(cost), limit, limit/10, c.now)
		if !ok {
			resp := tooMany(wait, true)
			resp.header.Set("x-ms-throttle-scope", fmt.Sprintf("Tenant_Application/ReadWrite/%s/%s", c.app, tid))
			resp.header.Set("x-ms-throttle-information", "ResourceUnitLimitExceeded")
			return resp
		}
		if used > 0.8 {
			c.throttlePercentage = strconv.FormatFloat(used, 'f', 2, 64)
		}
	case classCA:
		rate := caRate(th)
		if ok, _, _ := e.throttle.take("ca|"+tid, 1, math.Max(1, rate), rate, c.now); !ok {
			return tooMany(0, false)
		}
	case classSignIns:
		n := signInsPer10s(th)
		if ok, wait, _ := e.throttle.take("signins|"+c.app+"|"+tid, 1, n, n/10, c.now); !ok {
			return tooMany(wait, true)
		}
	}
	return nil
}
