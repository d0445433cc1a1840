package exposure_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/snapshot"
)

// The exposure engine is tested black-box by cases: each directory of
// testdata/cases is a small hand-written snapshot (SNAPSHOT.md) plus an
// expect.json naming accounts and the parts of their `whatif --json` output
// (EXPOSURE.md §9) that must hold. Matching is partial: only what expect.json
// names is checked. Every expectation follows EXPOSURE.md; where the document
// leaves room, the weaker verdict is expected and a "why" says so.
//
// expect.json:
//
//	{
//	  "why": "what the case is about",
//	  "config": {"serviceAccountGroups": [...], "marked": {"<id>": true}, "namePatterns": [...], "dormantDays": 90},
//	  "accounts": [{
//	    "account": "<id, userPrincipalName or appId>",
//	    "why": "…",
//	    "kind": "user|servicePrincipal|managedIdentity",
//	    "exposure": "protected|partial|exposed|notApplicable",
//	    "workload": "locationRestricted|unrestricted|notApplicable",
//	    "serviceAccount": {"level": "confirmed", "levelIn": ["possible", "likely"], "signals": ["flow"]},
//	    "resources": [{
//	      "appId": "…", "label": "for readers, not checked", "why": "…",
//	      "verdict": "blocked|mfa|conditional|reportOnly|none",
//	      "policies": [{"id": "…", "effect": "…", "path": "exact", "pathContains": ["…"], "conditions": ["…"]}],
//	      "noPolicies": ["<policy id that must not be listed>"]
//	    }],
//	    "findings": ["CODE that must be present"],
//	    "noFindings": ["CODE that must be absent"]
//	  }]
//	}
//
// Signals and conditions are case-insensitive substrings: each must occur in
// at least one of the account's signals (a policy's conditions). Besides what
// a case names, every named account is held to the invariants of EXPOSURE.md
// §2 and §5 (see invariants), and a fixture naming a policy or an account
// missing from its snapshot fails as a fixture error.

// casesNow is the instant every case is evaluated at.
var casesNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type caseExpect struct {
	Why      string          `json:"why"`
	Config   *caseConfig     `json:"config"`
	Accounts []accountExpect `json:"accounts"`
}

type caseConfig struct {
	ServiceAccountGroups []string        `json:"serviceAccountGroups"`
	Marked               map[string]bool `json:"marked"`
	NamePatterns         []string        `json:"namePatterns"`
	DormantDays          int             `json:"dormantDays"`
}

type accountExpect struct {
	Account        string                `json:"account"`
	Why            string                `json:"why"`
	Kind           exposure.Kind         `json:"kind"`
	Exposure       exposure.Level        `json:"exposure"`
	Workload       exposure.Workload     `json:"workload"`
	ServiceAccount *serviceAccountExpect `json:"serviceAccount"`
	Resources      []resourceExpect      `json:"resources"`
	Findings       []string              `json:"findings"`
	NoFindings     []string              `json:"noFindings"`
}

type serviceAccountExpect struct {
	Level   exposure.ServiceAccountLevel   `json:"level"`
	LevelIn []exposure.ServiceAccountLevel `json:"levelIn"`
	Signals []string                       `json:"signals"`
}

type resourceExpect struct {
	AppID      string           `json:"appId"`
	Label      string           `json:"label"`
	Why        string           `json:"why"`
	Verdict    exposure.Verdict `json:"verdict"`
	Policies   []policyExpect   `json:"policies"`
	NoPolicies []string         `json:"noPolicies"`
}

type policyExpect struct {
	ID           string          `json:"id"`
	Why          string          `json:"why"`
	Effect       exposure.Effect `json:"effect"`
	Path         string          `json:"path"`
	PathContains []string        `json:"pathContains"`
	Conditions   []string        `json:"conditions"`
}

