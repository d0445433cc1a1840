package synthetic

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// firstParty are the Microsoft service principals Steward's catalog and
// Conditional Access designs name, with their real appIds (GRAPH.md §8), and
// the client apps people sign in with.
var firstParty = []struct{ appID, name string }{
	{appGraph, "Microsoft Graph"},
	{appFlow, "Microsoft Flow Service"},
	{appPowerApps, "PowerApps Service"},
	{appDataverse, "Dataverse"},
	{appExchange, "Office 365 Exchange Online"},
	{appSharePoint, "Office 365 SharePoint Online"},
	{appTeams, "Microsoft Teams Services"},
	{appAAD, "Windows Azure Active Directory"},
	{appAzureMgmt, "Windows Azure Service Management API"},
	{appAzurePortal, "Azure Portal"},
	{appPPAPI, "Power Platform API"},
	{appAzureCLI, "Microsoft Azure CLI"},
	{appAzurePS, "Microsoft Azure PowerShell"},
	{appOffice, "Microsoft Office"},
	{appTeamsClient, "Microsoft Teams"},
	{appOutlookMobile, "Outlook Mobile"},
	{appOfficeHome, "OfficeHome"},
}

// Client apps people sign in with.
const (
	appOffice        = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
	appTeamsClient   = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
	appOutlookMobile = "27922004-5251-4030-b22d-91ecd9a37ea4"
	appOfficeHome    = "4765445b-32c6-49b0-83e6-1d93765276ca"
)

// graphPermission is a Microsoft Graph application permission (an app role
// of the Microsoft Graph service principal).
type graphPermission struct{ id, value, displayName string }

