package synthetic

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// userKind tells the sign-in and registration generators how a user behaves.
type userKind uint8

const (
	userPerson userKind = iota
	userGuest
	userService
	userAdmin
	userBreakGlass
)

func (g *gen) userKinds() []userKind {
	k := make([]userKind, len(g.s.Users))
	for _, i := range g.guests {
		k[i] = userGuest
	}
	for _, i := range g.svc {
		k[i] = userService
	}
	for _, i := range g.admins {
		k[i] = userAdmin
	}
	for _, i := range g.breakGlass {
		k[i] = userBreakGlass
	}
	return k
}

// methodSets are the MFA methods people register, in realistic proportions.
var methodSets = []weighted[[]string]{
	{40, []string{"microsoftAuthenticatorPush", "mobilePhone"}},
	{20, []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode", "mobilePhone"}},
	{10, []string{"fido2", "microsoftAuthenticatorPush"}},
	{12, []string{"windowsHelloForBusiness", "microsoftAuthenticatorPush", "mobilePhone"}},
	{8, []string{"mobilePhone"}},
	{5, []string{"email", "mobilePhone", "microsoftAuthenticatorPush"}},
}

// registrations lists the MFA registration of every enabled user (the report
// leaves out disabled ones): people registered, service accounts mostly not.
func (g *gen) registrations() {
	r := g.rng("registrations")
	kinds := g.userKinds()
	admins := g.roleHolders()
	g.s.RegistrationDetails = make([]directory.RegistrationDetail, 0, len(g.s.Users))
	for i := range g.s.Users {
		u := &g.s.Users[i]
		if !u.Enabled() {
			continue
		}
		var methods []string
		switch kinds[i] {
		case userBreakGlass:
			methods = []string{"fido2"}
		case userAdmin:
			methods = []string{"fido2", "microsoftAuthenticatorPush"}
		case userService:
			if g.svcSpec[i].registered {
				methods = []string{"mobilePhone"} // the team's shared phone
			}
		case userGuest:
			if r.chance(0.6) {
				methods = []string{"microsoftAuthenticatorPush"}
			}
		default:
			switch x := r.Float64(); {
			case x < 0.93:
				methods = slices.Clone(pickWeighted(r, methodSets))
			case x < 0.97:
				methods = []string{"email"} // self-service password reset only
			}
		}
		d := directory.RegistrationDetail{
			ID:                    u.ID,
			UserPrincipalName:     u.UserPrincipalName,
			UserDisplayName:       u.DisplayName,
			UserType:              "member",
			IsAdmin:               ptr(admins[u.ID]),
			MethodsRegistered:     methods,
			DefaultMfaMethod:      "none",
			IsPasswordlessCapable: ptr(slices.Contains(methods, "fido2") || slices.Contains(methods, "windowsHelloForBusiness")),
			IsSsprRegistered:      ptr(len(methods) > 0),
			LastUpdatedDateTime:   g.ago(r.span(time.Hour, 60*day)),
		}
		if kinds[i] == userGuest {
			d.UserType = "guest"
		}
		mfa := false
		for _, m := range methods {
			if m != "email" {
				mfa = true
			}
		}
		d.IsMfaRegistered, d.IsMfaCapable = ptr(mfa), ptr(mfa)
		for _, m := range methods {
			if m == "microsoftAuthenticatorPush" || m == "mobilePhone" || m == "softwareOneTimePasscode" {
				d.DefaultMfaMethod = m
				break
			}
		}
		g.s.RegistrationDetails = append(g.s.RegistrationDetails, d)
	}
}

// roleHolders returns the ids of users holding a directory role, directly
// or through a role-assignable group.
func (g *gen) roleHolders() map[string]bool {
	holders := map[string]bool{}
	groups := map[string]bool{}
	for _, a := range g.s.RoleAssignments {
		holders[a.PrincipalID] = true
		groups[a.PrincipalID] = true
	}
	for _, m := range g.s.GroupMembers {
		if groups[m.GroupID] {
			for _, ref := range m.Members {
				holders[ref.ID] = true
			}
		}
	}
	return holders
}

// Failure reasons as sign-in logs write them.
const (
	reason50076  = "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'."
	reason53003  = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
	reason50126  = "Error validating credentials due to invalid username or password."
	reason50074  = "Strong Authentication is required."
	reason500121 = "Authentication failed during strong authentication request."
)

const (
	singleFactor = "singleFactorAuthentication"
	multiFactor  = "multiFactorAuthentication"
)

// signInSpec is one sign-in before it becomes a directory.SignIn.
type signInSpec struct {
	user             int
	at               directory.Time
	client, resource int // indexes into s.ServicePrincipals
	interactive      bool
	clientApp        string // clientAppUsed
	ip               string
	code             int
	reason           string
	auth             string // authenticationRequirement
	ca               string // conditionalAccessStatus
	applied          []directory.AppliedCAPolicy
}

// flowResources are what a flow's token refreshes are for.
var flowResources = []weighted[string]{{4, appExchange}, {4, appSharePoint}, {3, appGraph}, {2, appDataverse}}

// signIns writes the last 14 days of sign-in logs: people with MFA, service
// accounts refreshing tokens for their flows, and the failures that show
// automation breaking (50076, 53003) next to the successes to Azure
// management that Microsoft's mandatory MFA will soon stop.
func (g *gen) signIns() {
	r := g.rng("signins")
	n := g.size.signIns
	g.s.SignIns = make([]directory.SignIn, 0, n+64)
	var broken, integ, azure, legacy, registered, flowSA, otherSA, people, guests []int
	for _, i := range g.svc {
		spec, u := g.svcSpec[i], &g.s.Users[i]
		if !u.Enabled() || spec.dormant {
			continue
		}
		chain := hasGroup(spec, grpExclude) || hasGroup(spec, grpPP) || hasGroup(spec, grpFlow) || hasGroup(spec, grpInteg)
		switch {
		case spec.broken:
			broken = append(broken, i)
		case spec.azure:
			azure = append(azure, i)
		case spec.legacy:
			legacy = append(legacy, i)
		case spec.registered:
			registered = append(registered, i)
		case chain && spec.flows > 0 && !hasGroup(spec, grpInteg):
			flowSA = append(flowSA, i)
		case chain:
			otherSA = append(otherSA, i)
		}
		if hasGroup(spec, grpInteg) {
			integ = append(integ, i)
		}
	}
	for _, i := range g.people {
		if g.s.Users[i].Enabled() {
			people = append(people, i)
		}
	}
	for _, i := range g.guests {
		if g.s.Users[i].SignInActivity != nil {
			guests = append(guests, i)
		}
	}
	fp := func(appID string) int { return g.sp[appID] }
	recent := func(lo, hi time.Duration) directory.Time { return g.ago(r.span(lo, hi)) }
	count := func(share float64, least int) int { return max(least, int(float64(n)*share)) }

	// Automation breaking now: MFA demanded of accounts that cannot do it.
	for j, c := 0, count(0.05, 40); j < c && len(broken) > 0; j++ {
		u := pick(r, broken)
		client, res := appFlow, pickWeighted(r, flowResources)
		if g.svcSpec[u].flows == 0 { // a script, not a flow
			client, res = appOffice, appGraph
		}
		g.addSignIn(r, signInSpec{
			user: u, at: recent(time.Minute, 5*day), client: fp(client), resource: fp(res),
			clientApp: "Mobile Apps and Desktop clients", ip: cloudIP(r),
			code: 50076, reason: fmt.Sprintf(reason50076, res), auth: multiFactor, ca: "failure",
			applied: []directory.AppliedCAPolicy{g.applied(g.causeOf(u), "failure", "Mfa")},
		})
	}
	// Their successes from before the change.
	for j, c := 0, count(0.01, 10); j < c && len(broken) > 0; j++ {
		u := pick(r, broken)
		client, res := appFlow, pickWeighted(r, flowResources)
		if g.svcSpec[u].flows == 0 {
			client, res = appOffice, appGraph
		}
		g.addSignIn(r, signInSpec{
			user: u, at: recent(7*day, 14*day), client: fp(client), resource: fp(res),
			clientApp: "Mobile Apps and Desktop clients", ip: cloudIP(r), auth: singleFactor, ca: "notApplied",
		})
	}
	// Integration accounts confined to trusted locations, used from elsewhere.
	for j, c := 0, count(0.02, 15); j < c && len(integ) > 0; j++ {
		u := pick(r, integ)
		s := signInSpec{
			user: u, at: recent(time.Minute, 14*day), client: fp(appFlow), resource: fp(pickWeighted(r, flowResources)),
			clientApp: "Mobile Apps and Desktop clients", ip: cloudIP(r),
			code: 53003, reason: reason53003, auth: singleFactor, ca: "failure",
			applied: []directory.AppliedCAPolicy{g.applied("CA008", "failure", "Block")},
		}
		if r.chance(0.3) { // a consultant trying the account from home
			s.client, s.resource, s.interactive, s.clientApp, s.ip = fp(appOfficeHome), fp(appGraph), true, "Browser", homeIP(r)
		}
		g.addSignIn(r, s)
	}
	// Azure management with a password only: Microsoft's mandatory MFA will stop these.
	for j, c := 0, count(0.01, 16); j < c && len(azure) > 0; j++ {
		s := signInSpec{user: pick(r, azure), at: recent(time.Minute, 14*day), resource: fp(appAzureMgmt), auth: singleFactor, ca: "notApplied"}
		switch j % 3 {
		case 0:
			s.client, s.interactive, s.clientApp, s.ip = fp(appAzurePortal), true, "Browser", hqIP(r)
		case 1:
			s.client, s.clientApp, s.ip = fp(appAzureCLI), "Mobile Apps and Desktop clients", cloudIP(r)
		default:
			s.client, s.clientApp, s.ip = fp(appAzurePS), "Mobile Apps and Desktop clients", hqIP(r)
		}
		if r.chance(0.5) {
			s.applied = []directory.AppliedCAPolicy{g.applied("CA001", "notApplied"), g.applied("CA010", "notApplied")}
		}
		g.addSignIn(r, s)
	}
	// Devices that still speak SMTP AUTH.
	for j, c := 0, count(0.005, 8); j < c && len(legacy) > 0; j++ {
		g.addSignIn(r, signInSpec{
			user: pick(r, legacy), at: recent(time.Minute, 14*day), client: fp(appExchange), resource: fp(appExchange),
			interactive: true, clientApp: "Authenticated SMTP", ip: hqIP(r), auth: singleFactor, ca: "notApplied",
			applied: []directory.AppliedCAPolicy{g.applied("CA007", "notApplied")},
		})
	}
	// Service accounts that do MFA with a shared phone.
	for j, c := 0, count(0.003, 6); j < c && len(registered) > 0; j++ {
		g.addSignIn(r, signInSpec{
			user: pick(r, registered), at: recent(time.Minute, 14*day), client: fp(appOffice), resource: fp(appExchange),
			interactive: true, clientApp: "Mobile Apps and Desktop clients", ip: hqIP(r), auth: multiFactor, ca: "success",
			applied: []directory.AppliedCAPolicy{g.applied("CA001", "success", "Mfa")},
		})
	}
	// Excluded service accounts refreshing tokens around the clock.
	for j, c := 0, count(0.22, 0); j < c && len(flowSA)+len(otherSA) > 0; j++ {
		s := signInSpec{at: recent(time.Minute, 14*day), auth: singleFactor, ca: "notApplied", clientApp: "Mobile Apps and Desktop clients"}
		if len(otherSA) == 0 || len(flowSA) > 0 && r.chance(0.7) {
			s.user, s.client, s.resource, s.ip = pick(r, flowSA), fp(appFlow), fp(pickWeighted(r, flowResources)), cloudIP(r)
		} else {
			s.user, s.client, s.resource, s.ip = pick(r, otherSA), pick(r, g.ownSP), fp(pickWeighted(r, flowResources)), hqIP(r)
		}
		if r.chance(0.5) {
			s.applied = []directory.AppliedCAPolicy{g.applied("CA001", "notApplied"), g.applied("CA002", "notApplied")}
		}
		g.addSignIn(r, s)
	}
	// People getting their password or second factor wrong, and old mail apps.
	for j, c := 0, count(0.03, 0); j < c && len(people) > 0; j++ {
		s := signInSpec{user: pick(r, people), at: recent(time.Minute, 14*day), client: fp(appOfficeHome), resource: fp(appGraph),
			interactive: true, clientApp: "Browser", ip: homeIP(r), ca: "notApplied", auth: singleFactor}
		switch j % 4 {
		case 0, 1:
			s.code, s.reason = 50126, reason50126
		case 2:
			s.code, s.reason, s.auth = 50074, reason50074, multiFactor
		default:
			s.client, s.resource, s.clientApp = fp(appExchange), fp(appExchange), "Exchange ActiveSync"
			s.code, s.reason, s.ca = 53003, reason53003, "failure"
			s.applied = []directory.AppliedCAPolicy{g.applied("CA007", "failure", "Block")}
		}
		if j%9 == 8 {
			s.code, s.reason, s.auth = 500121, reason500121, multiFactor
		}
		g.addSignIn(r, s)
	}
	// Guests opening shared files.
	for j, c := 0, count(0.03, 0); j < c && len(guests) > 0; j++ {
		g.addSignIn(r, signInSpec{
			user: pick(r, guests), at: recent(time.Minute, 14*day), client: fp(appOfficeHome), resource: fp(appSharePoint),
			interactive: true, clientApp: "Browser", ip: homeIP(r), auth: multiFactor, ca: "success",
			applied: []directory.AppliedCAPolicy{g.applied("CA001", "success", "Mfa")},
		})
	}
	// Everyone else: a working day of Office, Teams and Outlook.
	clients := []weighted[[2]string]{
		{4, [2]string{appOffice, appExchange}}, {4, [2]string{appTeamsClient, appTeams}},
		{2, [2]string{appOutlookMobile, appExchange}}, {2, [2]string{appOfficeHome, appSharePoint}}, {1, [2]string{appOffice, appGraph}},
	}
	for len(g.s.SignIns) < n && len(people) > 0 {
		cr := pickWeighted(r, clients)
		s := signInSpec{user: pick(r, people), at: recent(time.Minute, 14*day), client: fp(cr[0]), resource: fp(cr[1]),
			clientApp: "Mobile Apps and Desktop clients", ip: hqIP(r), auth: multiFactor, ca: "success"}
		if r.chance(0.4) {
			s.interactive = true
			if cr[0] == appOfficeHome {
				s.clientApp = "Browser"
			}
		}
		if r.chance(0.4) {
			s.ip = homeIP(r)
		}
		if r.chance(0.6) {
			s.applied = []directory.AppliedCAPolicy{g.applied("CA001", "success", "Mfa")}
		}
		g.addSignIn(r, s)
	}
	// Newest first, as Graph returns them.
	slices.SortFunc(g.s.SignIns, func(a, b directory.SignIn) int {
		if c := b.CreatedDateTime.Compare(a.CreatedDateTime.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// causeOf names the policy that demands MFA of a broken service account.
func (g *gen) causeOf(user int) string {
	spec := g.svcSpec[user]
	switch {
	case hasGroup(spec, grpDeptPrefix+"Sales"):
		return "CA012"
	case spec.local == saHR:
		return "CA003"
	}
	return "CA001"
}

func (g *gen) applied(code, result string, controls ...string) directory.AppliedCAPolicy {
	p := &g.s.ConditionalAccessPolicies[g.policy[code]]
	return directory.AppliedCAPolicy{ID: p.ID, DisplayName: p.DisplayName, Result: result, EnforcedGrantControls: controls}
}

func (g *gen) addSignIn(r *rng, s signInSpec) {
	u := &g.s.Users[s.user]
	client, resource := &g.s.ServicePrincipals[s.client], &g.s.ServicePrincipals[s.resource]
	in := directory.SignIn{
		ID:                               r.guid(),
		CreatedDateTime:                  s.at,
		UserID:                           u.ID,
		UserPrincipalName:                u.UserPrincipalName,
		UserDisplayName:                  u.DisplayName,
		AppID:                            client.AppID,
		AppDisplayName:                   client.DisplayName,
		ResourceID:                       resource.AppID,
		ResourceDisplayName:              resource.DisplayName,
		ClientAppUsed:                    s.clientApp,
		IsInteractive:                    ptr(s.interactive),
		SignInEventTypes:                 []string{"nonInteractiveUser"},
		IPAddress:                        s.ip,
		Status:                           &directory.SignInStatus{ErrorCode: s.code, FailureReason: s.reason},
		ConditionalAccessStatus:          s.ca,
		AuthenticationRequirement:        s.auth,
		AppliedConditionalAccessPolicies: s.applied,
	}
	if s.interactive {
		in.SignInEventTypes = []string{"interactiveUser"}
	}
	g.s.SignIns = append(g.s.SignIns, in)
}

func hqIP(r *rng) string   { return ipHQPrefix + strconv.Itoa(r.between(1, 126)) }
func homeIP(r *rng) string { return ipHome + strconv.Itoa(r.between(1, 254)) }
func cloudIP(r *rng) string {
	return ipCloudPref + strconv.FormatUint(uint64(r.Uint32()>>16), 16) + ":" + strconv.FormatUint(uint64(r.Uint32()>>16), 16)
}

// servicePrincipalActivity reports the last sign-in of most own apps and
// managed identities; a dormant app last signed in months ago.
func (g *gen) servicePrincipalActivity() {
	r := g.rng("spactivity")
	g.s.ServicePrincipalSignInActivities = make([]directory.ServicePrincipalSignInActivity, 0, len(g.ownSP)+len(g.managed))
	add := func(sp *directory.ServicePrincipal, at directory.Time, delegated bool) {
		last := &directory.SignInActivity{LastSignInDateTime: at, LastSignInRequestID: r.guid()}
		a := directory.ServicePrincipalSignInActivity{
			// The beta report's id is the appId, base64-encoded.
			ID:                 base64.StdEncoding.EncodeToString([]byte(sp.AppID)),
			AppID:              sp.AppID,
			LastSignInActivity: last,
			ApplicationAuthenticationClientSignInActivity: &directory.SignInActivity{LastSignInDateTime: at, LastSignInRequestID: last.LastSignInRequestID},
		}
		if delegated {
			a.DelegatedClientSignInActivity = &directory.SignInActivity{LastSignInDateTime: g.ago(r.span(time.Hour, 30*day)), LastSignInRequestID: r.guid()}
		}
		g.s.ServicePrincipalSignInActivities = append(g.s.ServicePrincipalSignInActivities, a)
	}
	for k, i := range g.ownSP {
		spec := g.appSpecOf[i]
		sp := &g.s.ServicePrincipals[i]
		switch {
		case spec.dormant:
			add(sp, g.ago(r.span(200*day, 400*day)), false)
		case k < len(namedApps) || r.chance(0.9):
			add(sp, g.ago(r.span(time.Minute, 20*day)), spec.multiTenant)
		}
	}
	for _, i := range g.managed {
		if r.chance(0.7) {
			add(&g.s.ServicePrincipals[i], g.ago(r.span(time.Minute, 10*day)), false)
		}
	}
}
