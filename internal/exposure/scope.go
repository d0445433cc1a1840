package exposure

import (
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// subject is a user as the users condition sees it: its groups (interesting
// ones, transitively) and roles.
type subject struct {
	u      *directory.User
	groups []membership
	roles  map[string]heldRole
	guest  guestKind
}

// guestKind is what includeGuestsOrExternalUsers can match for a user.
type guestKind struct {
	certain  []string // guest types the user surely is
	possible []string // types it may be: an exclusion by these is taken as matching
}

// guestTypes classifies a user for the guest condition. Entra decides by
// userType and the account's origin; the directory shows userType and, in
// an invited account's UPN, "#EXT#". A Guest is a B2B collaboration guest
// (EXPOSURE.md §1) — or, without #EXT#, possibly an internal guest; a
// Member with #EXT# is a B2B collaboration member. B2B direct connect
// users, other external users and service providers have no user object.
func guestTypes(u *directory.User) guestKind {
	ext := strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#")
	switch {
	case u.IsGuest() && ext:
		return guestKind{certain: []string{"b2bCollaborationGuest"}, possible: []string{"b2bCollaborationGuest"}}
	case u.IsGuest():
		return guestKind{certain: []string{"b2bCollaborationGuest"}, possible: []string{"b2bCollaborationGuest", "internalGuest"}}
	case ext:
		return guestKind{certain: []string{"b2bCollaborationMember"}, possible: []string{"b2bCollaborationMember"}}
	}
	return guestKind{}
}

func (g guestKind) external() bool { return len(g.certain) > 0 }

func (x *index) subject(u *directory.User) *subject {
	groups := x.memberships(u.ID)
	return &subject{u: u, groups: groups, roles: x.roles(u.ID, groups), guest: guestTypes(u)}
}

// scope is how a policy's users condition treats a user.
type scope struct {
	included, excluded bool
	inPath, exPath     string
	exVia              string // user | group | role | guest
}

// scopeOf decides whether a user policy includes and whether it excludes a
// user (EXPOSURE.md §1), with the paths. Exclusions win, but both are kept:
// an exclusion that matters is one from a policy that would include. The
// exclusion is looked at only for an included user unless always is set.
func (x *index) scopeOf(c *policy, s *subject, always bool) scope {
	var sc scope
	u := c.users
	if c.includesAll {
		sc.included, sc.inPath = true, "All users"
	} else {
		sc.included, sc.inPath = x.matchUsers(u.IncludeUsers, u.IncludeGroups, u.IncludeRoles, u.IncludeGuestsOrExternalUsers, s, false)
	}
	if !sc.included && !always {
		return sc
	}
	sc.excluded, sc.exPath = x.matchUsers(u.ExcludeUsers, u.ExcludeGroups, u.ExcludeRoles, u.ExcludeGuestsOrExternalUsers, s, true)
	if sc.excluded {
		switch {
		case sc.exPath == "direct":
			sc.exVia = "user"
		case strings.HasPrefix(sc.exPath, "group"):
			sc.exVia = "group"
		case strings.HasPrefix(sc.exPath, "role"):
			sc.exVia = "role"
		default:
			sc.exVia = "guest"
		}
	}
	return sc
}

// matchUsers matches one side (include or exclude) of a users condition.
// When a match is uncertain (an enumerated external tenant, a possible
// guest type), an exclusion counts it and an inclusion does not: the
// weaker verdict.
func (x *index) matchUsers(users, groups, roles []string, guests *directory.CAGuests, s *subject, exclude bool) (bool, string) {
	for _, id := range users {
		switch {
		case id == s.u.ID:
			return true, "direct"
		case len(id) == 3 && isKeyword(id, "All"):
			return true, "All users"
		case len(id) == len("GuestsOrExternalUsers") && isKeyword(id, "GuestsOrExternalUsers") && s.guest.external():
			return true, "guest type " + s.guest.certain[0]
		}
	}
	best := ""
	var bestReach *reach
	for _, g := range groups {
		if r := in(s.groups, g); r != nil && (bestReach == nil || len(r.chain) < len(bestReach.chain) || len(r.chain) == len(bestReach.chain) && g < best) {
			best, bestReach = g, r
		}
	}
	if bestReach != nil {
		return true, bestReach.path
	}
	if exclude {
		// A group missing from the directory may have the user as a member
		// (a partial export, a group created since): its scope cannot be
		// known, and the weaker verdict counts the user as excluded.
		for _, g := range groups {
			if directory.IsGUID(g) && x.groups[g] == nil && x.captured[directory.Groups] {
				if in(s.groups, g) == nil {
					return true, "unknown group " + g
				}
			}
		}
	}
	for _, r := range roles {
		if h, ok := s.roles[r]; ok {
			return true, h.path
		}
	}
	if guests != nil && s.guest.external() {
		kinds := s.guest.certain
		if exclude {
			kinds = s.guest.possible
		}
		t := guests.ExternalTenants
		enumerated := t != nil && strings.EqualFold(t.MembershipKind, "enumerated")
		for _, want := range guests.GuestOrExternalUserTypes {
			if !slices.ContainsFunc(kinds, func(k string) bool { return strings.EqualFold(k, strings.TrimSpace(want)) }) {
				continue
			}
			switch {
			case !enumerated:
				return true, "guest type " + strings.TrimSpace(want)
			case exclude:
				return true, "guest type " + strings.TrimSpace(want) + " (home tenant unknown: taken as excluded)"
			}
		}
	}
	return false, ""
}