var graphPermissions = []graphPermission{
	{"19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"},
	{"7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"},
	{"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "RoleManagement.ReadWrite.Directory", "Read and write all directory RBAC settings"},
	{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"},
	{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments"},
	{"62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"},
	{"741f803b-c850-494e-b5df-cde7c675a1ca", "User.ReadWrite.All", "Read and write all users' full profiles"},
	{"01c0a623-fc9b-48e9-b794-0756f8e8f067", "Policy.ReadWrite.ConditionalAccess", "Read and write your organization's conditional access policies"},
	{"df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"},
	{"5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"},
	{"9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"},
	{"b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data"},
	{"246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read your organization's policies"},
	{"483bed4a-2ad3-4361-a73b-c83ccdbdc53c", "RoleManagement.Read.Directory", "Read all directory RBAC settings"},
	{"b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send", "Send mail as any user"},
	{"332a536c-c7ef-4017-ab91-336970924f0d", "Sites.Read.All", "Read items in all site collections"},
	{"230c1aed-a721-4c5d-9cb4-a90514e508ef", "Reports.Read.All", "Read all usage reports"},
}

// exchangeFullAccess is Exchange Online's full_access_as_app: every mailbox over EWS.
var exchangeFullAccess = graphPermission{"dc890d15-9560-4a4c-9b7f-a736ec74ec40", "full_access_as_app", "Use Exchange Web Services with full access to all mailboxes"}

// credKind is how an app registration authenticates.
type credKind uint8

const (
	credNone           credKind = iota
	credSecret                  // a client secret within the recommended 180 days
	credSecretLong              // a secret valid for two years
	credSecretForever           // a secret that ends in 2299, as old PowerShell allowed
	credSecretExpired           // expired: whatever used it is failing
	credSecretExpiring          // expires within 30 days
	credCert
	credSecretAndCert
	credGitHub // federated: GitHub Actions OIDC
	credAKS    // federated: Kubernetes workload identity
	credTerraform
	credAzureDevOps
)

// appSpec describes an app registration of the tenant's own.
type appSpec struct {
	name        string
	cred        credKind
	perms       []string // Microsoft Graph application permissions, by value
	exchange    bool     // full_access_as_app on Exchange Online
	ownerSA     string   // a hand-written service account that owns it
	noOwner     bool
	multiTenant bool
	dormant     bool // its service principal last signed in months ago
	inGroup     bool // member of SG-Automation-Apps
	flows       bool // owns flows and connections
}

// namedApps are the demo's app registrations, one or more of every archetype.
var namedApps = []appSpec{
	{name: "Tenant Automation", cred: credSecretLong, perms: []string{"Directory.ReadWrite.All"}, inGroup: true},
	{name: "PIM Role Broker", cred: credCert, perms: []string{"RoleManagement.ReadWrite.Directory"}},
	{name: "HR Onboarding Connector", cred: credSecretExpired, perms: []string{"User.ReadWrite.All"}},
	{name: "SharePoint Archive Tool", cred: credSecretExpiring, perms: []string{"Sites.Read.All"}},
	{name: "Invoice Sync (SAP)", cred: credSecretLong, ownerSA: saIntegration},
	{name: "Power BI Directory Report", cred: credSecret, perms: []string{"Directory.Read.All"}},
	{name: "Access Review Exporter", cred: credCert, perms: []string{"Directory.Read.All", "AuditLog.Read.All"}},
	{name: "Badge System Sync", cred: credSecretLong, perms: []string{"User.Read.All"}},
	{name: "ERP API Deploy (GitHub Actions)", cred: credGitHub},
	{name: "Orders API (AKS workload identity)", cred: credAKS, perms: []string{"Mail.Send"}},
	{name: "Legacy Intranet SSO", cred: credSecretExpired, noOwner: true},
	{name: "Intune Reporting", cred: credCert, perms: []string{"Reports.Read.All"}},
	{name: "Power Platform Management", cred: credSecretLong, ownerSA: saCoE, flows: true},
	{name: "CoE Starter Kit", cred: credSecret, perms: []string{"User.Read.All", "Group.Read.All"}, ownerSA: saCoE, flows: true},
	{name: "Mailbox Archiver", cred: credSecretLong, exchange: true},
	{name: "Teams Notification Bot", cred: credSecret, ownerSA: "bot-teams-notify"},
	{name: "ServiceNow Connector", cred: credSecretExpiring, perms: []string{"User.Read.All"}},
	{name: "Veeam Backup for Microsoft 365", cred: credCert, perms: []string{"Sites.Read.All"}, exchange: true, ownerSA: "sa-backup-veeam"},
	{name: "Terraform Deployment", cred: credTerraform, perms: []string{"Application.ReadWrite.All"}, inGroup: true},
	{name: "Azure DevOps Service Connection", cred: credAzureDevOps, inGroup: true},
	{name: "Contract Portal", cred: credSecret, multiTenant: true},
	{name: "Expense Reporting", cred: credSecretLong},
	{name: "Customer Portal", cred: credSecretAndCert, multiTenant: true},
	{name: "Grafana Monitoring", cred: credSecretExpiring, perms: []string{"AuditLog.Read.All"}},
	{name: "Jira Cloud Sync", cred: credSecretLong, perms: []string{"User.Read.All"}},
	{name: "Payroll Export", cred: credSecretExpired, perms: []string{"User.Read.All"}},
	{name: "Group Lifecycle Automation", cred: credCert, perms: []string{"Group.ReadWrite.All"}, inGroup: true},
	{name: "Conditional Access Backup", cred: credCert, perms: []string{"Policy.Read.All"}},
	{name: "Steward", cred: credCert, perms: []string{"Directory.Read.All", "Policy.Read.All", "AuditLog.Read.All", "RoleManagement.Read.Directory", "Application.Read.All"}, inGroup: true},
	{name: "Marketing Site CMS", cred: credSecret},
	{name: "Legacy SOAP Gateway", cred: credSecretForever},
	{name: "Dynamics 365 Dual-write", cred: credSecret, ownerSA: saDynamics, flows: true},
	{name: "Mail Relay (SMTP OAuth)", cred: credSecretExpiring, perms: []string{"Mail.Send"}},
	{name: "Data Warehouse Loader", cred: credSecretLong, perms: []string{"Directory.Read.All"}},
	{name: "Old Reporting Prototype", cred: credNone, dormant: true},
	{name: "Conditional Access as Code", cred: credGitHub, perms: []string{"Policy.ReadWrite.ConditionalAccess", "Policy.Read.All"}},
}

// Indexes into namedApps that other parts refer to.
const (
	appTenantAutomation = 0
	appPIMBroker        = 1
	appGroupLifecycle   = 26
)

// namedManagedIdentities are the demo's managed identities.
var namedManagedIdentities = []struct {
	name  string
	perms []string
}{
	{"func-invoice-processor", []string{"Sites.Read.All"}},
	{"logic-hr-onboarding", []string{"User.Read.All"}},
	{"id-github-runners", nil},
	{"aks-orders-agentpool", nil},
	{"adf-datawarehouse", []string{"Directory.Read.All"}},
	{"automation-runbooks", []string{"Group.ReadWrite.All"}},
}

func (g *gen) apps() {
	r := g.rng("apps")
	total := len(firstParty) + g.size.firstPartyExtra + g.size.thirdPartyApps + g.size.ownApps + g.size.managedIdentities
	g.s.ServicePrincipals = make([]directory.ServicePrincipal, 0, total)
	g.s.Applications = make([]directory.Application, 0, g.size.ownApps)
	g.s.AppRoleAssignments = make([]directory.AppRoleAssignment, 0, g.size.ownApps)
	g.s.Owners = make([]directory.Ownership, 0, 2*g.size.ownApps)
	g.firstPartyApps(r)
	g.thirdPartyApps(r)
	g.ownApps(r)
	g.managedIdentities(r)
}

func (g *gen) addSP(sp directory.ServicePrincipal) int {
	g.s.ServicePrincipals = append(g.s.ServicePrincipals, sp)
	return len(g.s.ServicePrincipals) - 1
}

func (g *gen) firstPartyApps(r *rng) {
	for _, fp := range firstParty {
		sp := directory.ServicePrincipal{
			ID:                     r.guid(),
			AppID:                  fp.appID,
			DisplayName:            fp.name,
			ServicePrincipalType:   "Application",
			AppOwnerOrganizationID: directory.MicrosoftTenantID,
			AccountEnabled:         ptr(true),
			SignInAudience:         "AzureADMultipleOrgs",
		}
		switch fp.appID {
		case appGraph:
			sp.AppRoles = make([]directory.AppRole, len(graphPermissions))
			for i, p := range graphPermissions {
				sp.AppRoles[i] = appRole(p)
				g.graphRoleID[p.value] = p.id
			}
		case appExchange:
			sp.AppRoles = []directory.AppRole{appRole(exchangeFullAccess)}
		}
		g.sp[fp.appID] = g.addSP(sp)
	}
	for i := 0; i < g.size.firstPartyExtra; i++ {
		name := microsoftServices[i%len(microsoftServices)]
		if i >= len(microsoftServices) {
			name += " " + strconv.Itoa(i/len(microsoftServices)+1)
		}
		g.addSP(directory.ServicePrincipal{
			ID:                     r.guid(),
			AppID:                  r.guid(),
			DisplayName:            name,
			ServicePrincipalType:   "Application",
			AppOwnerOrganizationID: directory.MicrosoftTenantID,
			AccountEnabled:         ptr(true),
			SignInAudience:         "AzureADMultipleOrgs",
		})
	}
}

func appRole(p graphPermission) directory.AppRole {
	return directory.AppRole{ID: p.id, Value: p.value, DisplayName: p.displayName, AllowedMemberTypes: []string{"Application"}}
}

// thirdPartyApps are SaaS enterprise apps: a service principal here, the
// application in the vendor's tenant. SAML apps carry a signing certificate.
func (g *gen) thirdPartyApps(r *rng) {
	vendorTenant := make([]string, len(vendors))
	for i := range vendorTenant {
		vendorTenant[i] = r.guid()
	}
	taken := map[string]bool{}
	for i := 0; i < g.size.thirdPartyApps; i++ {
		v := i % len(vendors)
		name := vendors[v]
		if i >= len(vendors) {
			name += pick(r, vendorProducts)
		}
		sp := directory.ServicePrincipal{
			ID:                     r.guid(),
			AppID:                  r.guid(),
			DisplayName:            unique(taken, name),
			ServicePrincipalType:   "Application",
			AppOwnerOrganizationID: vendorTenant[v],
			AccountEnabled:         ptr(r.chance(0.97)),
			Tags:                   []string{"WindowsAzureActiveDirectoryIntegratedApp"},
			SignInAudience:         "AzureADMultipleOrgs",
		}
		if r.chance(0.5) {
			start := g.ago(r.span(30*day, 3*365*day))
			sp.KeyCredentials = []directory.KeyCredential{{
				KeyID: r.guid(), DisplayName: "CN=Microsoft Azure Federated SSO Certificate", Type: "AsymmetricX509Cert", Usage: "Verify",
				StartDateTime: start, EndDateTime: directory.NewTime(start.AddDate(3, 0, 0)),
			}}
		}
		g.addSP(sp)
	}
}

func (g *gen) ownApps(r *rng) {
	specs := make([]appSpec, 0, max(g.size.ownApps, len(namedApps)))
	specs = append(specs, namedApps...)
	taken := map[string]bool{}
	for _, s := range namedApps {
		taken[s.name] = true
	}
	for len(specs) < g.size.ownApps {
		specs = append(specs, generatedApp(r, taken))
	}
	g.ownSP = make([]int, 0, len(specs))
	var itPeople []int
	for _, p := range g.people {
		if g.deptOf[p] == deptIT {
			itPeople = append(itPeople, p)
		}
	}
	for i := range specs {
		spec := &specs[i]
		name := g.plant(kindApp, i, fieldName, spec.name)
		app := directory.Application{
			ID:             r.guid(),
			AppID:          r.guid(),
			DisplayName:    name,
			SignInAudience: "AzureADMyOrg",
		}
		if spec.multiTenant {
			app.SignInAudience = "AzureADMultipleOrgs"
		}
		first := g.credentials(r, &app, spec)
		app.CreatedDateTime = g.ago(r.span(100*day, 4*365*day))
		if !first.IsZero() && first.Before(app.CreatedDateTime.Time) {
			app.CreatedDateTime = directory.NewTime(first.Add(-r.span(day, 60*day)))
		}
		sp := directory.ServicePrincipal{
			ID:                     r.guid(),
			AppID:                  app.AppID,
			DisplayName:            name,
			ServicePrincipalType:   "Application",
			AppOwnerOrganizationID: g.s.Tenant.ID,
			AccountEnabled:         ptr(true),
			Tags:                   []string{"WindowsAzureActiveDirectoryIntegratedApp"},
			SignInAudience:         app.SignInAudience,
		}
		g.s.Applications = append(g.s.Applications, app)
		spIdx := g.addSP(sp)
		g.ownSP = append(g.ownSP, spIdx)
		g.appSpecOf[spIdx] = spec
		for _, perm := range spec.perms {
			g.grant(r, spIdx, g.sp[appGraph], g.graphRoleID[perm], app.CreatedDateTime)
		}
		if spec.exchange {
			g.grant(r, spIdx, g.sp[appExchange], exchangeFullAccess.id, app.CreatedDateTime)
		}
		owners := []directory.Ref{}
		switch {
		case spec.noOwner:
		case spec.ownerSA != "":
			owners = append(owners, userRef(g.s.Users[g.named[spec.ownerSA]].ID))
		case len(itPeople) > 0:
			// People own apps; an owner who has left (disabled) is common.
			owners = append(owners, userRef(g.s.Users[pick(r, itPeople)].ID))
			if r.chance(0.3) {
				if o := userRef(g.s.Users[pick(r, itPeople)].ID); o.ID != owners[0].ID {
					owners = append(owners, o)
				}
			}
		}
		g.s.Owners = append(g.s.Owners,
			directory.Ownership{ObjectID: app.ID, Owners: owners},
			directory.Ownership{ObjectID: sp.ID, Owners: slices.Clone(owners)})
	}
}

// generatedApp invents an app registration with the archetypes in realistic
// proportions: many secrets, a few federated credentials, rare high privileges.
func generatedApp(r *rng, taken map[string]bool) appSpec {
	s := appSpec{
		name: unique(taken, pick(r, appSystems)+" "+pick(r, appKinds)+pick(r, appStages)),
		cred: pickWeighted(r, []weighted[credKind]{
			{30, credSecret}, {25, credSecretLong}, {10, credSecretExpired}, {5, credSecretExpiring},
			{15, credCert}, {5, credSecretAndCert}, {4, credGitHub}, {1, credSecretForever}, {5, credNone},
		}),
		noOwner:     r.chance(0.08),
		multiTenant: r.chance(0.1),
		dormant:     r.chance(0.1),
		inGroup:     r.chance(0.02),
		flows:       r.chance(0.03),
	}
	reads := []string{"User.Read.All", "Directory.Read.All", "Group.Read.All", "Sites.Read.All", "Mail.Send", "AuditLog.Read.All", "Reports.Read.All", "Application.Read.All"}
	writes := []string{"Group.ReadWrite.All", "User.ReadWrite.All", "Application.ReadWrite.All", "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "AppRoleAssignment.ReadWrite.All"}
	switch x := r.Float64(); {
	case x < 0.5:
	case x < 0.8:
		s.perms = []string{pick(r, reads)}
	case x < 0.95:
		a, b := pick(r, reads), pick(r, reads)
		s.perms = []string{a}
		if b != a {
			s.perms = append(s.perms, b)
		}
	default:
		s.perms = []string{pick(r, writes)}
	}
	s.exchange = r.chance(0.01)
	return s
}

// credentials sets an application's credentials for its kind and returns
// the earliest start, so the app can be created before it.
func (g *gen) credentials(r *rng, app *directory.Application, spec *appSpec) time.Time {
	secret := func(start, end directory.Time) directory.PasswordCredential {
		return directory.PasswordCredential{
			KeyID: r.guid(), DisplayName: pick(r, secretNames), Hint: hint(r),
			StartDateTime: start, EndDateTime: end,
		}
	}
	cert := func() directory.KeyCredential {
		end := g.in(r.span(30*day, 700*day))
		return directory.KeyCredential{
			KeyID: r.guid(), DisplayName: "CN=" + slug(spec.name), Type: "AsymmetricX509Cert", Usage: "Verify",
			StartDateTime: directory.NewTime(end.AddDate(-2, 0, 0)), EndDateTime: end,
		}
	}
	lifetime := func(end directory.Time, d time.Duration) directory.Time { return directory.NewTime(end.Add(-d)) }
	switch spec.cred {
	case credSecret:
		end := g.in(r.span(31*day, 170*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(lifetime(end, 180*day), end)}
	case credSecretLong:
		end := g.in(r.span(60*day, 700*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(lifetime(end, 730*day), end)}
	case credSecretForever:
		start := g.ago(r.span(5*365*day, 8*365*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(start, directory.NewTime(time.Date(2299, 12, 31, 0, 0, 0, 0, time.UTC)))}
	case credSecretExpired:
		end := g.ago(r.span(day, 120*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(lifetime(end, 365*day), end)}
	case credSecretExpiring:
		end := g.in(r.span(2*day, 29*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(lifetime(end, 180*day), end)}
	case credCert:
		app.KeyCredentials = []directory.KeyCredential{cert()}
	case credSecretAndCert:
		end := g.in(r.span(31*day, 170*day))
		app.PasswordCredentials = []directory.PasswordCredential{secret(lifetime(end, 180*day), end)}
		app.KeyCredentials = []directory.KeyCredential{cert()}
	case credGitHub:
		repo := slug(spec.name)
		app.FederatedIdentityCredentials = []directory.FederatedIdentityCredential{{
			ID: r.guid(), Name: "github-" + repo + "-production", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:" + g.company.slug + "/" + repo + ":environment:production", Audiences: []string{"api://AzureADTokenExchange"},
		}}
	case credAKS:
		app.FederatedIdentityCredentials = []directory.FederatedIdentityCredential{{
			ID: r.guid(), Name: "aks-orders-prod", Issuer: "https://westeurope.oic.prod-aks.azure.com/" + g.s.Tenant.ID + "/" + r.guid() + "/",
			Subject: "system:serviceaccount:orders:orders-api", Audiences: []string{"api://AzureADTokenExchange"},
		}}
	case credTerraform:
		app.FederatedIdentityCredentials = []directory.FederatedIdentityCredential{{
			ID: r.guid(), Name: "terraform-cloud-apply", Issuer: "https://app.terraform.io",
			Subject: "organization:" + g.company.slug + ":project:infra:workspace:prod:run_phase:apply", Audiences: []string{"api://AzureADTokenExchange"},
		}}
	case credAzureDevOps:
		app.FederatedIdentityCredentials = []directory.FederatedIdentityCredential{{
			ID: r.guid(), Name: "azdo-erp-prod", Issuer: "https://vstoken.dev.azure.com/" + r.guid(),
			Subject: "sc://" + g.company.slug + "/erp/prod-connection", Audiences: []string{"api://AzureADTokenExchange"},
		}}
	}
	var first time.Time
	for _, c := range app.PasswordCredentials {
		if first.IsZero() || c.StartDateTime.Before(first) {
			first = c.StartDateTime.Time
		}
	}
	for _, c := range app.KeyCredentials {
		if first.IsZero() || c.StartDateTime.Before(first) {
			first = c.StartDateTime.Time
		}
	}
	return first
}

var secretNames = []string{"prod", "Client secret", "CWAP_AuthSecret", "rotation", "github-actions", "terraform", "integration", "do not delete", "backup job"}

// hint is the first three characters of a secret, all Graph reveals.
func hint(r *rng) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~."
	b := []byte{chars[r.IntN(len(chars))], chars[r.IntN(len(chars))], chars[r.IntN(len(chars))]}
	return string(b)
}

// slug turns a display name into a repository or certificate name.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// grant assigns an app role of resource to a service principal.
func (g *gen) grant(r *rng, principal, resource int, roleID string, after directory.Time) {
	p, res := &g.s.ServicePrincipals[principal], &g.s.ServicePrincipals[resource]
	g.s.AppRoleAssignments = append(g.s.AppRoleAssignments, directory.AppRoleAssignment{
		ID:                   r.appRoleAssignmentID(p.ID),
		PrincipalID:          p.ID,
		PrincipalType:        "ServicePrincipal",
		PrincipalDisplayName: p.DisplayName,
		ResourceID:           res.ID,
		ResourceDisplayName:  res.DisplayName,
		AppRoleID:            roleID,
		CreatedDateTime:      g.notBefore(g.ago(r.span(day, 3*365*day)), after, r),
	})
}

func userRef(id string) directory.Ref {
	return directory.Ref{ODataType: odataUser, ID: id}
}

var (
	odataUser  = directory.ODataType("user")
	odataGroup = directory.ODataType("group")
	odataSP    = directory.ODataType("servicePrincipal")
)

func (g *gen) managedIdentities(r *rng) {
	taken := map[string]bool{}
	g.managed = make([]int, 0, g.size.managedIdentities)
	for i := 0; i < g.size.managedIdentities; i++ {
		var name string
		var perms []string
		if i < len(namedManagedIdentities) {
			name, perms = namedManagedIdentities[i].name, namedManagedIdentities[i].perms
		} else {
			name = pick(r, miPrefixes) + pick(r, saSystems) + pick(r, miSuffixes)
			if r.chance(0.3) {
				perms = []string{pick(r, []string{"User.Read.All", "Sites.Read.All", "Mail.Send", "Directory.Read.All", "Group.ReadWrite.All"})}
			}
		}
		idx := g.addSP(directory.ServicePrincipal{
			ID:                   r.guid(),
			AppID:                r.guid(),
			DisplayName:          unique(taken, name),
			ServicePrincipalType: "ManagedIdentity",
			AccountEnabled:       ptr(true),
		})
		g.managed = append(g.managed, idx)
		created := g.ago(r.span(30*day, 3*365*day))
		for _, perm := range perms {
			g.grant(r, idx, g.sp[appGraph], g.graphRoleID[perm], created)
		}
	}
}
