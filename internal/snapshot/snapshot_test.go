package snapshot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

const tenantJSON = `{"id":"5e3ce6c0-2b1f-4285-8d4b-75ee78787346","displayName":"Contoso"}`

// camelPolicy is the testdata/pascal policy as Graph REST returns it.
const camelPolicy = `{"id":"7a1c3b2e-0d5f-4c8b-9e6a-1f2d3c4b5a69","displayName":"CA001 - Require MFA - All users",
 "state":"enabled","createdDateTime":"2023-11-14T22:13:20Z",
 "conditions":{"users":{"includeUsers":["All"],"excludeGroups":["0b1e5c7d-3a2f-4e6b-8c9d-1a2b3c4d5e6f"],
   "excludeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"internalGuest,b2bCollaborationGuest","externalTenants":{"membershipKind":"all"}}},
  "applications":{"includeApplications":["All"],"excludeApplications":["00000003-0000-0000-c000-000000000000"]},
  "clientAppTypes":["all"]},
 "grantControls":{"operator":"OR","builtInControls":["mfa"]}}`

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func mustRead(t *testing.T, files map[string]string) *directory.Snapshot {
	t.Helper()
	s, err := snapshot.ReadFS(mapFS(files))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRead_onlyTenantRequired_missingFileIsNotCaptured(t *testing.T) {
	s := mustRead(t, map[string]string{
		"tenant.json": tenantJSON,
		"users.json":  `{"value":[]}`,
	})
	if !s.Captured[directory.Users] || len(s.Users) != 0 {
		t.Errorf("users.json with no users: captured=%v n=%d, want captured and empty", s.Captured[directory.Users], len(s.Users))
	}
	for _, c := range directory.AllCollections {
		if c != directory.Users && s.Captured[c] {
			t.Errorf("%s captured without its file", c)
		}
	}
	if _, err := snapshot.ReadFS(mapFS(map[string]string{"users.json": `{"value":[]}`})); err == nil || !strings.Contains(err.Error(), "tenant.json") {
		t.Errorf("no tenant.json: err = %v", err)
	}
	if _, err := snapshot.ReadFS(mapFS(map[string]string{"tenant.json": `{"displayName":"x"}`})); err == nil || !strings.Contains(err.Error(), "id") {
		t.Errorf("tenant without id: err = %v", err)
	}
}

func TestRead_pascalCaseEqualsCamelCase(t *testing.T) {
	pascal, err := snapshot.Read("testdata/pascal")
	if err != nil {
		t.Fatal(err)
	}
	camel := mustRead(t, map[string]string{"tenant.json": tenantJSON, "conditionalAccessPolicies.json": `{"value":[` + camelPolicy + `]}`})
	if pascal.Tenant.ID != camel.Tenant.ID {
		t.Errorf("tenant id %q vs %q: GUIDs must compare case-insensitively", pascal.Tenant.ID, camel.Tenant.ID)
	}
	// Compared through their typed JSON: an empty list and a missing one mean the same.
	p, c := pascal.ConditionalAccessPolicies[0], camel.ConditionalAccessPolicies[0]
	if pj, cj := marshal(t, &p), marshal(t, &c); pj != cj {
		t.Errorf("PascalCase policy decodes differently:\n pascal %s\n camel  %s", pj, cj)
	}
	raw := string(pascal.ConditionalAccessPolicies[0].Raw)
	if strings.Contains(raw, `"Conditions"`) || !strings.Contains(raw, `"conditions"`) || !strings.Contains(raw, `"additionalProperties"`) {
		t.Errorf("raw of a PascalCase policy is not camelCase with unknown fields kept: %s", raw)
	}
	if got := p.Conditions.Users.ExcludeGuestsOrExternalUsers.GuestOrExternalUserTypes; !reflect.DeepEqual([]string(got), []string{"internalGuest", "b2bCollaborationGuest"}) {
		t.Errorf("guestOrExternalUserTypes = %q", got)
	}
}

func TestRead_policyLayouts(t *testing.T) {
	second := strings.Replace(camelPolicy, "7a1c3b2e", "8a1c3b2e", 1)
	for name, files := range map[string]map[string]string{
		"collection": {"conditionalAccessPolicies.json": `{"value":[` + camelPolicy + `,` + second + `]}`},
		"bare array": {"conditionalAccessPolicies.json": `[` + camelPolicy + `,` + second + `]`},
		"folder":     {"conditionalAccessPolicies/a.json": camelPolicy, "conditionalAccessPolicies/b.json": `[` + second + `]`},
		"file and folder": {"conditionalAccessPolicies.json": `{"value":[` + camelPolicy + `]}`,
			"conditionalAccessPolicies/b.json": second},
	} {
		files["tenant.json"] = tenantJSON
		s, err := snapshot.ReadFS(mapFS(files))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(s.ConditionalAccessPolicies) != 2 || !s.Captured[directory.ConditionalAccessPolicies] {
			t.Errorf("%s: %d policies, want 2", name, len(s.ConditionalAccessPolicies))
		}
	}
}

func TestRead_unknownReferencesAndFieldsAreKept(t *testing.T) {
	s := mustRead(t, map[string]string{
		"tenant.json":                    tenantJSON,
		"groups.json":                    `{"value":[]}`,
		"conditionalAccessPolicies.json": `{"value":[` + camelPolicy + `]}`,
		"users.json":                     `{"value":[{"id":"AAAAAAAA-0000-0000-0000-000000000001","displayName":"Ann","accountEnabled":null,"futureField":{"x":[1,2]}}]}`,
	})
	if got := s.ConditionalAccessPolicies[0].Conditions.Users.ExcludeGroups; len(got) != 1 || got[0] != "0b1e5c7d-3a2f-4e6b-8c9d-1a2b3c4d5e6f" {
		t.Errorf("reference to a group missing from groups.json: %v, want it kept", got)
	}
	u := s.Users[0]
	if u.ID != "aaaaaaaa-0000-0000-0000-000000000001" || u.AccountEnabled != nil || !u.Enabled() {
		t.Errorf("user = %+v: want lower-case id, null accountEnabled as missing", u)
	}
	if !strings.Contains(string(u.Raw), "futureField") {
		t.Errorf("unknown field dropped from raw: %s", u.Raw)
	}
	// Written back, the unknown field survives.
	dir := t.TempDir()
	if err := snapshot.Write(dir, s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "users.json"))
	if !bytes.Contains(b, []byte("futureField")) {
		t.Errorf("unknown field lost on write: %s", b)
	}
}

