package emulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// ChurnSummary says what RandomChurn did.
type ChurnSummary struct {
	Version                  uint64 `json:"version"`
	UsersAdded               int    `json:"usersAdded"`
	UsersChanged             int    `json:"usersChanged"`
	UsersDeleted             int    `json:"usersDeleted"`
	ServicePrincipalsAdded   int    `json:"servicePrincipalsAdded"`
	ServicePrincipalsChanged int    `json:"servicePrincipalsChanged"`
	ServicePrincipalsDeleted int    `json:"servicePrincipalsDeleted"`
	MembershipsMoved         int    `json:"membershipsMoved"`
}

// RandomChurn changes about fraction of the users, of the service principals
// and of the user memberships: a quarter of the touched objects are added, a
// quarter deleted, the rest changed (display name, sign-in activity, some
// accounts disabled or enabled), and memberships move from one group to
// another. The same seed on the same tenant makes the same changes.
func (e *Emulator) RandomChurn(fraction float64, seed uint64) (ChurnSummary, error) {
	if fraction <= 0 || fraction > 1 || math.IsNaN(fraction) {
		return ChurnSummary{}, fmt.Errorf("emulator: churn fraction %v: want more than 0 and at most 1", fraction)
	}
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	t := e.cur.Load()
	rng := rand.New(rand.NewPCG(seed, 0x5ee0_c4a2))
	when := t.info.CapturedAt.Time
	if when.IsZero() {
		when = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	when = when.Add(time.Duration(t.seq) * time.Hour)
	var ch Churn
	var sum ChurnSummary

	users := t.items(directory.Users)
	add, change, del := split3(len(users), fraction)
	for i := range add {
		id := randomGUID(rng)
		ch.AddUsers = append(ch.AddUsers, directory.User{
			ID: id, DisplayName: fmt.Sprintf("Churned User %d-%d", seed, i),
			UserPrincipalName: fmt.Sprintf("churn.%d.%d@%s", seed, i, domainOf(t)),
			AccountEnabled:    ptr(true), UserType: "Member", CreatedDateTime: directory.NewTime(when),
			SignInActivity: &directory.UserSignInActivity{LastSignInDateTime: directory.NewTime(when)},
		})
	}
	picked := pick(rng, len(users), change+del)
	for i, idx := range picked {
		old := users[idx].obj.(*directory.User)
		if i < del {
			ch.DeleteUsers = append(ch.DeleteUsers, old.ID)
			continue
		}
		u := *old
		u.DisplayName = old.DisplayName + " (changed)"
		u.SignInActivity = &directory.UserSignInActivity{LastSignInDateTime: directory.NewTime(when),
			LastNonInteractiveSignInDateTime: directory.NewTime(when), LastSuccessfulSignInDateTime: directory.NewTime(when)}
		if i%3 == 0 {
			u.AccountEnabled = ptr(!old.Enabled())
		}
		ch.UpdateUsers = append(ch.UpdateUsers, u)
	}
	sum.UsersAdded, sum.UsersChanged, sum.UsersDeleted = add, change, del

	sps := t.items(directory.ServicePrincipals)
	add, change, del = split3(len(sps), fraction)
	for i := range add {
		ch.AddServicePrincipals = append(ch.AddServicePrincipals, directory.ServicePrincipal{
			ID: randomGUID(rng), AppID: randomGUID(rng), DisplayName: fmt.Sprintf("Churned App %d-%d", seed, i),
			ServicePrincipalType: "Application", AppOwnerOrganizationID: t.info.ID, AccountEnabled: ptr(true),
		})
	}
	for i, idx := range pick(rng, len(sps), change+del) {
		old := sps[idx].obj.(*directory.ServicePrincipal)
		if i < del {
			ch.DeleteServicePrincipals = append(ch.DeleteServicePrincipals, old.ID)
			continue
		}
		sp := *old
		sp.DisplayName = old.DisplayName + " (changed)"
		sp.PasswordCredentials = append(slices.Clone(old.PasswordCredentials), directory.PasswordCredential{
			KeyID: randomGUID(rng), DisplayName: "rotated", StartDateTime: directory.NewTime(when),
			EndDateTime: directory.NewTime(when.AddDate(1, 0, 0)),
		})
		ch.UpdateServicePrincipals = append(ch.UpdateServicePrincipals, sp)
	}
	sum.ServicePrincipalsAdded, sum.ServicePrincipalsChanged, sum.ServicePrincipalsDeleted = add, change, del

	ch.RemoveMembers, ch.AddMembers = moveMembers(rng, t, fraction, ch.DeleteUsers)
	sum.MembershipsMoved = len(ch.AddMembers)

	v, err := e.applyLocked(ch)
	if err != nil {
		return ChurnSummary{}, err
	}
	sum.Version = v
	return sum, nil
}

// moveMembers moves about fraction of the user memberships to another group
// the user is not in yet, leaving alone users about to be deleted.
func moveMembers(rng *rand.Rand, t *tenant, fraction float64, deleting []string) (remove, add []Membership) {
	type slot struct {
		group string
		ref   directory.Ref
	}
	gone := make(map[string]bool, len(deleting))
	for _, id := range deleting {
		gone[id] = true
	}
	var all []slot
	for _, e := range t.items(directory.GroupMembers) {
		for _, r := range e.obj.(*directory.GroupMembership).Members {
			if r.Kind() == "user" && !gone[r.ID] && t.get(directory.Groups, e.key) != nil {
				all = append(all, slot{e.key, r})
			}
		}
	}
	groupIDs := make([]string, 0, t.count(directory.Groups))
	for _, g := range t.items(directory.Groups) {
		groupIDs = append(groupIDs, g.key)
	}
	if len(all) == 0 || len(groupIDs) < 2 {
		return nil, nil
	}
	n := max(1, int(math.Round(fraction*float64(len(all)))))
	member := map[[2]string]bool{} // group, member → is a member after the moves
	for _, s := range all {
		member[[2]string{s.group, s.ref.ID}] = true
	}
	moved := map[string]bool{}
	for _, idx := range pick(rng, len(all), n) {
		s := all[idx]
		if moved[s.ref.ID] {
			continue // one move per user keeps the net changes readable
		}
		for range 8 {
			to := groupIDs[rng.IntN(len(groupIDs))]
			if member[[2]string{to, s.ref.ID}] {
				continue
			}
			member[[2]string{s.group, s.ref.ID}] = false
			member[[2]string{to, s.ref.ID}] = true
			remove = append(remove, Membership{GroupID: s.group, Member: s.ref})
			add = append(add, Membership{GroupID: to, Member: s.ref})
			moved[s.ref.ID] = true
			break
		}
	}
	return remove, add
}

// split3 divides about fraction of n objects into adds, changes and deletes.
func split3(n int, fraction float64) (add, change, del int) {
	if n == 0 {
		return 0, 0, 0
	}
	k := max(1, int(math.Round(fraction*float64(n))))
	add = (k + 3) / 4
	del = min(k/4, n)
	change = min(k-add-del, n-del)
	return add, max(change, 0), del
}

// pick returns k distinct indexes below n.
func pick(rng *rand.Rand, n, k int) []int {
	k = min(k, n)
	if k <= 0 {
		return nil
	}
	if k*4 < n {
		seen := make(map[int]bool, k)
		out := make([]int, 0, k)
		for len(out) < k {
			i := rng.IntN(n)
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
		return out
	}
	return rng.Perm(n)[:k]
}

func randomGUID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func domainOf(t *tenant) string {
	if t.info.DefaultDomain != "" {
		return t.info.DefaultDomain
	}
	return "example.onmicrosoft.com"
}

func ptr[T any](v T) *T { return &v }
