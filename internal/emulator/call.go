package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// call is one request being answered: an HTTP request, or one request of a
// $batch. Handlers read it and return a response; they never write to the
// network, so a response can be delayed, counted, mangled by a fault or
// nested in a batch.
type call struct {
	e       *Emulator
	t       *tenant // the current version when the request arrived
	route   *route
	method  string
	path    string // the request path, e.g. /v1.0/users/delta
	version string // "v1.0" or "beta" for Graph, "" otherwise
	base    string // scheme://host the client used, for absolute links
	params  map[string]string
	rawQ    string
	q       query
	header  http.Header
	body    []byte
	reqID   string
	now     time.Time
	app     string // the caller's client id, from its token

	wrongMethod bool // the path exists, but not for this method

	throttlePercentage string // x-ms-throttle-limit-percentage, when above 80%
}

// response is what a handler answers.
type response struct {
	status  int
	header  http.Header
	body    []byte
	objects int // objects carried, for the latency model and counters
}

// apiError is an error answer before it is written in its protocol's shape.
type apiError struct {
	status  int
	code    string
	message string
	header  http.Header
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// fail writes an error in the shape of the call's protocol: Graph's
// {"error":{"code","message","innerError":{…}}}, or the Power Platform's
// {"error":{"code","message"}}.
func (c *call) fail(err *apiError) *response {
	if c.route == nil || c.route.proto != protoPowerPlatform {
		return c.failGraph(err)
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": err.code, "message": err.message}})
	return errorResponse(err, body)
}

// failGraph writes an error in Graph's shape whatever the protocol: 401s
// look alike on every API.
func (c *call) failGraph(err *apiError) *response {
	return errorResponse(err, graphErrorBody(err.code, err.message, c.reqID, c.now))
}

func errorResponse(err *apiError, body []byte) *response {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range err.header {
		h[k] = v
	}
	return &response{status: err.status, header: h, body: body}
}

func graphErrorBody(code, message, reqID string, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code":    code,
		"message": message,
		"innerError": map[string]string{
			"date":              now.UTC().Format("2006-01-02T15:04:05"),
			"request-id":        reqID,
			"client-request-id": reqID,
		},
	}})
	return b
}

// jsonResponse answers 200 with a JSON body.
func jsonResponse(body []byte, objects int) *response {
	return &response{status: http.StatusOK, header: http.Header{"Content-Type": {graphContentType}}, body: body, objects: objects}
}

// graphContentType is what Graph sends with JSON.
const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func marshalResponse(v any) *response {
	b, _ := json.Marshal(v)
	return &response{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: b}
}

// query holds the query options of a request, with the names normalised:
// Graph accepts $select, %24select and (from the SDK's middleware or by
// hand) a bare select alike.
type query struct {
	selectParam string
	hasSelect   bool
	top         int
	hasTop      bool
	filter      string
	expand      string
	skipToken   string
	deltaToken  string
	count       bool
	unsupported string // the first option Graph would refuse here ($orderby, $search, $skip)
	apiVersion  string
}

// parseQuery reads the query string.
func parseQuery(raw string) (query, *apiError) {
	var q query
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, errorf(http.StatusBadRequest, "BadRequest", "The query string is malformed: %v", err)
	}
	for k, vs := range values {
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		switch strings.ToLower(strings.TrimPrefix(k, "$")) {
		case "select":
			q.selectParam, q.hasSelect = v, strings.TrimSpace(v) != ""
		case "top":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return q, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '%s'.", v)
			}
			q.top, q.hasTop = n, true
		case "filter":
			q.filter = strings.TrimSpace(v)
		case "expand":
			q.expand = strings.TrimSpace(v)
		case "skiptoken":
			q.skipToken = v
		case "deltatoken":
			q.deltaToken = v
		case "count":
			q.count = strings.EqualFold(v, "true")
		case "orderby", "search", "skip":
			if q.unsupported == "" {
				q.unsupported = "$" + strings.ToLower(strings.TrimPrefix(k, "$"))
			}
		case "api-version":
			q.apiVersion = v
		}
	}
	return q, nil
}

// canonicalPath names what a page or delta token walks, whatever the
// spelling of the request path (delta or delta(), letter case): a token is
// valid on any spelling of its resource, and on no other resource.
func (c *call) canonicalPath() string {
	var b strings.Builder
	for _, s := range c.route.segs {
		b.WriteByte('/')
		switch {
		case s == "{version}":
			b.WriteString(c.version)
		case s[0] == '{':
			b.WriteString(c.params[s[1:len(s)-1]])
		default:
			b.WriteString(s)
		}
	}
	return strings.ToLower(b.String())
}

// link builds an absolute URL back to the emulator for the call's path.
func (c *call) link(params string) string {
	return c.base + c.path + "?" + params
}

// pageBody assembles a Graph collection page. Annotations come first, as
// Graph writes them; deltaLink, when set, goes last.
func pageBody(context string, count int, next, delta string, items [][]byte) []byte {
	size := len(context) + len(next) + len(delta) + 96
	for _, it := range items {
		size += len(it) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(`{"@odata.context":`)
	b.Write(jsonString(context))
	if count >= 0 {
		b.WriteString(`,"@odata.count":`)
		b.WriteString(strconv.Itoa(count))
	}
	if next != "" {
		b.WriteString(`,"@odata.nextLink":`)
		b.Write(jsonString(next))
	}
	b.WriteString(`,"value":`)
	writeArray(b, items)
	if delta != "" {
		b.WriteString(`,"@odata.deltaLink":`)
		b.Write(jsonString(delta))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// ppPageBody assembles a Power Platform page: value, then nextLink.
func ppPageBody(next string, items [][]byte) []byte {
	size := len(next) + 32
	for _, it := range items {
		size += len(it) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(`{"value":`)
	writeArray(b, items)
	if next != "" {
		b.WriteString(`,"nextLink":`)
		b.Write(jsonString(next))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// metadata returns the @odata.context of a Graph response.
func (c *call) metadata(fragment string) string {
	return c.base + "/" + c.version + "/$metadata#" + fragment
}

// writeArray writes already-encoded JSON values as one JSON array.
func writeArray(b *bytes.Buffer, items [][]byte) {
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
}
