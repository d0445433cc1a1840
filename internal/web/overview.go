package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

const (
	// overviewTrendEvaluations is how many evaluations the trend chart draws.
	overviewTrendEvaluations = 30
	// overviewTopFindings is how many finding codes the overview lists.
	overviewTopFindings = 10
)

// overview shows a tenant's service accounts at a glance: counts from the
// current evaluation's aggregates and a few indexed breakdowns, the trend
// over past evaluations, and the last sync.
func (h *handler) overview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, all, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	m := view.OverviewModel{Demo: h.demo}
	if !ok {
		return render(w, r, http.StatusOK, view.Overview(m))
	}
	for _, c := range all {
		m.Tenants = append(m.Tenants, view.TenantChoice{ID: c.ID, Name: tenantName(c)})
	}
	m.Tenant = view.TenantChoice{ID: t.ID, Name: tenantName(t)}
	links := tenantLinks{}
	if len(all) > 1 {
		links.tenant = t.ID
	}
	m.SyncHref = links.href("/sync")

	runs, err := h.db.SyncRuns(ctx, store.SyncRunFilter{TenantID: &t.ID, Limit: 1})
	if err != nil {
		return err
	}
	if len(runs) > 0 {
		run := runs[0]
		m.LastRun = &view.OverviewRun{ID: run.ID, Status: run.Status, Mode: run.Mode, Source: run.Source,
			StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Error: run.Error}
		if run.Status != store.RunSucceeded {
			last, err := h.db.LastRun(ctx, t.ID, store.RunSucceeded)
			switch {
			case err == nil:
				m.LastSuccess = last.FinishedAt
			case derr.Code(err) != derr.ENOTFOUND:
				return err
			}
		}
	}

	o, err := h.db.Overview(ctx, t.ID)
	if derr.Code(err) == derr.ENOTFOUND {
		return render(w, r, http.StatusOK, view.Overview(m)) // synced, not evaluated yet
	} else if err != nil {
		return err
	}
	history, err := h.db.EvaluationCounts(ctx, t.ID, overviewTrendEvaluations)
	if err != nil {
		return err
	}
	m.Eval = overviewEval(o, history, links)
	return render(w, r, http.StatusOK, view.Overview(m))
}

// overviewTenantName is how the overview names a tenant.
// Every classification level, as filters: the accounts list otherwise
// shows only likely and confirmed service accounts.
var (
	overviewSAAll     = []string{"sa", "confirmed", "sa", "likely", "sa", "possible", "sa", "no"}
	overviewSAService = []string{"sa", "confirmed", "sa", "likely"}
)

