package directory_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

func TestID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"AAAAAAAA-bbbb-CCCC-dddd-EEEEEEEEEEEE", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
		{" 62e90394-69f5-4237-9190-012177145e10 ", "62e90394-69f5-4237-9190-012177145e10"},
		{"All", "All"}, // keywords keep their case
		{"lAPpYvVpN0KRkAEhdxReEJC2", "lAPpYvVpN0KRkAEhdxReEJC2"}, // role assignment ids are case-sensitive
		{"Default-AAAAAAAA-bbbb-CCCC-dddd-EEEEEEEEEEEE", "Default-AAAAAAAA-bbbb-CCCC-dddd-EEEEEEEEEEEE"},
	} {
		if got := directory.ID(tc.in); got != tc.want {
			t.Errorf("ID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !directory.SameID("AAAAAAAA-0000-0000-0000-000000000000", "aaaaaaaa-0000-0000-0000-000000000000") {
		t.Error("SameID is case-sensitive for GUIDs")
	}
}

func TestTime(t *testing.T) {
	want := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)
	for _, in := range []string{`"2023-11-14T22:13:20Z"`, `"2023-11-14T23:13:20+01:00"`, `"2023-11-14T22:13:20"`,
		`"/Date(1700000000000)/"`, `"/Date(1700000000000+0100)/"`, `"2023-11-14T22:13:20.0000000Z"`} {
		var got directory.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("Time(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{`null`, `""`} {
		var got directory.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.IsZero() || got.Ptr() != nil {
			t.Errorf("Time(%s) = %v, %v; want missing", in, got, err)
		}
	}
	var bad directory.Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("a nonsense timestamp was accepted")
	}
	b, _ := json.Marshal(struct {
		A directory.Time `json:"a,omitzero"`
		B directory.Time `json:"b"`
	}{B: directory.NewTime(want)})
	if string(b) != `{"b":"2023-11-14T22:13:20Z"}` {
		t.Errorf("marshal = %s", b)
	}
}

func TestCommaList(t *testing.T) {
	for _, in := range []string{`"internalGuest, b2bCollaborationGuest"`, `["internalGuest","b2bCollaborationGuest"]`} {
		var l directory.CommaList
		if err := json.Unmarshal([]byte(in), &l); err != nil || len(l) != 2 || l[1] != "b2bCollaborationGuest" {
			t.Errorf("CommaList(%s) = %q, %v", in, l, err)
		}
		if b, _ := json.Marshal(l); string(b) != `"internalGuest,b2bCollaborationGuest"` {
			t.Errorf("marshal = %s, want Graph's comma-joined string", b)
		}
	}
}

func TestDecode(t *testing.T) {
	u, err := directory.Decode[directory.User]([]byte(` {"id":"AAAAAAAA-0000-0000-0000-000000000001","accountEnabled":false,"userType":"Guest","x":1} `))
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "aaaaaaaa-0000-0000-0000-000000000001" || u.Enabled() || !u.IsGuest() || !strings.Contains(string(u.Raw), `"x":1`) {
		t.Errorf("Decode = %+v", u)
	}
	_, err = directory.Decode[directory.ConditionalAccessPolicy]([]byte(`{"id":"p","conditions":{"users":"Microsoft.Graph.PowerShell.Models.X"}}`))
	var fe *directory.FieldError
	if !errors.As(err, &fe) || fe.Field != "conditions.users" || !strings.Contains(fe.Msg, "-Depth") {
		t.Errorf("truncated export: %v", err)
	}
	m, err := directory.Decode[directory.GroupMembership]([]byte(`{"groupId":"G0000000-0000-0000-0000-00000000000A","members":[{"@odata.type":"#microsoft.graph.group","id":"B0000000-0000-0000-0000-00000000000A"}]}`))
	// "G0000000-…" is not hex, so it is not a GUID and keeps its case.
	if err != nil || m.Key() != "G0000000-0000-0000-0000-00000000000A" || m.Members[0].Kind() != "group" ||
		m.Members[0].ID != "b0000000-0000-0000-0000-00000000000a" {
		t.Errorf("membership = %+v, %v", m, err)
	}
}

func TestCamelKeys(t *testing.T) {
	got := string(directory.CamelKeys([]byte(`{"Id":"x","Conditions":{"Users":{"IncludeUsers":["All"]}},"@odata.type":"#y","n":1.50}`)))
	want := `{"@odata.type":"#y","conditions":{"users":{"includeUsers":["All"]}},"id":"x","n":1.50}`
	if got != want {
		t.Errorf("CamelKeys = %s, want %s", got, want)
	}
	if got := string(directory.CamelKeys([]byte(`{"id":"x", "b":2}`))); got != `{"id":"x", "b":2}` {
		t.Errorf("camelCase input must be returned untouched, got %s", got)
	}
}

func TestNamedLocationKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string
	}{
		{`{"@odata.type":"#microsoft.graph.ipNamedLocation","id":"a","isTrusted":true}`, "ip"},
		{`{"@odata.type":"#microsoft.graph.countryNamedLocation","id":"a"}`, "country"},
		{`{"id":"a","ipRanges":[{"cidrAddress":"10.0.0.0/8"}]}`, "ip"},
		{`{"id":"a"}`, ""},
	} {
		l, err := directory.Decode[directory.NamedLocation]([]byte(tc.in))
		if err != nil || l.Kind() != tc.kind {
			t.Errorf("Kind(%s) = %q, %v; want %q", tc.in, l.Kind(), err, tc.kind)
		}
	}
}
