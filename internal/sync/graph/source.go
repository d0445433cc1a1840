// Package graph is the Microsoft Graph source of Steward's sync: it lists a
// tenant's users, groups and memberships, directory roles, service
// principals and applications (with owners, app role assignments and
// federated credentials), Conditional Access policies and named locations,
// MFA registrations and sign-in activity through msgraph-sdk-go, and stages
// them, each with its raw JSON, in the run's sinks.
//
// It is the only package that imports msgraph-sdk-go (slow to compile) and
// azidentity (see CredentialFromEnv).
package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	"golang.org/x/sync/errgroup"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// Source fetches a tenant's directory from Microsoft Graph. It is safe for
// concurrent use; every run shares its throttling budgets, which are per app
// and tenant in Graph.
type Source struct {
	cfg     Config
	ep      endpoints
	adapter *msgraph.GraphRequestAdapter
	client  *msgraph.GraphBaseServiceClient
	limiter *limiter
}

var _ stsync.Source = (*Source)(nil)

// New builds a Source. It makes no request: credentials are first used by Fetch.
func New(cfg Config) (*Source, error) {
	cfg, ep, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lim := newLimiter(cfg)
	adapter, client, err := newClient(cfg, ep, lim)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return &Source{cfg: cfg, ep: ep, adapter: adapter, client: client, limiter: lim}, nil
}

// Name implements sync.Source.
func (s *Source) Name() string { return "graph" }

