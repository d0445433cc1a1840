package directory

// MicrosoftTenantID owns Microsoft's first-party applications
// (appOwnerOrganizationId of their service principals).
const MicrosoftTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// ServicePrincipal is an application's identity in this tenant, or a managed identity.
type ServicePrincipal struct {
	ID                     string               `json:"id"`
	AppID                  string               `json:"appId,omitempty"`
	DisplayName            string               `json:"displayName,omitempty"`
	ServicePrincipalType   string               `json:"servicePrincipalType,omitempty"` // Application | ManagedIdentity | Legacy | SocialIdp
	AppOwnerOrganizationID string               `json:"appOwnerOrganizationId,omitempty"`
	AccountEnabled         *bool                `json:"accountEnabled,omitempty"`
	PasswordCredentials    []PasswordCredential `json:"passwordCredentials,omitempty"`
	KeyCredentials         []KeyCredential      `json:"keyCredentials,omitempty"`
	Tags                   []string             `json:"tags,omitempty"`
	AppRoles               []AppRole            `json:"appRoles,omitempty"`
	SignInAudience         string               `json:"signInAudience,omitempty"`

	Meta
}

// ManagedIdentity reports whether the service principal is a managed identity.
func (sp *ServicePrincipal) ManagedIdentity() bool {
	return equalFold(sp.ServicePrincipalType, "ManagedIdentity")
}

// FirstParty reports whether Microsoft owns the application.
func (sp *ServicePrincipal) FirstParty() bool {
	return SameID(sp.AppOwnerOrganizationID, MicrosoftTenantID)
}

func (sp *ServicePrincipal) normalize() {
	sp.ID = ID(sp.ID)
	sp.AppID = ID(sp.AppID)
	sp.AppOwnerOrganizationID = ID(sp.AppOwnerOrganizationID)
}

// AppRole is a role an application exposes (for Microsoft Graph, its
// application permissions such as Directory.ReadWrite.All).
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value,omitempty"`
	DisplayName        string   `json:"displayName,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
}

// PasswordCredential is a client secret's metadata; Graph never returns the secret.
type PasswordCredential struct {
	KeyID         string `json:"keyId"`
	DisplayName   string `json:"displayName,omitempty"`
	Hint          string `json:"hint,omitempty"`
	StartDateTime Time   `json:"startDateTime,omitzero"`
	EndDateTime   Time   `json:"endDateTime,omitzero"`
}

// KeyCredential is a certificate's metadata.
type KeyCredential struct {
	KeyID         string `json:"keyId"`
	DisplayName   string `json:"displayName,omitempty"`
	Type          string `json:"type,omitempty"`  // AsymmetricX509Cert, …
	Usage         string `json:"usage,omitempty"` // Verify | Sign
	StartDateTime Time   `json:"startDateTime,omitzero"`
	EndDateTime   Time   `json:"endDateTime,omitzero"`
}

// Application is an app registration.
type Application struct {
	ID                           string                        `json:"id"`
	AppID                        string                        `json:"appId,omitempty"`
	DisplayName                  string                        `json:"displayName,omitempty"`
	CreatedDateTime              Time                          `json:"createdDateTime,omitzero"`
	SignInAudience               string                        `json:"signInAudience,omitempty"`
	PasswordCredentials          []PasswordCredential          `json:"passwordCredentials,omitempty"`
	KeyCredentials               []KeyCredential               `json:"keyCredentials,omitempty"`
	FederatedIdentityCredentials []FederatedIdentityCredential `json:"federatedIdentityCredentials,omitempty"`

	Meta
}

func (a *Application) normalize() {
	a.ID = ID(a.ID)
	a.AppID = ID(a.AppID)
}

// FederatedIdentityCredential lets an external workload (GitHub Actions, a
// Kubernetes service account, …) sign in as the application without a secret.
type FederatedIdentityCredential struct {
	ID        string   `json:"id,omitempty"`
	Name      string   `json:"name,omitempty"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences,omitempty"`
}

// AppRoleAssignment grants an app role of a resource to a principal; for a
// service principal on Microsoft Graph, an application permission.
type AppRoleAssignment struct {
	ID                   string `json:"id"`
	PrincipalID          string `json:"principalId"`
	PrincipalType        string `json:"principalType,omitempty"` // ServicePrincipal | User | Group
	PrincipalDisplayName string `json:"principalDisplayName,omitempty"`
	ResourceID           string `json:"resourceId"`
	ResourceDisplayName  string `json:"resourceDisplayName,omitempty"`
	AppRoleID            string `json:"appRoleId"`
	CreatedDateTime      Time   `json:"createdDateTime,omitzero"`

	Meta
}

func (a *AppRoleAssignment) normalize() {
	a.ID = ID(a.ID)
	a.PrincipalID = ID(a.PrincipalID)
	a.ResourceID = ID(a.ResourceID)
	a.AppRoleID = ID(a.AppRoleID)
}

// Ownership lists the owners of one service principal or application.
type Ownership struct {
	ObjectID string `json:"objectId"`
	Owners   []Ref  `json:"owners"`

	Meta
}

func (o *Ownership) normalize() {
	o.ObjectID = ID(o.ObjectID)
	normalizeRefs(o.Owners)
}
