package sync

import (
	"context"
	"fmt"
)

// PerTenant is a Source that dispatches to the sources of the requested
// tenant: credentials are per tenant, so a schedule over several tenants
// holds one set of sources for each.
type PerTenant map[string][]Source

// Name implements Source.
func (p PerTenant) Name() string { return "graph" }

// Fetch implements Source: it runs the tenant's sources concurrently, as the
// runner does with its own.
func (p PerTenant) Fetch(ctx context.Context, req Request, sinks Sinks) ([]Outcome, error) {
	sources, ok := p[req.TenantID]
	if !ok {
		return nil, fmt.Errorf("no sources configured for tenant %s", req.TenantID)
	}
	return fetchAll(ctx, sources, req, sinks)
}
