package directory

import (
	"strings"
)

// RegistrationDetail is a user's authentication methods registration
// (userRegistrationDetails); its id is the user's id.
type RegistrationDetail struct {
	ID                    string   `json:"id"`
	UserPrincipalName     string   `json:"userPrincipalName,omitempty"`
	UserDisplayName       string   `json:"userDisplayName,omitempty"`
	UserType              string   `json:"userType,omitempty"`
	IsAdmin               *bool    `json:"isAdmin,omitempty"`
	IsMfaCapable          *bool    `json:"isMfaCapable,omitempty"`
	IsMfaRegistered       *bool    `json:"isMfaRegistered,omitempty"`
	IsPasswordlessCapable *bool    `json:"isPasswordlessCapable,omitempty"`
	IsSsprRegistered      *bool    `json:"isSsprRegistered,omitempty"`
	MethodsRegistered     []string `json:"methodsRegistered,omitempty"`
	DefaultMfaMethod      string   `json:"defaultMfaMethod,omitempty"`
	LastUpdatedDateTime   Time     `json:"lastUpdatedDateTime,omitzero"`

	Meta
}

func (r *RegistrationDetail) normalize() { r.ID = ID(r.ID) }

// SignIn is one sign-in event (beta shape: interactive and non-interactive).
type SignIn struct {
	ID                               string            `json:"id"`
	CreatedDateTime                  Time              `json:"createdDateTime,omitzero"`
	UserID                           string            `json:"userId,omitempty"`
	UserPrincipalName                string            `json:"userPrincipalName,omitempty"`
	UserDisplayName                  string            `json:"userDisplayName,omitempty"`
	AppID                            string            `json:"appId,omitempty"`
	AppDisplayName                   string            `json:"appDisplayName,omitempty"`
	ResourceID                       string            `json:"resourceId,omitempty"`
	ResourceDisplayName              string            `json:"resourceDisplayName,omitempty"`
	ServicePrincipalID               string            `json:"servicePrincipalId,omitempty"`
	ClientAppUsed                    string            `json:"clientAppUsed,omitempty"`
	IsInteractive                    *bool             `json:"isInteractive,omitempty"`
	SignInEventTypes                 []string          `json:"signInEventTypes,omitempty"`
	IPAddress                        string            `json:"ipAddress,omitempty"`
	Status                           *SignInStatus     `json:"status,omitempty"`
	ConditionalAccessStatus          string            `json:"conditionalAccessStatus,omitempty"`
	AuthenticationRequirement        string            `json:"authenticationRequirement,omitempty"`
	AppliedConditionalAccessPolicies []AppliedCAPolicy `json:"appliedConditionalAccessPolicies,omitempty"`

	Meta
}

// SignInStatus is a sign-in's outcome; ErrorCode 0 is success.
type SignInStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// AppliedCAPolicy is a policy's result for one sign-in.
type AppliedCAPolicy struct {
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName,omitempty"`
	Result                string   `json:"result,omitempty"`
	EnforcedGrantControls []string `json:"enforcedGrantControls,omitempty"`
}

// ErrorCode returns the sign-in's error code, 0 for success or unknown.
func (s *SignIn) ErrorCode() int {
	if s.Status == nil {
		return 0
	}
	return s.Status.ErrorCode
}

// NonInteractive reports whether the sign-in was non-interactive.
func (s *SignIn) NonInteractive() bool {
	for _, t := range s.SignInEventTypes {
		if strings.EqualFold(t, "nonInteractiveUser") {
			return true
		}
	}
	return s.IsInteractive != nil && !*s.IsInteractive
}

func (s *SignIn) normalize() {
	s.ID = ID(s.ID)
	s.UserID = ID(s.UserID)
	s.AppID = ID(s.AppID)
	s.ResourceID = ID(s.ResourceID)
	s.ServicePrincipalID = ID(s.ServicePrincipalID)
	for i := range s.AppliedConditionalAccessPolicies {
		p := &s.AppliedConditionalAccessPolicies[i]
		p.ID = ID(p.ID)
	}
}

// ServicePrincipalSignInActivity is the beta report of a service principal's
// last sign-ins, per kind of sign-in.
type ServicePrincipalSignInActivity struct {
	ID                                              string          `json:"id"`
	AppID                                           string          `json:"appId,omitempty"`
	LastSignInActivity                              *SignInActivity `json:"lastSignInActivity,omitempty"`
	ApplicationAuthenticationClientSignInActivity   *SignInActivity `json:"applicationAuthenticationClientSignInActivity,omitempty"`
	ApplicationAuthenticationResourceSignInActivity *SignInActivity `json:"applicationAuthenticationResourceSignInActivity,omitempty"`
	DelegatedClientSignInActivity                   *SignInActivity `json:"delegatedClientSignInActivity,omitempty"`
	DelegatedResourceSignInActivity                 *SignInActivity `json:"delegatedResourceSignInActivity,omitempty"`

	Meta
}

// SignInActivity is one "last sign-in" entry of a service principal.
type SignInActivity struct {
	LastSignInDateTime  Time   `json:"lastSignInDateTime,omitzero"`
	LastSignInRequestID string `json:"lastSignInRequestId,omitempty"`
}

// LastSignIn returns the latest sign-in time, or the zero Time.
func (a *ServicePrincipalSignInActivity) LastSignIn() Time {
	if a.LastSignInActivity == nil {
		return Time{}
	}
	return a.LastSignInActivity.LastSignInDateTime
}

func (a *ServicePrincipalSignInActivity) normalize() {
	a.ID = ID(a.ID)
	a.AppID = ID(a.AppID)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
