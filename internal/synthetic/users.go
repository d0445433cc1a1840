package synthetic

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// License SKUs (skuId) as Microsoft publishes them.
const (
	skuM365E3     = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3
	skuM365E5     = "06ebc4ee-1bb5-47dd-8120-11324bc54e06" // SPE_E5
	skuO365E3     = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	skuFlowFree   = "f30db892-07e9-47e9-837c-80727f46fd3d" // FLOW_FREE
	skuPowerBIPro = "a403ebcc-fae0-4ca2-8c8c-7a907fd6c235" // POWER_BI_STANDARD
)

const passwordNeverExpires = "DisablePasswordExpiration"

// noPlans is shared by every license: an empty list, never appended to.
var noPlans = []string{}

// saSpec describes a user service account: how it is named, where it sits
// in the exclusion groups, and how it behaves (which decides its sign-ins,
// connections and findings).
type saSpec struct {
	local, display string
	dept           string   // department name, "" for none
	job            string   // jobTitle
	groups         []string // named groups it is a direct member of
	service        bool     // employeeType "service": classification gets it for free
	neverExpires   bool     // passwordPolicies DisablePasswordExpiration
	licensed       bool
	flows          int  // weight as an owner of flows and connections, 0 for none
	broken         bool // MFA now breaks it: AADSTS50076 on its connections and sign-ins
	dormant        bool // no sign-in for months
	disabled       bool
	registered     bool // has an MFA method (a shared phone, usually)
	azure          bool // runs automation against Azure Resource Manager
	legacy         bool // signs in with legacy authentication (SMTP AUTH)
	syncAccount    bool // the Entra Connect account, named Sync_<host>_<hex>
}

// Named groups referenced across the tenant.
const (
	grpExclude     = "CA-Exclude-ServiceAccounts"
	grpPP          = "SA-PowerPlatform"
	grpFlow        = "SA-Flow-Owners"
	grpInteg       = "SA-Integrations"
	grpLegacy      = "CA-Exclude-LegacyAuth"
	grpAzure       = "CA-Exclude-AzureAutomation"
	grpExchange    = "RAG-Exchange-Admins"
	grpContractors = "SG-Contractors"
	grpMakers      = "SG-PowerPlatform-Makers"
	grpApps        = "SG-Automation-Apps"
	grpAllCompany  = "All Company"
	grpFinanceDyn  = "DYN-Finance-Users"
	grpEmployees   = "DYN-All-Employees"
	grpPhoenix     = "Project Phoenix"
	grpFinanceLT   = "Finance Leadership Team"
	grpDeptPrefix  = "SG-Dept-"
)

// Hand-written service accounts that other parts refer to.
const (
	saCoE         = "coe-admin"
	saDynamics    = "sa-dynamics-sync"
	saHR          = "svc-hr-provisioning"
	saExchange    = "svc-exchange-relay"
	saPowerAuto   = "svc-powerautomate"
	saAutomation  = "svc-azure-automation"
	saIntegration = "integration-sap"
)

