package synthetic

import "strings"

// Word lists the tenants are built from. They mix languages and scripts on
// purpose: real tenants have Zoë, Łukasz and Nguyễn, and their UPNs are the
// ASCII folding of those names.

var firstNames = []string{
	"Anna", "Adam", "Aisha", "Alejandro", "Alice", "Amelia", "Amir", "Ana", "Andrei", "Ángel",
	"Anja", "Arjun", "Astrid", "Ben", "Bianca", "Björn", "Carlos", "Charlotte", "Chen", "Chloé",
	"Chris", "Clara", "Daniel", "Dario", "David", "Diego", "Dmitri", "Elena", "Elif", "Elijah",
	"Emma", "Erik", "Eva", "Fatima", "Felix", "Fiona", "François", "Gabriel", "Giulia", "Grace",
	"Hannah", "Hans", "Hiroshi", "Ines", "Ingrid", "Isabel", "Ivan", "Jack", "Jakub", "James",
	"Jan", "Javier", "Jennifer", "Jin", "João", "Jonas", "José", "Julia", "Kai", "Karin",
	"Kateřina", "Kenji", "Kevin", "Laura", "Lea", "Leon", "Liam", "Lina", "Lucas", "Lucía",
	"Łukasz", "Maja", "Malik", "Marco", "Maria", "Marta", "Mateo", "Matthias", "Mei", "Mia",
	"Michael", "Miguel", "Mohammed", "Nadia", "Naomi", "Nikolai", "Noah", "Nora", "Olga", "Oliver",
	"Omar", "Paula", "Pedro", "Petra", "Priya", "Rafael", "Rahul", "Rosa", "Ruth", "Sakura",
	"Samuel", "Sara", "Sebastian", "Sofia", "Sophie", "Stefan", "Sven", "Tariq", "Thomas", "Tomás",
	"Uma", "Valentina", "Victor", "Wei", "William", "Yara", "Yusuf", "Zoë", "Zofia", "Ólafur",
}

var lastNames = []string{
	"Kowalski", "Nowak", "Müller", "Schmidt", "García", "Martínez", "Rossi", "Russo", "Dubois", "Lefèvre",
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
	"Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
	"Nguyễn", "Tran", "Kim", "Park", "Lee", "Chen", "Wang", "Li", "Zhang", "Liu",
	"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Patel", "Sharma", "Singh", "Kumar", "Gupta",
	"Hansen", "Johansson", "Andersson", "Nielsen", "Larsen", "Virtanen", "Korhonen", "Jensen", "Berg", "Lindqvist",
	"Novák", "Dvořák", "Horváth", "Kovács", "Popescu", "Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Wójcik",
	"Santos", "Oliveira", "Pereira", "Ferreira", "Costa", "Silva", "Fernandes", "Gonçalves", "Almeida", "Rodrigues",
	"O'Brien", "Murphy", "Kelly", "Byrne", "Walsh", "MacDonald", "Campbell", "Stewart", "Robertson", "Fraser",
	"Yılmaz", "Kaya", "Demir", "Şahin", "Haddad", "Khalil", "Mansour", "Nasser", "Cohen", "Levi",
	"van der Berg", "de Vries", "Janssen", "Peeters", "Maes", "Bakker", "Visser", "Smit", "Meijer", "de Jong",
	"Okafor", "Adeyemi", "Mensah", "Boateng", "Mwangi", "Otieno", "Banda", "Phiri", "Diallo", "Traoré",
	"Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez",
	"Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Zimmermann",
}

// department is a department with the job titles found in it.
type department struct {
	name   string
	weight int
	titles []string
}