func TestRead_malformedNamesFileAndOffset(t *testing.T) {
	for _, tc := range []struct {
		name, file, body string
		offset           int64
		msg              string
	}{
		// Offsets: where the problem was detected. A bad character is pointed
		// at; a type error just after the offending value; an object-level
		// problem at the object's first byte.
		{"syntax error", "users.json", `{"value":[{"id":"a"},{"id":"b",]}`, 31, "malformed JSON"},
		{"truncated", "groups.json", `{"value":[{"id":"a"},{"id":"b"`, 30, "ends in the middle"},
		{"wrong type", "users.json", `{"value":[{"id":"a"},{"id":"b","accountEnabled":"yes"}]}`, 53, "accountEnabled"},
		{"not an object", "users.json", `{"value":[{"id":"a"},42]}`, 21, "not a JSON object"},
		{"no id", "users.json", `{"value":[{"displayName":"x"}]}`, 10, "has no id"},
		{"duplicate id", "users.json", `{"value":[{"id":"A0000000-0000-0000-0000-000000000000"},{"id":"a0000000-0000-0000-0000-000000000000"}]}`, 56, "repeats id"},
		{"value not array", "users.json", `{"value":{}}`, 10, "must be an array"},
		{"trailing garbage", "users.json", `{"value":[]} x`, 13, "malformed JSON"},
		{"empty file", "users.json", ``, 0, "empty file"},
		{"truncated PowerShell export", "conditionalAccessPolicies.json",
			`[{"Id":"x","Conditions":{"Users":"Microsoft.Graph.PowerShell.Models.MicrosoftGraphConditionalAccessUsers"}}]`, 105, "-Depth"},
	} {
		_, err := snapshot.ReadFS(mapFS(map[string]string{"tenant.json": tenantJSON, tc.file: tc.body}))
		var se *snapshot.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want *snapshot.Error", tc.name, err)
			continue
		}
		if se.File != tc.file || se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s: got %s (offset %d), want file %s, offset %d, message containing %q", tc.name, se, se.Offset, tc.file, tc.offset, tc.msg)
		}
	}
}

func TestWrite_roundTripAndDeterminism(t *testing.T) {
	yes := true
	now := directory.NewTime(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC))
	in := &directory.Snapshot{
		Tenant:   directory.Tenant{ID: "5e3ce6c0-2b1f-4285-8d4b-75ee78787346", DisplayName: "Contoso", CapturedAt: now},
		Captured: map[directory.Collection]bool{},
		Users: []directory.User{{ID: "aaaaaaaa-0000-0000-0000-000000000001", DisplayName: "svc-flow", AccountEnabled: &yes,
			SignInActivity: &directory.UserSignInActivity{LastNonInteractiveSignInDateTime: now}}},
		GroupMembers: []directory.GroupMembership{{GroupID: "bbbbbbbb-0000-0000-0000-000000000001",
			Members: []directory.Ref{{ODataType: directory.ODataType("user"), ID: "aaaaaaaa-0000-0000-0000-000000000001"}}}},
		Flows: []directory.Flow{{Name: "cccccccc-0000-0000-0000-000000000001", Properties: directory.FlowProperties{
			DisplayName: "Invoice sync", Environment: &directory.EnvironmentRef{Name: "Default-5e3ce6c0-2b1f-4285-8d4b-75ee78787346"},
			ConnectionReferences: map[string]directory.ConnectionReference{"shared_office365": {ConnectionName: "x"}, "shared_sharepointonline": {ConnectionName: "y"}}}}},
	}
	for _, c := range directory.AllCollections {
		in.Captured[c] = true
	}
	a, b := t.TempDir(), t.TempDir()
	if err := snapshot.Write(a, in); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Write(b, in); err != nil {
		t.Fatal(err)
	}
	for _, c := range directory.AllCollections {
		x, _ := os.ReadFile(filepath.Join(a, snapshot.Path(c)))
		y, _ := os.ReadFile(filepath.Join(b, snapshot.Path(c)))
		if !bytes.Equal(x, y) || len(x) == 0 {
			t.Errorf("%s: two writes differ or are empty", c)
		}
	}
	out, err := snapshot.Read(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range directory.AllCollections {
		if !out.Captured[c] || out.Count(c) != in.Count(c) {
			t.Errorf("%s: captured=%v count %d, want %d", c, out.Captured[c], out.Count(c), in.Count(c))
		}
	}
	if got, want := marshalAll(t, out), marshalAll(t, in); got != want {
		t.Errorf("round trip differs:\n got  %s\n want %s", got, want)
	}
}

func marshal(t *testing.T, o directory.Object) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// marshalAll renders every object's typed fields (not Raw) for comparison.
func marshalAll(t *testing.T, s *directory.Snapshot) string {
	var sb strings.Builder
	for _, c := range directory.AllCollections {
		snapshot.Each(s, c, func(o directory.Object) error {
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			sb.Write(b)
			sb.WriteByte('\n')
			return nil
		})
	}
	return sb.String()
}