// namedServiceAccounts are the demo's service accounts, one or more of every
// archetype; the large profile has them too, among generated ones.
var namedServiceAccounts = []saSpec{
	{local: saPowerAuto, display: "Power Automate Service", dept: "IT", groups: []string{grpFlow}, service: true, neverExpires: true, licensed: true, flows: 10},
	{local: "flow-finance", display: "Flow - Finance", dept: "Finance", groups: []string{grpFlow}, service: true, neverExpires: true, licensed: true, flows: 6},
	{local: "flow-hr-onboarding", display: "Flow - HR Onboarding", dept: "Human Resources", groups: []string{grpFlow}, neverExpires: true, licensed: true, flows: 5},
	{local: "flow-sales-approvals", display: "Flow - Sales Approvals", dept: "Sales", groups: []string{grpFlow, grpDeptPrefix + "Sales"}, service: true, licensed: true, flows: 5, broken: true},
	{local: "flow-it-alerts", display: "Flow - IT Alerts", dept: "IT", groups: []string{grpFlow}, neverExpires: true, licensed: true, flows: 4},
	{local: "flow-procurement", display: "Flow - Procurement", dept: "Procurement", groups: []string{grpFlow}, service: true, neverExpires: true, licensed: true, flows: 3},
	{local: "flow-marketing-leads", display: "Flow - Marketing Leads", dept: "Marketing", neverExpires: true, licensed: true, flows: 4, broken: true},
	{local: "flow-teams-provisioning", display: "Flow - Teams Provisioning", dept: "IT", groups: []string{grpFlow}, service: true, neverExpires: true, licensed: true, flows: 3},
	{local: saCoE, display: "CoE Admin", dept: "IT", job: "Service Account", groups: []string{grpPP}, service: true, neverExpires: true, licensed: true, flows: 6},
	{local: saDynamics, display: "Dynamics Sync", dept: "Sales", groups: []string{grpPP}, neverExpires: true, licensed: true, flows: 3},
	{local: "coe-kit-sync", display: "CoE Starter Kit Sync", dept: "IT", groups: []string{grpPP}, service: true, neverExpires: true, licensed: true, flows: 5},
	{local: "sa-powerbi-refresh", display: "Power BI Refresh", dept: "IT", groups: []string{grpPP}, neverExpires: true, licensed: true, flows: 1},
	{local: "app-dataverse-etl", display: "Dataverse ETL", dept: "IT", groups: []string{grpPP}, service: true, neverExpires: true, licensed: true, flows: 2},
	{local: "svc-crm-mailbox", display: "CRM Mailbox Sync", dept: "Sales", groups: []string{grpPP}, service: true, neverExpires: true, licensed: true, flows: 2},
	{local: saIntegration, display: "Integration - SAP", dept: "Finance", job: "Service Account", groups: []string{grpInteg, grpContractors}, neverExpires: true, licensed: true, flows: 3},
	{local: "integration-salesforce", display: "Integration - Salesforce", dept: "Sales", groups: []string{grpInteg}, service: true, neverExpires: true, licensed: true, flows: 2},
	{local: "integration-workday", display: "Integration - Workday", dept: "Human Resources", groups: []string{grpInteg}, service: true, neverExpires: true, flows: 1},
	{local: "integration-servicenow", display: "Integration - ServiceNow", dept: "IT", groups: []string{grpInteg}, neverExpires: true, licensed: true, flows: 2},
	{local: "svc-jira-sync", display: "Jira Sync", dept: "Research & Development", groups: []string{grpInteg}, neverExpires: true, flows: 1},
	{local: "svc-docusign", display: "DocuSign Connector", dept: "Legal", groups: []string{grpInteg}, service: true, licensed: true, flows: 1},
	{local: "sa-sql-reporting", display: "SQL Reporting Services", dept: "Finance", groups: []string{grpInteg}, neverExpires: true, licensed: true, flows: 1},
	{local: "sa-backup-veeam", display: "Veeam Backup for Microsoft 365", dept: "IT", job: "Service Account", groups: []string{grpExclude}, service: true, neverExpires: true, licensed: true},
	{local: "svc-sharepoint-migration", display: "SharePoint Migration", dept: "IT", groups: []string{grpExclude}, neverExpires: true, licensed: true},
	{local: "svc-monitoring-scom", display: "SCOM Monitoring", dept: "IT", groups: []string{grpExclude}, service: true, neverExpires: true},
	{local: "sa-pim-audit", display: "PIM Audit Export", dept: "IT", groups: []string{grpExclude}, service: true, neverExpires: true},
	{local: "svc-printers", display: "Universal Print Connector", dept: "IT", groups: []string{grpExclude}, neverExpires: true},
	{local: saExchange, display: "Exchange Relay", dept: "IT", groups: []string{grpExchange, grpExclude}, neverExpires: true, licensed: true},
	{local: saHR, display: "HR Provisioning", dept: "Human Resources", groups: []string{grpExclude}, service: true, neverExpires: true, broken: true},
	{local: "svc-scanner-ricoh", display: "Scanner - Ricoh MFP 3rd floor", dept: "Operations", groups: []string{grpLegacy, grpExclude}, neverExpires: true, licensed: true, legacy: true},
	{local: "svc-legacy-smtp", display: "Legacy SMTP Relay", dept: "IT", groups: []string{grpLegacy, grpExclude}, service: true, neverExpires: true, licensed: true, legacy: true},
	{local: saAutomation, display: "Azure Automation Runbooks", dept: "IT", job: "Service Account", groups: []string{grpAzure}, neverExpires: true, azure: true},
	{local: "sa-azure-devops", display: "Azure DevOps Deploy", dept: "Research & Development", groups: []string{grpAzure}, service: true, neverExpires: true, azure: true},
	{local: "bot-teams-notify", display: "Teams Notify Bot", dept: "IT", neverExpires: true, licensed: true, flows: 3, broken: true},
	{local: "bot-servicedesk", display: "Service Desk Bot", dept: "Customer Service", service: true, licensed: true, flows: 2, broken: true},
	{local: "svc-intune-enroll", display: "Intune Bulk Enrollment", dept: "IT", neverExpires: true, licensed: true, registered: true},
	{local: "svc-conference-rooms", display: "Conference Room Booking", dept: "Operations", licensed: true, registered: true},
	{local: "svc-mfa-report", display: "MFA Report Export", dept: "IT", neverExpires: true, registered: true, flows: 1},
	{local: "svc-legacy-fax", display: "Legacy Fax Gateway", dept: "Operations", groups: []string{grpExclude}, service: true, neverExpires: true, licensed: true, flows: 1, dormant: true},
	{local: "svc-old-intranet", display: "Old Intranet Crawler", dept: "IT", groups: []string{grpExclude}, neverExpires: true, disabled: true},
	{display: "On-Premises Directory Synchronization Service Account", groups: []string{grpExclude}, neverExpires: true, syncAccount: true},
}

