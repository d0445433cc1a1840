package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes is Steward's one route table. Every route is method-qualified; state
// changes only ever happen on POST/PUT/DELETE, which cross-origin protection
// guards.
func (h *handler) routes() *chi.Mux {
	r := chi.NewRouter()
	r.Use(
		securityHeaders,      // on every response, error pages included
		requestID,            // before logging, so log lines carry it
		h.accessLog,          //
		h.recoverPanic,       // inside the log, so a panic is logged as a 500
		h.loopbackOnly,       // refuse other host names (DNS rebinding) until sign-in exists
		h.crossOriginProtect, // refuse cross-site POST/PUT/DELETE
		middleware.GetHead,   // HEAD is GET without the body (link checkers, curl -I)
	)
	// Errors under /api/ answer JSON, 404 and 405 included (apierror.go).
	r.NotFound(h.wrap(notFound))
	r.MethodNotAllowed(methodNotAllowed(r))

	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	r.Get("/static/*", staticFiles)

	// Pages. Every page takes ?tenant=ID (default: the first tenant).
	r.Get("/", h.wrap(h.overview))
	r.Get("/accounts", h.wrap(h.accountList))
	r.Get("/accounts/{id}", h.wrap(h.accountShow))
	r.Get("/policies", h.wrap(h.policyList))
	r.Get("/policies/{id}", h.wrap(h.policyShow))
	r.Get("/flows", h.wrap(h.flowList))
	r.Get("/sync", h.wrap(h.syncList))
	r.Post("/sync", h.wrap(h.syncNow))

	// JSON API, read-only, same filters as the pages.
	r.Get("/api/v1/accounts", h.wrap(h.apiAccountList))
	r.Get("/api/v1/accounts/{id}", h.wrap(h.apiAccountShow))
	r.Get("/api/v1/policies", h.wrap(h.apiPolicyList))
	r.Get("/api/v1/sync/runs", h.wrap(h.apiSyncRuns))
	return r
}

// handlerFunc is a handler that returns its error for wrap to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error
