package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// tableSpec describes how one snapshot collection is stored: its table, key,
// typed columns, and how an object becomes rows. Every table also has
// tenant_id, raw, first_seen_run, last_seen_run and deleted_at (0002_directory.sql).
type tableSpec struct {
	collection directory.Collection
	table      string
	// key columns after tenant_id, in primary key order.
	key []string
	// parent columns, for child collections (group members, owners, flow
	// permissions, a service principal's app role assignments): the columns
	// that name the parent, for Scope.
	parent []string
	// parentOf names the kind of object the table holds when other tables'
	// edges point at it (user, group, servicePrincipal, application, flow), so
	// deleting one cascades to those edges; "" for tables nothing points at.
	parentOf string
	// cols are the typed columns, in the order rows returns their values.
	cols []string
	// rows turns an object into rows (one, or one per child for edge
	// collections). A parent with no children yields no rows.
	rows func(o directory.Object) ([]row, error)
}

// row is one table row: key values, raw JSON and typed values.
type row struct {
	key  []any
	raw  []byte
	vals []any
}

// single is the rows function of a collection stored one row per object:
// key is the object's key, split on "/" when the table's key has several columns.
func single(n int, vals func(o directory.Object) []any) func(directory.Object) ([]row, error) {
	return func(o directory.Object) ([]row, error) {
		raw, err := rawOf(o)
		if err != nil {
			return nil, err
		}
		k, err := splitKey(o.Key(), n)
		if err != nil {
			return nil, err
		}
		return []row{{key: k, raw: raw, vals: vals(o)}}, nil
	}
}

// rawOf returns the JSON to store for an object: its source JSON, or its
// typed fields for an object built in memory.
func rawOf(o directory.Object) ([]byte, error) {
	if raw := o.RawJSON(); len(raw) > 0 {
		return raw, nil
	}
	return json.Marshal(o)
}

// splitKey splits "a/b" keys into the n key columns of a table.
func splitKey(key string, n int) ([]any, error) {
	parts := strings.SplitN(key, "/", n)
	if len(parts) != n {
		return nil, fmt.Errorf("key %q: want %d parts separated by /", key, n)
	}
	out := make([]any, n)
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("key %q has an empty part", key)
		}
		out[i] = p
	}
	return out, nil
}

// specs lists every stored collection.
var specs = map[directory.Collection]*tableSpec{}

func register(s *tableSpec) *tableSpec {
	specs[s.collection] = s
	return s
}

func specFor(c directory.Collection) (*tableSpec, error) {
	s, ok := specs[c]
	if !ok {
		return nil, fmt.Errorf("no table for collection %q", c)
	}
	return s, nil
}

// Helpers for typed columns: NULL when a value is missing.

func boolPtr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func timeOrNil(t directory.Time) any {
	if p := t.Ptr(); p != nil {
		return *p
	}
	return nil
}

func strs(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