func (g *gen) users() {
	r := g.rng("users")
	total := 2 + g.size.people + g.size.adminAccounts + g.size.serviceAccounts + g.size.guests
	g.s.Users = make([]directory.User, 0, total)
	g.deptOf = make([]int8, 0, total)
	taken := make(map[string]bool, total)
	g.breakGlassAccounts(r)
	g.peopleAccounts(r, taken)
	g.adminAccounts(r, taken)
	g.serviceAccounts(r, taken)
	g.guestAccounts(r, taken)
}

func (g *gen) addUser(u directory.User, dept int8) int {
	g.s.Users = append(g.s.Users, u)
	g.deptOf = append(g.deptOf, dept)
	return len(g.s.Users) - 1
}

// unique returns base, or base with the smallest number appended that makes
// it unused, and marks it used.
func unique(taken map[string]bool, base string) string {
	name := base
	for n := 2; taken[name]; n++ {
		name = base + strconv.Itoa(n)
	}
	taken[name] = true
	return name
}

func license(skus ...string) []directory.AssignedLicense {
	l := make([]directory.AssignedLicense, len(skus))
	for i, s := range skus {
		l[i] = directory.AssignedLicense{SkuID: s, DisabledPlans: noPlans}
	}
	return l
}

func deptIndex(name string) int8 {
	for i, d := range departments {
		if d.name == name {
			return int8(i)
		}
	}
	return -1
}

// breakGlassAccounts are the two emergency access accounts: cloud-only, on
// the initial domain, excluded from every policy, signed in once a month to
// prove they still work.
func (g *gen) breakGlassAccounts(r *rng) {
	for i, lastUse := range []time.Duration{35 * day, 62 * day} {
		n := strconv.Itoa(i + 1)
		created := g.ago(r.span(1400*day, 1500*day))
		at := g.ago(lastUse + r.span(time.Hour, 8*time.Hour))
		idx := g.addUser(directory.User{
			ID:                         r.guid(),
			DisplayName:                "Break Glass Account 0" + n,
			UserPrincipalName:          "breakglass0" + n + "@" + g.initialDomain,
			AccountEnabled:             ptr(true),
			UserType:                   "Member",
			CreatedDateTime:            created,
			PasswordPolicies:           passwordNeverExpires,
			LastPasswordChangeDateTime: g.ago(r.span(250*day, 400*day)),
			AssignedLicenses:           []directory.AssignedLicense{},
			SignInActivity:             &directory.UserSignInActivity{LastSignInDateTime: at, LastSuccessfulSignInDateTime: at},
		}, -1)
		g.breakGlass = append(g.breakGlass, idx)
	}
}

