package web

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// tenantOf returns the tenant a request is about: ?tenant=ID, or the first
// governed tenant. ok is false when no tenant has been synced yet (pages show
// their empty state); an unknown ?tenant is ENOTFOUND.
func (h *handler) tenantOf(r *http.Request) (t store.Tenant, all []store.Tenant, ok bool, err error) {
	all, err = h.db.Tenants(r.Context())
	if err != nil {
		return t, nil, false, err
	}
	want := directory.ID(r.URL.Query().Get("tenant"))
	for _, c := range all {
		if want == "" || c.ID == want {
			return c, all, true, nil
		}
	}
	if want != "" {
		return t, all, false, derr.Errorf(derr.ENOTFOUND, "No tenant %q is governed here.", want)
	}
	return t, all, false, nil
}

// tenantName is how pages name a tenant.
func tenantName(t store.Tenant) string { return cmp.Or(t.DisplayName, t.DefaultDomain, t.ID) }

// tenantLinks builds a page's links, keeping ?tenant= when the deployment
// governs several tenants (with one, URLs stay short).
type tenantLinks struct{ tenant string }

// href links path with params (pairs of name and value; names may repeat).
func (l tenantLinks) href(path string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	if l.tenant != "" {
		q.Set("tenant", l.tenant)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// account links an account's detail page.
func (l tenantLinks) account(id string) string { return l.href("/accounts/" + url.PathEscape(id)) }

// accounts links the accounts list filtered by params.
func (l tenantLinks) accounts(params ...string) string { return l.href("/accounts", params...) }

// writeJSON writes v as the JSON answer of the API.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
