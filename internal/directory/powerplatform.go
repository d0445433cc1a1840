package directory

import (
	"strings"
)

// Environment is a Power Platform environment (BAP admin API). Its Name is its id.
type Environment struct {
	ID         string                `json:"id,omitempty"`
	Name       string                `json:"name"`
	Type       string                `json:"type,omitempty"`
	Location   string                `json:"location,omitempty"`
	Properties EnvironmentProperties `json:"properties"`

	Meta
}

// EnvironmentProperties are an environment's properties.
type EnvironmentProperties struct {
	DisplayName    string `json:"displayName,omitempty"`
	EnvironmentSku string `json:"environmentSku,omitempty"` // Default | Production | Sandbox | Trial | Developer
	IsDefault      *bool  `json:"isDefault,omitempty"`
	CreatedTime    Time   `json:"createdTime,omitzero"`
}

func (e *Environment) normalize() { e.Name = ID(e.Name) }

// EnvironmentRef names the environment an object lives in.
type EnvironmentRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Flow is a Power Automate cloud flow (Flow admin API).
type Flow struct {
	ID         string         `json:"id,omitempty"`
	Name       string         `json:"name"`
	Type       string         `json:"type,omitempty"`
	Properties FlowProperties `json:"properties"`

	Meta
}

// FlowProperties are a flow's properties.
type FlowProperties struct {
	DisplayName          string                         `json:"displayName,omitempty"`
	State                string                         `json:"state,omitempty"` // Started | Stopped | Suspended
	CreatedTime          Time                           `json:"createdTime,omitzero"`
	LastModifiedTime     Time                           `json:"lastModifiedTime,omitzero"`
	Creator              *FlowCreator                   `json:"creator,omitempty"`
	Environment          *EnvironmentRef                `json:"environment,omitempty"`
	ConnectionReferences map[string]ConnectionReference `json:"connectionReferences,omitempty"`
}

// FlowCreator is who created a flow; ObjectID is their Entra object id.
type FlowCreator struct {
	TenantID string `json:"tenantId,omitempty"`
	ObjectID string `json:"objectId,omitempty"`
	UserID   string `json:"userId,omitempty"`
	UserType string `json:"userType,omitempty"`
}

// ConnectionReference is one connection a flow uses. ID is the connector's API id.
type ConnectionReference struct {
	ConnectionName string `json:"connectionName,omitempty"`
	ID             string `json:"id,omitempty"`
	DisplayName    string `json:"displayName,omitempty"`
}

// EnvironmentName returns the name of the flow's environment, or "".
func (f *Flow) EnvironmentName() string {
	if f.Properties.Environment == nil {
		return ""
	}
	return f.Properties.Environment.Name
}

// CreatorID returns the creator's object id, or "".
func (f *Flow) CreatorID() string {
	if f.Properties.Creator == nil {
		return ""
	}
	return f.Properties.Creator.ObjectID
}

func (f *Flow) normalize() {
	f.Name = ID(f.Name)
	if c := f.Properties.Creator; c != nil {
		c.ObjectID = ID(c.ObjectID)
		c.TenantID = ID(c.TenantID)
	}
	if e := f.Properties.Environment; e != nil {
		e.Name = ID(e.Name)
	}
}

// FlowPermissionSet lists the permissions of one flow.
type FlowPermissionSet struct {
	FlowName    string           `json:"flowName"`
	Environment string           `json:"environment"`
	Permissions []FlowPermission `json:"permissions"`

	Meta
}

// FlowPermission is one principal's role on a flow.
type FlowPermission struct {
	Name       string                   `json:"name,omitempty"`
	ID         string                   `json:"id,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Properties FlowPermissionProperties `json:"properties"`
}

// FlowPermissionProperties are a permission's role and principal.
type FlowPermissionProperties struct {
	RoleName       string      `json:"roleName,omitempty"` // Owner | CanEdit | CanView
	PermissionType string      `json:"permissionType,omitempty"`
	Principal      PPPrincipal `json:"principal"`
}

// PPPrincipal is a principal as the Power Platform APIs describe it.
type PPPrincipal struct {
	ID                string `json:"id,omitempty"`
	Type              string `json:"type,omitempty"` // User | Group | ServicePrincipal | Tenant
	DisplayName       string `json:"displayName,omitempty"`
	Email             string `json:"email,omitempty"`
	TenantID          string `json:"tenantId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

func (s *FlowPermissionSet) normalize() {
	s.FlowName = ID(s.FlowName)
	s.Environment = ID(s.Environment)
	for i := range s.Permissions {
		p := &s.Permissions[i].Properties.Principal
		p.ID = ID(p.ID)
	}
}

// Connection is a Power Platform connection (PowerApps admin API).
type Connection struct {
	ID         string               `json:"id,omitempty"`
	Name       string               `json:"name"`
	Type       string               `json:"type,omitempty"`
	Properties ConnectionProperties `json:"properties"`

	Meta
}

// ConnectionProperties are a connection's properties.
type ConnectionProperties struct {
	APIID            string             `json:"apiId,omitempty"`
	DisplayName      string             `json:"displayName,omitempty"`
	CreatedTime      Time               `json:"createdTime,omitzero"`
	LastModifiedTime Time               `json:"lastModifiedTime,omitzero"`
	CreatedBy        *PPPrincipal       `json:"createdBy,omitempty"`
	OverallStatus    string             `json:"overallStatus,omitempty"` // Connected | Error | …
	Statuses         []ConnectionStatus `json:"statuses,omitempty"`
	Environment      *EnvironmentRef    `json:"environment,omitempty"`
}

// ConnectionStatus is one status entry of a connection.
type ConnectionStatus struct {
	Status string           `json:"status,omitempty"`
	Target string           `json:"target,omitempty"`
	Error  *ConnectionError `json:"error,omitempty"`
}

// ConnectionError is why a connection is in error.
type ConnectionError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// EnvironmentName returns the name of the connection's environment, or "".
func (c *Connection) EnvironmentName() string {
	if c.Properties.Environment == nil {
		return ""
	}
	return c.Properties.Environment.Name
}

// ErrorMessage returns the first status error message, or "".
func (c *Connection) ErrorMessage() string {
	for _, s := range c.Properties.Statuses {
		if s.Error != nil && s.Error.Message != "" {
			return s.Error.Message
		}
	}
	return ""
}

// InError reports whether the connection's overall status is an error.
func (c *Connection) InError() bool {
	return strings.EqualFold(c.Properties.OverallStatus, "Error")
}

func (c *Connection) normalize() {
	c.Name = ID(c.Name)
	if p := c.Properties.CreatedBy; p != nil {
		p.ID = ID(p.ID)
	}
	if e := c.Properties.Environment; e != nil {
		e.Name = ID(e.Name)
	}
}