func (g *gen) peopleAccounts(r *rng, taken map[string]bool) {
	deptWeights := make([]weighted[int8], len(departments))
	for i, d := range departments {
		deptWeights[i] = weighted[int8]{d.weight, int8(i)}
	}
	g.people = make([]int, 0, g.size.people)
	for i := 0; i < g.size.people; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		local := unique(taken, fold(first)+"."+fold(last))
		dept := pickWeighted(r, deptWeights)
		d := departments[dept]
		created := g.ago(r.span(30*day, 6*365*day))
		enabled := r.chance(0.97)
		u := directory.User{
			ID:                r.guid(),
			DisplayName:       g.plant(kindUser, i, fieldName, first+" "+last),
			UserPrincipalName: local + "@" + g.company.domain,
			Mail:              local + "@" + g.company.domain,
			Department:        g.plant(kindUser, i, fieldDepartment, d.name),
			JobTitle:          g.plant(kindUser, i, fieldJobTitle, pick(r, d.titles)),
			AccountEnabled:    ptr(enabled),
			UserType:          "Member",
			CreatedDateTime:   created,
		}
		if r.chance(0.75) {
			// Hybrid identities: password hash sync leaves most synced users
			// with a password that never expires in the cloud, which muddies
			// "password never expires" as a service account signal.
			u.OnPremisesSyncEnabled = ptr(true)
			if r.chance(0.5) {
				u.PasswordPolicies = passwordNeverExpires
			}
		} else if r.chance(0.1) {
			u.PasswordPolicies = "None"
		}
		u.LastPasswordChangeDateTime = g.notBefore(g.ago(r.span(day, 200*day)), created, r)
		u.AssignedLicenses = g.personLicenses(r)
		switch x := r.Float64(); {
		case x < 0.80:
			u.EmployeeType = "Employee"
		case x < 0.92:
			u.EmployeeType = "Contractor"
		}
		u.SignInActivity = g.personSignIns(r, enabled, created)
		g.people = append(g.people, g.addUser(u, dept))
	}
}

func (g *gen) personLicenses(r *rng) []directory.AssignedLicense {
	var skus [3]string
	n := 0
	switch x := r.Float64(); {
	case x < 0.60:
		skus[n] = skuM365E3
		n++
	case x < 0.85:
		skus[n] = skuM365E5
		n++
	case x < 0.95:
		skus[n] = skuO365E3
		n++
	}
	if r.chance(0.2) {
		skus[n] = skuPowerBIPro
		n++
	}
	if r.chance(0.15) {
		skus[n] = skuFlowFree
		n++
	}
	return license(skus[:n]...)
}

