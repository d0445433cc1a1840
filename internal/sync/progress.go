package sync

import (
	gosync "sync"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// tracker counts what sources fetch, per collection, for progress bars and
// the run record. It implements Progress.
type tracker struct {
	mu        gosync.Mutex
	started   time.Time
	resources map[string]store.ResourceStatus
	began     map[directory.Collection]time.Time
}

func newTracker() *tracker {
	return &tracker{started: time.Now(), resources: map[string]store.ResourceStatus{}, began: map[directory.Collection]time.Time{}}
}

func (t *tracker) touch(c directory.Collection) store.ResourceStatus {
	r, ok := t.resources[string(c)]
	if !ok {
		r.Status = "running"
		t.began[c] = time.Now()
	}
	return r
}

// Fetched implements Progress.
func (t *tracker) Fetched(c directory.Collection, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.touch(c)
	r.Fetched += n
	r.DurationMS = time.Since(t.began[c]).Milliseconds()
	t.resources[string(c)] = r
}

// Requested implements Progress.
func (t *tracker) Requested(c directory.Collection) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.touch(c)
	r.Requests++
	t.resources[string(c)] = r
}

// update changes one collection's record under the lock.
func (t *tracker) update(c directory.Collection, fn func(r *store.ResourceStatus)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.touch(c)
	fn(&r)
	t.resources[string(c)] = r
}

// snapshot returns a copy of every collection's record.
func (t *tracker) snapshot() map[string]store.ResourceStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]store.ResourceStatus, len(t.resources))
	for k, v := range t.resources {
		out[k] = v
	}
	return out
}

// noProgress is the Progress of callers that do not care.
type noProgress struct{}

func (noProgress) Fetched(directory.Collection, int) {}
func (noProgress) Requested(directory.Collection)    {}
