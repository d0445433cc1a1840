package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// pageState is what a $skiptoken or $deltatoken carries: the version of the
// tenant being walked, where the walk is, and the query options of the first
// request, so that next links need nothing else and a walk is never disturbed
// by churn. Tokens are signed: a token from another emulator (or a restarted
// one) is refused rather than misread.
type pageState struct {
	Kind   string `json:"k"`           // tokenPage, tokenDelta or tokenDeltaLink
	Path   string `json:"p"`           // lower-cased path the token belongs to
	V      uint64 `json:"v"`           // tenant version walked
	From   uint64 `json:"f,omitempty"` // delta: report changes made after this version (0: everything)
	I      int    `json:"i,omitempty"` // position in the walk
	Select string `json:"s,omitempty"`
	Filter string `json:"q,omitempty"`
	Top    int    `json:"t,omitempty"`
	Expand string `json:"x,omitempty"`
	Count  bool   `json:"c,omitempty"`
	Epoch  uint64 `json:"e,omitempty"` // delta: the epoch the token was issued in
	At     int64  `json:"a,omitempty"` // delta link: issue time, Unix seconds
}

const (
	tokenPage      = "page"
	tokenDelta     = "delta"
	tokenDeltaLink = "deltaLink"
)

func (e *Emulator) encodeToken(st pageState) string {
	b, _ := json.Marshal(st)
	mac := hmac.New(sha256.New, e.pageKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

func (e *Emulator) decodeToken(s string) (pageState, bool) {
	var st pageState
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return st, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return st, false
	}
	want, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return st, false
	}
	mac := hmac.New(sha256.New, e.pageKey)
	mac.Write(b)
	if !hmac.Equal(mac.Sum(nil)[:16], want) {
		return st, false
	}
	return st, json.Unmarshal(b, &st) == nil
}

// listing describes one list endpoint for the generic pager.
type listing struct {
	res  *resource
	coll directory.Collection // "" when the list is not one snapshot collection
	// items lists the objects of one version of the tenant. It runs on the
	// version the walk started on, so every page sees the same list.
	items    func(t *tenant) ([]*entry, *apiError)
	withType bool     // every item carries @odata.type (directory object lists)
	perKind  bool     // items of mixed types, each projected with its own type's defaults
	hidden   []string // hidden on top of the resource's (version differences)
	context  string   // @odata.context fragment, e.g. "users" or "directoryObjects"
	// expand is the one $expand the list supports ("" for none); expandWith
	// returns the expanded property's JSON for an item.
	expand     string
	expandWith func(t *tenant, e *entry) []byte
	pp         bool // Power Platform: nextLink, no annotations, no $select
}

