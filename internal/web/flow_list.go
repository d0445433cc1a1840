package web

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// flowListLimit caps each list of the flows page: a large tenant has 30,000
// flows and 40,000 connections, so the page shows counts and the first rows.
const flowListLimit = 100

// flowList shows a tenant's flows and connections by owner identity type,
// connection status, and the flows at risk.
func (h *handler) flowList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t, all, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	m := view.FlowListModel{Demo: h.demo}
	if !ok {
		return render(w, r, http.StatusOK, view.FlowList(m))
	}
	for _, c := range all {
		m.Tenants = append(m.Tenants, view.FlowTenant{ID: c.ID, Name: tenantName(c)})
	}
	m.Tenant = view.FlowTenant{ID: t.ID, Name: tenantName(t)}
	links := tenantLinks{}
	if len(all) > 1 {
		links.tenant = t.ID
	}
	m.SyncHref = links.href("/sync")

	o, err := h.db.FlowOverview(ctx, t.ID, flowListLimit)
	if err != nil {
		return err
	}
	m.Environments, m.Flows, m.Connections = o.Environments, o.Flows, o.Connections
	if o.Flows == 0 && o.Connections == 0 {
		m.Empty = true
		m.NotCaptured, err = h.flowsNotCaptured(r, t.ID, o)
		if err != nil {
			return err
		}
		return render(w, r, http.StatusOK, view.FlowList(m))
	}
	m.NotEvaluated = !o.Evaluated

	for _, g := range o.Groups {
		label, desc := flowOwnerType(g.Type)
		m.Groups = append(m.Groups, view.FlowGroup{Label: label, Description: desc, FlowOwners: g.FlowOwners, Flows: g.Flows,
			ConnOwners: g.ConnOwners, Connections: g.Connections, Connected: g.Connected, InError: g.InError,
			Other: g.Connections - g.Connected - g.InError})
	}
	for _, s := range o.ConnectionStatus {
		m.Statuses = append(m.Statuses, view.FlowStatus{Label: cmp.Or(s.Status, "(none given)"), Class: flowStatusClass(s.Status), Count: s.Count})
	}
	m.AtRiskTotal = o.AtRiskTotal
	for _, f := range o.AtRisk {
		m.AtRisk = append(m.AtRisk, view.FlowRisk{Name: flowClip(cmp.Or(f.DisplayName, f.Name)), ID: f.Name,
			Environment: flowClip(cmp.Or(f.EnvironmentDisplayName, f.EnvironmentName)), State: f.State, Reasons: flowReasons(f, links)})
	}
	m.NotConnectedTotal = o.NotConnectedTotal
	for _, c := range o.NotConnected {
		fc := view.FlowConnection{Name: flowClip(cmp.Or(c.DisplayName, c.Name)), ID: c.Name, Connector: flowConnector(c.APIID),
			Environment: flowClip(cmp.Or(c.EnvironmentDisplayName, c.EnvironmentName)), Status: cmp.Or(c.Status, "(none given)"),
			StatusClass: flowStatusClass(c.Status), Error: flowShortError(c.Error),
			OwnerText: flowClip(cmp.Or(c.OwnerUPN, c.OwnerID, "not recorded"))}
		if c.OwnerKnown {
			fc.Owner = &view.FlowLink{Text: flowClip(cmp.Or(c.OwnerName, c.OwnerUPN, c.OwnerID)), Href: links.account(c.OwnerID)}
		}
		m.NotConnected = append(m.NotConnected, fc)
	}
	return render(w, r, http.StatusOK, view.FlowList(m))
}

// flowsNotCaptured reports whether the tenant's newest run said that it did
// not capture Power Platform (rather than capturing nothing).
func (h *handler) flowsNotCaptured(r *http.Request, tenantID string, o store.FlowOverview) (bool, error) {
	if o.Environments > 0 {
		return false, nil
	}
	runs, err := h.db.SyncRuns(r.Context(), store.SyncRunFilter{TenantID: &tenantID, Limit: 1})
	if err != nil || len(runs) == 0 {
		return false, err
	}
	rs, ok := runs[0].Resources[string(directory.Flows)]
	return !ok || rs.Status == "not_captured", nil
}

