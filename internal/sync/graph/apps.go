package graph

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"golang.org/x/sync/errgroup"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

var (
	spFields = []string{"id", "appId", "displayName", "servicePrincipalType", "appOwnerOrganizationId", "accountEnabled",
		"passwordCredentials", "keyCredentials", "tags", "appRoles", "signInAudience"}
	appFields = []string{"id", "appId", "displayName", "createdDateTime", "signInAudience", "passwordCredentials",
		"keyCredentials"}
	araFields = []string{"id", "principalId", "principalType", "principalDisplayName", "resourceId",
		"resourceDisplayName", "appRoleId", "createdDateTime"}
	ownerFields = []string{"id"} // directory object lists carry @odata.type, which says the owner's kind
)

// federatedCredentials is the application property SNAPSHOT.md keeps inline;
// Graph serves it at its own path.
const federatedCredentials = "federatedIdentityCredentials"

// appsPart is what one of the service principal and application walks
// produced, for the outcomes they share (owners).
type appsPart struct {
	outcomes   []stsync.Outcome
	ownersFull bool
	ownersErr  error // a 403 on owners
}

// applications fetches service principals and applications, each with a
// first delta round in a full run (it lists everything and yields the delta
// link) or from their delta links in a delta run, then their owners, the
// service principals' app role assignments and the applications' federated
// credentials, per object through $batch, for the objects listed.
func (r *run) applications(ctx context.Context) ([]stsync.Outcome, error) {
	var sp, app appsPart
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { sp, err = r.servicePrincipals(gctx); return err })
	g.Go(func() (err error) { app, err = r.apps(gctx); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := append(sp.outcomes, app.outcomes...)
	switch {
	case sp.ownersErr != nil:
		out = append(out, r.notCaptured(directory.Owners, sp.ownersErr))
	case app.ownersErr != nil:
		out = append(out, r.notCaptured(directory.Owners, app.ownersErr))
	default:
		out = append(out, stsync.Outcome{Collection: directory.Owners, Complete: sp.ownersFull && app.ownersFull})
	}
	return out, nil
}

// servicePrincipals fetches service principals, their owners and their app
// role assignments.
func (r *run) servicePrincipals(ctx context.Context) (appsPart, error) {
	sink := r.sink(directory.ServicePrincipals)
	var ids []string
	onItem := func(raw []byte, desc string) error {
		sp, err := directory.Decode[directory.ServicePrincipal](raw)
		if err != nil {
			return objectError(directory.ServicePrincipals, desc, err)
		}
		ids = append(ids, sp.ID)
		return sink.Put(&sp)
	}
	onRemoved := func(id string) error {
		if err := sink.Remove(id); err != nil {
			return err
		}
		if err := r.scope(directory.Owners, id); err != nil {
			return err
		}
		return r.scope(directory.AppRoleAssignments, id)
	}
	first := func() (*absRequest, error) {
		return r.s.client.ServicePrincipals().Delta().ToGetRequestInformation(ctx, &serviceprincipals.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.DeltaRequestBuilderGetQueryParameters{Select: spFields}})
	}
	round, err := r.runDelta(ctx, directory.ServicePrincipals, first, onItem, onRemoved, func() { ids = nil })
	if isDenied(err) {
		return appsPart{outcomes: []stsync.Outcome{r.notCaptured(directory.ServicePrincipals, err),
			r.notCaptured(directory.AppRoleAssignments, err)}, ownersErr: err}, nil
	}
	if err != nil {
		return appsPart{}, err
	}
	for _, id := range ids {
		if err := r.scope(directory.Owners, id); err != nil {
			return appsPart{}, err
		}
		if err := r.scope(directory.AppRoleAssignments, id); err != nil {
			return appsPart{}, err
		}
	}
	part := appsPart{ownersFull: round.full, outcomes: []stsync.Outcome{
		{Collection: directory.ServicePrincipals, Complete: round.full, DeltaLink: round.link}}}
	var araOut stsync.Outcome
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := r.owners(gctx, ids, func(id string) (string, error) {
			return r.relative(r.s.client.ServicePrincipals().ByServicePrincipalId(id).Owners().ToGetRequestInformation(gctx,
				&serviceprincipals.ItemOwnersRequestBuilderGetRequestConfiguration{
					QueryParameters: &serviceprincipals.ItemOwnersRequestBuilderGetQueryParameters{Select: ownerFields}}))
		})
		if isDenied(err) {
			part.ownersErr, err = err, nil
		}
		return err
	})
	g.Go(func() (err error) {
		araOut, err = r.appRoleAssignments(gctx, ids, round.full)
		return err
	})
	if err := g.Wait(); err != nil {
		return appsPart{}, err
	}
	part.outcomes = append(part.outcomes, araOut)
	return part, nil
}

