package exposure_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
)

// Ids of the objects the test policies reference.
const (
	gSales    = "a0000000-0000-4000-8000-000000000001"
	gExclude  = "a0000000-0000-4000-8000-000000000002"
	gAzure    = "a0000000-0000-4000-8000-000000000003"
	gMissing  = "a0000000-0000-4000-8000-0000000000ff"
	uBreak1   = "b0000000-0000-4000-8000-000000000001"
	uBreak2   = "b0000000-0000-4000-8000-000000000002"
	rGlobal   = "62e90394-69f5-4237-9190-012177145e10" // Global Administrator's template id
	rPPAdmin  = "11648597-926c-4cf3-9c36-bcebb0ba8dcc" // Power Platform Administrator
	lHQ       = "c0000000-0000-4000-8000-000000000001"
	spOwn     = "d0000000-0000-4000-8000-000000000001"
	appCustom = "e0000000-0000-4000-8000-000000000001"
)

var testNames = exposure.Names{
	Users:             map[string]string{uBreak1: "Break glass 1", uBreak2: "Break glass 2"},
	Groups:            map[string]string{gSales: "Sales", gExclude: "CA-Exclude-ServiceAccounts", gAzure: "Azure-Automation"},
	Roles:             map[string]string{rPPAdmin: "Power Platform Administrator"},
	Locations:         map[string]string{lHQ: "HQ"},
	Apps:              map[string]string{appCustom: "Payroll connector"},
	ServicePrincipals: map[string]string{spOwn: "Tenant automation"},
}

func policy(t *testing.T, raw string) *directory.ConditionalAccessPolicy {
	t.Helper()
	p, err := directory.Decode[directory.ConditionalAccessPolicy]([]byte(raw))
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return &p
}

const mfa = `"grantControls":{"operator":"OR","builtInControls":["mfa"]}`
const block = `"grantControls":{"operator":"OR","builtInControls":["block"]}`

