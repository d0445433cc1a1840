package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// handler holds what the handlers use, and nothing else.
type handler struct {
	db        *store.DB
	log       *slog.Logger
	demo      bool                                             // show the demo banner
	startSync func(ctx context.Context, tenantID string) error // nil: no tenant configured for sync
}

// wrap adapts a handlerFunc: an error becomes the matching status and error
// page. Only internal errors are logged; users never see their text.
func (h *handler) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.serveError(w, r, err)
		}
	}
}

// statusOf maps an error code to an HTTP status.
func statusOf(err error) int {
	switch derr.Code(err) {
	case derr.EINVALID:
		return http.StatusBadRequest
	case derr.ENOTFOUND:
		return http.StatusNotFound
	case derr.ECONFLICT:
		return http.StatusConflict
	case derr.EFORBIDDEN:
		return http.StatusForbidden
	case derr.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (h *handler) serveError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := derr.Message(err)
	if status == http.StatusInternalServerError {
		if r.Context().Err() != nil {
			return // the client went away; nothing to tell it
		}
		h.log.ErrorContext(r.Context(), "request failed",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Any("error", err))
	}
	writeErrorPage(w, r, status, msg)
}

// writeErrorPage answers a request with an error: under /api/ as the JSON
// error body (apierror.go), elsewhere as the site's error page, falling back
// to plain text if even that fails (the response must never reveal why).
// Every error response goes through it — handlers' errors, 404 and 405,
// panics, cross-origin refusals — so that the API never answers HTML.
func writeErrorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		writeAPIError(w, r, status, msg)
		return
	}
	page := view.ErrorPage(view.ErrorModel{
		Status:    status,
		Title:     http.StatusText(status),
		Message:   msg,
		RequestID: RequestID(r.Context()),
	})
	var buf bytes.Buffer
	if err := page.Render(context.WithoutCancel(r.Context()), &buf); err != nil {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// render writes a page with the given status. It renders into a buffer first,
// so a failing template becomes a clean 500 instead of half a page.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// renderBuffers are render's buffers, reused: a page of accounts is about
// 50 KB, grown afresh on every request otherwise.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer returns a buffer to the pool, unless an unusually large
// page grew it (a pooled buffer's memory is never given back).
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	if isAPI(r) {
		return derr.Errorf(derr.ENOTFOUND, "There is no API endpoint at this address.")
	}
	return derr.Errorf(derr.ENOTFOUND, "There is no page at this address.")
}

// methodNotAllowed answers a method the route table has no route for at this
// path, naming in Allow the methods it has (chi leaves that to a custom
// handler).
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			// HEAD is served by every GET route (middleware.GetHead).
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) ||
				m == http.MethodHead && slices.Contains(allow, http.MethodGet) {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		writeErrorPage(w, r, http.StatusMethodNotAllowed, "This address does not accept that method.")
	}
}
