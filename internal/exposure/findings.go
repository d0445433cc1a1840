package exposure

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// Finding codes (EXPOSURE.md §8). They are stable: stored, filtered on and
// read by tools outside Steward.
const (
	CodeNoMFAPolicy                  = "NO_MFA_POLICY"
	CodeExcludedFromMFA              = "EXCLUDED_FROM_MFA"
	CodeAppExclusion                 = "APP_EXCLUSION"
	CodeReportOnlyOnly               = "REPORT_ONLY_ONLY"
	CodeConditionalOnly              = "CONDITIONAL_ONLY"
	CodeTermsOfUse                   = "TERMS_OF_USE_ON_SERVICE_ACCOUNT"
	CodeSignInFrequency              = "SIGN_IN_FREQUENCY_ON_SERVICE_ACCOUNT"
	CodeMandatoryMFA                 = "MANDATORY_MFA_APPLIES"
	CodePrivilegedUserServiceAccount = "PRIVILEGED_USER_SERVICE_ACCOUNT"
	CodeMFANotRegistered             = "MFA_NOT_REGISTERED"
	CodeDormant                      = "DORMANT"
	CodeMFAFailures                  = "MFA_FAILURES"
	CodeConnectionError              = "CONNECTION_ERROR"
	CodeShouldMigrate                = "SHOULD_MIGRATE"
	CodeSecretLongLived              = "SP_SECRET_LONG_LIVED"
	CodeSecretExpired                = "SP_SECRET_EXPIRED"
	CodeSecretExpiring               = "SP_SECRET_EXPIRING"
	CodeNoOwner                      = "SP_NO_OWNER"
	CodeHighPrivilege                = "SP_HIGH_PRIVILEGE"
	CodeNoWorkloadPolicy             = "SP_NO_WORKLOAD_POLICY"
	CodeUnknownReference             = "UNKNOWN_REFERENCE"
)

// Codes lists every finding code, for filters and documentation.
var Codes = []string{CodeNoMFAPolicy, CodeExcludedFromMFA, CodeAppExclusion, CodeReportOnlyOnly, CodeConditionalOnly,
	CodeTermsOfUse, CodeSignInFrequency, CodeMandatoryMFA, CodePrivilegedUserServiceAccount, CodeMFANotRegistered,
	CodeDormant, CodeMFAFailures, CodeConnectionError, CodeShouldMigrate, CodeSecretLongLived, CodeSecretExpired,
	CodeSecretExpiring, CodeNoOwner, CodeHighPrivilege, CodeNoWorkloadPolicy, CodeUnknownReference}

func (s Severity) rank() int {
	switch s {
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity.rank(), a.Severity.rank()), cmp.Compare(a.Code, b.Code))
	})
}

