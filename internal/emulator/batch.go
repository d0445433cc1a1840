package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// JSON batching: POST /v1.0/$batch (or /beta/$batch) with up to 20 requests,
// each dispatched to the same handlers as if sent alone, and answered with
// its own status, headers and body. Each inner request pays its own
// throttling cost and may be throttled on its own.

// maxBatch is Graph's limit of requests in one batch.
const maxBatch = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// innerHeaders are the headers of an inner response worth passing on.
var innerHeaders = []string{"Content-Type", "Retry-After", "Location", "x-ms-resource-unit",
	"x-ms-throttle-scope", "x-ms-throttle-information", "x-ms-throttle-limit-percentage", "Preference-Applied"}

func (c *call) batch() *response {
	var payload struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(c.body, &payload); err != nil {
		return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: %v", err))
	}
	switch n := len(payload.Requests); {
	case n == 0:
		return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: the batch has no requests."))
	case n > maxBatch:
		return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Exceeded the maximum number of allowed requests in a batch: %d requests, the limit is %d.", n, maxBatch))
	}
	seen := map[string]bool{}
	for _, r := range payload.Requests {
		switch {
		case r.ID == "" || r.Method == "" || r.URL == "":
			return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: every request needs an id, a method and a url."))
		case seen[r.ID]:
			return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: request id '%s' is repeated.", r.ID))
		}
		seen[r.ID] = true
	}
	status := map[string]int{}
	out := make([]batchResponse, 0, len(payload.Requests))
	objects := 0
	for _, r := range payload.Requests {
		resp := c.runInner(r, status)
		status[r.ID] = resp.status
		objects += resp.objects
		br := batchResponse{ID: r.ID, Status: resp.status, Body: resp.body, Headers: map[string]string{}}
		for _, h := range innerHeaders {
			if v := resp.header.Get(h); v != "" {
				br.Headers[h] = v
			}
		}
		out = append(out, br)
	}
	body, err := json.Marshal(map[string]any{"responses": out})
	if err != nil {
		return c.fail(errorf(http.StatusInternalServerError, "InternalServerError", "Could not write the batch response."))
	}
	return jsonResponse(body, objects)
}

// runInner answers one request of a batch.
func (c *call) runInner(r batchRequest, status map[string]int) *response {
	inner := &call{e: c.e, t: c.e.cur.Load(), method: strings.ToUpper(r.Method), version: c.version, base: c.base,
		header: http.Header{}, reqID: newGUID(), now: c.now, app: c.app}
	for k, v := range r.Headers {
		inner.header.Set(k, v)
	}
	for _, dep := range r.DependsOn {
		if s, ok := status[dep]; !ok || s >= 400 {
			return inner.fail(errorf(http.StatusFailedDependency, "FailedDependency", "The request depends on request '%s', which failed or did not run.", dep))
		}
	}
	path, rawQ, ok := c.innerTarget(r.URL)
	if !ok {
		return inner.fail(errorf(http.StatusBadRequest, "BadRequest", "Invalid request URL '%s' in the batch: use a URL relative to /%s.", r.URL, c.version))
	}
	inner.path, inner.rawQ = path, rawQ
	inner.route, inner.params, inner.version, inner.wrongMethod = match(c.e.routes, inner.method, path)
	pattern := inner.pattern()
	resp := func() *response {
		switch {
		case inner.route == nil:
			return inner.notFound()
		case inner.route.proto != protoGraph || inner.route.method == http.MethodPost:
			return inner.fail(errorf(http.StatusBadRequest, "BadRequest", "The request '%s' cannot be part of a batch.", r.URL))
		case inner.wrongMethod:
			return inner.fail(errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '%s' is not allowed for the requested resource.", inner.method))
		}
		if f := c.e.faults.take(path, true); f != nil {
			c.e.stats.faults.Add(1)
			return inner.statusFault(f)
		}
		return c.e.dispatch(inner)
	}()
	c.e.stats.add(pattern, resp.status, 0) // the batch counts the objects
	return resp
}

// innerTarget resolves an inner request's URL to a path of the batch's
// version and its query: "/users?$top=5", "users", or an absolute URL to
// this emulator.
func (c *call) innerTarget(raw string) (path, rawQ string, ok bool) {
	if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		raw = u.RequestURI()
		if !strings.HasPrefix(strings.ToLower(u.Path), "/"+strings.ToLower(c.version)+"/") {
			return "", "", false
		}
	}
	p, q, _ := strings.Cut(raw, "?")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	prefix := "/" + c.version
	if !strings.HasPrefix(strings.ToLower(p), strings.ToLower(prefix)+"/") {
		p = prefix + p
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return "", "", false
	}
	return unescaped, q, true
}
