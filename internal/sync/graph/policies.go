package graph

import (
	"context"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// Directory roles and Conditional Access are small (a few hundred objects at
// most) and have no delta API: every run lists them whole, so a policy change
// is never missed. They are listed without $top: Graph pages them itself, and
// not every one of them accepts it.

// roles lists role definitions and active role assignments.
func (r *run) roles(ctx context.Context) ([]stsync.Outcome, error) {
	dir := r.s.client.RoleManagement().Directory()
	defs, err := dir.RoleDefinitions().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, err
	}
	defsOut, err := listAll[directory.RoleDefinition](ctx, r, directory.RoleDefinitions, defs, costOf("roleManagement/directory/roleDefinitions", false, false))
	if err != nil {
		return nil, err
	}
	assignments, err := dir.RoleAssignments().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, err
	}
	assignOut, err := listAll[directory.RoleAssignment](ctx, r, directory.RoleAssignments, assignments, costOf("roleManagement/directory/roleAssignments", false, false))
	if err != nil {
		return nil, err
	}
	return []stsync.Outcome{defsOut, assignOut}, nil
}

// policies lists Conditional Access policies and named locations, paced at
// the Conditional Access limit (1 request/s per tenant by default).
func (r *run) policies(ctx context.Context) ([]stsync.Outcome, error) {
	ca := r.s.client.Identity().ConditionalAccess()
	pol, err := ca.Policies().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, err
	}
	polOut, err := listAll[directory.ConditionalAccessPolicy](ctx, r, directory.ConditionalAccessPolicies, pol, cost{class: classCA, units: 1})
	if err != nil {
		return nil, err
	}
	loc, err := ca.NamedLocations().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, err
	}
	locOut, err := listAll[directory.NamedLocation](ctx, r, directory.NamedLocations, loc, cost{class: classCA, units: 1})
	if err != nil {
		return nil, err
	}
	return []stsync.Outcome{polOut, locOut}, nil
}
