package web

import (
	"encoding/json"
	"net/http"

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
