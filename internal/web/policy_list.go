package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// policyList is the policies page: every live Conditional Access policy of
// the tenant, summarised in words, with the service accounts it excludes.
func (h *handler) policyList(w http.ResponseWriter, r *http.Request) error {
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	page := view.Page{Title: "Policies", Nav: "policies", Styles: []string{"policies.css"}, Demo: h.demo}
	if !ok {
		return render(w, r, http.StatusOK, view.PolicyListPage(page, view.PolicyList{NoTenant: true}))
	}
	items, evaluated, err := h.policySummaries(r.Context(), t.ID)
	if err != nil {
		return err
	}
	q := policyTenantQuery(t)
	m := view.PolicyList{
		TenantName:   cmp.Or(t.DisplayName, t.ID),
		NoPolicies:   len(items) == 0,
		NoEvaluation: !evaluated,
		APIHref:      "/api/v1/policies" + q,
	}
	for _, it := range items {
		href := policyPageHref(it.ID, q)
		m.Rows = append(m.Rows, view.PolicyListRow{
			Name: cmp.Or(it.DisplayName, it.ID), Href: href,
			State: policyStateClass(it.State), StateLabel: exposure.StateText(it.State),
			Summary: it.Summary, Excluded: it.ExcludedServiceAccounts, ExcludedHref: href + "#excluded", Versions: it.Versions,
		})
		switch exposure.StateText(it.State) {
		case "enabled":
			m.Enabled++
		case "report-only":
			m.ReportOnly++
		default:
			m.Disabled++
		}
	}
	return render(w, r, http.StatusOK, view.PolicyListPage(page, m))
}

// apiPolicy is a policy in the JSON API.
type apiPolicy struct {
	ID                      string `json:"id"`
	Name                    string `json:"name"`
	State                   string `json:"state"` // as Graph spells it
	Summary                 string `json:"summary"`
	ExcludedServiceAccounts int    `json:"excludedServiceAccounts"`
	Versions                int    `json:"versions"`
}

// apiPolicyList is the tenant's live policies as JSON: an empty list before
// the first sync.
func (h *handler) apiPolicyList(w http.ResponseWriter, r *http.Request) error {
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	out := []apiPolicy{}
	if ok {
		items, _, err := h.policySummaries(r.Context(), t.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			out = append(out, apiPolicy{ID: it.ID, Name: it.DisplayName, State: it.State, Summary: it.Summary,
				ExcludedServiceAccounts: it.ExcludedServiceAccounts, Versions: it.Versions})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// policySummaries reads the tenant's live policies with their summaries.
// evaluated is false when the tenant has no evaluation yet (the exclusion
// counts are then zero for want of one, not because nothing is excluded).
func (h *handler) policySummaries(ctx context.Context, tenantID string) (_ []store.Policy, evaluated bool, err error) {
	ps, err := h.db.Policies(ctx, tenantID)
	if err != nil {
		return nil, false, err
	}
	evaluated, err = h.policyEvaluated(ctx, tenantID)
	return ps, evaluated, err
}

// policyEvaluated reports whether the tenant has a current evaluation.
func (h *handler) policyEvaluated(ctx context.Context, tenantID string) (bool, error) {
	_, err := h.db.CurrentEvaluation(ctx, tenantID)
	switch {
	case derr.Code(err) == derr.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// policyTenantQuery is the query string that keeps links on the tenant shown.
func policyTenantQuery(t store.Tenant) string { return "?tenant=" + url.QueryEscape(t.ID) }

// policyPageHref is the address of a policy's page.
func policyPageHref(id, q string) string { return "/policies/" + url.PathEscape(id) + q }

// policyStateClass is a policy state as a CSS class suffix.
func policyStateClass(state string) string {
	return strings.ReplaceAll(exposure.StateText(state), " ", "-")
}
