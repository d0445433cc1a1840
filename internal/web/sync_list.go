package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/web/view"
)

const (
	// syncPageRuns is how many runs the sync page lists.
	syncPageRuns = 50
	// syncFormMaxBytes bounds the "Sync now" form's body (it has no fields).
	syncFormMaxBytes = 4 << 10
	// syncAPIDefault and syncAPIMax bound /api/v1/sync/runs?limit.
	syncAPIDefault = 20
	syncAPIMax     = 100
)

// syncList shows a tenant's sync runs, newest first.
func (h *handler) syncList(w http.ResponseWriter, r *http.Request) error {
	m, err := h.syncModel(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("started") != "" && len(m.Tenants) > 0 {
		m.Notice = "Sync started. Its run appears below as soon as it begins."
		if m.Live == nil {
			m.Live = &view.SyncLive{PollURL: syncPollURL(m.Tenant.ID), Started: true}
			if len(m.Runs) > 0 {
				m.Live.Newest = m.Runs[0].ID
			}
		}
		m.Live.Started = true
	}
	return render(w, r, http.StatusOK, view.SyncList(m))
}

// syncNow starts a sync of the tenant in the background, then sends the
// browser back to the sync page (POST-redirect-GET). A refusal (no sync
// configured, one already running) is the sync page with the reason, 409.
func (h *handler) syncNow(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, syncFormMaxBytes)
	if err := r.ParseForm(); err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			writeErrorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
			return nil
		}
		return derr.Errorf(derr.EINVALID, "The form could not be read.")
	}
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	var refusal string
	switch {
	case h.startSync == nil:
		refusal = "sync is not configured on this server. It serves imported or command-line synced data; run `server sync` to sync a tenant."
	case !ok:
		refusal = "no tenant is known yet. The first sync of a tenant runs from the command line (`server sync`)."
	default:
		switch err := h.startSync(r.Context(), t.ID); {
		case errors.Is(err, sync.ErrBusy):
			refusal = "a sync of this tenant is already running. Its progress shows below."
		case err != nil:
			return err
		default:
			q := url.Values{"tenant": {t.ID}, "started": {"1"}}
			http.Redirect(w, r, "/sync?"+q.Encode(), http.StatusSeeOther)
			return nil
		}
	}
	m, err := h.syncModel(r)
	if err != nil {
		return err
	}
	m.Notice, m.NoticeError = refusal, true
	return render(w, r, http.StatusConflict, view.SyncList(m))
}

// syncModel reads the sync page's data for the request's tenant.
func (h *handler) syncModel(r *http.Request) (view.SyncListModel, error) {
	m := view.SyncListModel{Demo: h.demo, CanSync: h.startSync != nil}
	t, all, ok, err := h.tenantOf(r)
	if err != nil || !ok {
		return m, err
	}
	for _, c := range all {
		m.Tenants = append(m.Tenants, view.SyncTenant{ID: c.ID, Name: cmp.Or(c.DisplayName, c.DefaultDomain, c.ID)})
	}
	m.Tenant = view.SyncTenant{ID: t.ID, Name: cmp.Or(t.DisplayName, t.DefaultDomain, t.ID)}
	q := url.Values{"tenant": {t.ID}}
	m.SyncAction = "/sync?" + q.Encode()
	m.RefreshHref = "/sync?" + q.Encode()

	runs, err := h.db.SyncRuns(r.Context(), store.SyncRunFilter{TenantID: &t.ID, Limit: syncPageRuns})
	if err != nil {
		return m, err
	}
	now := time.Now()
	for i, run := range runs {
		v := syncRunView(run, now)
		v.Open = i == 0 || v.Running
		m.Runs = append(m.Runs, v)
		if v.Running && m.Live == nil {
			m.Live = &view.SyncLive{PollURL: syncPollURL(t.ID), RunID: run.ID, Newest: runs[0].ID}
		}
	}
	return m, nil
}

func syncPollURL(tenantID string) string {
	return "/api/v1/sync/runs?" + url.Values{"tenant": {tenantID}, "limit": {"1"}}.Encode()
}

func syncRunView(run store.SyncRun, now time.Time) view.SyncRun {
	v := view.SyncRun{ID: run.ID, Mode: run.Mode, Source: run.Source, Status: run.Status,
		StatusLabel: syncStatusLabel(run.Status), Message: run.Error,
		StartedAt: syncTime(run.StartedAt), StartedISO: run.StartedAt.UTC().Format(time.RFC3339),
		Running: run.Status == store.RunRunning}
	end := now
	if run.FinishedAt != nil {
		end = *run.FinishedAt
		v.FinishedAt, v.FinishedISO = syncTime(end), end.UTC().Format(time.RFC3339)
	}
	v.Duration = syncDuration(end.Sub(run.StartedAt))
	switch run.Status {
	case store.RunNeedsReview:
		v.Advice = "Nothing was deleted for the resources above that tripped the breaker; everything else was applied. " +
			"Check that the source really lost those objects, then run `server sync --accept-deletions` to apply the deletions."
	case store.RunFailed:
		v.Advice = "A failed run changes nothing: the data of the last successful run stays in place."
	}

	for _, c := range syncCollections(run) {
		rs := run.Resources[c]
		res := view.SyncResource{Collection: c, Label: syncCollectionLabel(c), Status: cmp.Or(rs.Status, "waiting"),
			StatusLabel: syncResourceStatusLabel(cmp.Or(rs.Status, "waiting")), Fetched: rs.Fetched, Added: rs.Added,
			Changed: rs.Changed, Deleted: rs.Deleted, Withheld: rs.Withheld, Message: cmp.Or(rs.Error, rs.Note),
			Failed: rs.Error != "" || rs.Status == "failed"}
		if rs.Status != "" {
			res.Duration = syncDuration(time.Duration(rs.DurationMS) * time.Millisecond)
		}
		v.Resources = append(v.Resources, res)
	}
	return v
}

