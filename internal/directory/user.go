package directory

// User is a Graph user.
type User struct {
	ID                         string              `json:"id"`
	DisplayName                string              `json:"displayName,omitempty"`
	UserPrincipalName          string              `json:"userPrincipalName,omitempty"`
	Mail                       string              `json:"mail,omitempty"`
	Department                 string              `json:"department,omitempty"` // what dynamic group rules most often test
	JobTitle                   string              `json:"jobTitle,omitempty"`   // often "Service Account" on service accounts
	AccountEnabled             *bool               `json:"accountEnabled,omitempty"`
	UserType                   string              `json:"userType,omitempty"` // Member | Guest
	CreatedDateTime            Time                `json:"createdDateTime,omitzero"`
	OnPremisesSyncEnabled      *bool               `json:"onPremisesSyncEnabled,omitempty"`
	PasswordPolicies           string              `json:"passwordPolicies,omitempty"` // e.g. DisablePasswordExpiration
	LastPasswordChangeDateTime Time                `json:"lastPasswordChangeDateTime,omitzero"`
	AssignedLicenses           []AssignedLicense   `json:"assignedLicenses,omitempty"`
	EmployeeType               string              `json:"employeeType,omitempty"`
	SignInActivity             *UserSignInActivity `json:"signInActivity,omitempty"`
	ExternalUserState          string              `json:"externalUserState,omitempty"`

	Meta
}

// AssignedLicense is one license of a user.
type AssignedLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// UserSignInActivity is a user's signInActivity (needs Entra ID P1/P2).
type UserSignInActivity struct {
	LastSignInDateTime               Time `json:"lastSignInDateTime,omitzero"` // interactive, success or not
	LastNonInteractiveSignInDateTime Time `json:"lastNonInteractiveSignInDateTime,omitzero"`
	LastSuccessfulSignInDateTime     Time `json:"lastSuccessfulSignInDateTime,omitzero"`
}

// Enabled reports whether the account can sign in; a missing value counts as enabled.
func (u *User) Enabled() bool { return u.AccountEnabled == nil || *u.AccountEnabled }

// IsGuest reports whether the user is a guest (userType Guest).
func (u *User) IsGuest() bool { return equalFold(u.UserType, "Guest") }

func (u *User) normalize() { u.ID = ID(u.ID) }

// Group is a Graph group.
type Group struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName,omitempty"`
	Description        string   `json:"description,omitempty"`
	SecurityEnabled    *bool    `json:"securityEnabled,omitempty"`
	MailEnabled        *bool    `json:"mailEnabled,omitempty"`
	GroupTypes         []string `json:"groupTypes,omitempty"`
	IsAssignableToRole *bool    `json:"isAssignableToRole,omitempty"`
	MembershipRule     string   `json:"membershipRule,omitempty"`

	Meta
}

// Dynamic reports whether membership is computed from a rule.
func (g *Group) Dynamic() bool {
	for _, t := range g.GroupTypes {
		if equalFold(t, "DynamicMembership") {
			return true
		}
	}
	return false
}

func (g *Group) normalize() { g.ID = ID(g.ID) }

// GroupMembership lists the direct members of one group (users, groups,
// service principals). Nesting is resolved by whoever reads it.
type GroupMembership struct {
	GroupID string `json:"groupId"`
	Members []Ref  `json:"members"`

	Meta
}

func (m *GroupMembership) normalize() {
	m.GroupID = ID(m.GroupID)
	normalizeRefs(m.Members)
}

// RoleDefinition is a directory role (unifiedRoleDefinition). For built-in
// roles the id is the template id.
type RoleDefinition struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName,omitempty"`
	Description  string `json:"description,omitempty"`
	TemplateID   string `json:"templateId,omitempty"`
	IsBuiltIn    *bool  `json:"isBuiltIn,omitempty"`
	IsPrivileged *bool  `json:"isPrivileged,omitempty"`

	Meta
}

func (r *RoleDefinition) normalize() {
	r.ID = ID(r.ID)
	r.TemplateID = ID(r.TemplateID)
}

// RoleAssignment is an active directory role assignment. The principal may be
// a user, a role-assignable group or a service principal.
type RoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId,omitempty"`

	Meta
}

func (r *RoleAssignment) normalize() {
	r.ID = ID(r.ID)
	r.PrincipalID = ID(r.PrincipalID)
	r.RoleDefinitionID = ID(r.RoleDefinitionID)
}