func overviewEval(o store.Overview, history []store.EvaluationCounts, l tenantLinks) *view.OverviewEval {
	n := func(key string) int { return o.Counts[key] }
	e := &view.OverviewEval{EvaluatedAt: o.Evaluation.EvaluatedAt, Accounts: o.Evaluation.Accounts,
		SyncRunID: o.Evaluation.SyncRunID, Notes: o.Evaluation.Notes}
	user, sp, mi := string(exposure.KindUser), string(exposure.KindServicePrincipal), string(exposure.KindManagedIdentity)
	service := func(kind string) int {
		return n("serviceAccount/"+kind+"/"+string(exposure.ServiceConfirmed)) + n("serviceAccount/"+kind+"/"+string(exposure.ServiceLikely))
	}

	// Service accounts by classification: users, and workload identities.
	sa := &e.ServiceAccounts
	sa.Total = view.Stat{Label: "likely or confirmed, users and workload identities",
		Value: service(user) + service(sp) + service(mi), Href: l.accounts(overviewSAService...)}
	sa.Rows = []view.ClassificationRow{{Label: "Users"}, {Label: "Workload identities"}}
	for _, lvl := range []exposure.ServiceAccountLevel{exposure.ServiceConfirmed, exposure.ServiceLikely, exposure.ServicePossible} {
		label := overviewTitle(string(lvl))
		sa.Levels = append(sa.Levels, label)
		sa.Rows[0].Cells = append(sa.Rows[0].Cells, view.Stat{Label: label, Value: n("serviceAccount/" + user + "/" + string(lvl)),
			Href: l.accounts("kind", user, "sa", string(lvl))})
		sa.Rows[1].Cells = append(sa.Rows[1].Cells, view.Stat{Label: label,
			Value: n("serviceAccount/"+sp+"/"+string(lvl)) + n("serviceAccount/"+mi+"/"+string(lvl)),
			Href:  l.accounts("kind", sp, "kind", mi, "sa", string(lvl))})
	}

	// Exposure of the user service accounts.
	userSA := func(extra ...string) string {
		return l.accounts(append([]string{"kind", user, "sa", "confirmed", "sa", "likely"}, extra...)...)
	}
	bySA := func(lvl exposure.Level) int {
		return o.UserServiceAccounts[string(exposure.ServiceConfirmed)+"/"+string(lvl)] +
			o.UserServiceAccounts[string(exposure.ServiceLikely)+"/"+string(lvl)]
	}
	total := 0
	for _, lvl := range []exposure.Level{exposure.LevelExposed, exposure.LevelPartial, exposure.LevelProtected} {
		e.Exposure = append(e.Exposure, view.Stat{Label: overviewLevel(lvl), Value: bySA(lvl),
			Href: userSA("exposure", string(lvl)), Class: "level-" + string(lvl)})
		total += bySA(lvl)
	}
	e.NotApplicable = view.Stat{Label: "disabled (not applicable)", Value: bySA(exposure.LevelNotApplicable),
		Href: userSA("exposure", string(exposure.LevelNotApplicable))}
	e.ExposureTotal = view.Stat{Label: "likely or confirmed user service accounts", Value: total + e.NotApplicable.Value, Href: userSA()}

	withFinding := func(code string) string { return l.accounts(append([]string{"finding", code}, overviewSAAll...)...) }
	e.MFAFailures = view.Stat{Value: o.AccountsWith[exposure.CodeMFAFailures], Href: withFinding(exposure.CodeMFAFailures)}
	e.Privileged = view.Stat{Value: o.AccountsWith[exposure.CodePrivilegedUserServiceAccount],
		Href: withFinding(exposure.CodePrivilegedUserServiceAccount)}
	var secretParams []string
	for _, code := range store.SecretCodes {
		secretParams = append(secretParams, "finding", code)
		e.SecretParts = append(e.SecretParts, view.Stat{Label: overviewSecretLabel(code), Value: o.AccountsWith[code], Href: withFinding(code)})
	}
	e.Secrets = view.Stat{Label: "client secrets expired, expiring within 30 days, or valid too long",
		Value: o.SecretAccounts, Href: l.accounts(append(secretParams, overviewSAAll...)...)}

	// Charts.
	e.ExposureChart = view.BarChart{ID: "chart-exposure", Title: "Accounts by exposure level", Label: "Exposure"}
	for _, lvl := range []exposure.Level{exposure.LevelExposed, exposure.LevelPartial, exposure.LevelProtected, exposure.LevelNotApplicable} {
		e.ExposureChart.Bars = append(e.ExposureChart.Bars, view.Bar{Label: overviewLevel(lvl), Value: n("exposure/" + string(lvl)),
			Class: "bar-" + string(lvl), Href: l.accounts(append([]string{"exposure", string(lvl)}, overviewSAAll...)...)})
	}
	e.Trend = view.LineChart{ID: "chart-trend", Title: "Exposed and partly protected accounts, by evaluation", Label: "Evaluation",
		Series: []view.Series{{Name: "Exposed", Class: "exposed"}, {Name: "Partial", Class: "partial"}}}
	for _, h := range history {
		e.Trend.Points = append(e.Trend.Points, h.EvaluatedAt.UTC().Format("02 Jan 15:04"))
		e.Trend.Series[0].Values = append(e.Trend.Series[0].Values, h.Counts["exposure/"+string(exposure.LevelExposed)])
		e.Trend.Series[1].Values = append(e.Trend.Series[1].Values, h.Counts["exposure/"+string(exposure.LevelPartial)])
	}
	e.SeverityChart = view.BarChart{ID: "chart-severity", Title: "Findings by severity", Label: "Severity"}
	for _, sev := range overviewSeverities {
		e.SeverityChart.Bars = append(e.SeverityChart.Bars, view.Bar{Label: overviewTitle(string(sev)),
			Value: n("severity/" + string(sev)), Class: "bar-sev-" + string(sev)})
	}
	e.KindChart = view.BarChart{ID: "chart-kind", Title: "Likely and confirmed service accounts by kind", Label: "Kind"}
	for _, k := range []struct{ kind, label string }{{user, "Users"}, {sp, "Service principals"}, {mi, "Managed identities"}} {
		e.KindChart.Bars = append(e.KindChart.Bars, view.Bar{Label: k.label, Value: service(k.kind), Class: "bar-kind",
			Href: l.accounts(append([]string{"kind", k.kind}, overviewSAService...)...)})
	}

	// Top findings: highest severity first, then the most frequent.
	var top []view.TopFinding
	for key, count := range o.Counts {
		if code, ok := strings.CutPrefix(key, "finding/"); ok {
			top = append(top, view.TopFinding{Code: code, Severity: string(o.Severest[code]), Findings: count, Href: withFinding(code)})
		}
	}
	slices.SortFunc(top, func(a, b view.TopFinding) int {
		return cmp.Or(cmp.Compare(overviewSeverityRank(a.Severity), overviewSeverityRank(b.Severity)),
			cmp.Compare(b.Findings, a.Findings), cmp.Compare(a.Code, b.Code))
	})
	if len(top) > overviewTopFindings {
		e.MoreFindings = len(top) - overviewTopFindings
		top = top[:overviewTopFindings]
	}
	e.TopFindings = top
	return e
}

var overviewSeverities = []exposure.Severity{exposure.SeverityHigh, exposure.SeverityMedium, exposure.SeverityLow, exposure.SeverityInfo}

// overviewSeverityRank orders severities, highest first; unknown last.
func overviewSeverityRank(s string) int {
	if i := slices.Index(overviewSeverities, exposure.Severity(s)); i >= 0 {
		return i
	}
	return len(overviewSeverities)
}

func overviewLevel(l exposure.Level) string {
	if l == exposure.LevelNotApplicable {
		return "Not applicable"
	}
	return overviewTitle(string(l))
}

func overviewSecretLabel(code string) string {
	switch code {
	case exposure.CodeSecretExpired:
		return "Expired"
	case exposure.CodeSecretExpiring:
		return "Expiring soon"
	case exposure.CodeSecretLongLived:
		return "Long-lived"
	}
	return code
}

// overviewTitle capitalises a one-word value: "likely" → "Likely".
func overviewTitle(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
