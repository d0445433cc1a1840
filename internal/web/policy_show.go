package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// How much of a policy's accounts and history its page shows.
const (
	policyAccountLimit = 100
	policyVersionLimit = 50
	// policyNameLimit cuts account names in tables (the full name is in
	// the link's title and on the account's page).
	policyNameLimit = 120
)

var errNoPolicy = derr.Errorf(derr.ENOTFOUND, "There is no page at this address. The tenant has no Conditional Access policy with this id.")

// policyShow is a policy's page: what it does, to whom, the service
// accounts it excludes or misses, and how it changed across syncs.
func (h *handler) policyShow(w http.ResponseWriter, r *http.Request) error {
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if !ok {
		return errNoPolicy
	}
	ctx := r.Context()
	p, err := h.db.Policy(ctx, t.ID, directory.ID(chi.URLParam(r, "id")))
	if derr.Code(err) == derr.ENOTFOUND {
		return errNoPolicy
	}
	if err != nil {
		return err
	}
	dp, err := directory.Decode[directory.ConditionalAccessPolicy](p.Raw)
	if err != nil {
		return err
	}
	versions, err := h.db.PolicyVersions(ctx, t.ID, p.ID, policyVersionLimit+1)
	if err != nil {
		return err
	}
	evaluated, err := h.policyEvaluated(ctx, t.ID)
	if err != nil {
		return err
	}
	workload := dp.Conditions != nil && dp.Conditions.ClientApplications != nil &&
		len(dp.Conditions.ClientApplications.IncludeServicePrincipals) > 0
	missesNote := policyMissesNote(&dp)
	var excluded, misses []store.PolicyAccount
	if evaluated {
		if excluded, err = h.db.PolicyExclusions(ctx, t.ID, p.ID, policyAccountLimit); err != nil {
			return err
		}
		if missesNote == "" {
			if misses, err = h.db.PolicyMisses(ctx, t.ID, p.ID, workload, policyAccountLimit+1); err != nil {
				return err
			}
		}
	}

	// Names for the policy and for every version shown, in one look-up.
	var refs exposure.PolicyRefs
	refs.Add(&dp)
	for _, v := range versions {
		if vp, err := directory.Decode[directory.ConditionalAccessPolicy](v.Raw); err == nil {
			refs.Add(&vp)
		}
	}
	names, err := h.db.PolicyNames(ctx, t.ID, refs)
	if err != nil {
		return err
	}

	m := newPolicyShow(t, p, &dp, names)
	m.NoEvaluation = !evaluated
	m.MissesNote = missesNote
	q := policyTenantQuery(t)
	for _, a := range excluded {
		m.Excluded = append(m.Excluded, policyAccount(a, q))
	}
	m.ExcludedTotal = max(p.ExcludedServiceAccounts, len(m.Excluded))
	if len(misses) > policyAccountLimit {
		misses, m.MissesMore = misses[:policyAccountLimit], true
	}
	// Exposed first, then by name: the store stops at its limit in id order.
	slices.SortFunc(misses, func(a, b store.PolicyAccount) int {
		return cmp.Or(cmp.Compare(policyExposureRank(a.Exposure), policyExposureRank(b.Exposure)),
			strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)), strings.Compare(a.ID, b.ID))
	})
	for _, a := range misses {
		m.Misses = append(m.Misses, policyAccount(a, q))
	}
	if len(versions) > policyVersionLimit {
		versions, m.VersionsMore = versions[:policyVersionLimit], true
	}
	m.Versions, err = policyVersions(p, versions, names)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, view.PolicyShowPage(view.Page{
		Title: m.Name, Nav: "policies", Styles: []string{"policies.css"}, Demo: h.demo,
	}, m))
}

func newPolicyShow(t store.Tenant, p store.Policy, dp *directory.ConditionalAccessPolicy, names exposure.Names) view.PolicyShow {
	q := policyTenantQuery(t)
	m := view.PolicyShow{
		TenantName: cmp.Or(t.DisplayName, t.ID),
		ID:         p.ID, Name: cmp.Or(p.DisplayName, p.ID),
		State: policyStateClass(p.State), StateLabel: exposure.StateText(p.State),
		StateHelp: policyStateHelp[exposure.StateText(p.State)],
		Summary:   p.Summary, // as the list shows it (store.Policy)
		Created:   policyDate(p.CreatedAt), Modified: policyDate(p.ModifiedAt),
		ListHref: "/policies" + q, APIHref: "/api/v1/policies" + q,
	}
	if p.DeletedAt != nil {
		m.Deleted = "This policy is no longer in the tenant: a sync found it deleted on " + policyDate(p.DeletedAt) + ". What follows is its last known content."
	}
	for _, l := range exposure.DescribePolicy(dp, names) {
		m.Lines = append(m.Lines, view.PolicyShowLine{Label: l.Label, Values: l.Values})
	}
	return m
}

