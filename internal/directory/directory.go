// Package directory is Steward's vocabulary: the Entra ID and Power Platform
// objects of one tenant, in the JSON shapes Microsoft Graph and the Power
// Platform admin APIs return, and a Snapshot holding them all.
//
// Decoding is tolerant, because real exports are messy: unknown fields are kept
// (every object carries its Raw JSON), null means missing, GUIDs are compared
// case-insensitively (they are stored lower-case), and Conditional Access
// policies are accepted in camelCase (Graph REST) and PascalCase (Graph
// PowerShell exports). There is no I/O here: see internal/snapshot.
package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Collection names one kind of object in a tenant.
type Collection string

// The collections of a snapshot, in dependency order (referenced before referencing).
const (
	Users                            Collection = "users"
	Groups                           Collection = "groups"
	GroupMembers                     Collection = "groupMembers"
	RoleDefinitions                  Collection = "roleDefinitions"
	RoleAssignments                  Collection = "roleAssignments"
	ServicePrincipals                Collection = "servicePrincipals"
	Applications                     Collection = "applications"
	AppRoleAssignments               Collection = "appRoleAssignments"
	Owners                           Collection = "owners"
	ConditionalAccessPolicies        Collection = "conditionalAccessPolicies"
	NamedLocations                   Collection = "namedLocations"
	RegistrationDetails              Collection = "userRegistrationDetails"
	SignIns                          Collection = "signIns"
	ServicePrincipalSignInActivities Collection = "servicePrincipalSignInActivities"
	Environments                     Collection = "environments"
	Flows                            Collection = "flows"
	FlowPermissions                  Collection = "flowPermissions"
	Connections                      Collection = "connections"
)

// AllCollections lists every collection in dependency order.
var AllCollections = []Collection{
	Users, Groups, GroupMembers, RoleDefinitions, RoleAssignments, ServicePrincipals, Applications,
	AppRoleAssignments, Owners, ConditionalAccessPolicies, NamedLocations, RegistrationDetails, SignIns,
	ServicePrincipalSignInActivities, Environments, Flows, FlowPermissions, Connections,
}

// PowerPlatform reports whether a collection comes from the Power Platform
// admin APIs rather than Microsoft Graph.
func (c Collection) PowerPlatform() bool {
	return c == Environments || c == Flows || c == FlowPermissions || c == Connections
}

// Tenant describes the tenant a snapshot was captured from.
type Tenant struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName,omitempty"`
	DefaultDomain string `json:"defaultDomain,omitempty"`
	CapturedAt    Time   `json:"capturedAt,omitzero"`
}

// Snapshot is one tenant's directory and Power Platform data.
//
// Captured records which collections were captured: a collection absent from
// it was not captured (the UI says so), which is not the same as empty.
type Snapshot struct {
	Tenant   Tenant
	Captured map[Collection]bool

	Users                            []User
	Groups                           []Group
	GroupMembers                     []GroupMembership
	RoleDefinitions                  []RoleDefinition
	RoleAssignments                  []RoleAssignment
	ServicePrincipals                []ServicePrincipal
	Applications                     []Application
	AppRoleAssignments               []AppRoleAssignment
	Owners                           []Ownership
	ConditionalAccessPolicies        []ConditionalAccessPolicy
	NamedLocations                   []NamedLocation
	RegistrationDetails              []RegistrationDetail
	SignIns                          []SignIn
	ServicePrincipalSignInActivities []ServicePrincipalSignInActivity
	Environments                     []Environment
	Flows                            []Flow
	FlowPermissions                  []FlowPermissionSet
	Connections                      []Connection
}

// Count returns how many objects a collection holds.
func (s *Snapshot) Count(c Collection) int {
	switch c {
	case Users:
		return len(s.Users)
	case Groups:
		return len(s.Groups)
	case GroupMembers:
		return len(s.GroupMembers)
	case RoleDefinitions:
		return len(s.RoleDefinitions)
	case RoleAssignments:
		return len(s.RoleAssignments)
	case ServicePrincipals:
		return len(s.ServicePrincipals)
	case Applications:
		return len(s.Applications)
	case AppRoleAssignments:
		return len(s.AppRoleAssignments)
	case Owners:
		return len(s.Owners)
	case ConditionalAccessPolicies:
		return len(s.ConditionalAccessPolicies)
	case NamedLocations:
		return len(s.NamedLocations)
	case RegistrationDetails:
		return len(s.RegistrationDetails)
	case SignIns:
		return len(s.SignIns)
	case ServicePrincipalSignInActivities:
		return len(s.ServicePrincipalSignInActivities)
	case Environments:
		return len(s.Environments)
	case Flows:
		return len(s.Flows)
	case FlowPermissions:
		return len(s.FlowPermissions)
	case Connections:
		return len(s.Connections)
	}
	return 0
}

