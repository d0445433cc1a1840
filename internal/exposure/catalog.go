package exposure

// This file is the evaluation's reference data: one table per fact, each
// with where it comes from. Changing Steward's view of Microsoft's world
// means changing a row here.

// Resource is a cloud app a policy can target.
type Resource struct {
	AppID string
	Name  string
	// Keywords are the includeApplications keywords that cover the resource.
	Keywords []string
}

// Application keywords of conditions.applications.
const (
	keywordAll          = "All"
	keywordNone         = "None"
	keywordOffice365    = "Office365"
	keywordAdminPortals = "MicrosoftAdminPortals"
)

// Catalog is the resources every user account is evaluated against
// (EXPOSURE.md §2, appIds from GRAPH.md §8). Keyword membership follows
// Microsoft Learn, "Conditional Access: target resources": the Office 365
// app covers Exchange Online, SharePoint Online, Microsoft Teams Services,
// PowerApps Service and Microsoft Flow Portal — not Microsoft Graph,
// Dataverse or Azure management; Microsoft Admin Portals covers the Azure
// portal (with the Entra and Intune admin centers) and the Microsoft 365
// admin center.
var Catalog = []Resource{
	{AppID: appFlowService, Name: "Microsoft Flow Service"},
	{AppID: appPowerAppsService, Name: "PowerApps Service", Keywords: []string{keywordOffice365}},
	{AppID: appDataverse, Name: "Dataverse"},
	{AppID: appGraph, Name: "Microsoft Graph"},
	{AppID: appExchange, Name: "Office 365 Exchange Online", Keywords: []string{keywordOffice365}},
	{AppID: appSharePoint, Name: "Office 365 SharePoint Online", Keywords: []string{keywordOffice365}},
	{AppID: appTeams, Name: "Microsoft Teams Services", Keywords: []string{keywordOffice365}},
	{AppID: appAzureAD, Name: "Windows Azure Active Directory"},
	{AppID: appAzureManagement, Name: "Windows Azure Service Management API"},
	{AppID: appAzurePortal, Name: "Azure Portal", Keywords: []string{keywordAdminPortals}},
	{AppID: appPowerPlatformAPI, Name: "Power Platform API"},
}

// otherResources are apps outside the catalog that an account may be seen
// using, with their keyword memberships (same sources as Catalog).
var otherResources = []Resource{
	{AppID: "6204c1d1-4712-4c46-a7d9-3ed63d992682", Name: "Microsoft Flow Portal", Keywords: []string{keywordOffice365}},
	{AppID: "57fcbcfa-7cee-4eb1-8b25-12d2030b4ee0", Name: "Microsoft Flow"},
	{AppID: "4e291c71-d680-4d0e-9640-0a3358e31177", Name: "PowerApps"},
	{AppID: "a8f7a65c-f5ba-4859-b2d6-df772c264e9d", Name: "make.powerapps.com", Keywords: []string{keywordOffice365}},
	{AppID: "9362bc14-3e81-4ef9-8b77-f1c40afe68e0", Name: "apps.powerapps.com"},
	{AppID: appAzureCLI, Name: "Microsoft Azure CLI"},
	{AppID: appAzurePowerShell, Name: "Microsoft Azure PowerShell"},
	{AppID: appM365AdminCenter, Name: "Microsoft 365 admin center", Keywords: []string{keywordAdminPortals}},
}

// Well-known appIds (GRAPH.md §8).
const (
	appFlowService      = "7df0a125-d3be-4c96-aa54-591f83ff541c"
	appPowerAppsService = "475226c6-020e-4fb2-8a90-7a972cbfc1d4"
	appDataverse        = "00000007-0000-0000-c000-000000000000"
	appGraph            = "00000003-0000-0000-c000-000000000000"
	appExchange         = "00000002-0000-0ff1-ce00-000000000000"
	appSharePoint       = "00000003-0000-0ff1-ce00-000000000000"
	appTeams            = "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"
	appAzureAD          = "00000002-0000-0000-c000-000000000000"
	appAzureManagement  = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	appAzurePortal      = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	appPowerPlatformAPI = "8578e004-a5c6-46e7-913e-12f58912df43"
	appAzureCLI         = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	appAzurePowerShell  = "1950a258-227b-4e31-a9cf-717495945fc2"
	// The Microsoft 365 admin center signs in as "Microsoft Office 365 Portal".
	appM365AdminCenter = "00000006-0000-0ff1-ce00-000000000000"
)

