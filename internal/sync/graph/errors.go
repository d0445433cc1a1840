package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/steward-dev/steward/internal/directory"
)

// errorMapping makes the SDK parse every error answer into an ODataError.
var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// RequestError is a failed Graph request: which collection it was for, the
// request (method, path and query, with paging tokens elided), and what went
// wrong. It never holds a token or a secret: Graph's error bodies carry
// none, and the request line is built here without headers.
type RequestError struct {
	Collection directory.Collection
	Request    string
	// Status is the HTTP status, 0 when the request got no answer
	// (connection reset, timeout) or the answer could not be read.
	Status int
	// Code and Message are Graph's error code and message, when it sent them.
	Code    string
	Message string
	// Location is the Location header of a 410 Gone (where a delta query restarts).
	Location string
	Err      error
}

// Error says which collection, which request, and what Graph answered.
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: %s: %s: ", e.Collection, e.Request)
	switch {
	case e.Status != 0 && e.Code != "":
		fmt.Fprintf(&b, "%d %s: %s", e.Status, e.Code, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying error (a network error, a JSON syntax error).
func (e *RequestError) Unwrap() error { return e.Err }

// denied reports whether Graph refused the collection for lack of a
// permission or licence (403): the collection is not captured, which is not
// a failed run.
func (e *RequestError) denied() bool { return e.Status == http.StatusForbidden }

// expiredDelta reports whether a delta link can no longer be used: 410 Gone
// (Graph wants a resynchronisation) or a 4xx syncStateNotFound /
// syncStateInvalid (the token expired, 7 days for directory objects).
func (e *RequestError) expiredDelta() bool {
	return e.Status == http.StatusGone ||
		(e.Status >= 400 && e.Status < 500 && strings.HasPrefix(strings.ToLower(e.Code), "syncstate")) ||
		(e.Status >= 400 && e.Status < 500 && strings.EqualFold(e.Code, "resyncRequired"))
}

// asRequestError returns err's RequestError, if it has one.
func asRequestError(err error) (*RequestError, bool) {
	var re *RequestError
	ok := errors.As(err, &re)
	return re, ok
}

func isDenied(err error) bool {
	re, ok := asRequestError(err)
	return ok && re.denied()
}

func isExpiredDelta(err error) bool {
	re, ok := asRequestError(err)
	return ok && re.expiredDelta()
}

// requestError turns what the SDK returned into a RequestError.
func requestError(coll directory.Collection, request string, err error) error {
	re := &RequestError{Collection: coll, Request: request, Err: err}
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	var ue *url.Error
	switch {
	case errors.As(err, &oe):
		re.Status = oe.ResponseStatusCode
		// ODataError.Error dereferences the message without checking: read
		// the fields one by one.
		if main := oe.GetErrorEscaped(); main != nil {
			re.Code = deref(main.GetCode())
			re.Message = deref(main.GetMessage())
		}
		re.Location = header(oe.ResponseHeaders, "Location")
	case errors.As(err, &ae):
		re.Status = ae.ResponseStatusCode
		re.Message = ae.Message
		re.Location = header(ae.ResponseHeaders, "Location")
	case errors.As(err, &ue):
		// url.Error repeats the whole URL; the request is already named.
		re.Err = ue.Err
	}
	return re
}

func header(h *abs.ResponseHeaders, name string) string {
	if h == nil {
		return ""
	}
	for _, k := range h.ListKeys() {
		if strings.EqualFold(k, name) {
			if v := h.Get(k); len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// describeURL writes a request for errors and logs: method, path and query,
// with $skiptoken and $deltatoken values elided (long, and useless to a
// reader). Graph URLs carry no credentials.
func describeURL(method string, u *url.URL) string {
	if u == nil {
		return method
	}
	q := u.RawQuery
	if q != "" {
		parts := strings.Split(q, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			switch strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(k, "%24"), "$")) {
			case "skiptoken", "deltatoken":
				parts[i] = k + "=…"
			}
		}
		q = "?" + strings.Join(parts, "&")
	}
	return method + " " + u.Path + q
}

// objectError is a page item that would not decode.
func objectError(coll directory.Collection, request string, err error) error {
	return &RequestError{Collection: coll, Request: request, Message: "malformed object: " + err.Error(), Err: err}
}
