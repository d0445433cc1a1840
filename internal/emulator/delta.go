package emulator

import (
	"bytes"
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Delta queries (GRAPH.md §0): the first round lists everything, paged with
// @odata.nextLink, and its last page carries an @odata.deltaLink (never both).
// A later call of the delta link lists what changed since: changed and added
// objects projected by the first request's $select, removed ones as
// {"id":…,"@removed":{"reason":"deleted"}}, and for groups the membership
// changes in members@delta. Changes are recorded per tenant version by churn.

// change records that an object of a collection changed (or went) in a version.
type change struct {
	seq  uint64
	coll directory.Collection
	key  string
}

// memberChange records a membership added to or removed from a group.
type memberChange struct {
	seq     uint64
	group   string
	ref     directory.Ref
	removed bool
}

// deltaRule decides the fate of delta tokens issued before an epoch:
// syncStateNotFound (expired) or 410 Gone (restart).
type deltaRule struct {
	below uint64
	gone  bool
}

// deltaSpec describes one delta endpoint.
type deltaSpec struct {
	res     *resource
	coll    directory.Collection
	context string
	members bool // groups: members@delta when $select names members
}

func (c *call) deltaUsers() *response {
	return c.delta(deltaSpec{res: resUsers, coll: directory.Users, context: "users"})
}

func (c *call) deltaGroups() *response {
	return c.delta(deltaSpec{res: resGroups, coll: directory.Groups, context: "groups", members: true})
}

func (c *call) deltaServicePrincipals() *response {
	return c.delta(deltaSpec{res: resServicePrincipals, coll: directory.ServicePrincipals, context: "servicePrincipals"})
}

func (c *call) deltaApplications() *response {
	return c.delta(deltaSpec{res: resApplications, coll: directory.Applications, context: "applications"})
}

// ExpireDeltaTokens makes every delta token issued so far fail with
// syncStateNotFound, as Graph answers for a token past its lifetime.
func (e *Emulator) ExpireDeltaTokens() { e.addDeltaRule(false) }

// RequireResync makes every delta token issued so far answer 410 Gone with a
// Location to restart the delta query from, as Graph does when it wants a
// full resynchronisation.
func (e *Emulator) RequireResync() { e.addDeltaRule(true) }

func (e *Emulator) addDeltaRule(gone bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deltaEpoch++
	e.deltaRules = append(e.deltaRules, deltaRule{below: e.deltaEpoch, gone: gone})
}

func (e *Emulator) currentEpoch() uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.deltaEpoch
}

func (c *call) syncStateNotFound() *response {
	return c.fail(errorf(http.StatusBadRequest, "syncStateNotFound",
		"The delta token is expired or unknown: restart the delta query without a token."))
}

// checkToken applies the delta rules and the token lifetime to a token.
func (c *call) checkToken(st pageState, selectParam string) *response {
	c.e.mu.RLock()
	rules := c.e.deltaRules
	c.e.mu.RUnlock()
	for i := len(rules) - 1; i >= 0; i-- {
		if st.Epoch >= rules[i].below {
			continue
		}
		if !rules[i].gone {
			return c.syncStateNotFound()
		}
		restart := c.base + c.path
		if selectParam != "" {
			restart += "?$select=" + url.QueryEscape(selectParam)
		}
		resp := c.fail(errorf(http.StatusGone, "resyncRequired",
			"Resync required: replace any local items with the server's version (including deletes) by restarting the delta query from the Location header."))
		resp.header.Set("Location", restart)
		return resp
	}
	if st.At != 0 && c.now.Sub(time.Unix(st.At, 0)) > c.e.opts.DeltaTokenLifetime {
		return c.syncStateNotFound()
	}
	return nil
}