// Known values of the contract, to catch typos in expect.json.
var (
	knownKinds    = []exposure.Kind{exposure.KindUser, exposure.KindServicePrincipal, exposure.KindManagedIdentity}
	knownLevels   = []exposure.Level{exposure.LevelProtected, exposure.LevelPartial, exposure.LevelExposed, exposure.LevelNotApplicable}
	knownWorkload = []exposure.Workload{exposure.WorkloadLocationRestricted, exposure.WorkloadUnrestricted, exposure.WorkloadNotApplicable}
	knownVerdicts = []exposure.Verdict{exposure.VerdictBlocked, exposure.VerdictMFA, exposure.VerdictConditional, exposure.VerdictReportOnly, exposure.VerdictNone}
	knownEffects  = []exposure.Effect{exposure.EffectMFA, exposure.EffectBlock, exposure.EffectConditional, exposure.EffectReportOnly,
		exposure.EffectExcluded, exposure.EffectNotTargeted, exposure.EffectDisabled}
	knownServiceLevels = []exposure.ServiceAccountLevel{exposure.ServiceConfirmed, exposure.ServiceLikely, exposure.ServicePossible, exposure.ServiceNo}
	// knownFindings are the codes of EXPOSURE.md §8.
	knownFindings = []string{"NO_MFA_POLICY", "EXCLUDED_FROM_MFA", "APP_EXCLUSION", "REPORT_ONLY_ONLY", "CONDITIONAL_ONLY",
		"TERMS_OF_USE_ON_SERVICE_ACCOUNT", "SIGN_IN_FREQUENCY_ON_SERVICE_ACCOUNT", "MANDATORY_MFA_APPLIES",
		"PRIVILEGED_USER_SERVICE_ACCOUNT", "MFA_NOT_REGISTERED", "DORMANT", "MFA_FAILURES", "CONNECTION_ERROR", "SHOULD_MIGRATE",
		"SP_SECRET_LONG_LIVED", "SP_SECRET_EXPIRED", "SP_SECRET_EXPIRING", "SP_NO_OWNER", "SP_HIGH_PRIVILEGE",
		"SP_NO_WORKLOAD_POLICY", "UNKNOWN_REFERENCE"}
)

// catalogAppIDs are the resources of EXPOSURE.md §2 (appIds of GRAPH.md §8):
// every user account is evaluated against all of them.
var catalogAppIDs = map[string]string{
	"7df0a125-d3be-4c96-aa54-591f83ff541c": "Microsoft Flow Service",
	"475226c6-020e-4fb2-8a90-7a972cbfc1d4": "PowerApps Service",
	"00000007-0000-0000-c000-000000000000": "Dataverse",
	"00000003-0000-0000-c000-000000000000": "Microsoft Graph",
	"00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online",
	"00000003-0000-0ff1-ce00-000000000000": "Office 365 SharePoint Online",
	"cc15fd57-2c6c-4117-a88c-83b1d56b4bbe": "Microsoft Teams Services",
	"00000002-0000-0000-c000-000000000000": "Windows Azure Active Directory",
	"797f4846-ba00-4fd7-ba43-dac1f8f63013": "Windows Azure Service Management API",
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure Portal",
	"8578e004-a5c6-46e7-913e-12f58912df43": "Power Platform API",
}

func TestCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*", "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no cases in testdata/cases")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runCase(t, dir)
		})
	}
}

func runCase(t *testing.T, dir string) {
	want := mustReadExpect(t, filepath.Join(dir, "expect.json"))
	snap, err := snapshot.Read(dir)
	if err != nil {
		t.Fatalf("snapshot.Read(%s): %v", dir, err)
	}
	checkFixture(t, snap, want)
	if t.Failed() {
		return
	}
	cfg := exposure.DefaultConfig(casesNow)
	if c := want.Config; c != nil {
		if c.ServiceAccountGroups != nil {
			cfg.ServiceAccountGroups = c.ServiceAccountGroups
		}
		if c.Marked != nil {
			cfg.Marked = c.Marked
		}
		if c.NamePatterns != nil {
			cfg.NamePatterns = c.NamePatterns
		}
		if c.DormantDays != 0 {
			cfg.DormantDays = c.DormantDays
		}
	}
	ev := mustEvaluate(t, snap, cfg)
	for _, a := range want.Accounts {
		acct := mustFind(t, ev, a.Account)
		checkAccount(t, acct, a)
	}
}