// Fetch implements sync.Source. Collections are fetched concurrently, the
// first error cancels the others and fails the run. In a delta run, users,
// groups (with memberships), service principals and applications are asked
// only for what changed since Request.DeltaLinks (falling back to a full
// listing when a link expired); owners, app role assignments and federated
// credentials are refreshed for the changed objects only; roles and
// Conditional Access are always listed whole (they are small); registration
// details and service principal sign-in activity, expensive and without a
// delta API, are skipped and get no Outcome, so what is stored stays.
func (s *Source) Fetch(ctx context.Context, req stsync.Request, sinks stsync.Sinks) ([]stsync.Outcome, error) {
	if req.TenantID != "" && s.cfg.TenantID != "" && !directory.SameID(req.TenantID, s.cfg.TenantID) {
		return nil, fmt.Errorf("graph: asked for tenant %s, but this source reads tenant %s", req.TenantID, s.cfg.TenantID)
	}
	if req.Mode == "" {
		req.Mode = stsync.Full
	}
	r := newRun(s, req, sinks)
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	var outcomes []stsync.Outcome
	job := func(f func(context.Context) ([]stsync.Outcome, error)) {
		g.Go(func() error {
			out, err := f(gctx)
			if err != nil {
				return err
			}
			mu.Lock()
			outcomes = append(outcomes, out...)
			mu.Unlock()
			return nil
		})
	}
	job(r.users)
	job(r.groups)
	job(r.roles)
	job(r.applications)
	job(r.policies)
	job(r.signIns)
	if req.Mode != stsync.Delta {
		job(r.registrations)
		job(r.servicePrincipalSignInActivities)
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	order := make(map[directory.Collection]int, len(directory.AllCollections))
	for i, c := range directory.AllCollections {
		order[c] = i
	}
	slices.SortFunc(outcomes, func(a, b stsync.Outcome) int { return cmp.Compare(order[a.Collection], order[b.Collection]) })
	s.cfg.Log.Info("graph: fetched", slog.String("tenant_id", req.TenantID), slog.String("mode", string(req.Mode)),
		slog.Int("collections", len(outcomes)), slog.Duration("elapsed", time.Since(began)))
	return outcomes, nil
}

// run is one Fetch.
type run struct {
	s        *Source
	req      stsync.Request
	progress stsync.Progress
	sinks    stsync.Sinks

	mu     sync.Mutex
	locked map[directory.Collection]*lockedSink
}

func newRun(s *Source, req stsync.Request, sinks stsync.Sinks) *run {
	p := req.Progress
	if p == nil {
		p = nopProgress{}
	}
	return &run{s: s, req: req, progress: p, sinks: sinks, locked: map[directory.Collection]*lockedSink{}}
}

// delta reports whether the run is a delta run.
func (r *run) delta() bool { return r.req.Mode == stsync.Delta }

// sink returns the run's sink of a collection. Sinks are not required to be
// safe for concurrent use, and owners are filled by two goroutines (service
// principals and applications) and batch workers: every call is serialised.
func (r *run) sink(c directory.Collection) stsync.Sink {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.locked[c]; ok {
		return s
	}
	s := &lockedSink{inner: r.sinks.Sink(c), coll: c, progress: r.progress}
	r.locked[c] = s
	return s
}

// lockedSink serialises a sink and counts what is put in it.
type lockedSink struct {
	mu       sync.Mutex
	inner    stsync.Sink
	coll     directory.Collection
	progress stsync.Progress
}

func (l *lockedSink) Put(o directory.Object) error {
	l.mu.Lock()
	err := l.inner.Put(o)
	l.mu.Unlock()
	if err == nil {
		l.progress.Fetched(l.coll, 1)
	}
	return err
}

func (l *lockedSink) Remove(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.Remove(key)
}

func (l *lockedSink) Scope(parent string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inner.Scope(parent)
}

type nopProgress struct{}

func (nopProgress) Fetched(directory.Collection, int) {}
func (nopProgress) Requested(directory.Collection)    {}

// permissions says what a collection needs, for NotCaptured reasons.
var permissions = map[directory.Collection]string{
	directory.Users:                            "User.Read.All",
	directory.Groups:                           "GroupMember.Read.All",
	directory.GroupMembers:                     "GroupMember.Read.All",
	directory.RoleDefinitions:                  "RoleManagement.Read.Directory",
	directory.RoleAssignments:                  "RoleManagement.Read.Directory",
	directory.ServicePrincipals:                "Application.Read.All",
	directory.Applications:                     "Application.Read.All",
	directory.AppRoleAssignments:               "Application.Read.All",
	directory.Owners:                           "Application.Read.All",
	directory.ConditionalAccessPolicies:        "Policy.Read.All",
	directory.NamedLocations:                   "Policy.Read.All",
	directory.RegistrationDetails:              "AuditLog.Read.All and Entra ID P1/P2",
	directory.SignIns:                          "AuditLog.Read.All, Directory.Read.All and Entra ID P1/P2",
	directory.ServicePrincipalSignInActivities: "AuditLog.Read.All and Entra ID P1/P2",
}

// notCaptured is the Outcome of a collection Graph refused with a 403.
func (r *run) notCaptured(c directory.Collection, err error) stsync.Outcome {
	reason := "Graph refused access"
	if re, ok := asRequestError(err); ok {
		reason = fmt.Sprintf("Graph answered %d", re.Status)
		if re.Code != "" {
			reason += " " + re.Code
		}
		if re.Message != "" {
			reason += ": " + re.Message
		}
	}
	if p := permissions[c]; p != "" {
		reason += " (needs " + p + ")"
	}
	r.s.cfg.Log.Warn("graph: collection not captured", slog.String("collection", string(c)), slog.String("reason", reason))
	return stsync.Outcome{Collection: c, NotCaptured: true, Reason: reason}
}

// scope declares a parent's children listed completely, in a delta run
// where only some parents' children are listed.
func (r *run) scope(c directory.Collection, parent string) error {
	if !r.delta() {
		return nil
	}
	return r.sink(c).Scope(parent)
}

// deltaRound is what a delta query walk produced.
type deltaRound struct {
	link string
	full bool // the round listed everything (a first round)
}

// runDelta walks coll's delta query: from the stored link in a delta run, or
// from scratch (first) in a full run or when the stored link has expired,
// after calling reset so the caller can drop what the partial walk gave.
// onItem gets each present object, onRemoved each removed id.
func (r *run) runDelta(ctx context.Context, coll directory.Collection, first func() (*absRequest, error),
	onItem func(raw []byte, desc string) error, onRemoved func(id string) error, reset func()) (deltaRound, error) {
	if link := r.req.DeltaLinks[coll]; r.delta() && link != "" {
		info, err := linkRequest(link)
		if err != nil {
			err = fmt.Errorf("%w: %v", errBadLink, err)
		} else {
			var next string
			if next, err = r.walkDelta(ctx, coll, info, onItem, onRemoved); err == nil {
				return deltaRound{link: next}, nil
			}
		}
		if !isExpiredDelta(err) && !errors.Is(err, errBadLink) {
			return deltaRound{}, err
		}
		r.s.cfg.Log.Warn("graph: delta link unusable, listing the collection in full", slog.String("collection", string(coll)),
			slog.String("error", err.Error()))
		reset()
	}
	info, err := first()
	if err != nil {
		return deltaRound{}, err
	}
	next, err := r.walkDelta(ctx, coll, info, onItem, onRemoved)
	return deltaRound{link: next, full: true}, err
}

// errBadLink marks a stored delta link that is not a URL.
var errBadLink = errors.New("the stored delta link is not a URL")

// walkDelta walks one delta round and returns its new delta link.
func (r *run) walkDelta(ctx context.Context, coll directory.Collection, info *absRequest,
	onItem func(raw []byte, desc string) error, onRemoved func(id string) error) (string, error) {
	link, err := r.walk(ctx, coll, info, cost{classRU, 1}, func(items []json.RawMessage, desc string) error {
		for _, raw := range items {
			id, removed, err := itemHead(raw)
			if err != nil {
				return objectError(coll, desc, err)
			}
			if removed {
				err = onRemoved(id)
			} else {
				err = onItem(raw, desc)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && link == "" {
		return "", &RequestError{Collection: coll, Request: describe(info), Message: "the delta query ended without a delta link"}
	}
	return link, err
}
