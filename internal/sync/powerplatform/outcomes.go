package powerplatform

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// refusedOutcomes reports the four collections not captured because the
// admin APIs refused the app, with what an administrator does about it.
func refusedOutcomes(cfg Config, ae *APIError) []stsync.Outcome {
	app := cfg.ApplicationID
	if app == "" {
		app = "<application (client) id>"
	}
	reason := fmt.Sprintf("the Power Platform admin API refused Steward's app (HTTP %d %s%s). "+
		"Register the app as a Power Platform management application: a Power Platform administrator runs "+
		"New-PowerAppManagementApp -ApplicationId %s (PowerShell module Microsoft.PowerApps.Administration.PowerShell); "+
		"the app then acts as a Power Platform administrator",
		ae.Status, http.StatusText(ae.Status), detail(ae), app)
	if ae.Status == http.StatusUnauthorized {
		reason += fmt.Sprintf(". A 401 can also mean the token was issued for another resource: Steward asks for %s", cfg.PowerAppsScope)
	}
	out := make([]stsync.Outcome, 0, 4)
	for _, c := range []directory.Collection{directory.Environments, directory.Flows, directory.FlowPermissions, directory.Connections} {
		out = append(out, stsync.Outcome{Collection: c, NotCaptured: true, Reason: reason})
	}
	return out
}

// outcomes reports a run that listed envCount environments. It scopes the
// permission sets it fetched when they do not cover every flow.
func (r *run) outcomes(envCount int) ([]stsync.Outcome, error) {
	t := &r.tally
	flows := listingOutcome(directory.Flows, "flows", t.flowsSkipped, envCount)
	conns := listingOutcome(directory.Connections, "connections", t.connsSkipped, envCount)
	perms := r.permissionsOutcome(flows)
	if !perms.Complete && !perms.NotCaptured {
		// Sorted so that the sink sees the same calls for the same tenant.
		slices.Sort(t.fetched)
		for _, key := range t.fetched {
			if err := r.perms.Scope(key); err != nil {
				return nil, err
			}
		}
	}
	return []stsync.Outcome{{Collection: directory.Environments, Complete: true}, flows, perms, conns}, nil
}

// listingOutcome reports a collection listed environment by environment.
func listingOutcome(c directory.Collection, noun string, skipped []skip, envCount int) stsync.Outcome {
	switch {
	case len(skipped) == 0:
		return stsync.Outcome{Collection: c, Complete: true}
	case len(skipped) == envCount:
		return stsync.Outcome{Collection: c, NotCaptured: true, Reason: fmt.Sprintf(
			"the admin API answered no environment's %s (%s); check that the app is registered as a Power Platform management application",
			noun, summarize(skipped))}
	}
	return stsync.Outcome{Collection: c, Reason: fmt.Sprintf(
		"the %s of %d of %d environments could not be listed (%s); what is stored for them is kept",
		noun, len(skipped), envCount, summarize(skipped))}
}

// permissionsOutcome reports flow permissions, given how flows went.
func (r *run) permissionsOutcome(flows stsync.Outcome) stsync.Outcome {
	t := &r.tally
	o := stsync.Outcome{Collection: directory.FlowPermissions}
	switch {
	case flows.NotCaptured:
		o.NotCaptured, o.Reason = true, "flows could not be listed, so neither could their permissions: "+flows.Reason
		return o
	case len(t.permsSkipped) > 0 && len(t.fetched) == 0:
		o.NotCaptured, o.Reason = true, fmt.Sprintf("the Flow admin API answered the permissions of no flow (%s)", summarize(t.permsSkipped))
		return o
	}
	var notes []string
	if r.mode == stsync.Delta {
		notes = append(notes, fmt.Sprintf(
			"delta run: permissions were fetched only for the %d flows modified since %s; full runs refresh the others",
			t.permsWanted, r.since.UTC().Format(time.RFC3339)))
	}
	if len(t.flowsSkipped) > 0 {
		notes = append(notes, "the permissions of flows in environments whose flows could not be listed were not fetched")
	}
	if len(t.permsSkipped) > 0 {
		notes = append(notes, fmt.Sprintf("the permissions of %d flows could not be read (%s); what is stored for them is kept",
			len(t.permsSkipped), summarize(t.permsSkipped)))
	}
	if len(notes) == 0 {
		o.Complete = true
		return o
	}
	o.Reason = strings.Join(notes, "; ")
	return o
}

// summarize counts skips by status and quotes the first, e.g. "2 refused
// (HTTP 403), 1 not found (HTTP 404); first: flow env/x: Forbidden: …".
func summarize(skips []skip) string {
	byStatus := map[int]int{}
	for _, s := range skips {
		byStatus[s.err.Status]++
	}
	statuses := slices.Sorted(maps.Keys(byStatus))
	parts := make([]string, 0, len(statuses)+1)
	for _, st := range statuses {
		what := "refused"
		if st == http.StatusNotFound {
			what = "not found"
		}
		parts = append(parts, fmt.Sprintf("%d %s (HTTP %d)", byStatus[st], what, st))
	}
	// Workers finish in any order: quote the same skip for the same tenant.
	first := slices.MinFunc(skips, func(a, b skip) int { return strings.Compare(a.what, b.what) })
	parts[len(parts)-1] += fmt.Sprintf("; first: %s: HTTP %d %s%s", first.what, first.err.Status, http.StatusText(first.err.Status), detail(first.err))
	return strings.Join(parts, ", ")
}

// detail is an API error's code and message, for a Reason.
func detail(ae *APIError) string {
	var s string
	if ae.Code != "" {
		s += ": " + ae.Code
	}
	if ae.Message != "" {
		s += ": " + ae.Message
	}
	return s
}