func mustReadExpect(tb testing.TB, path string) caseExpect {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var e caseExpect
	if err := d.Decode(&e); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(e.Accounts) == 0 {
		tb.Fatalf("%s names no account", path)
	}
	return e
}

// mustEvaluate turns a panic of the engine into a failure of this case only.
func mustEvaluate(t *testing.T, snap *directory.Snapshot, cfg exposure.Config) (ev *exposure.Evaluation) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Evaluate panicked: %v", r)
		}
	}()
	ev = exposure.Evaluate(snap, cfg)
	if ev == nil {
		t.Fatal("Evaluate returned nil")
	}
	return ev
}

func mustFind(t *testing.T, ev *exposure.Evaluation, account string) (acct *exposure.Account) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Find(%q) panicked: %v", account, r)
		}
	}()
	acct, err := ev.Find(account)
	if err != nil {
		t.Fatalf("Find(%q): %v", account, err)
	}
	if acct == nil {
		t.Fatalf("Find(%q) = nil, nil", account)
	}
	return acct
}

// checkFixture checks expect.json against the snapshot and the contract, so
// that a typo in a fixture fails as such rather than as an engine bug.
func checkFixture(t *testing.T, snap *directory.Snapshot, want caseExpect) {
	t.Helper()
	policies := map[string]bool{}
	for _, p := range snap.ConditionalAccessPolicies {
		policies[directory.ID(p.ID)] = true
	}
	bad := func(format string, args ...any) { t.Errorf("fixture: "+format, args...) }
	for _, a := range want.Accounts {
		if !accountInSnapshot(snap, a.Account) {
			bad("account %q is neither a user (id, UPN) nor a service principal (id, appId) of the snapshot", a.Account)
		}
		if a.Kind != "" && !slices.Contains(knownKinds, a.Kind) {
			bad("%s: unknown kind %q", a.Account, a.Kind)
		}
		if a.Exposure != "" && !slices.Contains(knownLevels, a.Exposure) {
			bad("%s: unknown exposure %q", a.Account, a.Exposure)
		}
		if a.Workload != "" && !slices.Contains(knownWorkload, a.Workload) {
			bad("%s: unknown workload %q", a.Account, a.Workload)
		}
		if sa := a.ServiceAccount; sa != nil {
			for _, l := range append([]exposure.ServiceAccountLevel{sa.Level}, sa.LevelIn...) {
				if l != "" && !slices.Contains(knownServiceLevels, l) {
					bad("%s: unknown service account level %q", a.Account, l)
				}
			}
		}
		for _, c := range append(slices.Clone(a.Findings), a.NoFindings...) {
			if !slices.Contains(knownFindings, c) {
				bad("%s: unknown finding code %q", a.Account, c)
			}
		}
		for _, c := range a.Findings {
			if slices.Contains(a.NoFindings, c) {
				bad("%s: finding %s both wanted and unwanted", a.Account, c)
			}
		}
		for _, r := range a.Resources {
			if !directory.IsGUID(r.AppID) {
				bad("%s: resource appId %q is not a GUID", a.Account, r.AppID)
			}
			if r.Verdict != "" && !slices.Contains(knownVerdicts, r.Verdict) {
				bad("%s: resource %s: unknown verdict %q", a.Account, r.AppID, r.Verdict)
			}
			for _, p := range r.Policies {
				if !policies[directory.ID(p.ID)] {
					bad("%s: resource %s: policy %s is not in the snapshot", a.Account, r.AppID, p.ID)
				}
				if p.Effect != "" && !slices.Contains(knownEffects, p.Effect) {
					bad("%s: resource %s: policy %s: unknown effect %q", a.Account, r.AppID, p.ID, p.Effect)
				}
			}
			for _, id := range r.NoPolicies {
				if !policies[directory.ID(id)] {
					bad("%s: resource %s: policy %s (noPolicies) is not in the snapshot", a.Account, r.AppID, id)
				}
			}
		}
	}
}

