package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/steward-dev/steward/internal/directory"
)

var caPoliciesTable = register(&tableSpec{
	collection: directory.ConditionalAccessPolicies,
	table:      "ca_policies",
	key:        []string{"id"},
	cols:       []string{"display_name", "state", "content_hash", "created_at", "modified_at"},
	rows: func(o directory.Object) ([]row, error) {
		p := o.(*directory.ConditionalAccessPolicy)
		raw, err := rawOf(p)
		if err != nil {
			return nil, err
		}
		hash, err := contentHash(raw)
		if err != nil {
			return nil, err
		}
		return []row{{key: []any{p.ID}, raw: raw, vals: []any{p.DisplayName, p.State, hash,
			timeOrNil(p.CreatedDateTime), timeOrNil(p.ModifiedDateTime)}}}, nil
	},
})

// contentHash is the SHA-256 of a policy's canonical JSON (keys sorted,
// insignificant space dropped) without modifiedDateTime, so a policy saved
// without change, or fetched with its keys in another order, keeps its version.
func contentHash(raw []byte) (string, error) {
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	delete(v, "modifiedDateTime")
	canon, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

var namedLocationsTable = register(&tableSpec{
	collection: directory.NamedLocations,
	table:      "named_locations",
	key:        []string{"id"},
	cols:       []string{"display_name", "kind", "is_trusted"},
	rows: single(1, func(o directory.Object) []any {
		l := o.(*directory.NamedLocation)
		return []any{l.DisplayName, l.Kind(), l.Trusted()}
	}),
})