// userFindings lists a user's findings.
func (x *index) userFindings(u *directory.User, s *subject, a *Account, rel []relPolicy) []Finding {
	var fs []Finding
	add := func(code string, sev Severity, msg, fix string, ev map[string]any) {
		fs = append(fs, Finding{Code: code, Severity: sev, Message: msg, Remediation: fix, Evidence: ev})
	}
	svc := a.ServiceAccount.serviceAccount()
	weight := SeverityMedium
	if svc || len(a.Privileged) > 0 {
		weight = SeverityHigh
	}
	names := func(rs []ResourceVerdict) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.Name
		}
		return out
	}
	pick := func(f func(r ResourceVerdict) bool) []ResourceVerdict {
		var out []ResourceVerdict
		for _, r := range a.Resources {
			if f(r) {
				out = append(out, r)
			}
		}
		return out
	}

	// Exclusions from MFA: reported even on a disabled account, which may
	// be enabled again.
	for _, e := range a.Exclusions {
		if e.Via == "app" || !strings.EqualFold(e.State, directory.StateEnabled) {
			continue
		}
		sev := weight
		if !a.Enabled {
			sev = SeverityLow
		}
		add(CodeExcludedFromMFA, sev, fmt.Sprintf("Excluded from %s via %s", e.PolicyName, e.Path),
			"Approve the exclusion as a time-boxed exception or remove it; for automation, move it to a workload identity instead.",
			map[string]any{"policyId": e.PolicyID, "policyName": e.PolicyName, "via": e.Via, "path": e.Path})
	}
	if a.Enabled {
		if rs := pick(func(r ResourceVerdict) bool { return r.Verdict == VerdictNone && !r.excluded && !r.appExcluded }); len(rs) > 0 {
			add(CodeNoMFAPolicy, weight, "No enabled policy requires MFA for "+strings.Join(names(rs), ", "),
				"Extend an MFA policy to All resources (or these apps) for this account.",
				map[string]any{"resources": names(rs)})
		}
		for _, e := range a.Exclusions {
			if e.Via != "app" || !strings.EqualFold(e.State, directory.StateEnabled) {
				continue
			}
			uncovered := pick(func(r ResourceVerdict) bool {
				return r.appExcluded && (r.Verdict == VerdictNone || r.Verdict == VerdictReportOnly)
			})
			if len(uncovered) == 0 {
				continue
			}
			ev := map[string]any{"policyId": e.PolicyID, "policyName": e.PolicyName, "excludedApps": e.Apps, "uncovered": names(uncovered)}
			msg := fmt.Sprintf("Covered by %s except for excluded apps: %s", e.PolicyName, strings.Join(names(uncovered), ", "))
			if broader := x.unusedExclusions(u, e); len(broader) > 0 {
				ev["broaderThanUsed"] = broader
				msg += "; the exclusion is broader than what its flows use (" + strings.Join(broader, ", ") + ")"
			}
			add(CodeAppExclusion, weight, msg, "Narrow the app exclusion to the apps this account's automation needs, approve it as an exception, or migrate the automation to a workload identity.", ev)
		}
		if rs := pick(func(r ResourceVerdict) bool { return r.Verdict == VerdictReportOnly }); len(rs) > 0 {
			add(CodeReportOnlyOnly, weight, "Only report-only policies would require MFA for "+strings.Join(names(rs), ", "),
				"Turn the report-only policy on once its sign-in logs show no unexpected failures.", map[string]any{"resources": names(rs)})
		}
		if rs := pick(func(r ResourceVerdict) bool { return r.Verdict == VerdictConditional }); len(rs) > 0 {
			var why []string
			for _, r := range rs {
				for _, pe := range r.Policies {
					if pe.Effect == EffectConditional {
						why = append(why, pe.Conditions...)
					}
				}
			}
			slices.Sort(why)
			why = slices.Compact(why)
			add(CodeConditionalOnly, SeverityMedium, "MFA only under conditions for "+strings.Join(names(rs), ", ")+": "+strings.Join(why, "; "),
				"Check that the sign-ins left out (for example from trusted locations) are acceptable without MFA.",
				map[string]any{"resources": names(rs), "conditions": why})
		}
	}
	if svc && a.Enabled {
		var tou, freq []string
		for _, p := range rel {
			c, sc := p.c, p.sc
			if !c.isEnabled || !sc.included || sc.excluded || !x.targetsAny(c, a.Resources) {
				continue
			}
			if c.termsOfUse {
				tou = append(tou, c.name)
			}
			if c.frequency != "" {
				freq = append(freq, c.name+" ("+c.frequency+")")
			}
		}
		if len(tou) > 0 {
			add(CodeTermsOfUse, SeverityHigh, "In scope of a Terms of Use grant: "+strings.Join(tou, ", ")+"; its connections cannot accept terms and break",
				"Exclude the account from Terms of Use policies (with an approved exception) or migrate its automation to a workload identity.",
				map[string]any{"policies": tou})
		}
		if len(freq) > 0 {
			add(CodeSignInFrequency, SeverityMedium, "A sign-in frequency forces re-authentication: "+strings.Join(freq, ", ")+"; its connections must be signed in again each time",
				"Exclude the account from the sign-in frequency policy or migrate its automation to a workload identity.",
				map[string]any{"policies": freq})
		}
	}
	x.activityFindings(u, a, add)
	if svc && len(a.Privileged) > 0 {
		add(CodePrivilegedUserServiceAccount, SeverityHigh, "A user service account holds admin roles: "+strings.Join(a.Privileged, ", "),
			"Move the automation to a service principal or managed identity with the least privilege it needs, and remove the roles from the user account.",
			map[string]any{"roles": a.Privileged})
	}
	if a.Enabled {
		if r := x.registered[u.ID]; r != nil && r.IsMfaRegistered != nil && !*r.IsMfaRegistered {
			add(CodeMFANotRegistered, weight, "No MFA method registered",
				"Register a method for the account, or, if it is automation, migrate it to a workload identity.",
				map[string]any{"methodsRegistered": r.MethodsRegistered})
		}
	}
	if svc {
		flows, conns := len(x.flowsOf[u.ID]), len(x.connsOf[u.ID])
		if flows+conns > 0 {
			add(CodeShouldMigrate, SeverityMedium, fmt.Sprintf("User-based service account owning %d flows and %d connections", flows, conns),
				"Migrate its flows and connections to a service principal or managed identity, then disable the account.",
				map[string]any{"flows": flows, "connections": conns})
		}
	}
	// A policy that applies, or would but for an unknown group it includes
	// (the user may be a member), references objects the directory lacks.
	unknown := func(c *policy) {
		add(CodeUnknownReference, SeverityInfo, c.unknownMessage,
			"Remove the stale references from the policy; until then its scope cannot be fully known.",
			map[string]any{"policyId": c.id, "policyName": c.name, "references": c.unknownRefs})
	}
	for _, p := range rel {
		if len(p.c.unknownRefs) > 0 && (p.sc.included && !p.sc.excluded || !p.sc.included && p.c.unknownIncludedGroup ||
			p.sc.excluded && strings.HasPrefix(p.sc.exPath, "unknown group")) {
			unknown(p.c)
		}
	}
	for _, c := range x.unknownIncluding {
		if !slices.ContainsFunc(rel, func(p relPolicy) bool { return p.c == c }) {
			unknown(c)
		}
	}
	sortFindings(fs)
	return fs
}

