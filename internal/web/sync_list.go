package web

import "net/http"

// Not built yet: the dashboard issue builds this page.
func (h *handler) syncList(w http.ResponseWriter, r *http.Request) error    { return notFound(w, r) }
func (h *handler) syncNow(w http.ResponseWriter, r *http.Request) error     { return notFound(w, r) }
func (h *handler) apiSyncRuns(w http.ResponseWriter, r *http.Request) error { return notFound(w, r) }