// delta serves one page of a delta round.
func (c *call) delta(d deltaSpec) *response {
	if !c.t.isCaptured(d.coll) {
		return c.fail(errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
	}
	path := c.canonicalPath()
	var st pageState
	switch {
	case c.q.skipToken != "":
		tok, ok := c.e.decodeToken(c.q.skipToken)
		if !ok || tok.Kind != tokenDelta || tok.Path != path {
			return c.syncStateNotFound()
		}
		if resp := c.checkToken(tok, tok.Select); resp != nil {
			return resp
		}
		st = tok
	case strings.EqualFold(c.q.deltaToken, "latest"):
		// "Sync from now" (delta query overview): no objects, only a delta
		// link for the current state, with this request's $select.
		link := c.link("$deltatoken=" + c.e.encodeToken(pageState{Kind: tokenDeltaLink, Path: path, V: c.t.seq,
			Select: c.q.selectParam, Filter: c.q.filter, Epoch: c.e.currentEpoch(), At: c.now.Unix()}))
		sel := newSelection(d.res, c.q.selectParam, false)
		return jsonResponse(pageBody(c.metadata(contextFragment(d.context, sel, c.q.selectParam != "")), -1, "", link, nil), 0)
	case c.q.deltaToken != "":
		tok, ok := c.e.decodeToken(c.q.deltaToken)
		if !ok || tok.Kind != tokenDeltaLink || tok.Path != path {
			return c.syncStateNotFound()
		}
		if resp := c.checkToken(tok, tok.Select); resp != nil {
			return resp
		}
		st = pageState{Kind: tokenDelta, Path: path, V: c.t.seq, From: tok.V, Select: tok.Select, Filter: tok.Filter, Epoch: c.e.currentEpoch()}
	default:
		if c.q.unsupported != "" || c.q.expand != "" {
			return c.fail(errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query."))
		}
		if c.q.filter != "" {
			// Delta queries only accept a scoping filter on ids.
			if err := checkFilter(c.q.filter, map[string]string{"id": "eq"}); err != nil {
				err.message = "Unsupported Query."
				err.code = "Request_UnsupportedQuery"
				return c.fail(err)
			}
		}
		st = pageState{Kind: tokenDelta, Path: path, V: c.t.seq, Select: c.q.selectParam, Filter: c.q.filter, Epoch: c.e.currentEpoch()}
	}
	t := c.e.version(st.V)
	if t == nil {
		return c.syncStateNotFound()
	}
	var filter filterNode
	if st.Filter != "" {
		filter, _ = parseFilter(st.Filter)
	}
	props := parseSelect(st.Select)
	withMembers := d.members && (len(props) == 0 || slices.ContainsFunc(props, func(p string) bool { return strings.EqualFold(p, "members") }))
	props = slices.DeleteFunc(props, func(p string) bool { return strings.EqualFold(p, "members") })
	sel := newSelection(d.res, strings.Join(props, ","), false)

	// The round's items: every object on the first round, the changed keys on later ones.
	var keys []string
	var memberDeltas map[string][]memberDelta
	if st.From == 0 {
		for _, e := range t.items(d.coll) {
			if filter == nil || filter.match(e.fields()) {
				keys = append(keys, e.key)
			}
		}
	} else {
		if withMembers {
			memberDeltas = c.e.memberDeltas(st.From, st.V)
		}
		keys = c.e.changedKeys(d.coll, st.From, st.V, memberDeltas)
		if filter != nil {
			keys = slices.DeleteFunc(keys, func(k string) bool {
				return !filter.match([]field{{name: []byte("id"), value: jsonString(k)}})
			})
		}
	}

	size := c.deltaPageSize()
	end := min(st.I+size, len(keys))
	out := make([][]byte, 0, end-st.I)
	for _, k := range keys[st.I:end] {
		e := t.get(d.coll, k)
		if e == nil {
			out = append(out, removedJSON(k, ""))
			continue
		}
		item := e.project(sel)
		if withMembers {
			var md []memberDelta
			if st.From == 0 {
				for _, r := range t.members(k) {
					md = append(md, memberDelta{ref: r})
				}
			} else {
				md = memberDeltas[k]
			}
			item = withMemberDeltas(item, t, md)
		}
		out = append(out, item)
	}
	var next, deltaLink string
	if end < len(keys) {
		st.I = end
		next = c.link("$skiptoken=" + c.e.encodeToken(st))
	} else {
		deltaLink = c.link("$deltatoken=" + c.e.encodeToken(pageState{Kind: tokenDeltaLink, Path: path, V: st.V,
			Select: st.Select, Filter: st.Filter, Epoch: c.e.currentEpoch(), At: c.now.Unix()}))
	}
	resp := jsonResponse(pageBody(c.metadata(contextFragment(d.context, sel, len(props) > 0)), -1, next, deltaLink, out), len(out))
	if p := c.preferredPageSize(); p > 0 {
		resp.header.Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	return resp
}

// deltaPageSize is the page size of a delta round: Graph picks it, a client
// may lower it with Prefer: odata.maxpagesize.
func (c *call) deltaPageSize() int {
	limit := c.e.pageLimit(LimitDelta)
	if p := c.preferredPageSize(); p > 0 {
		return min(p, limit.Max)
	}
	return limit.Default
}

func (c *call) preferredPageSize() int {
	for _, v := range c.header.Values("Prefer") {
		for _, part := range strings.Split(v, ",") {
			if n, ok := strings.CutPrefix(strings.TrimSpace(part), "odata.maxpagesize="); ok {
				if size, err := strconv.Atoi(n); err == nil && size > 0 {
					return size
				}
			}
		}
	}
	return 0
}

// memberDelta is one entry of members@delta.
type memberDelta struct {
	ref     directory.Ref
	removed bool
}

// removedJSON is how a delta round reports an object or a member that went.
func removedJSON(id, odataType string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if odataType != "" {
		b.WriteString(`"@odata.type":`)
		b.Write(jsonString(odataType))
		b.WriteByte(',')
	}
	b.WriteString(`"id":`)
	b.Write(jsonString(id))
	b.WriteString(`,"@removed":{"reason":"deleted"}}`)
	return b.Bytes()
}

// withMemberDeltas appends members@delta to a group's JSON.
func withMemberDeltas(item []byte, t *tenant, md []memberDelta) []byte {
	var b bytes.Buffer
	b.Grow(len(item) + 80*len(md) + 24)
	b.Write(item[:len(item)-1])
	if len(item) > 2 {
		b.WriteByte(',')
	}
	b.WriteString(`"members@delta":[`)
	for i, m := range md {
		if i > 0 {
			b.WriteByte(',')
		}
		typ := m.ref.ODataType
		if typ == "" {
			typ = directory.ODataType(t.resolve(m.ref).kind)
		}
		if m.removed {
			b.Write(removedJSON(m.ref.ID, typ))
			continue
		}
		b.WriteString(`{"@odata.type":`)
		b.Write(jsonString(typ))
		b.WriteString(`,"id":`)
		b.Write(jsonString(m.ref.ID))
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// changedKeys lists the objects of a collection changed in versions (from,
// to], plus the groups whose membership changed, in the order of their last
// change.
func (e *Emulator) changedKeys(coll directory.Collection, from, to uint64, members map[string][]memberDelta) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	last := map[string]uint64{}
	start, _ := slices.BinarySearchFunc(e.changes, from+1, func(ch change, seq uint64) int { return cmp.Compare(ch.seq, seq) })
	for _, ch := range e.changes[start:] {
		if ch.seq > to {
			break
		}
		if ch.coll == coll {
			last[ch.key] = ch.seq
		}
	}
	if len(members) > 0 {
		start, _ := slices.BinarySearchFunc(e.memberChanges, from+1, func(ch memberChange, seq uint64) int { return cmp.Compare(ch.seq, seq) })
		for _, ch := range e.memberChanges[start:] {
			if ch.seq > to {
				break
			}
			if _, ok := members[ch.group]; ok && last[ch.group] < ch.seq {
				last[ch.group] = ch.seq
			}
		}
	}
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(last[a], last[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

// memberDeltas nets the membership changes of versions (from, to] per group:
// a member added then removed (or the reverse) did not change.
func (e *Emulator) memberDeltas(from, to uint64) map[string][]memberDelta {
	e.mu.RLock()
	defer e.mu.RUnlock()
	type pair struct{ group, member string }
	type net struct {
		first, last memberChange
		order       int
	}
	nets := map[pair]*net{}
	start, _ := slices.BinarySearchFunc(e.memberChanges, from+1, func(ch memberChange, seq uint64) int { return cmp.Compare(ch.seq, seq) })
	for _, ch := range e.memberChanges[start:] {
		if ch.seq > to {
			break
		}
		p := pair{ch.group, ch.ref.ID}
		if n, ok := nets[p]; ok {
			n.last = ch
			continue
		}
		nets[p] = &net{first: ch, last: ch, order: len(nets)}
	}
	type ordered struct {
		group string
		md    memberDelta
		order int
	}
	var list []ordered
	for p, n := range nets {
		if n.first.removed != n.last.removed {
			continue // back where it started
		}
		list = append(list, ordered{p.group, memberDelta{ref: n.last.ref, removed: n.last.removed}, n.order})
	}
	slices.SortFunc(list, func(a, b ordered) int { return cmp.Compare(a.order, b.order) })
	out := map[string][]memberDelta{}
	for _, o := range list {
		out[o.group] = append(out[o.group], o.md)
	}
	return out
}