func accountInSnapshot(snap *directory.Snapshot, account string) bool {
	for _, u := range snap.Users {
		if directory.SameID(u.ID, account) || strings.EqualFold(u.UserPrincipalName, account) {
			return true
		}
	}
	for _, sp := range snap.ServicePrincipals {
		if directory.SameID(sp.ID, account) || directory.SameID(sp.AppID, account) {
			return true
		}
	}
	return false
}

// checkAccount compares one account's whatif output with what expect.json
// names; on any mismatch it prints the whole whatif JSON of the account.
func checkAccount(t *testing.T, acct *exposure.Account, want accountExpect) {
	t.Helper()
	got := acct.WhatIf()
	var problems []string
	fail := func(why, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if why != "" {
			msg += "\n\t\twhy: " + why
		}
		problems = append(problems, msg)
	}

	if want.Kind != "" && got.Account.Kind != want.Kind {
		fail(want.Why, "kind = %q, want %q", got.Account.Kind, want.Kind)
	}
	if want.Exposure != "" && got.Exposure != want.Exposure {
		fail(want.Why, "exposure = %q, want %q", got.Exposure, want.Exposure)
	}
	if want.Workload != "" && got.Workload != want.Workload {
		fail(want.Why, "workload = %q, want %q", got.Workload, want.Workload)
	}
	if sa := want.ServiceAccount; sa != nil {
		gotSA := got.Account.ServiceAccount
		if sa.Level != "" && gotSA.Level != sa.Level {
			fail(want.Why, "serviceAccount.level = %q, want %q", gotSA.Level, sa.Level)
		}
		if len(sa.LevelIn) > 0 && !slices.Contains(sa.LevelIn, gotSA.Level) {
			fail(want.Why, "serviceAccount.level = %q, want one of %q", gotSA.Level, sa.LevelIn)
		}
		for _, s := range sa.Signals {
			if !anyContains(gotSA.Signals, s) {
				fail(want.Why, "serviceAccount.signals = %q, want one containing %q", gotSA.Signals, s)
			}
		}
	}
	for _, r := range want.Resources {
		checkResource(got, r, fail)
	}
	codes := map[string]bool{}
	for _, f := range got.Findings {
		codes[f.Code] = true
	}
	for _, c := range want.Findings {
		if !codes[c] {
			fail(want.Why, "finding %s missing; got %s", c, findingCodes(got))
		}
	}
	for _, c := range want.NoFindings {
		if codes[c] {
			fail(want.Why, "finding %s present, want it absent", c)
		}
	}
	problems = append(problems, invariants(got)...)

	if len(problems) > 0 {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			b = []byte(err.Error())
		}
		t.Errorf("account %s:\n\t%s\nwhatif --json:\n%s", want.Account, strings.Join(problems, "\n\t"), b)
	}
}

func checkResource(got exposure.WhatIf, want resourceExpect, fail func(why, format string, args ...any)) {
	name := want.AppID
	if want.Label != "" {
		name += " (" + want.Label + ")"
	}
	var res *exposure.WhatIfResource
	for i := range got.Resources {
		if directory.SameID(got.Resources[i].AppID, want.AppID) {
			res = &got.Resources[i]
			break
		}
	}
	if res == nil {
		fail(want.Why, "resource %s not listed", name)
		return
	}
	if want.Verdict != "" && res.Verdict != want.Verdict {
		fail(want.Why, "resource %s: verdict = %q, want %q", name, res.Verdict, want.Verdict)
	}
	for _, wp := range want.Policies {
		why := wp.Why
		if why == "" {
			why = want.Why
		}
		var p *exposure.WhatIfPolicy
		for i := range res.Policies {
			if directory.SameID(res.Policies[i].ID, wp.ID) {
				p = &res.Policies[i]
				break
			}
		}
		if p == nil {
			fail(why, "resource %s: policy %s not listed", name, wp.ID)
			continue
		}
		if wp.Effect != "" && p.Effect != wp.Effect {
			fail(why, "resource %s: policy %s (%s): effect = %q, want %q", name, wp.ID, p.Name, p.Effect, wp.Effect)
		}
		if wp.Path != "" && p.Path != wp.Path {
			fail(why, "resource %s: policy %s (%s): path = %q, want %q", name, wp.ID, p.Name, p.Path, wp.Path)
		}
		for _, s := range wp.PathContains {
			if !strings.Contains(p.Path, s) {
				fail(why, "resource %s: policy %s (%s): path = %q, want it to contain %q", name, wp.ID, p.Name, p.Path, s)
			}
		}
		for _, c := range wp.Conditions {
			if !anyContains(p.Conditions, c) {
				fail(why, "resource %s: policy %s (%s): conditions = %q, want one containing %q", name, wp.ID, p.Name, p.Conditions, c)
			}
		}
	}
	for _, id := range want.NoPolicies {
		for _, p := range res.Policies {
			if directory.SameID(p.ID, id) {
				fail(want.Why, "resource %s: policy %s (%s) listed with effect %q, want it not listed (it neither includes nor excludes the account)",
					name, id, p.Name, p.Effect)
			}
		}
	}
}

