package web

import (
	"bytes"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/steward-dev/steward/static"
)

// staticFiles serves the embedded static files. A request carrying the file's
// current content version (static.Path adds it) may be cached for a year; any
// other gets a short cache and an ETag to revalidate.
func staticFiles(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(chi.URLParam(r, "*"))
	version := static.Version(name)
	body, err := static.FS.ReadFile(name)
	if version == "" || err != nil || strings.HasPrefix(name, ".") {
		writeErrorPage(w, r, http.StatusNotFound, "There is no file at this address.")
		return
	}
	if r.URL.Query().Get("v") == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	w.Header().Set("ETag", `"`+version+`"`)
	// ServeContent sets Content-Type from the extension and answers
	// If-None-Match with 304.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}
