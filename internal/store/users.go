package store

import (
	"github.com/steward-dev/steward/internal/directory"
)

var usersTable = register(&tableSpec{
	collection: directory.Users,
	table:      "users",
	parentOf:   "user",
	key:        []string{"id"},
	cols: []string{"user_principal_name", "display_name", "mail", "user_type", "employee_type", "account_enabled",
		"on_premises_sync_enabled", "created_at", "last_password_change_at", "last_sign_in_at",
		"last_non_interactive_sign_in_at", "last_successful_sign_in_at"},
	rows: single(1, func(o directory.Object) []any {
		u := o.(*directory.User)
		var a directory.UserSignInActivity
		if u.SignInActivity != nil {
			a = *u.SignInActivity
		}
		return []any{u.UserPrincipalName, u.DisplayName, u.Mail, u.UserType, u.EmployeeType, boolPtr(u.AccountEnabled),
			boolPtr(u.OnPremisesSyncEnabled), timeOrNil(u.CreatedDateTime), timeOrNil(u.LastPasswordChangeDateTime),
			timeOrNil(a.LastSignInDateTime), timeOrNil(a.LastNonInteractiveSignInDateTime), timeOrNil(a.LastSuccessfulSignInDateTime)}
	}),
})