// mandatoryMFAApps are the apps under Microsoft's mandatory MFA for every
// user account, whatever Conditional Access says (GRAPH.md §9: phase 1 the
// Azure portal, Entra and Intune admin centers and the Microsoft 365 admin
// center; phase 2 Azure Resource Manager through the CLI, PowerShell and
// REST, enforced in every tenant since July 2026). Keys are the client
// appId or the resource id a sign-in names.
var mandatoryMFAApps = map[string]string{
	appAzurePortal:     "Azure Portal",
	appAzureManagement: "Windows Azure Service Management API",
	appAzureCLI:        "Azure CLI",
	appAzurePowerShell: "Azure PowerShell",
	appM365AdminCenter: "Microsoft 365 admin center",
}

// microsoftTenant owns Microsoft's first-party apps (GRAPH.md §4).
const microsoftTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// adminRoles are the admin roles of GRAPH.md §3, by template id.
var adminRoles = map[string]string{
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"11648597-926c-4cf3-9c36-bcebb0ba8dcc": "Power Platform Administrator",
	"44367163-eba1-44c3-98af-f5787879f96a": "Dynamics 365 Administrator",
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
	"c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
	"158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
	"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
	"194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
	"729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
	"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
	"f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
	"9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
}

// highPrivilegeGraphRoles are Microsoft Graph application permissions that
// amount to control of the tenant (GRAPH.md §4), by app role id.
var highPrivilegeGraphRoles = map[string]string{
	"19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
	"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
	"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
	"06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
	"62a82d76-70ea-41e2-9197-370581804d09": "Group.ReadWrite.All",
	"741f803b-c850-494e-b5df-cde7c675a1ca": "User.ReadWrite.All",
	"01c0a623-fc9b-48e9-b794-0756f8e8f067": "Policy.ReadWrite.ConditionalAccess",
}

// mfaFailureCodes are the sign-in error codes that mean MFA is breaking an
// account's automation now (EXPOSURE.md §8, GRAPH.md §7).
var mfaFailureCodes = map[int]string{
	50076: "MFA required",
	50079: "must register for MFA",
	50074: "strong authentication required",
	53003: "blocked by Conditional Access",
	50158: "external security challenge not satisfied (e.g. Terms of Use)",
}

// connectorResources maps Power Platform connectors (the last segment of a
// connection's apiId) to the resource their tokens are for. Connectors not
// listed here reach third-party services and are not Entra resources.
var connectorResources = map[string]string{
	"shared_office365":                 appExchange,
	"shared_office365users":            appGraph,
	"shared_office365groups":           appGraph,
	"shared_sharepointonline":          appSharePoint,
	"shared_onedriveforbusiness":       appSharePoint,
	"shared_teams":                     appTeams,
	"shared_commondataserviceforapps":  appDataverse,
	"shared_commondataservice":         appDataverse,
	"shared_flowmanagement":            appFlowService,
	"shared_powerappsforappmakers":     appPowerAppsService,
	"shared_powerplatformforadmins":    appPowerPlatformAPI,
	"shared_powerplatformadminv2":      appPowerPlatformAPI,
	"shared_azureresourcemanager":      appAzureManagement,
	"shared_arm":                       appAzureManagement,
	"shared_azuread":                   appGraph,
	"shared_webcontents":               appGraph,
	"shared_microsoftgraphsecurity":    appGraph,
	"shared_excelonlinebusiness":       appSharePoint,
	"shared_approvals":                 appFlowService,
	"shared_planner":                   appGraph,
	"shared_todo":                      appGraph,
	"shared_outlook":                   appExchange,
	"shared_kaizala":                   appGraph,
	"shared_dynamicscrmonline":         appDataverse,
	"shared_commondataserviceforteams": appDataverse,
}

// resourceByAppID finds a catalog or known resource.
func resourceByAppID(appID string) (Resource, bool) {
	for _, r := range Catalog {
		if r.AppID == appID {
			return r, true
		}
	}
	for _, r := range otherResources {
		if r.AppID == appID {
			return r, true
		}
	}
	return Resource{}, false
}