// Object is implemented by every collection element type. Its methods are
// unexported: only this package's types are objects.
type Object interface {
	// Key identifies the object within its collection (its id, or for Power
	// Platform objects environment/name), normalised.
	Key() string
	// RawJSON is the object as its source wrote it, or nil for an object built
	// in memory. Writers emit it when set, keeping unknown fields; whoever
	// changes an object's typed fields must clear it.
	RawJSON() json.RawMessage
	normalize()
	setRaw(json.RawMessage)
}

// Meta carries what every object keeps beside its typed fields.
type Meta struct {
	// Raw is the object's JSON as read (see Object.RawJSON).
	Raw json.RawMessage `json:"-"`
}

// RawJSON returns Raw.
func (m *Meta) RawJSON() json.RawMessage { return m.Raw }

func (m *Meta) setRaw(b json.RawMessage) { m.Raw = b }

// Decode decodes one object of type T from its JSON: unknown fields are kept in
// Raw, GUIDs are lower-cased. A type error names the field, and says what to do
// when a PowerShell export was cut short by ConvertTo-Json's default depth.
func Decode[T any, P interface {
	*T
	Object
}](data []byte) (T, error) {
	var v T
	data = bytes.TrimSpace(data)
	if err := json.Unmarshal(data, &v); err != nil {
		return v, explain(err)
	}
	P(&v).normalize()
	P(&v).setRaw(bytes.Clone(data))
	return v, nil
}

// DecodeLean is Decode without keeping the raw JSON (Raw stays nil): for
// readers that hold a whole large tenant in memory and never show its raw
// JSON, such as the evaluation of stored data.
func DecodeLean[T any, P interface {
	*T
	Object
}](data []byte) (T, error) {
	var v T
	if err := json.Unmarshal(bytes.TrimSpace(data), &v); err != nil {
		return v, explain(err)
	}
	P(&v).normalize()
	return v, nil
}

// explain rewrites encoding/json's type errors into sentences.
func explain(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	field := te.Field
	if field == "" {
		field = "the object"
	}
	if te.Value == "string" && te.Type != nil && (te.Type.Kind() == reflect.Struct ||
		(te.Type.Kind() == reflect.Pointer && te.Type.Elem().Kind() == reflect.Struct)) {
		return &FieldError{Field: field, Offset: te.Offset, Msg: fmt.Sprintf(
			"%s is a string where an object belongs: the export was cut short (PowerShell's ConvertTo-Json stops at depth 2 by default); export again with ConvertTo-Json -Depth 10",
			field)}
	}
	return &FieldError{Field: field, Offset: te.Offset, Msg: fmt.Sprintf("%s: cannot use a JSON %s as %s", field, te.Value, typeName(te.Type))}
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "this field"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Pointer, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true/false"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// FieldError is a decoding error inside one object: Offset is the byte offset
// within that object's JSON, which the snapshot reader turns into a file offset.
type FieldError struct {
	Field  string
	Offset int64
	Msg    string
}

func (e *FieldError) Error() string { return e.Msg }

// Ref is a reference to a directory object, as Graph lists members and owners.
type Ref struct {
	ODataType string `json:"@odata.type,omitempty"`
	ID        string `json:"id"`
}

// Kind returns the referenced object's type without its namespace: "user",
// "group", "servicePrincipal", "device", … or "" when unknown.
func (r Ref) Kind() string {
	return strings.TrimPrefix(r.ODataType, "#microsoft.graph.")
}

// ODataType builds the @odata.type of a Graph type name ("user" → "#microsoft.graph.user").
func ODataType(kind string) string { return "#microsoft.graph." + kind }

func normalizeRefs(refs []Ref) {
	for i := range refs {
		refs[i].ID = ID(refs[i].ID)
	}
}
