package web

import (
	"encoding/json"
	"net/http"
	"strings"
)

// apiPrefix is where the JSON API lives. Every answer under it, errors
// included, is JSON: a script reading the API never has to parse a page.
const apiPrefix = "/api/"

// isAPI reports whether r is addressed to the JSON API.
func isAPI(r *http.Request) bool {
	return r.URL.Path == strings.TrimSuffix(apiPrefix, "/") || strings.HasPrefix(r.URL.Path, apiPrefix)
}

// apiError is the body of every API error:
//
//	{"error": {"status": 404, "message": "…", "requestId": "…"}}
//
// message is the same user-safe text an error page shows ("Internal error."
// for anything internal, whose details go to the log); requestId matches the
// X-Request-Id header and the log lines of the request.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Status    int    `json:"status"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// writeAPIError answers an API request with status and the JSON error body.
func writeAPIError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// Strings and an int cannot fail to marshal.
	b, _ := json.Marshal(apiError{Error: apiErrorBody{Status: status, Message: msg, RequestID: RequestID(r.Context())}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