var departments = []department{
	{"Finance", 8, []string{"Financial Analyst", "Accountant", "Controller", "Accounts Payable Specialist", "Head of Finance"}},
	{"Sales", 14, []string{"Account Executive", "Sales Manager", "Inside Sales Representative", "Key Account Manager", "Sales Operations Analyst"}},
	{"Marketing", 7, []string{"Marketing Manager", "Content Strategist", "Brand Designer", "Digital Marketing Specialist", "Events Coordinator"}},
	{"Human Resources", 5, []string{"HR Business Partner", "Recruiter", "Payroll Specialist", "Learning & Development Lead", "HR Generalist"}},
	{"IT", 7, []string{"Systems Engineer", "Service Desk Analyst", "Cloud Architect", "Identity Engineer", "IT Manager", "Security Analyst"}},
	{"Legal", 2, []string{"Legal Counsel", "Paralegal", "Compliance Officer", "Contract Manager"}},
	{"Operations", 9, []string{"Operations Manager", "Process Engineer", "Shift Supervisor", "Planner", "Facilities Coordinator"}},
	{"Procurement", 3, []string{"Buyer", "Category Manager", "Procurement Analyst", "Supplier Quality Engineer"}},
	{"Research & Development", 9, []string{"Research Engineer", "Product Manager", "Software Developer", "Test Engineer", "Lab Technician"}},
	{"Customer Service", 10, []string{"Customer Service Agent", "Support Team Lead", "Field Service Technician", "Customer Success Manager"}},
	{"Logistics", 6, []string{"Logistics Coordinator", "Warehouse Supervisor", "Transport Planner", "Inventory Analyst"}},
	{"Manufacturing", 12, []string{"Production Engineer", "Machine Operator", "Maintenance Technician", "Plant Manager", "Quality Inspector"}},
	{"Quality Assurance", 4, []string{"Quality Engineer", "QA Manager", "Auditor", "Validation Specialist"}},
	{"Executive Office", 1, []string{"Chief Executive Officer", "Chief Financial Officer", "Chief Operating Officer", "Executive Assistant"}},
}

// deptIT is the index of "IT" in departments: admins and app owners come from it.
const deptIT = 4

// partner is a company whose people are guests in the tenant.
type partner struct{ name, domain string }

var partners = []partner{
	{"Contoso", "contoso.example"}, {"Northwind Traders", "northwind.example"},
	{"Adatum", "adatum.example"}, {"Tailspin Toys", "tailspintoys.example"},
	{"Woodgrove Bank", "woodgrovebank.example"}, {"Litware", "litware.example"},
	{"Proseware", "proseware.example"}, {"Wide World Importers", "wideworldimporters.example"},
	{"Alpine Ski House", "alpineskihouse.example"}, {"Coho Winery", "cohowinery.example"},
}

// company is a tenant's owner.
type company struct{ name, slug, domain string }

var companies = map[string]company{
	ProfileDemo:  {"Fabrikam Industries", "fabrikam", "fabrikam.example"},
	ProfileLarge: {"Trey Research Group", "treyresearch", "treyresearch.example"},
}

var cities = []string{
	"Seattle", "Chicago", "Toronto", "Mexico City", "São Paulo", "London", "Dublin", "Paris", "Munich", "Warsaw",
	"Prague", "Stockholm", "Madrid", "Milan", "Amsterdam", "Zurich", "Dubai", "Johannesburg", "Mumbai", "Bangalore",
	"Singapore", "Tokyo", "Seoul", "Shanghai", "Sydney", "Auckland", "Lagos", "Nairobi", "Istanbul", "Helsinki",
}

var regions = []string{"EMEA", "Americas", "APAC", "Nordics", "DACH", "Benelux", "Iberia", "CEE"}

var teams = []string{
	"Platform", "Payments", "Onboarding", "Analytics", "Reporting", "Field", "Night Shift", "Tier 2", "Pricing",
	"Projects", "Audit", "Tooling", "Logistics Hub", "Retail", "Wholesale", "Key Accounts", "Automation", "Data",
}

var codenames = []string{
	"Phoenix", "Atlas", "Orion", "Borealis", "Cascade", "Helix", "Nimbus", "Quartz", "Sequoia", "Tundra",
	"Aurora", "Bluebird", "Cobalt", "Falcon", "Granite", "Juniper", "Kestrel", "Lumen", "Mistral", "Polaris",
}

// Service account names are built from these when a profile needs more than
// the hand-written ones.
var (
	saPrefixes = []weighted[string]{{5, "svc-"}, {3, "sa-"}, {4, "flow-"}, {2, "integration-"}, {1, "bot-"}, {1, "app-"}, {1, "automation-"}}
	saSystems  = []string{
		"sap", "salesforce", "workday", "servicenow", "jira", "sharepoint", "teams", "dataverse", "powerbi", "sql",
		"backup", "scanner", "printer", "crm", "erp", "payroll", "hr", "finance", "sales", "it", "legal",
		"procurement", "marketing", "logistics", "warehouse", "helpdesk", "intune", "exchange", "monitoring", "devops",
		"qa", "invoices", "orders", "contracts", "timesheets", "expenses", "onboarding", "reports", "archive", "mailroom",
	}
	saSuffixes = []string{"", "-prod", "-test", "-sync", "-notify", "-01", "-02", "-eu", "-us", "-reports", "-import", "-export", "-apac", "-uat"}
)

