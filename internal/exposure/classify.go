package exposure

import (
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Signal weights. A person's mark, a service-account group and
// employeeType = service are explicit: they confirm. Otherwise the score
// of the circumstantial signals decides: likely from 5 (a service-like
// name and one more behaviour, or three behaviours), possible from 3 (a
// service-like name alone, or two hints). Many people own a flow or have a
// password that never expires: those alone stay "no".
const (
	weightName           = 3
	weightOwnsAutomation = 2
	weightNonInteractive = 2
	weightExcluded       = 2
	weightNoMFA          = 1
	weightNeverExpires   = 1

	likelyScore   = 5
	possibleScore = 3
)

// classify scores whether a user is a service account (EXPOSURE.md §7).
func (x *index) classify(u *directory.User, s *subject, a *Account) Classification {
	var c Classification
	add := func(code, detail string, w int) {
		c.Signals = append(c.Signals, Signal{Code: code, Detail: detail, Weight: w})
		c.Score += w
	}
	if mark, ok := x.cfg.Marked[u.ID]; ok {
		if mark {
			add("marked", "marked as a service account by a person", 0)
			c.Level = ServiceConfirmed
		} else {
			add("marked", "marked as a person by a person", 0)
			c.Level = ServiceNo
		}
		return c
	}
	explicit := false
	for _, m := range s.groups { // by group id
		if x.svcGroups[m.group] {
			add("serviceGroup", "member of service-account "+m.path, 0)
			explicit = true
			break
		}
	}
	if strings.EqualFold(strings.TrimSpace(u.EmployeeType), "service") {
		add("employeeType", "employeeType is "+u.EmployeeType, 0)
		explicit = true
	}
	flows, conns := len(x.flowsOf[u.ID]), len(x.connsOf[u.ID])
	if flows+conns > 0 {
		add("ownsAutomation", fmt.Sprintf("owns or created %d flows and %d connections", flows, conns), weightOwnsAutomation)
	}
	if p := x.namePattern(u); p != "" {
		add("name", fmt.Sprintf("name matches the service-account pattern %q", p), weightName)
	}
	if n, ok := x.onlyNonInteractive(u); ok {
		add("nonInteractive", fmt.Sprintf("only non-interactive sign-ins in the last %d days (%s)", x.cfg.SignInWindowDays, n), weightNonInteractive)
	}
	if r := x.registered[u.ID]; r != nil && r.IsMfaRegistered != nil && !*r.IsMfaRegistered {
		add("noMFA", "no MFA method registered", weightNoMFA)
	}
	if strings.Contains(strings.ToLower(u.PasswordPolicies), "disablepasswordexpiration") {
		add("passwordNeverExpires", "password never expires", weightNeverExpires)
	}
	for _, e := range a.Exclusions {
		if e.Via != "app" && strings.EqualFold(e.State, directory.StateEnabled) {
			add("excludedFromMFA", "excluded from MFA policy "+e.PolicyName+" via "+e.Path, weightExcluded)
			break
		}
	}
	switch {
	case explicit:
		c.Level = ServiceConfirmed
	case c.Score >= likelyScore:
		c.Level = ServiceLikely
	case c.Score >= possibleScore:
		c.Level = ServicePossible
	default:
		c.Level = ServiceNo
	}
	return c
}

// namePattern returns the configured pattern the user's display name or
// UPN matches at the start of a word ("svc-" in "svc-flows", "bot" in
// "hr-bot" but not in "Abbott"), case-insensitively, or "".
func (x *index) namePattern(u *directory.User) string {
	for _, name := range []string{u.DisplayName, u.UserPrincipalName} {
		for _, p := range x.lowerPatterns {
			for at := 0; at+len(p) <= len(name); at++ {
				if (at == 0 || !isLetter(name[at-1]) || !isLetter(p[0])) && hasPrefixFold(name[at:], p) {
					return p
				}
			}
		}
	}
	return ""
}

// isLetter: an ASCII letter, or a byte of a multi-byte (non-ASCII) rune,
// which in a name is almost always a letter.
func isLetter(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' || b >= 0x80 }

// hasPrefixFold reports whether s starts with the lower-case prefix p,
// ignoring ASCII case, without allocating.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// onlyNonInteractive reports whether the user signed in during the window,
// non-interactively only, from the sign-in logs or, without them, from
// signInActivity.
func (x *index) onlyNonInteractive(u *directory.User) (string, bool) {
	since := x.cfg.Now.AddDate(0, 0, -x.cfg.SignInWindowDays)
	var inter, non int
	for _, si := range x.signIns[u.ID] {
		if si.CreatedDateTime.Before(since) {
			continue
		}
		if si.NonInteractive() {
			non++
		} else {
			inter++
		}
	}
	if inter+non > 0 {
		return fmt.Sprintf("%d sign-ins", non), inter == 0
	}
	if a := u.SignInActivity; a != nil {
		recent := func(t directory.Time) bool { return !t.IsZero() && !t.Before(since) }
		if recent(a.LastNonInteractiveSignInDateTime) && !recent(a.LastSignInDateTime) {
			return "last " + a.LastNonInteractiveSignInDateTime.Format(time.DateOnly), true
		}
	}
	return "", false
}

// serviceAccount reports whether findings meant for service accounts apply.
func (c Classification) serviceAccount() bool {
	return c.Level == ServiceConfirmed || c.Level == ServiceLikely
}
