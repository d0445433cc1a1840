package emulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync/atomic"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// entry is one served object. Entries are immutable once built: a change makes
// a new entry, so a page walk over an older version keeps seeing the object as
// it was. The projections an entry has served are cached, because a sync asks
// for the same $select on every page and re-projecting would dominate serving.
type entry struct {
	key  string // normalised id (or environment/name)
	kind string // directory object kind for @odata.type ("user", …); "" when not a directory object
	obj  directory.Object
	raw  []byte // the JSON served: the source JSON, or the typed fields marshalled

	cache atomic.Pointer[projections]
}

// projections is an entry's small projection cache: a handful of select sets
// at most, replaced wholesale when full.
type projections struct {
	keys []string
	vals [][]byte
}

const maxProjections = 4

// newEntry builds the entry of an object as read from a snapshot: it serves the
// object's raw JSON when it has one, so unknown fields survive.
func newEntry(o directory.Object, kind string) (*entry, error) {
	raw, err := snapshot.Marshal(o)
	if err != nil {
		return nil, err
	}
	return &entry{key: o.Key(), kind: kind, obj: o, raw: compact(raw)}, nil
}

// changedEntry builds the entry of a changed object: its typed fields win over
// its raw JSON, whose other members (unknown fields) are kept.
func changedEntry(o directory.Object, kind string) (*entry, error) {
	typed, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	raw, err := mergeJSON(o.RawJSON(), typed)
	if err != nil {
		return nil, err
	}
	return &entry{key: o.Key(), kind: kind, obj: o, raw: raw}, nil
}

// compact strips insignificant whitespace, so pages are as small as Graph's.
func compact(b []byte) []byte {
	if bytes.IndexAny(b, "\n\r\t") < 0 && !bytes.Contains(b, []byte(": ")) && !bytes.Contains(b, []byte(", ")) {
		return b
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

// selection is a parsed $select (or a resource's default property set) with
// what a projection needs: which members to keep, and a key naming it in the
// projection caches.
type selection struct {
	key       string
	all       bool            // every member but the hidden ones
	names     []string        // selected names as written (id included)
	requested int             // how many of names the request named (id may be added)
	want      map[string]int  // lower-cased selected name → index in names
	hidden    map[string]bool // lower-cased names left out when all
	lists     map[string]bool
	odataType string // emitted first when the object has no @odata.type of its own
}

// newSelection builds the selection of a request: selectParam is the raw
// $select ("" for none), withType adds @odata.type (directory object lists),
// extraHidden are hidden on top of the resource's own (version differences).
func newSelection(res *resource, selectParam string, withType bool, extraHidden ...string) *selection {
	s := &selection{lists: res.lists}
	if withType {
		s.odataType = res.odataType
	}
	names := parseSelect(selectParam)
	if names == nil && res.defaults != nil {
		names = res.defaults
	}
	if names == nil {
		s.all = true
		s.hidden = set(append(append([]string(nil), res.hidden...), extraHidden...)...)
		s.key = res.name + "|" + s.odataType + "|*|" + strings.Join(extraHidden, ",")
		return s
	}
	s.want = make(map[string]int, len(names)+1)
	for _, n := range names {
		if _, dup := s.want[strings.ToLower(n)]; dup {
			continue
		}
		s.want[strings.ToLower(n)] = len(s.names)
		s.names = append(s.names, n)
	}
	s.requested = len(s.names)
	if _, ok := s.want["id"]; !ok && res.odataType != "" {
		s.want["id"] = len(s.names)
		s.names = append(s.names, "id")
	}
	lower := make([]string, len(s.names))
	for i, n := range s.names {
		lower[i] = strings.ToLower(n)
	}
	s.key = res.name + "|" + s.odataType + "|" + strings.Join(lower, ",")
	return s
}

// parseSelect splits a $select value into property names; nil when empty.
func parseSelect(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// has reports whether the selection names a property (case-insensitively).
func (s *selection) has(name string) bool {
	if s.all {
		return !s.hidden[strings.ToLower(name)]
	}
	_, ok := s.want[strings.ToLower(name)]
	return ok
}

// project returns the entry's JSON restricted to the selection. Annotations
// (@odata.type of a derived type) are always kept; a selected property the
// object lacks comes back as null, or [] for collections, as Graph writes it.
func (e *entry) project(s *selection) []byte {
	if s.all && len(s.hidden) == 0 && s.odataType == "" {
		return e.raw // nothing to leave out or add
	}
	p := e.cache.Load()
	if p != nil {
		for i, k := range p.keys {
			if k == s.key {
				return p.vals[i]
			}
		}
	}
	out := e.projectUncached(s)
	next := &projections{}
	if p != nil && len(p.keys) < maxProjections {
		next.keys = append(append(next.keys, p.keys...), s.key)
		next.vals = append(append(next.vals, p.vals...), out)
	} else {
		next.keys, next.vals = []string{s.key}, [][]byte{out}
	}
	e.cache.CompareAndSwap(p, next) // losing the race only costs a recomputation later
	return out
}

func (e *entry) projectUncached(s *selection) []byte {
	fields, err := splitObject(e.raw)
	if err != nil {
		return e.raw
	}
	var b bytes.Buffer
	b.Grow(len(e.raw) + 48)
	b.WriteByte('{')
	n := 0
	comma := func() {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
	}
	if s.odataType != "" && lookup(fields, "@odata.type") == nil {
		comma()
		b.WriteString(`"@odata.type":`)
		writeString(&b, e.odataType(s.odataType))
	}
	var seen []bool
	if !s.all {
		seen = make([]bool, len(s.names))
	}
	var lower [64]byte
	for _, f := range fields {
		if len(f.name) > 0 && f.name[0] == '@' {
			comma()
			writeRawKey(&b, f.name)
			b.Write(f.value)
			continue
		}
		name := lowerInto(lower[:0], f.name)
		if s.all {
			if s.hidden[string(name)] {
				continue
			}
		} else {
			i, ok := s.want[string(name)]
			if !ok || seen[i] {
				continue
			}
			seen[i] = true
		}
		comma()
		writeRawKey(&b, f.name)
		b.Write(f.value)
	}
	for i, name := range s.names {
		if s.all || seen[i] {
			continue
		}
		comma()
		writeKey(&b, name)
		if s.lists[strings.ToLower(name)] {
			b.WriteString("[]")
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// odataType is the entry's own type when it is a directory object of a known
// kind, else the resource's.
func (e *entry) odataType(fallback string) string {
	if e.kind != "" {
		return directory.ODataType(e.kind)
	}
	return fallback
}

// fields splits the entry's JSON; for filters, which run rarely enough that
// keeping the split around would cost more memory than time.
func (e *entry) fields() []field {
	f, _ := splitObject(e.raw)
	return f
}

func lowerInto(dst []byte, name []byte) []byte {
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func writeString(b *bytes.Buffer, s string) {
	v, _ := json.Marshal(s)
	b.Write(v)
}