func TestSummarizePolicy(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
	}{
		{
			"all users with exclusions, all apps except 8",
			`{"id":"1","state":"enabled","conditions":{"users":{"includeUsers":["All"],"excludeUsers":["` + uBreak1 + `"],
			  "excludeGroups":["` + gExclude + `","` + gAzure + `"]},
			  "applications":{"includeApplications":["All"],"excludeApplications":["7df0a125-d3be-4c96-aa54-591f83ff541c",
			  "475226c6-020e-4fb2-8a90-7a972cbfc1d4","00000002-0000-0ff1-ce00-000000000000","00000003-0000-0000-c000-000000000000",
			  "00000002-0000-0000-c000-000000000000","cc15fd57-2c6c-4117-a88c-83b1d56b4bbe","00000007-0000-0000-c000-000000000000",
			  "00000003-0000-0ff1-ce00-000000000000"]},"clientAppTypes":["all"]},` + mfa + `}`,
			"Requires MFA for all users except 2 groups and 1 user, on all apps except 8",
		},
		{
			"all users, every app: nothing more to say",
			`{"id":"1","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Requires MFA for all users",
		},
		{
			"one group by name, MFA OR compliant device, on Office 365",
			`{"id":"2","state":"enabled","conditions":{"users":{"includeGroups":["` + gSales + `"]},
			  "applications":{"includeApplications":["Office365"]}},
			  "grantControls":{"operator":"OR","builtInControls":["mfa","compliantDevice"]}}`,
			"Requires MFA or a compliant device for group Sales, on Office 365",
		},
		{
			"several groups counted, an unknown group still counted",
			`{"id":"2","state":"enabled","conditions":{"users":{"includeGroups":["` + gSales + `","` + gMissing + `"]},
			  "applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Requires MFA for 2 groups",
		},
		{
			"an unknown group by itself says so",
			`{"id":"2","state":"enabled","conditions":{"users":{"includeGroups":["` + gMissing + `"]},
			  "applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Requires MFA for group unknown group " + gMissing,
		},
		{
			"roles: one named from the built-in list, the other counted",
			`{"id":"3","state":"enabled","conditions":{"users":{"includeRoles":["` + rGlobal + `"],"excludeUsers":["` + uBreak1 + `","` + uBreak2 + `"]},
			  "applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Requires MFA for role Global Administrator except 2 users",
		},
		{
			"several roles",
			`{"id":"3","state":"enabled","conditions":{"users":{"includeRoles":["` + rGlobal + `","` + rPPAdmin + `"]},
			  "applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Requires MFA for 2 roles",
		},
		{
			"guests blocked outside trusted locations",
			`{"id":"4","state":"enabled","conditions":{"users":{"includeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"b2bCollaborationGuest"}},
			  "applications":{"includeApplications":["All"]},
			  "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},` + block + `}`,
			"Blocks guests from outside trusted locations",
		},
		{
			"a group and guest or external users, terms of use",
			`{"id":"4","state":"enabled","conditions":{"users":{"includeGroups":["` + gSales + `"],
			  "includeGuestsOrExternalUsers":{"guestOrExternalUserTypes":"b2bCollaborationGuest,b2bCollaborationMember"}},
			  "applications":{"includeApplications":["All"]}},
			  "grantControls":{"operator":"OR","termsOfUse":["f0000000-0000-4000-8000-000000000001"]}}`,
			"Requires acceptance of the terms of use for group Sales and guest or external users",
		},
		{
			"block legacy authentication",
			`{"id":"5","state":"enabled","conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + gAzure + `"],"excludeUsers":["` + uBreak1 + `","` + uBreak2 + `"]},
			  "applications":{"includeApplications":["All"]},"clientAppTypes":["exchangeActiveSync","other"]},` + block + `}`,
			"Blocks all users except 1 group and 2 users, using legacy authentication clients",
		},
		{
			"block from a named location",
			`{"id":"5","state":"enabled","conditions":{"users":{"includeUsers":["All"]},
			  "applications":{"includeApplications":["All"]},"locations":{"includeLocations":["` + lHQ + `"]}},` + block + `}`,
			"Blocks all users from HQ",
		},
		{
			"report-only speaks in the conditional",
			`{"id":"6","state":"enabledForReportingButNotEnforced","conditions":{"users":{"includeGroups":["` + gExclude + `"]},
			  "applications":{"includeApplications":["All"]}},` + mfa + `}`,
			"Report-only: would require MFA for group CA-Exclude-ServiceAccounts",
		},
		{
			"disabled too",
			`{"id":"7","state":"disabled","conditions":{"users":{"includeUsers":["All"]},
			  "applications":{"includeApplications":["All"]},"authenticationFlows":{"transferMethods":"deviceCodeFlow"}},` + block + `}`,
			"Disabled: would block all users in device code flow",
		},
		{
			"workload identities, all but one, outside a location",
			`{"id":"8","state":"enabled","conditions":{"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant"],
			  "excludeServicePrincipals":["` + spOwn + `"]},"applications":{"includeApplications":["All"]},
			  "locations":{"includeLocations":["All"],"excludeLocations":["` + lHQ + `"]}},` + block + `}`,
			"Targets workload identities: blocks service principals in this tenant except 1, from outside HQ",
		},
		{
			"one workload identity, report-only",
			`{"id":"8","state":"enabledForReportingButNotEnforced","conditions":{"clientApplications":{"includeServicePrincipals":["` + spOwn + `"]},
			  "applications":{"includeApplications":["All"]}},` + block + `}`,
			"Targets workload identities: report-only, would block service principal Tenant automation",
		},
		{
			"session control only, on Office 365",
			`{"id":"9","state":"enabled","conditions":{"users":{"includeUsers":["All"],"excludeUsers":["` + uBreak1 + `"]},
			  "applications":{"includeApplications":["Office365"]}},
			  "sessionControls":{"signInFrequency":{"isEnabled":true,"type":"hours","value":8,"frequencyInterval":"timeBased"}}}`,
			"Forces sign-in every 8 hours for all users except 1 user, on Office 365",
		},
		{
			"named apps and an admin portal keyword",
			`{"id":"10","state":"enabled","conditions":{"users":{"includeUsers":["All"]},
			  "applications":{"includeApplications":["797f4846-ba00-4fd7-ba43-dac1f8f63013","MicrosoftAdminPortals"]}},` + mfa + `}`,
			"Requires MFA for all users, on Windows Azure Service Management API and Microsoft Admin Portals",
		},
		{
			"an app only the directory knows, compliant device AND MFA",
			`{"id":"11","state":"enabled","conditions":{"users":{"includeUsers":["` + uBreak1 + `"]},
			  "applications":{"includeApplications":["` + appCustom + `"]},"platforms":{"includePlatforms":["windows","macOS"]}},
			  "grantControls":{"operator":"AND","builtInControls":["mfa","compliantDevice"]}}`,
			"Requires MFA and a compliant device for user Break glass 1, on Payroll connector, on windows or macOS devices",
		},
		{
			"user action",
			`{"id":"12","state":"enabled","conditions":{"users":{"includeUsers":["All"]},
			  "applications":{"includeUserActions":["urn:user:registersecurityinfo"]}},` + mfa + `}`,
			"Requires MFA for all users, when registering security information",
		},
		{
			"no grant and no session",
			`{"id":"13","state":"enabled","conditions":{"users":{"includeUsers":["None"]},"applications":{"includeApplications":["All"]}}}`,
			"Applies no controls to no users",
		},
		{
			"authentication strength at sign-in risk",
			`{"id":"14","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
			  "signInRiskLevels":["high","medium"]},
			  "grantControls":{"operator":"OR","authenticationStrength":{"displayName":"Phishing-resistant MFA"}}}`,
			"Requires authentication strength Phishing-resistant MFA for all users at sign-in risk high or medium",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := exposure.SummarizePolicy(policy(t, tc.raw), testNames)
			if got != tc.want {
				t.Errorf("SummarizePolicy\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestDescribePolicy(t *testing.T) {
	p := policy(t, `{"id":"1","state":"enabled","conditions":{
		"users":{"includeUsers":["All"],"excludeUsers":["`+uBreak1+`"],"excludeGroups":["`+gExclude+`","`+gMissing+`"],"excludeRoles":["`+rPPAdmin+`"]},
		"applications":{"includeApplications":["All"],"excludeApplications":["Office365","`+appCustom+`"]},
		"clientAppTypes":["all"],
		"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted","`+lHQ+`"]}},
		"grantControls":{"operator":"OR","builtInControls":["mfa","compliantDevice"]},
		"sessionControls":{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime"},"persistentBrowser":{"isEnabled":true,"mode":"never"}}}`)
	got := exposure.DescribePolicy(p, testNames)
	want := []exposure.PolicyLine{
		{Label: "Users included", Values: []string{"all users"}},
		{Label: "Users excluded", Values: []string{"user Break glass 1", "group CA-Exclude-ServiceAccounts", "unknown group " + gMissing, "role Power Platform Administrator"}},
		{Label: "Target resources", Values: []string{"all apps"}},
		{Label: "Resources excluded", Values: []string{"Office 365", "Payroll connector"}},
		{Label: "Client apps", Values: []string{"all client apps"}},
		{Label: "Locations included", Values: []string{"any location"}},
		{Label: "Locations excluded", Values: []string{"trusted locations", "HQ"}},
		{Label: "Grant: require one of", Values: []string{"multifactor authentication", "device marked as compliant"}},
		{Label: "Session", Values: []string{"sign-in frequency: every time", "persistent browser session: never"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DescribePolicy\n got  %q\n want %q", got, want)
	}

	w := exposure.DescribePolicy(policy(t, `{"id":"2","state":"enabled","conditions":{"clientApplications":{
		"includeServicePrincipals":["ServicePrincipalsInMyTenant"],"excludeServicePrincipals":["`+spOwn+`","`+appCustom+`"]},
		"applications":{"includeApplications":["All"]}},`+block+`}`), testNames)
	if !slices.ContainsFunc(w, func(l exposure.PolicyLine) bool {
		return l.Label == "Workload identities excluded" && reflect.DeepEqual(l.Values, []string{"Tenant automation", "unknown service principal " + appCustom})
	}) || !slices.ContainsFunc(w, func(l exposure.PolicyLine) bool { return l.Label == "Grant" && l.Values[0] == "block access" }) {
		t.Errorf("workload policy described as %q", w)
	}
}

func TestPolicyRefs(t *testing.T) {
	var r exposure.PolicyRefs
	r.Add(policy(t, `{"id":"1","conditions":{"users":{"includeUsers":["All"],"excludeUsers":["`+strings.ToUpper(uBreak1)+`"],
		"includeGroups":["`+gSales+`"],"excludeGroups":["`+gSales+`"]},"applications":{"includeApplications":["Office365","`+appCustom+`"]},
		"locations":{"includeLocations":["AllTrusted","`+lHQ+`"]}}}`))
	r.Add(policy(t, `{"id":"2","conditions":{"clientApplications":{"includeServicePrincipals":["ServicePrincipalsInMyTenant","`+spOwn+`"]}}}`))
	want := exposure.PolicyRefs{Users: []string{uBreak1}, Groups: []string{gSales}, Apps: []string{appCustom},
		Locations: []string{lHQ}, ServicePrincipals: []string{spOwn}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("PolicyRefs = %+v, want %+v", r, want)
	}
}

func TestStateText(t *testing.T) {
	for state, want := range map[string]string{"enabled": "enabled", "enabledForReportingButNotEnforced": "report-only", "disabled": "disabled"} {
		if got := exposure.StateText(state); got != want {
			t.Errorf("StateText(%q) = %q, want %q", state, got, want)
		}
	}
}

func TestDiffPolicies(t *testing.T) {
	v1 := []byte(`{"id":"1","displayName":"MFA","state":"enabled","modifiedDateTime":"2026-01-01T00:00:00Z",
		"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + gExclude + `"]},
		  "applications":{"includeApplications":["All"]},"clientAppTypes":["all"]},
		"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
	v2 := []byte(`{"id":"1","displayName":"MFA","state":"enabledForReportingButNotEnforced","modifiedDateTime":"2026-02-01T00:00:00Z",
		"conditions":{"users":{"includeUsers":["All"],"excludeGroups":["` + gMissing + `","` + gExclude + `","` + gAzure + `"]},
		  "applications":{"includeApplications":["All"]},"clientAppTypes":["all"],
		  "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
		"grantControls":{"operator":"OR","builtInControls":["mfa","compliantDevice"]},
		"sessionControls":null}`)
	got, err := exposure.DiffPolicies(v1, v2, testNames)
	if err != nil {
		t.Fatal(err)
	}
	want := []exposure.Change{
		{Path: "conditions.locations.excludeLocations", New: "trusted locations"},
		{Path: "conditions.locations.includeLocations", New: "any location"},
		{Path: "conditions.users.excludeGroups", New: "unknown group " + gMissing},
		{Path: "conditions.users.excludeGroups", New: "Azure-Automation"},
		{Path: "grantControls.builtInControls", New: "compliantDevice"},
		{Path: "modifiedDateTime", Old: "2026-01-01T00:00:00Z", New: "2026-02-01T00:00:00Z"},
		{Path: "state", Old: "enabled", New: "enabledForReportingButNotEnforced"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffPolicies\n got  %+v\n want %+v", got, want)
	}
	if !got[0].Added() || got[len(got)-1].Added() {
		t.Error("Added() misreads the changes")
	}

	// Backwards: the same changes, removed.
	back, err := exposure.DiffPolicies(v2, v1, testNames)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(want) || !back[0].Removed() || back[0].Old != "trusted locations" {
		t.Errorf("reverse diff: %+v", back)
	}

	// Lists of objects are compared item by item; identical versions differ in nothing.
	a := []byte(`{"x":[{"k":1},{"k":2}]}`)
	b := []byte(`{"x":[{"k":1},{"k":3},{"k":4}]}`)
	got, _ = exposure.DiffPolicies(a, b, testNames)
	want = []exposure.Change{{Path: "x[1].k", Old: "2", New: "3"}, {Path: "x[2].k", New: "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("object lists: %+v, want %+v", got, want)
	}
	if same, _ := exposure.DiffPolicies(v1, v1, testNames); len(same) != 0 {
		t.Errorf("a version differs from itself: %+v", same)
	}
	if _, err := exposure.DiffPolicies([]byte(`{`), v1, testNames); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestDemandsMFA(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"id":"1",` + mfa + `}`:   true,
		`{"id":"1",` + block + `}`: true,
		`{"id":"1","grantControls":{"operator":"OR","builtInControls":["mfa","compliantDevice"]}}`:     true,
		`{"id":"1","grantControls":{"operator":"OR","termsOfUse":["x"]}}`:                              false,
		`{"id":"1","sessionControls":{"signInFrequency":{"isEnabled":true,"value":8,"type":"hours"}}}`: false,
	} {
		if got := exposure.DemandsMFA(policy(t, raw)); got != want {
			t.Errorf("DemandsMFA(%s) = %v, want %v", raw, got, want)
		}
	}
}
