package exposure

import "time"

// Config holds the thresholds of the evaluation. The zero value is not
// useful: start from DefaultConfig.
type Config struct {
	// Now is the instant the evaluation is made at (dormancy, secret expiry,
	// the sign-in window). Evaluations are deterministic for a given Now.
	Now time.Time
	// DormantDays: no successful sign-in for this long is DORMANT.
	DormantDays int
	// SignInWindowDays: the sign-ins looked at for "only non-interactive
	// sign-ins" and MFA failures.
	SignInWindowDays int
	// SecretMaxLifetime: a client secret valid for longer is SP_SECRET_LONG_LIVED.
	SecretMaxLifetime time.Duration
	// SecretExpiringWithin: a secret ending this soon is SP_SECRET_EXPIRING.
	SecretExpiringWithin time.Duration
	// NamePatterns are case-insensitive substrings of a display name or UPN
	// that suggest a service account.
	NamePatterns []string
	// ServiceAccountGroups are groups (ids or display names) whose members,
	// transitively, are service accounts.
	ServiceAccountGroups []string
	// Marked are accounts a person has classified: true confirms a service
	// account, false says it is a person. Marks are final.
	Marked map[string]bool
}

// DefaultConfig returns the defaults, evaluated at now.
func DefaultConfig(now time.Time) Config {
	return Config{
		Now:                  now,
		DormantDays:          90,
		SignInWindowDays:     30,
		SecretMaxLifetime:    180 * 24 * time.Hour,
		SecretExpiringWithin: 30 * 24 * time.Hour,
		NamePatterns:         []string{"svc-", "svc_", "sa-", "-svc@", "service", "automation", "flow", "coe", "bot"},
	}
}
