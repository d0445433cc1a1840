package web

import (
	"net/http"

	"github.com/steward-dev/steward/internal/web/view"
)

// home shows the governed tenants, or the empty state before the first sync.
func (h *handler) home(w http.ResponseWriter, r *http.Request) error {
	tenants, err := h.db.Tenants(r.Context())
	if err != nil {
		return err
	}
	m := view.HomeModel{}
	for _, t := range tenants {
		m.Tenants = append(m.Tenants, view.HomeTenant{
			ID: t.ID, DisplayName: t.DisplayName, DefaultDomain: t.DefaultDomain, UpdatedAt: t.UpdatedAt,
		})
	}
	return render(w, r, http.StatusOK, view.Home(m))
}
