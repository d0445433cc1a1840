package snapshot_test

import (
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// FuzzRead feeds arbitrary bytes as a users file and a policy file. Reading must
// never panic; what it accepts must survive a write and a second read unchanged.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"a","displayName":"x"}]}`), []byte(`[`+camelPolicy+`]`))
	f.Add([]byte(`[{"id":"A0000000-0000-0000-0000-000000000000","signInActivity":{"lastSignInDateTime":"/Date(0)/"}}]`), []byte(`{"value":null}`))
	f.Add([]byte(`{"value":[{"id":"a"},{"id":"b",]}`), []byte(`[{"Id":"x","Conditions":{"Users":"s"}}]`))
	f.Add([]byte(`{"@odata.nextLink":"x","value":[{"id":"\u202e<script>","accountEnabled":false}]}`), []byte(`{"value":[{"id":"p","conditions":{"users":{"excludeGuestsOrExternalUsers":{"guestOrExternalUserTypes":["internalGuest"]}}}}]}`))
	f.Fuzz(func(t *testing.T, users, policies []byte) {
		fsys := mapFS(map[string]string{"tenant.json": tenantJSON, "users.json": string(users), "conditionalAccessPolicies.json": string(policies)})
		s, err := snapshot.ReadFS(fsys)
		if err != nil {
			return
		}
		dir := t.TempDir()
		if err := snapshot.Write(dir, s); err != nil {
			t.Fatalf("write of an accepted snapshot: %v", err)
		}
		again, err := snapshot.Read(dir)
		if err != nil {
			t.Fatalf("re-read of a written snapshot: %v", err)
		}
		for _, c := range []directory.Collection{directory.Users, directory.ConditionalAccessPolicies} {
			if again.Count(c) != s.Count(c) {
				t.Fatalf("%s: %d objects after a round trip, want %d", c, again.Count(c), s.Count(c))
			}
		}
	})
}