// invariants are what EXPOSURE.md §2 and §5 require of every account's
// output, whatever the case: user accounts list the whole catalog, a
// resource's verdict is the strongest of its policies' effects, and the
// exposure level follows from the verdicts.
func invariants(got exposure.WhatIf) []string {
	var problems []string
	if got.Account.Kind == exposure.KindUser {
		for appID, name := range catalogAppIDs {
			if !slices.ContainsFunc(got.Resources, func(r exposure.WhatIfResource) bool { return directory.SameID(r.AppID, appID) }) {
				problems = append(problems, fmt.Sprintf("invariant: catalog resource %s (%s) not listed for a user account", appID, name))
			}
		}
	}
	rank := map[exposure.Verdict]int{exposure.VerdictNone: 0, exposure.VerdictReportOnly: 1, exposure.VerdictConditional: 2, exposure.VerdictMFA: 3, exposure.VerdictBlocked: 4}
	effectVerdict := map[exposure.Effect]exposure.Verdict{
		exposure.EffectBlock: exposure.VerdictBlocked, exposure.EffectMFA: exposure.VerdictMFA,
		exposure.EffectConditional: exposure.VerdictConditional, exposure.EffectReportOnly: exposure.VerdictReportOnly,
	}
	weakest := exposure.VerdictBlocked
	for _, r := range got.Resources {
		best := exposure.VerdictNone
		for _, p := range r.Policies {
			if v, ok := effectVerdict[p.Effect]; ok && rank[v] > rank[best] {
				best = v
			}
		}
		// "Each carries the policies that produced it" (§5): never a
		// verdict weaker than a listed policy, nor one no policy produced.
		if best != r.Verdict {
			problems = append(problems, fmt.Sprintf("invariant: resource %s (%s): verdict %q is not the strongest of its policies' effects (%q)",
				r.AppID, r.Name, r.Verdict, best))
		}
		if rank[r.Verdict] < rank[weakest] {
			weakest = r.Verdict
		}
	}
	if got.Exposure != exposure.LevelNotApplicable && len(got.Resources) > 0 {
		var want exposure.Level
		switch weakest {
		case exposure.VerdictNone, exposure.VerdictReportOnly:
			want = exposure.LevelExposed
		case exposure.VerdictConditional:
			want = exposure.LevelPartial
		default:
			want = exposure.LevelProtected
		}
		if got.Exposure != want {
			problems = append(problems, fmt.Sprintf("invariant: exposure %q does not follow from the resource verdicts (weakest %q): want %q",
				got.Exposure, weakest, want))
		}
	}
	return problems
}

func anyContains(list []string, sub string) bool {
	sub = strings.ToLower(sub)
	for _, s := range list {
		if strings.Contains(strings.ToLower(s), sub) {
			return true
		}
	}
	return false
}

func findingCodes(w exposure.WhatIf) []string {
	codes := []string{}
	for _, f := range w.Findings {
		codes = append(codes, f.Code)
	}
	return codes
}