// Words for the names of generated app registrations.
var (
	appSystems = []string{
		"Invoice", "Payroll", "Expense", "Contract", "Order", "Inventory", "Badge", "Timesheet", "Vendor", "Customer",
		"Asset", "Ticket", "Report", "Backup", "Archive", "Survey", "Lead", "Shipment", "Quality", "Training",
		"Recruiting", "Procurement", "Forecast", "Pricing", "Warranty", "Maintenance", "Document", "Mailbox", "Roster", "Budget",
	}
	appKinds = []string{
		"Sync", "Connector", "Portal", "API", "Exporter", "Importer", "Automation", "Bot", "Gateway", "Scheduler",
		"Dashboard", "Integration", "Service", "Worker", "Webhook", "Uploader",
	}
	appStages = []string{"", "", "", " (Prod)", " (Test)", " (UAT)", " - EU", " - US", " v2", " Legacy"}
)

// Third-party SaaS vendors whose enterprise apps live in the tenant without
// an app registration of their own.
var vendors = []string{
	"Salesforce", "ServiceNow", "Zoom", "Adobe Acrobat Sign", "Slack", "DocuSign", "Workday", "Atlassian Cloud",
	"Box", "Dropbox Business", "Miro", "Asana", "Smartsheet", "Tableau Cloud", "Zscaler", "Okta Workflows",
	"GitHub Enterprise", "Cisco Webex", "SAP Concur", "Coupa", "Greenhouse", "Lucidchart", "HubSpot", "Zendesk",
	"Freshservice", "Splunk Cloud", "Datadog", "PagerDuty", "Snowflake", "Databricks", "Egnyte", "LinkedIn Learning",
}

var vendorProducts = []string{"", " SSO", " Provisioning", " Connector", " for Outlook", " for Teams", " Analytics", " Admin"}

// Microsoft first-party names for the long tail of Microsoft service
// principals that every tenant accumulates.
var microsoftServices = []string{
	"Office 365 Management APIs", "Microsoft Intune", "Microsoft Defender for Cloud Apps", "Microsoft Stream Service",
	"Microsoft Forms", "Microsoft To-Do", "Microsoft Planner", "Yammer", "Skype for Business Online", "Power BI Service",
	"Microsoft Whiteboard Services", "Microsoft Substrate Management", "Azure Key Vault", "Azure Storage",
	"Microsoft Information Protection Sync Service", "Microsoft Approval Management", "Dynamics 365 Business Central",
	"Microsoft Purview", "Microsoft Bookings", "OneNote", "Microsoft Kaizala", "Azure Logic Apps", "Azure DevOps",
	"Microsoft Device Management Checkin", "Windows Store for Business", "Microsoft Partner Center",
}

// Managed identities are named after the Azure resource that holds them.
var (
	miPrefixes = []string{"func-", "logic-", "app-", "aks-", "adf-", "vm-", "id-", "automation-", "apim-", "kv-reader-", "sql-"}
	miSuffixes = []string{"-prod", "-dev", "-test", "-weu", "-neu", "-eus", "-01", "-02"}
)

// connector is a Power Platform connector.
type connector struct {
	api, displayName string
	service          string // how token refresh errors name it
	resource         string // the appId its tokens are for
}

const (
	appExchange    = "00000002-0000-0ff1-ce00-000000000000"
	appSharePoint  = "00000003-0000-0ff1-ce00-000000000000"
	appGraph       = "00000003-0000-0000-c000-000000000000"
	appAAD         = "00000002-0000-0000-c000-000000000000"
	appTeams       = "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"
	appDataverse   = "00000007-0000-0000-c000-000000000000"
	appFlow        = "7df0a125-d3be-4c96-aa54-591f83ff541c"
	appPowerApps   = "475226c6-020e-4fb2-8a90-7a972cbfc1d4"
	appPPAPI       = "8578e004-a5c6-46e7-913e-12f58912df43"
	appAzureMgmt   = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	appAzurePortal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	appAzureCLI    = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	appAzurePS     = "1950a258-227b-4e31-a9cf-717495945fc2"
)