// flowReasons words why a flow is at risk, most serious first.
func flowReasons(f store.FlowAtRisk, links tenantLinks) []view.FlowReason {
	var out []view.FlowReason
	for _, o := range f.ExposedOwners {
		out = append(out, view.FlowReason{Kind: "exposed", Label: "Owner exposed",
			Link:   &view.FlowLink{Text: flowOwnerName(o), Href: links.account(o.ID)},
			Detail: "a password alone signs in as this account to at least one resource"})
	}
	for _, c := range f.BrokenConnections {
		what := cmp.Or(c.Connector, flowConnector(c.APIID))
		reason := view.FlowReason{Kind: "connection", Label: "Connection in error",
			Detail: what + " (" + c.Name + ")"}
		if c.ViaOwner {
			// The flow lists no connection references: its owner's
			// connection in the same environment is the best evidence.
			reason.Label = "Owner's connection in error"
			reason.Detail = what + " (" + c.Name + ") in this environment; the flow lists no connection references"
		}
		if e := flowShortError(c.Error); e != "" {
			reason.Detail += ": " + e
		}
		out = append(out, reason)
	}
	for _, o := range f.DormantOwners {
		out = append(out, view.FlowReason{Kind: "dormant", Label: "Owner dormant",
			Link:   &view.FlowLink{Text: flowOwnerName(o), Href: links.account(o.ID)},
			Detail: "no recent sign-in: is this flow still needed, and who maintains it?"})
	}
	return out
}

func flowOwnerName(o store.FlowOwner) string {
	name := flowClip(cmp.Or(o.DisplayName, o.UPN, o.ID))
	if o.UPN != "" && o.UPN != name {
		name += " (" + o.UPN + ")"
	}
	return name
}

// flowOwnerType labels an owner identity type.
func flowOwnerType(t string) (label, description string) {
	switch t {
	case store.OwnerServiceAccount:
		return "User-based service account", "a user classified as a likely or confirmed service account: the migration candidates"
	case store.OwnerPerson:
		return "Person", "any other user"
	case store.OwnerWorkload:
		return "Service principal or managed identity", "a workload identity: the recommended owner"
	}
	return "Unknown", "not in the directory (deleted, or from another tenant), or not recorded"
}

func flowStatusClass(status string) string {
	switch strings.ToLower(status) {
	case "connected":
		return "status-ok"
	case "error":
		return "status-error"
	}
	return "status-other"
}

// flowConnector names a connector from its API id
// ("/providers/Microsoft.PowerApps/apis/shared_office365" → "shared_office365").
func flowConnector(apiID string) string {
	if i := strings.LastIndex(apiID, "/"); i >= 0 {
		return apiID[i+1:]
	}
	return apiID
}

// flowNameMax bounds a name on the page: display names of 4 KB exist, and
// a list is no place to read them.
const flowNameMax = 160

// flowClip cuts a name to flowNameMax characters, marking the cut.
func flowClip(s string) string { return clip(s, flowNameMax) }

// aadstsMessage finds the Entra error inside a connection's status message:
// what the regular expression `AADSTS\d+:.*` matches (the first "AADSTS",
// digits and a colon, to the end of that line), without it: the flows page
// shows a few hundred messages of hundreds of bytes, and the expression
// took nearly a tenth of its time.
func aadstsMessage(msg string) string {
	for from := 0; ; {
		i := strings.Index(msg[from:], "AADSTS")
		if i < 0 {
			return ""
		}
		start := from + i
		digits := start + len("AADSTS")
		end := digits
		for end < len(msg) && '0' <= msg[end] && msg[end] <= '9' {
			end++
		}
		if end > digits && end < len(msg) && msg[end] == ':' {
			if nl := strings.IndexByte(msg[start:], '\n'); nl >= 0 {
				return msg[start : start+nl]
			}
			return msg[start:]
		}
		from = start + 1
	}
}

// flowShortErrorMax bounds an error message on the page (the raw ones carry
// correlation ids and timestamps).
const flowShortErrorMax = 240

// flowShortError keeps what explains a connection error: the AADSTS part
// when there is one, cut to a readable length.
func flowShortError(msg string) string {
	if m := aadstsMessage(msg); m != "" {
		msg = m
	}
	return clip(strings.TrimSpace(msg), flowShortErrorMax)
}
