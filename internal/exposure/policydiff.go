package exposure

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Change is one difference between two versions of a policy, at one leaf
// of its JSON.
type Change struct {
	// Path is where, as a JSON path: "state", "conditions.users.excludeGroups".
	Path string
	// Old is the value before, New the value after; an empty Old means the
	// value was added, an empty New that it was removed. Ids in lists of
	// users, groups, roles, apps, locations and service principals are
	// given by name.
	Old, New string
}

// Added reports whether the change adds a value that was not there.
func (c Change) Added() bool { return c.Old == "" && c.New != "" }

// Removed reports whether the change removes a value.
func (c Change) Removed() bool { return c.Old != "" && c.New == "" }

// DiffPolicies lists what changed between two versions of a policy's JSON,
// one Change per leaf, in path order. Lists of plain values (the ids of a
// condition, client app types, grant controls) are compared as sets: an id
// added to excludeGroups is one Change, not a shift of every later index.
func DiffPolicies(before, after []byte, n Names) ([]Change, error) {
	a, err := decodeJSON(before)
	if err != nil {
		return nil, err
	}
	b, err := decodeJSON(after)
	if err != nil {
		return nil, err
	}
	d := differ{n: n}
	d.walk("", "", a, b)
	for i, c := range d.out {
		d.out[i].Old, d.out[i].New = clean(c.Old), clean(c.New)
	}
	return d.out, nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

type differ struct {
	n   Names
	out []Change
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// walk compares a and b at path; key is the last object key on the path,
// which says what the ids of a list are.
func (d *differ) walk(path, key string, a, b any) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	switch {
	case aIsMap && (bIsMap || b == nil) || bIsMap && a == nil:
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			d.walk(joinPath(path, k), k, am[k], bm[k])
		}
	case aIsList && (bIsList || b == nil) || bIsList && a == nil:
		if allScalar(al) && allScalar(bl) {
			d.set(path, key, al, bl)
			return
		}
		for i := range max(len(al), len(bl)) {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			d.walk(path+"["+strconv.Itoa(i)+"]", key, x, y)
		}
	default:
		x, y := display(a), display(b)
		if x != y {
			d.out = append(d.out, Change{Path: path, Old: x, New: y})
		}
	}
}

// set compares two lists of plain values as sets: removed values first, then
// added ones, each in its list's order.
func (d *differ) set(path, key string, a, b []any) {
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i, v := range a {
		as[i] = display(v)
	}
	for i, v := range b {
		bs[i] = display(v)
	}
	name := d.namer(key)
	for _, v := range as {
		if !slices.Contains(bs, v) {
			d.out = append(d.out, Change{Path: path, Old: name(v)})
		}
	}
	for _, v := range bs {
		if !slices.Contains(as, v) {
			d.out = append(d.out, Change{Path: path, New: name(v)})
		}
	}
}

// namer names the ids of a list by the key that holds it.
func (d *differ) namer(key string) func(string) string {
	k := strings.ToLower(key)
	k = strings.TrimPrefix(strings.TrimPrefix(k, "include"), "exclude")
	switch k {
	case "users":
		return d.n.user
	case "groups":
		return d.n.group
	case "roles":
		return d.n.role
	case "locations":
		return d.n.location
	case "applications":
		return d.n.app
	case "serviceprincipals":
		return d.n.servicePrincipal
	}
	return func(s string) string { return s }
}

func allScalar(l []any) bool {
	for _, v := range l {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// display is a JSON value as text: strings bare, null empty, compound
// values as compact JSON.
func display(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		if t == "" {
			return `""`
		}
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
