package web

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/derr"
)

// healthz says the process is alive. It touches nothing else, so an orchestrator
// does not restart a healthy process because its database is down.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

// readyz says whether this process can serve: the database answers and its
// schema is exactly the one this binary knows. 503 otherwise, with the reason.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := h.db.Ping(ctx)
	if err == nil {
		err = h.db.CheckSchema(ctx)
	}
	if err != nil {
		reason := "database unreachable"
		if derr.Code(err) == derr.EUNAVAILABLE || derr.Code(err) == derr.ECONFLICT {
			reason = derr.Message(err)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready: "+reason+"\n")
		return
	}
	io.WriteString(w, "ready\n")
}