// targetsAny reports whether a policy targets any of the account's resources.
func (x *index) targetsAny(c *policy, rs []ResourceVerdict) bool {
	for _, r := range rs {
		res, ok := resourceByAppID(r.AppID)
		if !ok {
			res = Resource{AppID: r.AppID, Name: r.Name}
		}
		if t := c.targetOn(res, x.resourceIndex(res.AppID)); t.effect != EffectNotTargeted || len(t.conditions) > 0 && t.conditions[0] == c.grantReason {
			return true
		}
	}
	return false
}

// unusedExclusions lists the apps an app exclusion leaves out that the
// account's flows and connections do not use; nil when it owns none.
func (x *index) unusedExclusions(u *directory.User, e Exclusion) []string {
	used := map[string]bool{}
	owns := false
	for _, c := range x.connsOf[u.ID] {
		owns = true
		used[connectorResources[connectorName(c.Properties.APIID)]] = true
	}
	for _, f := range x.flowsOf[u.ID] {
		owns = true
		for _, ref := range f.Properties.ConnectionReferences {
			used[connectorResources[connectorName(ref.ID)]] = true
		}
	}
	if !owns {
		return nil
	}
	var out []string
	for _, name := range e.Apps {
		id := ""
		for _, r := range append(slices.Clone(Catalog), otherResources...) {
			if r.Name == name {
				id = r.AppID
			}
		}
		if id == "" || !used[id] {
			out = append(out, name)
		}
	}
	return out
}