// list serves one page of a listing: the first page from the query options,
// the next ones from their $skiptoken.
func (c *call) list(l listing) *response {
	if l.coll != "" && !c.t.isCaptured(l.coll) {
		return c.fail(errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
	}
	st, err := c.pageState(l)
	if err != nil {
		return c.fail(err)
	}
	t := c.e.version(st.V)
	if t == nil {
		return c.fail(errorf(http.StatusBadRequest, "BadRequest", "The $skiptoken has expired: the listing changed too much since it started. Start again without it."))
	}
	items, err := l.items(t)
	if err != nil {
		return c.fail(err)
	}
	var filter filterNode
	if st.Filter != "" {
		filter, _ = parseFilter(st.Filter) // validated by the first request
	}
	sel := newSelection(l.res, st.Select, l.withType, l.hidden...)
	selFor := func(*entry) *selection { return sel }
	if l.perKind {
		byKind := map[string]*selection{}
		selFor = func(e *entry) *selection {
			s, ok := byKind[e.kind]
			if !ok {
				res := resourceOfKind(e.kind)
				if res == nil {
					res = &resource{name: "directoryObjects", odataType: directory.ODataType(e.kind)}
				}
				s = newSelection(res, st.Select, true)
				byKind[e.kind] = s
			}
			return s
		}
	}
	matches := func(e *entry) bool { return filter == nil || filter.match(e.fields()) }

	var out [][]byte
	i := st.I
	for ; i < len(items) && len(out) < st.Top; i++ {
		if !matches(items[i]) {
			continue
		}
		if l.pp {
			out = append(out, items[i].raw) // Power Platform objects are served whole
			continue
		}
		out = append(out, c.render(t, items[i], selFor(items[i]), l, st.Expand))
	}
	// Look ahead for the next match, so the last page has no next link and
	// the next page starts where a match is.
	for i < len(items) && filter != nil && !matches(items[i]) {
		i++
	}
	next := ""
	if i < len(items) {
		st.I = i
		if l.pp {
			next = c.link("api-version=" + url.QueryEscape(c.q.apiVersion) + "&$skiptoken=" + c.e.encodeToken(st))
		} else {
			next = c.link("$skiptoken=" + c.e.encodeToken(st))
		}
	}
	if l.pp {
		return jsonResponse(ppPageBody(next, out), len(out))
	}
	count := -1
	if st.Count {
		count = 0
		for _, e := range items {
			if matches(e) {
				count++
			}
		}
	}
	return jsonResponse(pageBody(c.metadata(contextFragment(l.context, sel, st.Select != "")), count, next, "", out), len(out))
}

// render returns one item of a page, with its expanded property if asked.
func (c *call) render(t *tenant, e *entry, sel *selection, l listing, expand string) []byte {
	p := e.project(sel)
	if expand == "" || l.expandWith == nil {
		return p
	}
	inline := l.expandWith(t, e)
	var b bytes.Buffer
	b.Grow(len(p) + len(inline) + len(expand) + 8)
	b.Write(p[:len(p)-1])
	if len(p) > 2 {
		b.WriteByte(',')
	}
	writeKey(&b, expand)
	b.Write(inline)
	b.WriteByte('}')
	return b.Bytes()
}

// pageState returns the state of the page asked for: decoded from the
// $skiptoken, or fresh from validated query options.
func (c *call) pageState(l listing) (pageState, *apiError) {
	if c.q.skipToken != "" {
		st, ok := c.e.decodeToken(c.q.skipToken)
		if !ok || st.Kind != tokenPage || st.Path != c.canonicalPath() {
			return st, errorf(http.StatusBadRequest, "BadRequest", "The $skiptoken is not valid for this request.")
		}
		return st, nil
	}
	st := pageState{Kind: tokenPage, Path: c.canonicalPath(), V: c.t.seq}
	limit := c.e.pageLimit(l.res.limit)
	if l.pp {
		st.Top = limit.Default
		if c.q.hasTop {
			st.Top = min(c.q.top, limit.Max) // the Power Platform APIs cap rather than refuse
		}
		return st, nil
	}
	if c.q.unsupported != "" {
		return st, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "The query option '%s' is not supported on this resource.", c.q.unsupported)
	}
	if c.q.expand != "" {
		if l.expand == "" || !strings.EqualFold(c.q.expand, l.expand) {
			return st, errorf(http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' to expand.", c.q.expand)
		}
		st.Expand = l.expand
	}
	if c.q.filter != "" {
		if err := checkFilter(c.q.filter, l.res.filters); err != nil {
			return st, err
		}
		st.Filter = c.q.filter
	}
	st.Select, st.Count = c.q.selectParam, c.q.count
	if l.res == resUsers && newSelection(l.res, st.Select, false).has("signInActivity") {
		limit = c.e.pageLimit(LimitUsersWithSignInActivity)
	}
	st.Top = limit.Default
	if c.q.hasTop {
		if c.q.top > limit.Max {
			return st, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", c.q.top, limit.Max)
		}
		st.Top = c.q.top
	}
	return st, nil
}

// checkFilter parses a $filter and checks it against what a resource allows.
func checkFilter(s string, allowed map[string]string) *apiError {
	n, err := parseFilter(s)
	if err == nil {
		err = n.check(allowed)
	}
	var unsupported errUnsupported
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unsupported):
		return errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query. %s", unsupported.msg)
	default:
		return errorf(http.StatusBadRequest, "BadRequest", "Invalid filter clause: %v", err)
	}
}

func (e *Emulator) pageLimit(key string) PageLimit {
	if l, ok := e.opts.PageLimits[key]; ok && l.Max > 0 {
		if l.Default <= 0 || l.Default > l.Max {
			l.Default = l.Max
		}
		return l
	}
	return PageLimit{Default: 100, Max: 999}
}

// contextFragment is the @odata.context fragment: the entity set, with the
// selected properties in parentheses as Graph writes them.
func contextFragment(set string, sel *selection, selected bool) string {
	if !selected || sel.all || len(sel.names) == 0 {
		return set
	}
	return set + "(" + strings.Join(sel.names[:sel.requested], ",") + ")"
}

// getOne serves one object by id.
func (c *call) getOne(res *resource, coll directory.Collection, id string, hidden ...string) *response {
	if !c.t.isCaptured(coll) {
		return c.fail(errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
	}
	e := c.t.get(coll, id)
	if e == nil {
		return c.resourceNotFound(id)
	}
	if c.q.unsupported != "" || c.q.expand != "" {
		return c.fail(errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "The query options are not supported on this resource."))
	}
	sel := newSelection(res, c.q.selectParam, false, hidden...)
	p := e.project(sel)
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":`)
	b.Write(jsonString(c.metadata(contextFragment(res.name, sel, c.q.hasSelect) + "/$entity")))
	if len(p) > 2 {
		b.WriteByte(',')
	}
	b.Write(p[1:])
	return jsonResponse(b.Bytes(), 1)
}

// resourceNotFound is Graph's 404 for an unknown id.
func (c *call) resourceNotFound(id string) *response {
	return c.fail(errorf(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}
