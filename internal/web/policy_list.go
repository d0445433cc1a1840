package web

import "net/http"

// Not built yet: the dashboard issue builds this page.
func (h *handler) policyList(w http.ResponseWriter, r *http.Request) error    { return notFound(w, r) }
func (h *handler) apiPolicyList(w http.ResponseWriter, r *http.Request) error { return notFound(w, r) }