// appRoleAssignments lists, per service principal, the app roles granted TO
// it (/servicePrincipals/{id}/appRoleAssignments), rather than those it
// grants (appRoleAssignedTo): what Steward asks is what a service principal
// may do (Directory.ReadWrite.All on Microsoft Graph, …), the list is short
// (usually one page, so one inner request of a batch), and a delta run
// refreshes exactly the changed service principals' grants under Scope(id).
// The other side would put Microsoft Graph's thousands of grantees behind
// one paged list, and a changed principal's grants under other parents.
func (r *run) appRoleAssignments(ctx context.Context, ids []string, full bool) (stsync.Outcome, error) {
	sink := r.sink(directory.AppRoleAssignments)
	err := r.children(ctx, directory.AppRoleAssignments, ids, func(id string) (string, error) {
		return r.relative(r.s.client.ServicePrincipals().ByServicePrincipalId(id).AppRoleAssignments().ToGetRequestInformation(ctx,
			&serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetQueryParameters{Select: araFields}}))
	}, costOf("servicePrincipals/{id}/appRoleAssignments", true, false), func(parent string, items []json.RawMessage) error {
		for _, raw := range items {
			if err := decodePut[directory.AppRoleAssignment](sink, directory.AppRoleAssignments, "appRoleAssignments of "+parent, raw); err != nil {
				return err
			}
		}
		return nil
	})
	if isDenied(err) {
		return r.notCaptured(directory.AppRoleAssignments, err), nil
	}
	if err != nil {
		return stsync.Outcome{}, err
	}
	return stsync.Outcome{Collection: directory.AppRoleAssignments, Complete: full}, nil
}

// owners lists the owners of objects and stages one Ownership per object
// with owners, as SNAPSHOT.md writes them: {"objectId":…,"owners":[…]}.
func (r *run) owners(ctx context.Context, ids []string, urlFor func(string) (string, error)) error {
	sink := r.sink(directory.Owners)
	return r.children(ctx, directory.Owners, ids, urlFor, costOf("servicePrincipals/{id}/owners", true, false),
		func(parent string, items []json.RawMessage) error {
			if len(items) == 0 {
				return nil
			}
			raw, err := json.Marshal(struct {
				ObjectID string            `json:"objectId"`
				Owners   []json.RawMessage `json:"owners"`
			}{parent, items})
			if err != nil {
				return err
			}
			return decodePut[directory.Ownership](sink, directory.Owners, "owners of "+parent, raw)
		})
}

// listedApp is an application as listed, before its federated credentials join it.
type listedApp struct {
	id   string
	raw  []byte
	desc string
}

// apps fetches applications with their federated credentials inline, and
// their owners.
func (r *run) apps(ctx context.Context) (appsPart, error) {
	sink := r.sink(directory.Applications)
	var listed []listedApp
	onItem := func(raw []byte, desc string) error {
		id, _, err := itemHead(raw)
		if err != nil {
			return objectError(directory.Applications, desc, err)
		}
		listed = append(listed, listedApp{id: id, raw: raw, desc: desc})
		return nil
	}
	onRemoved := func(id string) error {
		if err := sink.Remove(id); err != nil {
			return err
		}
		return r.scope(directory.Owners, id)
	}
	first := func() (*absRequest, error) {
		return r.s.client.Applications().Delta().ToGetRequestInformation(ctx, &applications.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.DeltaRequestBuilderGetQueryParameters{Select: appFields}})
	}
	round, err := r.runDelta(ctx, directory.Applications, first, onItem, onRemoved, func() { listed = nil })
	if isDenied(err) {
		return appsPart{outcomes: []stsync.Outcome{r.notCaptured(directory.Applications, err)}, ownersErr: err}, nil
	}
	if err != nil {
		return appsPart{}, err
	}
	ids := make([]string, len(listed))
	for i, a := range listed {
		ids[i] = a.id
		if err := r.scope(directory.Owners, a.id); err != nil {
			return appsPart{}, err
		}
	}
	part := appsPart{ownersFull: round.full}
	var mu sync.Mutex
	creds := make(map[string][]json.RawMessage, len(ids))
	var credsErr error
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := r.owners(gctx, ids, func(id string) (string, error) {
			return r.relative(r.s.client.Applications().ByApplicationId(id).Owners().ToGetRequestInformation(gctx,
				&applications.ItemOwnersRequestBuilderGetRequestConfiguration{
					QueryParameters: &applications.ItemOwnersRequestBuilderGetQueryParameters{Select: ownerFields}}))
		})
		if isDenied(err) {
			part.ownersErr, err = err, nil
		}
		return err
	})
	g.Go(func() error {
		err := r.children(gctx, directory.Applications, ids, func(id string) (string, error) {
			return r.relative(r.s.client.Applications().ByApplicationId(id).FederatedIdentityCredentials().ToGetRequestInformation(gctx, nil))
		}, cost{classRU, 1}, func(parent string, items []json.RawMessage) error {
			mu.Lock()
			defer mu.Unlock()
			creds[parent] = items
			return nil
		})
		if isDenied(err) {
			credsErr, err = err, nil
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return appsPart{}, err
	}
	out := stsync.Outcome{Collection: directory.Applications, Complete: round.full, DeltaLink: round.link}
	if credsErr != nil {
		out.Reason = "federated identity credentials not captured: " + credsErr.Error()
	}
	for _, a := range listed {
		items, ok := creds[a.id]
		if !ok && credsErr == nil {
			continue // deleted since it was listed (its credentials answered 404)
		}
		drop := []string{federatedCredentials}
		var extra []member
		if credsErr == nil {
			extra = append(extra, member{federatedCredentials, rawArray(items)})
		}
		raw, err := rebuild(a.raw, drop, extra...)
		if err != nil {
			return appsPart{}, objectError(directory.Applications, a.desc, err)
		}
		if err := decodePut[directory.Application](sink, directory.Applications, a.desc, raw); err != nil {
			return appsPart{}, err
		}
	}
	part.outcomes = append(part.outcomes, out)
	return part, nil
}
