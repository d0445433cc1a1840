package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
)

// LoadSnapshot reads everything the store holds live for a tenant back into
// a directory.Snapshot, in the shapes snapshot.Read gives, so the pure
// exposure engine can evaluate stored data the way it evaluates a snapshot
// directory. Every object is decoded from its raw JSON with directory.Decode
// (LoadForEvaluation does not keep it); edge rows (group members, owners,
// flow permissions) are regrouped under their parent. Each collection is sorted by Key in byte order, children by
// their id, whatever the database's collation.
//
// Captured[c] is true when the store holds c as captured: c has live rows,
// or the newest finished run that applied data (succeeded or needs_review)
// and that decided about c recorded it as applied (or needs_review) rather
// than not_captured. A skipped collection (a delta run leaving it for full
// runs) decides nothing: the run before it does. So a collection captured
// empty is captured, one no run could see is not, and one that had data
// before its source lost access keeps that data, captured, because
// not_captured leaves stored rows untouched.
//
// Tenant.CapturedAt is the finish time of the tenant's last succeeded run,
// zero when it has none.
//
// Everything is read in one REPEATABLE READ, read-only transaction, so the
// snapshot is consistent even while a sync applies. Rows are streamed, one
// query per collection; only the decoded objects are kept in memory.
func (db *DB) LoadSnapshot(ctx context.Context, tenantID string) (_ *directory.Snapshot, err error) {
	defer derr.Wrap(&err, "store.LoadSnapshot(%s)", tenantID)
	return db.loadSnapshot(ctx, tenantID, true)
}

// LoadForEvaluation is LoadSnapshot without the objects' raw JSON (Raw
// stays nil): what the exposure engine reads. On a 100,000-user tenant the
// raw JSON would double the memory, and nothing in the evaluation shows it.
func (db *DB) LoadForEvaluation(ctx context.Context, tenantID string) (_ *directory.Snapshot, err error) {
	defer derr.Wrap(&err, "store.LoadForEvaluation(%s)", tenantID)
	return db.loadSnapshot(ctx, tenantID, false)
}