// personSignIns is what Graph reports for a person: mostly interactive
// sign-ins in the last days, token refreshes in between.
func (g *gen) personSignIns(r *rng, enabled bool, created directory.Time) *directory.UserSignInActivity {
	if r.chance(0.01) {
		return nil // never signed in
	}
	var a directory.UserSignInActivity
	switch {
	case !enabled:
		a.LastSignInDateTime = g.ago(r.span(60*day, 400*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(60*day, 400*day))
	case r.chance(0.94):
		a.LastSignInDateTime = g.ago(r.span(10*time.Minute, 10*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(time.Minute, 3*day))
	default:
		a.LastSignInDateTime = g.ago(r.span(30*day, 200*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(20*day, 200*day))
	}
	a.LastSignInDateTime = g.notBefore(a.LastSignInDateTime, created, r)
	a.LastNonInteractiveSignInDateTime = g.notBefore(a.LastNonInteractiveSignInDateTime, created, r)
	a.LastSuccessfulSignInDateTime = latest(a.LastSignInDateTime, a.LastNonInteractiveSignInDateTime)
	return &a
}

func latest(a, b directory.Time) directory.Time {
	if a.After(b.Time) {
		return a
	}
	return b
}

// adminAccounts are the separate cloud-only admin accounts of some IT people
// ("adm-anna.kowalski"): the accounts that hold most directory roles.
func (g *gen) adminAccounts(r *rng, taken map[string]bool) {
	var it []int
	for _, p := range g.people {
		if g.deptOf[p] == deptIT && g.s.Users[p].Enabled() {
			it = append(it, p)
		}
	}
	n := min(g.size.adminAccounts, len(it))
	for i := 0; i < n; i++ { // a partial shuffle picks n distinct people
		j := i + r.IntN(len(it)-i)
		it[i], it[j] = it[j], it[i]
		p := &g.s.Users[it[i]]
		local := unique(taken, "adm-"+strings.TrimSuffix(p.UserPrincipalName, "@"+g.company.domain))
		created := g.notBefore(g.ago(r.span(30*day, 4*365*day)), p.CreatedDateTime, r)
		at := g.ago(r.span(10*time.Minute, 7*day))
		g.admins = append(g.admins, g.addUser(directory.User{
			ID:                         r.guid(),
			DisplayName:                p.DisplayName + " (Admin)",
			UserPrincipalName:          local + "@" + g.company.domain,
			Department:                 departments[deptIT].name,
			AccountEnabled:             ptr(true),
			UserType:                   "Member",
			CreatedDateTime:            created,
			LastPasswordChangeDateTime: g.notBefore(g.ago(r.span(day, 90*day)), created, r),
			AssignedLicenses:           []directory.AssignedLicense{},
			EmployeeType:               "Employee",
			SignInActivity:             &directory.UserSignInActivity{LastSignInDateTime: at, LastSuccessfulSignInDateTime: at},
		}, deptIT))
	}
}

func (g *gen) serviceAccounts(r *rng, taken map[string]bool) {
	specs := make([]saSpec, 0, max(g.size.serviceAccounts, len(namedServiceAccounts)))
	specs = append(specs, namedServiceAccounts...)
	for len(specs) < g.size.serviceAccounts {
		specs = append(specs, generatedServiceAccount(r))
	}
	for i := range specs {
		spec := &specs[i]
		if spec.syncAccount {
			// The Entra Connect account: Sync_<server>_<12 hex>, on the initial domain.
			var b [6]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			spec.local = "Sync_" + strings.ToUpper(g.company.slug[:3]) + "DC01_" + hex.EncodeToString(b[:])
		}
		local := unique(taken, spec.local)
		domain := g.company.domain
		if spec.syncAccount {
			domain = g.initialDomain
		}
		created := g.ago(r.span(200*day, 6*365*day))
		if spec.dormant {
			created = g.ago(r.span(3*365*day, 8*365*day))
		}
		u := directory.User{
			ID:                r.guid(),
			DisplayName:       g.plant(kindServiceAccount, i, fieldName, spec.display),
			UserPrincipalName: local + "@" + domain,
			Department:        spec.dept,
			JobTitle:          spec.job,
			AccountEnabled:    ptr(!spec.disabled),
			UserType:          "Member",
			CreatedDateTime:   created,
			AssignedLicenses:  []directory.AssignedLicense{},
		}
		if !spec.syncAccount {
			u.Mail = u.UserPrincipalName
		}
		if spec.service {
			u.EmployeeType = "service"
		}
		if spec.neverExpires {
			u.PasswordPolicies = passwordNeverExpires
			u.LastPasswordChangeDateTime = g.notBefore(g.ago(r.span(400*day, 1800*day)), created, r)
		} else {
			u.LastPasswordChangeDateTime = g.notBefore(g.ago(r.span(10*day, 90*day)), created, r)
		}
		if spec.licensed {
			u.AssignedLicenses = license(skuM365E3)
			if spec.flows > 0 && r.chance(0.3) {
				u.AssignedLicenses = license(skuM365E3, skuFlowFree)
			}
		}
		if r.chance(0.1) {
			u.OnPremisesSyncEnabled = ptr(true)
		}
		u.SignInActivity = g.serviceSignIns(r, spec, created)
		idx := g.addUser(u, deptIndex(spec.dept))
		g.svc = append(g.svc, idx)
		g.svcSpec[idx] = spec
		if i < len(namedServiceAccounts) && namedServiceAccounts[i].local != "" {
			g.named[namedServiceAccounts[i].local] = idx
		}
	}
}

// generatedServiceAccount invents a service account for profiles that need
// more than the hand-written ones, with the same mix of archetypes.
func generatedServiceAccount(r *rng) saSpec {
	prefix := pickWeighted(r, saPrefixes)
	sys := pick(r, saSystems)
	s := saSpec{
		local:        prefix + sys + pick(r, saSuffixes),
		dept:         pickWeighted(r, deptOfSystem),
		service:      r.chance(0.5),
		neverExpires: r.chance(0.7),
		licensed:     r.chance(0.6),
		dormant:      r.chance(0.04),
		disabled:     r.chance(0.02),
		registered:   r.chance(0.05),
	}
	if r.chance(0.5) {
		s.display = s.local
	} else {
		s.display = strings.ToUpper(sys[:1]) + sys[1:] + " service account"
	}
	if r.chance(0.3) {
		s.job = "Service Account"
	}
	switch prefix {
	case "flow-":
		s.flows = 3
		if r.chance(0.7) {
			s.groups = []string{grpFlow}
		}
	case "integration-":
		s.flows = 1
		if r.chance(0.8) {
			s.groups = []string{grpInteg}
		}
	case "bot-":
		s.flows = 1
	default:
		if r.chance(0.5) {
			s.flows = 1
		}
		switch x := r.Float64(); {
		case x < 0.4:
			s.groups = []string{grpExclude}
		case x < 0.55:
			s.groups = []string{grpPP}
		}
	}
	if s.flows > 0 && len(s.groups) == 0 && !s.dormant && !s.disabled {
		// Not excluded from the MFA policy: most of these are breaking now.
		s.broken = r.chance(0.6)
	}
	return s
}

// deptOfSystem: service accounts mostly belong to IT.
var deptOfSystem = []weighted[string]{{6, "IT"}, {1, "Finance"}, {1, "Sales"}, {1, "Operations"}, {1, ""}}

// serviceSignIns is a service account's signInActivity: token refreshes
// around the clock, an interactive sign-in long ago when someone set it up.
func (g *gen) serviceSignIns(r *rng, spec *saSpec, created directory.Time) *directory.UserSignInActivity {
	var a directory.UserSignInActivity
	switch {
	case spec.disabled:
		a.LastSignInDateTime = g.ago(r.span(150*day, 300*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(150*day, 300*day))
	case spec.dormant:
		a.LastSignInDateTime = g.ago(r.span(200*day, 400*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(120*day, 180*day))
	case spec.broken:
		// Its last successes predate the change that now demands MFA; the
		// failed refreshes since still count as sign-ins.
		a.LastSignInDateTime = g.ago(r.span(60*day, 300*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(time.Minute, 2*time.Hour))
		a.LastSuccessfulSignInDateTime = g.ago(r.span(5*day+time.Hour, 7*day))
	case spec.registered, spec.azure, spec.legacy:
		a.LastSignInDateTime = g.ago(r.span(10*time.Minute, 2*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(time.Minute, 6*time.Hour))
	default:
		a.LastSignInDateTime = g.ago(r.span(30*day, 400*day))
		a.LastNonInteractiveSignInDateTime = g.ago(r.span(time.Minute, 6*time.Hour))
	}
	a.LastSignInDateTime = g.notBefore(a.LastSignInDateTime, created, r)
	a.LastNonInteractiveSignInDateTime = g.notBefore(a.LastNonInteractiveSignInDateTime, created, r)
	if a.LastSuccessfulSignInDateTime.IsZero() {
		a.LastSuccessfulSignInDateTime = latest(a.LastSignInDateTime, a.LastNonInteractiveSignInDateTime)
	}
	return &a
}

func (g *gen) guestAccounts(r *rng, taken map[string]bool) {
	g.guests = make([]int, 0, g.size.guests)
	for i := 0; i < g.size.guests; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		p := pick(r, partners)
		addr := fold(first) + "." + fold(last)
		local := unique(taken, addr+"_"+p.domain)
		created := g.ago(r.span(10*day, 3*365*day))
		u := directory.User{
			ID:                r.guid(),
			DisplayName:       g.plant(kindGuest, i, fieldName, first+" "+last),
			UserPrincipalName: local + "#EXT#@" + g.initialDomain,
			Mail:              addr + "@" + p.domain,
			AccountEnabled:    ptr(true),
			UserType:          "Guest",
			CreatedDateTime:   created,
			AssignedLicenses:  []directory.AssignedLicense{},
			ExternalUserState: "Accepted",
		}
		if r.chance(0.15) {
			u.ExternalUserState = "PendingAcceptance"
		} else {
			at := g.notBefore(g.ago(r.span(time.Hour, 60*day)), created, r)
			u.SignInActivity = &directory.UserSignInActivity{LastSignInDateTime: at, LastSuccessfulSignInDateTime: at}
		}
		g.guests = append(g.guests, g.addUser(u, -1))
	}
}