// policyMissesNote says why a policy has no misses worth listing, or "".
func policyMissesNote(p *directory.ConditionalAccessPolicy) string {
	switch {
	case exposure.StateText(p.State) == "disabled":
		return "The policy is disabled: it protects no account, so it misses every one."
	case !exposure.DemandsMFA(p):
		return "The policy neither requires MFA nor blocks, so it protects no sign-in: there is nothing for it to miss."
	}
	return ""
}

var policyStateHelp = map[string]string{
	"enabled":     "Enforced at every sign-in it applies to.",
	"report-only": "Evaluated and logged, never enforced: it protects no one yet.",
	"disabled":    "Not evaluated: it protects no one.",
}

var policyKindLabel = map[string]string{
	string(exposure.KindUser):             "User",
	string(exposure.KindServicePrincipal): "Service principal",
	string(exposure.KindManagedIdentity):  "Managed identity",
}

var policyExposureLabel = map[string]string{
	string(exposure.LevelExposed):       "Exposed",
	string(exposure.LevelPartial):       "Partial",
	string(exposure.LevelProtected):     "Protected",
	string(exposure.LevelNotApplicable): "Not applicable",
}

func policyExposureRank(e string) int {
	switch exposure.Level(e) {
	case exposure.LevelExposed:
		return 0
	case exposure.LevelPartial:
		return 1
	}
	return 2
}

func policyAccount(a store.PolicyAccount, q string) view.PolicyShowAccount {
	v := view.PolicyShowAccount{
		Name: cmp.Or(a.DisplayName, a.UPN, a.ID), UPN: a.UPN,
		Href:      "/accounts/" + url.PathEscape(a.ID) + q,
		KindLabel: cmp.Or(policyKindLabel[a.Kind], a.Kind), Level: a.ServiceAccount,
		Exposure: strings.ToLower(a.Exposure), ExposureLabel: cmp.Or(policyExposureLabel[a.Exposure], a.Exposure),
		Path: a.Path,
	}
	if a.Path == "direct" {
		v.Path = "named in the policy itself"
	}
	if short := clip(v.Name, policyNameLimit); short != v.Name {
		v.FullName, v.Name = v.Name, short
	}
	if a.Kind != string(exposure.KindUser) {
		v.UPN = "" // a service principal's appId is not a name
	}
	for _, r := range a.Resources {
		if slices.Contains(a.NotTargeted, r) {
			r += " (not targeted by this policy)"
		}
		v.Resources = append(v.Resources, r)
	}
	return v
}

// policyVersions turns the stored versions (newest first) into the page's,
// each with its changes from the one before.
func policyVersions(p store.Policy, vs []store.PolicyVersion, names exposure.Names) ([]view.PolicyShowVersion, error) {
	out := make([]view.PolicyShowVersion, len(vs))
	total := max(p.Versions, len(vs))
	for i, v := range vs {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, v.Raw, "", "  "); err != nil {
			return nil, err
		}
		pv := view.PolicyShowVersion{
			Number: total - i, Hash: v.ContentHash[:min(12, len(v.ContentHash))],
			FirstRun: v.FirstSeen, LastRun: v.LastSeen,
			FirstSeen: policyDate(v.FirstSeenAt), LastSeen: policyDate(v.LastSeenAt),
			Current: v.ContentHash == p.ContentHash,
			JSON:    pretty.String(),
		}
		switch {
		case pv.Number == 1:
			pv.First = true
		case i+1 == len(vs):
			pv.Older = true
		default:
			changes, err := exposure.DiffPolicies(vs[i+1].Raw, v.Raw, names)
			if err != nil {
				return nil, err
			}
			for _, c := range changes {
				kind := "changed"
				switch {
				case c.Added():
					kind = "added"
				case c.Removed():
					kind = "removed"
				}
				pv.Changes = append(pv.Changes, view.PolicyShowChange{Path: c.Path, Old: c.Old, New: c.New, Kind: kind})
			}
		}
		out[i] = pv
	}
	return out, nil
}

// policyDate is a time as the policy page shows it; "" for none.
func policyDate(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
