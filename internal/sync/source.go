// Package sync brings a tenant's data into Steward: sources (Microsoft Graph,
// Power Platform, snapshot import) fill per-collection sinks that stage rows in
// PostgreSQL, and the runner applies a run's staged data in one transaction
// only when every source finished, so a failed or cancelled run changes nothing.
//
// The Graph source lives in internal/sync/graph (the only package that imports
// msgraph-sdk-go, which is slow to compile) and the Power Platform source in
// internal/sync/powerplatform; cmd/server wires them into a Runner.
package sync

import (
	"context"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Mode says how much a run fetches.
type Mode string

const (
	// Full lists every collection completely; objects not listed are soft-deleted.
	Full Mode = "full"
	// Delta asks Graph only for what changed since the stored delta links
	// (users, groups with members, service principals, applications) and
	// refreshes the cheap collections; collections without a delta API that are
	// expensive to list may be left for the next full run.
	Delta Mode = "delta"
)

// Sink receives the objects of one collection during a run. Objects must carry
// their source JSON (directory.Object.RawJSON); it is what Steward stores.
type Sink interface {
	// Put stages an object seen in this run (new, changed or unchanged).
	Put(o directory.Object) error
	// Remove stages the removal of the object with this key, as a delta
	// query's "@removed" reports it.
	Remove(key string) error
	// Scope declares that the children of this parent (the members of a group,
	// the owners of a service principal, the permissions of a flow) were listed
	// completely in this run: children of the parent not Put are removed. Used
	// when a run lists the children of some parents only (a delta run).
	Scope(parentKey string) error
}

// Sinks gives a source the sink of each collection it fills.
type Sinks interface {
	Sink(c directory.Collection) Sink
}

// Outcome is what a source reports for one collection it was asked for.
type Outcome struct {
	Collection directory.Collection
	// Complete means the listing was complete: objects of the collection that
	// were not Put in this run are gone and will be soft-deleted.
	Complete bool
	// DeltaLink, when set, is stored in the same transaction as the data it
	// covers and handed back in the next run's Request.DeltaLinks.
	DeltaLink string
	// NotCaptured means the source cannot see this collection (no permission,
	// no licence, not configured): nothing stored changes. Reason says why.
	NotCaptured bool
	// Skipped means the source chose not to fetch the collection in this run
	// (a delta run leaving an expensive listing to full runs): nothing stored
	// changes. Reason says why.
	Skipped bool
	Reason  string
}

// Request is what a source is asked to fetch in one run.
type Request struct {
	TenantID string
	Mode     Mode
	// DeltaLinks are the links stored by the last successful run, by collection.
	// A source that cannot use one (expired) falls back to a full listing.
	DeltaLinks map[directory.Collection]string
	// SignInsSince bounds the sign-in log window.
	SignInsSince time.Time
	// Progress is told what is fetched, for progress bars and the sync page.
	Progress Progress
}

// Progress receives counts as a source fetches. Implementations are safe for
// concurrent use; sources call it from several goroutines.
type Progress interface {
	// Fetched adds n objects fetched for collection c.
	Fetched(c directory.Collection, n int)
	// Requested counts one HTTP request made for collection c.
	Requested(c directory.Collection)
}

// Source fetches some collections of a tenant.
type Source interface {
	// Name identifies the source in logs and run records ("graph", "powerplatform", "snapshot").
	Name() string
	// Fetch fills sinks for the collections it covers and returns one Outcome
	// per collection. An error fails the whole run: nothing it staged is applied.
	Fetch(ctx context.Context, req Request, sinks Sinks) ([]Outcome, error)
}

// TokenProvider returns an access token for a scope, such as
// "https://service.flow.microsoft.com//.default". The Graph package adapts an
// azidentity credential to it for the Power Platform source.
type TokenProvider interface {
	Token(ctx context.Context, scope string) (string, error)
}