func (db *DB) loadSnapshot(ctx context.Context, tenantID string, keepRaw bool) (_ *directory.Snapshot, err error) {
	tenantID = normalizeTenant(tenantID)
	s := &directory.Snapshot{Captured: map[directory.Collection]bool{}}
	err = db.inReadTx(ctx, func(tx pgx.Tx) error {
		if err := loadTenant(ctx, tx, tenantID, s); err != nil {
			return err
		}
		// Every query below orders a whole collection by its primary key.
		// Left to itself the planner sorts a bitmap scan's rows, spilling
		// 80 MB of users to disk and sending nothing until the sort is done;
		// the primary key's index scan streams rows in that order at once,
		// so PostgreSQL produces while Go decodes.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`); err != nil {
			return mapError(err, "load settings")
		}
		sizes, err := liveCounts(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		for _, c := range directory.AllCollections {
			spec, err := specFor(c)
			if err != nil {
				return err
			}
			l, ok := loaders[c]
			if !ok {
				return fmt.Errorf("no loader for collection %q", c)
			}
			if err := l(ctx, tx, spec, tenantID, sizes[c], keepRaw, s); err != nil {
				return fmt.Errorf("load %s: %w", c, err)
			}
		}
		return loadCaptured(ctx, tx, tenantID, s)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// inReadTx runs fn in a read-only REPEATABLE READ transaction: every query
// of fn sees the same committed state.
func (db *DB) inReadTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return mapError(err, "begin")
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return err
	}
	return mapError(tx.Commit(ctx), "commit")
}

func loadTenant(ctx context.Context, tx pgx.Tx, tenantID string, s *directory.Snapshot) error {
	var captured *time.Time
	err := tx.QueryRow(ctx, `
		SELECT t.id, t.display_name, t.default_domain,
		       (SELECT r.finished_at FROM sync_runs r
		        WHERE r.tenant_id = t.id AND r.status = 'succeeded' ORDER BY r.id DESC LIMIT 1)
		FROM tenants t WHERE t.id = $1`, tenantID).
		Scan(&s.Tenant.ID, &s.Tenant.DisplayName, &s.Tenant.DefaultDomain, &captured)
	if err != nil {
		return mapError(err, "tenant "+tenantID)
	}
	if captured != nil {
		s.Tenant.CapturedAt = directory.NewTime(*captured)
	}
	return nil
}

// liveCounts counts the live rows of the collections stored one row per
// object, so their slices are allocated once at their final size (growing a
// 100,000-user slice by appends copies it a dozen times and briefly needs
// twice its memory). Edge collections are left out: their parents are few.
func liveCounts(ctx context.Context, tx pgx.Tx, tenantID string) (map[directory.Collection]int, error) {
	var cs []directory.Collection
	var parts []string
	for _, c := range directory.AllCollections {
		spec, err := specFor(c)
		if err != nil {
			return nil, err
		}
		if isEdge(spec) {
			continue
		}
		cs = append(cs, c)
		parts = append(parts, fmt.Sprintf(`(SELECT count(*) FROM %s WHERE tenant_id = $1 AND deleted_at IS NULL)`, spec.table))
	}
	vals := make([]int, len(cs))
	dest := make([]any, len(cs))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := tx.QueryRow(ctx, `SELECT `+strings.Join(parts, ", "), tenantID).Scan(dest...); err != nil {
		return nil, mapError(err, "counts")
	}
	out := make(map[directory.Collection]int, len(cs))
	for i, c := range cs {
		out[c] = vals[i]
	}
	return out, nil
}

// isEdge reports whether a table holds one row per child of an object
// (a member, an owner, a permission) rather than one row per object. App
// role assignments have a parent for Scope but are objects of their own.
func isEdge(spec *tableSpec) bool {
	switch spec.collection {
	case directory.GroupMembers, directory.Owners, directory.FlowPermissions:
		return true
	}
	return false
}

// loadCaptured fills s.Captured by the rule documented on LoadSnapshot; it
// runs after the collections are loaded, whose counts it uses.
func loadCaptured(ctx context.Context, tx pgx.Tx, tenantID string, s *directory.Snapshot) error {
	names := make([]string, len(directory.AllCollections))
	for i, c := range directory.AllCollections {
		names[i] = string(c)
	}
	// Runs that failed or were cancelled applied nothing; of the others, the
	// newest that says applied, needs_review or not_captured decides.
	rows, err := tx.Query(ctx, `
		SELECT c.name, (
			SELECT r.resources -> c.name ->> 'status' FROM sync_runs r
			WHERE r.tenant_id = $1 AND r.status IN ('succeeded', 'needs_review')
			  AND r.resources -> c.name ->> 'status' IN ('applied', 'needs_review', 'not_captured')
			ORDER BY r.id DESC LIMIT 1)
		FROM unnest($2::text[]) AS c (name)`, tenantID, names)
	if err != nil {
		return mapError(err, "captured collections")
	}
	var name string
	var status *string
	_, err = pgx.ForEachRow(rows, []any{&name, &status}, func() error {
		c := directory.Collection(name)
		if s.Count(c) > 0 || (status != nil && *status != "not_captured") {
			s.Captured[c] = true
		}
		return nil
	})
	return mapError(err, "captured collections")
}

// loadFunc reads one collection's live rows into s. size is the number of
// live rows when known (collections stored one row per object), else 0.
type loadFunc func(ctx context.Context, tx pgx.Tx, spec *tableSpec, tenantID string, size int, keepRaw bool, s *directory.Snapshot) error

// loaders reads each collection; the edge collections regroup their rows.
var loaders = map[directory.Collection]loadFunc{
	directory.Users:  objects(func(s *directory.Snapshot) *[]directory.User { return &s.Users }),
	directory.Groups: objects(func(s *directory.Snapshot) *[]directory.Group { return &s.Groups }),
	directory.GroupMembers: edges(func(s *directory.Snapshot) *[]directory.GroupMembership { return &s.GroupMembers },
		func(b []byte, parent []string) []byte {
			b = append(b, `{"groupId":`...)
			b = appendJSONString(b, parent[0])
			return append(b, `,"members":[`...)
		}),
	directory.RoleDefinitions:    objects(func(s *directory.Snapshot) *[]directory.RoleDefinition { return &s.RoleDefinitions }),
	directory.RoleAssignments:    objects(func(s *directory.Snapshot) *[]directory.RoleAssignment { return &s.RoleAssignments }),
	directory.ServicePrincipals:  objects(func(s *directory.Snapshot) *[]directory.ServicePrincipal { return &s.ServicePrincipals }),
	directory.Applications:       objects(func(s *directory.Snapshot) *[]directory.Application { return &s.Applications }),
	directory.AppRoleAssignments: objects(func(s *directory.Snapshot) *[]directory.AppRoleAssignment { return &s.AppRoleAssignments }),
	directory.Owners: edges(func(s *directory.Snapshot) *[]directory.Ownership { return &s.Owners },
		func(b []byte, parent []string) []byte {
			b = append(b, `{"objectId":`...)
			b = appendJSONString(b, parent[0])
			return append(b, `,"owners":[`...)
		}),
	directory.ConditionalAccessPolicies: objects(func(s *directory.Snapshot) *[]directory.ConditionalAccessPolicy {
		return &s.ConditionalAccessPolicies
	}),
	directory.NamedLocations:      objects(func(s *directory.Snapshot) *[]directory.NamedLocation { return &s.NamedLocations }),
	directory.RegistrationDetails: objects(func(s *directory.Snapshot) *[]directory.RegistrationDetail { return &s.RegistrationDetails }),
	directory.SignIns:             objects(func(s *directory.Snapshot) *[]directory.SignIn { return &s.SignIns }),
	directory.ServicePrincipalSignInActivities: objects(func(s *directory.Snapshot) *[]directory.ServicePrincipalSignInActivity {
		return &s.ServicePrincipalSignInActivities
	}),
	directory.Environments: objects(func(s *directory.Snapshot) *[]directory.Environment { return &s.Environments }),
	directory.Flows:        objects(func(s *directory.Snapshot) *[]directory.Flow { return &s.Flows }),
	// Each permission row's raw is the permission's own JSON from the set
	// (flowPermissionsTable), so the set rebuilt around them stages back to
	// the same rows.
	directory.FlowPermissions: edges(func(s *directory.Snapshot) *[]directory.FlowPermissionSet { return &s.FlowPermissions },
		func(b []byte, parent []string) []byte {
			b = append(b, `{"flowName":`...)
			b = appendJSONString(b, parent[1])
			b = append(b, `,"environment":`...)
			b = appendJSONString(b, parent[0])
			return append(b, `,"permissions":[`...)
		}),
	directory.Connections: objects(func(s *directory.Snapshot) *[]directory.Connection { return &s.Connections }),
}

// decode is directory.Decode, or DecodeLean when the raw JSON is not kept.
func decode[T any, P interface {
	*T
	directory.Object
}](data []byte, keepRaw bool) (T, error) {
	if keepRaw {
		return directory.Decode[T, P](data)
	}
	return directory.DecodeLean[T, P](data)
}

// objects loads a collection stored one row per object.
func objects[T any, P interface {
	*T
	directory.Object
}](field func(*directory.Snapshot) *[]T) loadFunc {
	return func(ctx context.Context, tx pgx.Tx, spec *tableSpec, tenantID string, size int, keepRaw bool, s *directory.Snapshot) error {
		// raw::text: the JSON as text is the same bytes in either wire format,
		// read in place with RawValues (Decode copies what it keeps).
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT raw::text FROM %s WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY %s`,
			spec.table, strings.Join(spec.key, ", ")), tenantID)
		if err != nil {
			return mapError(err, spec.table)
		}
		defer rows.Close()
		list := make([]T, 0, size)
		for rows.Next() {
			v, err := decode[T, P](rows.RawValues()[0], keepRaw)
			if err != nil {
				return fmt.Errorf("stored object #%d: %w", len(list)+1, err)
			}
			list = append(list, v)
		}
		if err := rows.Err(); err != nil {
			return mapError(err, spec.table)
		}
		sortByKey[T, P](list)
		*field(s) = list
		return nil
	}
}

// edges loads an edge collection: its rows, ordered by parent, are grouped
// back into one object per parent, whose JSON is open (the parent's fields
// and the opening of its list, written by open) followed by the children's
// raw JSON sorted by child key, then decoded with directory.Decode. A parent
// whose children are all gone has no rows, and so no object.
func edges[T any, P interface {
	*T
	directory.Object
}](field func(*directory.Snapshot) *[]T, open func(b []byte, parent []string) []byte) loadFunc {
	return func(ctx context.Context, tx pgx.Tx, spec *tableSpec, tenantID string, _ int, keepRaw bool, s *directory.Snapshot) error {
		np := len(spec.parent)
		child := spec.key[len(spec.key)-1]
		parents := strings.Join(spec.parent, ", ")
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %s, %s, raw::text FROM %s WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY %s, %s`,
			parents, child, spec.table, parents, child), tenantID)
		if err != nil {
			return mapError(err, spec.table)
		}
		defer rows.Close()

		var (
			list   []T
			parent []string // the current parent's key columns
			kids   []kid    // its children, as offsets into arena
			arena  []byte   // child keys and raw JSON of the current parent
			doc    []byte   // the parent's JSON being built
		)
		flush := func() error {
			if parent == nil {
				return nil
			}
			less := func(i, j int) bool { return bytes.Compare(kids[i].key(arena), kids[j].key(arena)) < 0 }
			if !sort.SliceIsSorted(kids, less) {
				sort.Slice(kids, less)
			}
			doc = open(doc[:0], parent)
			for i, k := range kids {
				if i > 0 {
					doc = append(doc, ',')
				}
				doc = append(doc, arena[k.raw:k.end]...)
			}
			doc = append(doc, "]}"...)
			v, err := decode[T, P](doc, keepRaw)
			if err != nil {
				return fmt.Errorf("%s %s: %w", spec.collection, strings.Join(parent, "/"), err)
			}
			list = append(list, v)
			kids, arena = kids[:0], arena[:0]
			return nil
		}
		for rows.Next() {
			vals := rows.RawValues()
			if !sameParent(parent, vals[:np]) {
				if err := flush(); err != nil {
					return err
				}
				parent = make([]string, np)
				for i := range parent {
					parent[i] = string(vals[i])
				}
			}
			k := kid{start: len(arena)}
			arena = append(arena, vals[np]...)
			k.raw = len(arena)
			arena = append(arena, bytes.TrimSpace(vals[np+1])...)
			k.end = len(arena)
			kids = append(kids, k)
		}
		if err := rows.Err(); err != nil {
			return mapError(err, spec.table)
		}
		if err := flush(); err != nil {
			return err
		}
		sortByKey[T, P](list)
		*field(s) = list
		return nil
	}
}