var connectors = []weighted[connector]{
	{16, connector{"shared_office365", "Office 365 Outlook", "office365", appExchange}},
	{14, connector{"shared_sharepointonline", "SharePoint", "sharepointonline", appSharePoint}},
	{10, connector{"shared_teams", "Microsoft Teams", "teams", appGraph}},
	{9, connector{"shared_commondataserviceforapps", "Microsoft Dataverse", "commondataserviceforapps", appDataverse}},
	{8, connector{"shared_approvals", "Approvals", "approvals", appFlow}},
	{6, connector{"shared_office365users", "Office 365 Users", "office365users", appGraph}},
	{5, connector{"shared_onedriveforbusiness", "OneDrive for Business", "onedriveforbusiness", appSharePoint}},
	{5, connector{"shared_excelonlinebusiness", "Excel Online (Business)", "excelonlinebusiness", appSharePoint}},
	{4, connector{"shared_sql", "SQL Server", "sql", "022907d3-0f1b-48f7-badc-1ba6abab6d66"}},
	{3, connector{"shared_webcontents", "HTTP with Microsoft Entra ID (preauthorized)", "webcontents", appGraph}},
	{3, connector{"shared_planner", "Planner", "planner", appGraph}},
	{2, connector{"shared_azureblob", "Azure Blob Storage", "azureblob", "e406a681-f3d4-42a8-90b6-c2b029497af1"}},
	{2, connector{"shared_keyvault", "Azure Key Vault", "keyvault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"}},
	{2, connector{"shared_salesforce", "Salesforce", "salesforce", ""}},
	{1, connector{"shared_servicebus", "Service Bus", "servicebus", ""}},
	{1, connector{"shared_saperp", "SAP ERP", "saperp", ""}},
}

// flowNames are flows as people name them.
var flowNames = []string{
	"Approve invoices over 10k", "Sync SAP vendors to Dataverse", "New hire onboarding checklist",
	"Daily sales pipeline digest to Teams", "Escalate unresolved service tickets", "Archive signed contracts to SharePoint",
	"Notify IT on failed backups", "Weekly Power BI dataset refresh", "Expense report approval", "Purchase order approval",
	"Vacation request approval", "Save email attachments to OneDrive", "Post new leads to Teams", "Offboarding - revoke access",
	"Create Teams team for new project", "CoE - Admin | Sync Template v4 (Flows)", "CoE - Admin | Sync Template v4 (Apps)",
	"Contract renewal reminder", "Customer survey follow-up", "Inventory low-stock alert", "Copy Forms responses to Excel",
	"Monthly close checklist", "Supplier onboarding", "Forward shared mailbox to queue", "Timesheet reminder",
	"Sync Salesforce opportunities", "IT asset request", "Post incident to Teams channel", "Move processed files to archive",
	"Vendor invoice OCR to SAP", "Travel request approval", "Service desk auto-assign", "Welcome email for new customers",
	"Nightly Dataverse cleanup", "Quality deviation workflow", "Update SharePoint list from Excel", "Birthday announcements",
	"Password expiry notice", "Warehouse shipment notification", "Budget variance alert",
}

// flowPrefixes tag flows the way teams tag theirs.
var flowPrefixes = []string{"", "", "", "[Finance] ", "[HR] ", "[IT] ", "[Sales] ", "[Ops] ", "PROD - ", "TEST - ", "Copy of "}

// fold returns the ASCII form of a name for an address: lower-case, accents
// removed, spaces and apostrophes dropped ("Łukasz" → "lukasz", "O'Brien" →
// "obrien", "van der Berg" → "vanderberg").
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ' || r == '\'':
		default:
			if a, ok := asciiFold[r]; ok {
				b.WriteString(a)
			}
		}
	}
	return b.String()
}

var asciiFold = map[rune]string{
	'á': "a", 'à': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a", 'ą': "a",
	'ç': "c", 'č': "c", 'ć': "c", 'ď': "d",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ě': "e", 'ę': "e", 'ễ': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ı': "i",
	'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ó': "o", 'ò': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ø': "o", 'ő': "o",
	'ř': "r", 'š': "s", 'ś': "s", 'ş': "s", 'ť': "t",
	'ú': "u", 'ù': "u", 'û': "u", 'ü': "u", 'ů': "u", 'ű': "u", 'ư': "u",
	'ý': "y", 'ž': "z", 'ź': "z", 'ż': "z", 'ß': "ss", 'æ': "ae", 'œ': "oe", 'ð': "d", 'þ': "th",
}