// syncCollections orders a run's collections as the sync does (referenced
// before referencing). A running run lists every collection, so the page
// has a row for each one its progress may report.
func syncCollections(run store.SyncRun) []string {
	var out []string
	for _, c := range directory.AllCollections {
		if _, ok := run.Resources[string(c)]; ok || run.Status == store.RunRunning {
			out = append(out, string(c))
		}
	}
	var other []string
	for c := range run.Resources {
		if !slices.Contains(out, c) {
			other = append(other, c)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

func syncStatusLabel(s string) string {
	switch s {
	case store.RunRunning:
		return "Running"
	case store.RunSucceeded:
		return "Succeeded"
	case store.RunFailed:
		return "Failed"
	case store.RunCancelled:
		return "Cancelled"
	case store.RunNeedsReview:
		return "Needs review (deletions withheld)"
	}
	return s
}

func syncResourceStatusLabel(s string) string {
	switch s {
	case "waiting":
		return "Waiting"
	case "running":
		return "Fetching"
	case "staged":
		return "Staged"
	case "applied":
		return "Applied"
	case "not_captured":
		return "Not captured"
	case "failed":
		return "Failed"
	case "skipped":
		return "Skipped"
	case "needs_review":
		return "Needs review"
	}
	return s
}

// syncCollectionLabels names the collections for people.
var syncCollectionLabels = map[directory.Collection]string{
	directory.Users:                            "Users",
	directory.Groups:                           "Groups",
	directory.GroupMembers:                     "Group memberships",
	directory.RoleDefinitions:                  "Role definitions",
	directory.RoleAssignments:                  "Role assignments",
	directory.ServicePrincipals:                "Service principals",
	directory.Applications:                     "Applications",
	directory.AppRoleAssignments:               "App role assignments",
	directory.Owners:                           "Owners",
	directory.ConditionalAccessPolicies:        "Conditional Access policies",
	directory.NamedLocations:                   "Named locations",
	directory.RegistrationDetails:              "MFA registration details",
	directory.SignIns:                          "Sign-ins",
	directory.ServicePrincipalSignInActivities: "Service principal sign-in activity",
	directory.Environments:                     "Power Platform environments",
	directory.Flows:                            "Flows",
	directory.FlowPermissions:                  "Flow permissions",
	directory.Connections:                      "Connections",
}

func syncCollectionLabel(c string) string {
	return cmp.Or(syncCollectionLabels[directory.Collection(c)], c)
}

// syncTime shows a time in UTC, to the second.
func syncTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// syncDuration is a duration for people; static/sync.js formats the same way.
func syncDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0 ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// apiSyncRun is a run in /api/v1/sync/runs.
type apiSyncRun struct {
	ID         int64                  `json:"id"`
	Mode       string                 `json:"mode"`
	Source     string                 `json:"source"`
	Status     string                 `json:"status"`
	StartedAt  time.Time              `json:"startedAt"`
	FinishedAt *time.Time             `json:"finishedAt"`
	Error      string                 `json:"error"`
	Resources  map[string]apiResource `json:"resources"`
}

// apiResource is one collection's part of a run in the API.
type apiResource struct {
	Status     string `json:"status"`
	Fetched    int    `json:"fetched"`
	Added      int    `json:"added"`
	Changed    int    `json:"changed"`
	Deleted    int    `json:"deleted"`
	Withheld   int    `json:"withheld"`
	DurationMS int64  `json:"durationMs"`
	Error      string `json:"error"`
	Note       string `json:"note,omitempty"`
}

// apiSyncRuns lists a tenant's runs newest first: ?tenant, ?limit (default
// 20, at most 100).
func (h *handler) apiSyncRuns(w http.ResponseWriter, r *http.Request) error {
	limit := syncAPIDefault
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return derr.Errorf(derr.EINVALID, "limit must be a whole number from 1 to %d.", syncAPIMax)
		}
		limit = min(n, syncAPIMax)
	}
	out := []apiSyncRun{}
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if ok {
		runs, err := h.db.SyncRuns(r.Context(), store.SyncRunFilter{TenantID: &t.ID, Limit: limit})
		if err != nil {
			return err
		}
		for _, run := range runs {
			a := apiSyncRun{ID: run.ID, Mode: run.Mode, Source: run.Source, Status: run.Status, StartedAt: run.StartedAt,
				FinishedAt: run.FinishedAt, Error: run.Error, Resources: map[string]apiResource{}}
			for c, rs := range run.Resources {
				a.Resources[c] = apiResource{Status: rs.Status, Fetched: rs.Fetched, Added: rs.Added, Changed: rs.Changed,
					Deleted: rs.Deleted, Withheld: rs.Withheld, DurationMS: rs.DurationMS, Error: rs.Error, Note: rs.Note}
			}
			out = append(out, a)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