// kid locates one child row in an arena: its key at [start, raw), its raw
// JSON at [raw, end).
type kid struct{ start, raw, end int }

func (k kid) key(arena []byte) []byte { return arena[k.start:k.raw] }

func sameParent(parent []string, vals [][]byte) bool {
	if parent == nil {
		return false
	}
	for i, v := range vals {
		if parent[i] != string(v) { // compared without allocating
			return false
		}
	}
	return true
}

// sortByKey sorts objects by Key in byte order. The queries already order
// rows by their key columns, so with a "C" collation this only checks; other
// collations (en_US ignores hyphens), and keys of two columns compared as
// "a/b", need the sort.
func sortByKey[T any, P interface {
	*T
	directory.Object
}](list []T) {
	sorted := true
	for i := 1; i < len(list); i++ {
		if P(&list[i-1]).Key() > P(&list[i]).Key() {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	keys := make([]string, len(list))
	for i := range list {
		keys[i] = P(&list[i]).Key()
	}
	sort.Sort(byKey[T]{keys: keys, list: list})
}

type byKey[T any] struct {
	keys []string
	list []T
}

func (b byKey[T]) Len() int           { return len(b.keys) }
func (b byKey[T]) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey[T]) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.list[i], b.list[j] = b.list[j], b.list[i]
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
