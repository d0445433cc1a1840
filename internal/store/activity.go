package store

import (
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

var registrationDetailsTable = register(&tableSpec{
	collection: directory.RegistrationDetails,
	table:      "registration_details",
	key:        []string{"id"},
	cols: []string{"user_principal_name", "is_admin", "is_mfa_registered", "is_mfa_capable",
		"is_passwordless_capable", "methods_registered"},
	rows: single(1, func(o directory.Object) []any {
		r := o.(*directory.RegistrationDetail)
		return []any{r.UserPrincipalName, boolPtr(r.IsAdmin), boolPtr(r.IsMfaRegistered), boolPtr(r.IsMfaCapable),
			boolPtr(r.IsPasswordlessCapable), strs(r.MethodsRegistered)}
	}),
})

var signInsTable = register(&tableSpec{
	collection: directory.SignIns,
	table:      "sign_ins",
	key:        []string{"id"},
	cols: []string{"created_at", "user_id", "user_principal_name", "app_id", "app_display_name", "resource_id",
		"client_app_used", "sign_in_event_types", "error_code", "failure_reason", "conditional_access_status"},
	rows: single(1, func(o directory.Object) []any {
		s := o.(*directory.SignIn)
		created := s.CreatedDateTime.Time
		if created.IsZero() {
			created = time.Unix(0, 0).UTC() // the column is NOT NULL; an event without a time sorts last
		}
		reason := ""
		if s.Status != nil {
			reason = s.Status.FailureReason
		}
		return []any{created, s.UserID, s.UserPrincipalName, s.AppID, s.AppDisplayName, s.ResourceID,
			s.ClientAppUsed, strs(s.SignInEventTypes), s.ErrorCode(), reason, s.ConditionalAccessStatus}
	}),
})

var spSignInActivitiesTable = register(&tableSpec{
	collection: directory.ServicePrincipalSignInActivities,
	table:      "service_principal_sign_in_activities",
	key:        []string{"id"},
	cols:       []string{"app_id", "last_sign_in_at"},
	rows: single(1, func(o directory.Object) []any {
		a := o.(*directory.ServicePrincipalSignInActivity)
		return []any{a.AppID, timeOrNil(a.LastSignIn())}
	}),
})