// activityFindings: mandatory MFA, dormancy, MFA failures, connections in error.
func (x *index) activityFindings(u *directory.User, a *Account, add func(string, Severity, string, string, map[string]any)) {
	if !a.Enabled {
		return
	}
	since := x.cfg.Now.AddDate(0, 0, -x.cfg.SignInWindowDays)
	mandatory := map[string]int{}
	automated := false
	failures := map[int]int{}
	var lastFailure time.Time
	var failedApps []string
	for _, si := range x.signIns[u.ID] {
		for _, id := range []string{si.AppID, si.ResourceID} {
			if name, ok := mandatoryMFAApps[directory.ID(id)]; ok {
				mandatory[name]++
				automated = automated || si.NonInteractive()
				break
			}
		}
		if si.CreatedDateTime.Before(since) {
			continue
		}
		if _, ok := mfaFailureCodes[si.ErrorCode()]; ok {
			failures[si.ErrorCode()]++
			if si.CreatedDateTime.After(lastFailure) {
				lastFailure = si.CreatedDateTime.Time
			}
			failedApps = append(failedApps, cmpOr(si.AppDisplayName, si.AppID))
		}
	}
	if len(mandatory) > 0 && (a.ServiceAccount.Level != ServiceNo || automated) {
		apps := make([]string, 0, len(mandatory))
		for n := range mandatory {
			apps = append(apps, n)
		}
		slices.Sort(apps)
		add(CodeMandatoryMFA, SeverityHigh, "Signs in to apps under Microsoft's mandatory MFA: "+strings.Join(apps, ", ")+"; its automation against these will break and exclusions cannot help",
			"Migrate the automation to a workload identity (service principal or managed identity), which mandatory MFA does not affect.",
			map[string]any{"apps": apps})
	}
	if len(failures) > 0 {
		codes := make([]int, 0, len(failures))
		var parts []string
		total := 0
		for c := range failures {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			total += failures[c]
			parts = append(parts, fmt.Sprintf("AADSTS%d %s ×%d", c, mfaFailureCodes[c], failures[c]))
		}
		slices.Sort(failedApps)
		failedApps = slices.Compact(failedApps)
		add(CodeMFAFailures, SeverityHigh, fmt.Sprintf("%d sign-in failures in the last %d days because of MFA or Conditional Access: %s", total, x.cfg.SignInWindowDays, strings.Join(parts, ", ")),
			"Its automation is failing now: fix the connection (re-authenticate it or move it to a service principal) and review which policy began to apply.",
			map[string]any{"codes": codes, "count": total, "last": lastFailure.UTC().Format(time.RFC3339), "apps": failedApps})
	}
	if x.anyActivity {
		last, what := time.Time{}, "successful sign-in"
		if sa := u.SignInActivity; sa != nil {
			last = sa.LastSuccessfulSignInDateTime.Time
			if last.IsZero() {
				last, what = latest(sa.LastSignInDateTime.Time, sa.LastNonInteractiveSignInDateTime.Time), "sign-in"
			}
		}
		limit := x.cfg.Now.AddDate(0, 0, -x.cfg.DormantDays)
		if last.IsZero() && !u.CreatedDateTime.IsZero() && u.CreatedDateTime.Before(limit) {
			add(CodeDormant, SeverityLow, fmt.Sprintf("No sign-in recorded, created %s", u.CreatedDateTime.Format(time.DateOnly)),
				"Disable the account if nothing uses it; otherwise find its owner.", map[string]any{"created": u.CreatedDateTime.Format(time.RFC3339)})
		} else if !last.IsZero() && last.Before(limit) {
			add(CodeDormant, SeverityLow, fmt.Sprintf("No %s for %d days (last %s)", what, int(x.cfg.Now.Sub(last).Hours()/24), last.Format(time.DateOnly)),
				"Disable the account if nothing uses it; otherwise find its owner.", map[string]any{"last": last.UTC().Format(time.RFC3339)})
		}
	}
	var broken []string
	for _, c := range x.connsOf[u.ID] {
		if c.InError() {
			broken = append(broken, cmpOr(c.Properties.DisplayName, c.Name)+": "+cmpOr(c.ErrorMessage(), "in error"))
		}
	}
	if len(broken) > 0 {
		slices.Sort(broken)
		add(CodeConnectionError, SeverityHigh, fmt.Sprintf("%d owned connections in error", len(broken)),
			"Re-authenticate the connections, or better, recreate them under a service principal.", map[string]any{"connections": broken})
	}
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// spFindings lists a service principal's findings.
func (x *index) spFindings(sp *directory.ServicePrincipal, a *Account) []Finding {
	var fs []Finding
	add := func(code string, sev Severity, msg, fix string, ev map[string]any) {
		fs = append(fs, Finding{Code: code, Severity: sev, Message: msg, Remediation: fix, Evidence: ev})
	}
	if sp.FirstParty() {
		return nil
	}
	app := x.appByAppID[directory.ID(sp.AppID)]
	creds := slices.Clone(sp.PasswordCredentials)
	if app != nil {
		creds = append(creds, app.PasswordCredentials...)
	}
	var expired, expiring, long []string
	for _, c := range creds {
		name := cmpOr(c.DisplayName, cmpOr(c.Hint, c.KeyID))
		end := c.EndDateTime.Time
		switch {
		case end.IsZero():
		case end.Before(x.cfg.Now):
			expired = append(expired, name+" (ended "+end.Format(time.DateOnly)+")")
			continue
		case end.Before(x.cfg.Now.Add(x.cfg.SecretExpiringWithin)):
			expiring = append(expiring, name+" (ends "+end.Format(time.DateOnly)+")")
		}
		start := c.StartDateTime.Time
		if !start.IsZero() && !end.IsZero() && end.Sub(start) > x.cfg.SecretMaxLifetime {
			long = append(long, fmt.Sprintf("%s (%d days)", name, int(end.Sub(start).Hours()/24)))
		}
	}
	if len(long) > 0 {
		add(CodeSecretLongLived, SeverityMedium, fmt.Sprintf("Client secrets valid for more than %d days: %s", int(x.cfg.SecretMaxLifetime.Hours()/24), strings.Join(long, ", ")),
			"Replace the secret with a certificate or a federated credential; if a secret must stay, rotate it within 180 days.", map[string]any{"secrets": long})
	}
	if len(expired) > 0 {
		add(CodeSecretExpired, SeverityLow, "Expired client secrets still registered: "+strings.Join(expired, ", "),
			"Remove expired secrets.", map[string]any{"secrets": expired})
	}
	if len(expiring) > 0 {
		add(CodeSecretExpiring, SeverityMedium, fmt.Sprintf("Client secrets expiring within %d days: %s", int(x.cfg.SecretExpiringWithin.Hours()/24), strings.Join(expiring, ", ")),
			"Rotate the secret before it expires, or move to a federated credential.", map[string]any{"secrets": expiring})
	}
	applies, _ := x.spApplies(sp)
	if applies && x.captured[directory.Owners] {
		n := len(x.owners[sp.ID])
		if app != nil {
			n += len(x.owners[app.ID])
		}
		if n == 0 {
			add(CodeNoOwner, SeverityMedium, "Neither the service principal nor its application has an owner",
				"Assign at least two owners who answer for the app.", map[string]any{})
		}
	}
	var perms []string
	for _, ra := range x.appRolesOf[sp.ID] {
		res := x.spByID[ra.ResourceID]
		graph := res != nil && directory.SameID(res.AppID, appGraph) || res == nil && strings.EqualFold(ra.ResourceDisplayName, "Microsoft Graph")
		if name, ok := highPrivilegeGraphRoles[directory.ID(ra.AppRoleID)]; ok && graph {
			perms = append(perms, name)
		}
	}
	if len(perms) > 0 {
		slices.Sort(perms)
		perms = slices.Compact(perms)
		add(CodeHighPrivilege, SeverityHigh, "High-privilege Microsoft Graph application permissions: "+strings.Join(perms, ", "),
			"Replace them with the narrowest permissions the app needs, and protect its credentials (certificate or federated credential, owners, a location policy).",
			map[string]any{"permissions": perms})
	}
	if applies && a.Enabled && a.Workload == WorkloadUnrestricted {
		add(CodeNoWorkloadPolicy, SeverityMedium, "No enabled workload identity policy restricts where this service principal can sign in from",
			"Add it to a Conditional Access policy for workload identities that blocks sign-ins outside known locations.", map[string]any{})
	}
	if act := x.spActivity[directory.ID(sp.AppID)]; act != nil && a.Enabled {
		last := act.LastSignIn().Time
		if !last.IsZero() && last.Before(x.cfg.Now.AddDate(0, 0, -x.cfg.DormantDays)) {
			add(CodeDormant, SeverityLow, fmt.Sprintf("No sign-in for %d days (last %s)", int(x.cfg.Now.Sub(last).Hours()/24), last.Format(time.DateOnly)),
				"Remove the app or its credentials if nothing uses it.", map[string]any{"last": last.UTC().Format(time.RFC3339)})
		}
	}
	sortFindings(fs)
	return fs
}
