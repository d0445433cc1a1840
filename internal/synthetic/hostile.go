package synthetic

import "strings"

// The hostile strings Options.Hostile plants. Each attacks one kind of output:
// HTML (markup, attribute quotes), text rendering (a right-to-left override
// that disguises what follows), layout and storage limits (4 KB), and CSV or
// spreadsheet exports (cells starting with = + @ -, which Excel evaluates).
const (
	hostileScript  = `<script>alert(1)</script>`
	hostileQuotes  = `"quotes' and <b>tags</b>`
	hostileRTL     = "Invoice \u202Efdp.exe"
	hostileFormula = `=cmd|' /C calc'!A0`
	hostileSum     = `+SUM(1)`
	hostileAt      = `@x`
	hostileMinus   = `-2+3`
)

// hostileLong is a 4 KB display name.
var hostileLong = strings.Repeat("A very long display name ", 4096/25+1)[:4096]

// HostileStrings returns the strings Options.Hostile plants, each at least once.
func HostileStrings() []string {
	return []string{hostileScript, hostileQuotes, hostileRTL, hostileLong, hostileFormula, hostileSum, hostileAt, hostileMinus}
}

// plantKind is a kind of object that can carry a hostile string.
type plantKind uint8

const (
	kindUser plantKind = iota // people, by creation order
	kindServiceAccount
	kindGuest
	kindGroup // the named groups, by their order in namedGroups
	kindApp   // own app registrations (and their service principals)
	kindPolicy
	kindLocation
	kindEnvironment
	kindFlow
	kindConnection
)

// plantField is the human-entered field a hostile string replaces.
type plantField uint8

const (
	fieldName plantField = iota // displayName
	fieldDepartment
	fieldJobTitle
	fieldDescription
)

// plants says where each hostile string goes. Ids, UPNs and references are
// never touched, so a hostile tenant is as consistent as a normal one; copies
// of a name made later (sign-ins, connection owners) carry the hostile value.
var plants = []struct {
	kind  plantKind
	n     int
	field plantField
	value string
}{
	{kindUser, 3, fieldName, hostileScript},
	{kindUser, 4, fieldName, hostileQuotes},
	{kindUser, 5, fieldName, hostileRTL},
	{kindUser, 6, fieldJobTitle, hostileFormula},
	{kindUser, 7, fieldDepartment, hostileAt},
	{kindUser, 8, fieldName, hostileMinus},
	{kindServiceAccount, 25, fieldName, hostileLong},
	{kindGuest, 0, fieldName, hostileSum},
	{kindGroup, groupPhoenix, fieldName, hostileScript},
	{kindGroup, groupFinanceLT, fieldName, hostileFormula},
	{kindGroup, groupMakers, fieldDescription, hostileQuotes},
	{kindGroup, groupApps, fieldDescription, hostileLong},
	{kindApp, 29, fieldName, hostileAt},
	{kindApp, 20, fieldName, hostileRTL},
	{kindApp, 22, fieldName, hostileScript},
	{kindPolicy, 12, fieldName, hostileSum},
	{kindPolicy, 10, fieldName, hostileQuotes},
	{kindLocation, 1, fieldName, hostileScript},
	{kindEnvironment, 2, fieldName, hostileQuotes},
	{kindFlow, 0, fieldName, hostileMinus},
	{kindFlow, 1, fieldName, hostileScript},
	{kindFlow, 2, fieldName, hostileLong},
	{kindFlow, 3, fieldName, hostileRTL},
	{kindConnection, 0, fieldName, hostileFormula},
	{kindConnection, 1, fieldName, hostileAt},
	{kindConnection, 2, fieldName, hostileQuotes},
}

// plant returns the hostile value planted in this field of the n-th object
// of a kind, or normal.
func (g *gen) plant(kind plantKind, n int, field plantField, normal string) string {
	if !g.opts.Hostile {
		return normal
	}
	for _, p := range plants {
		if p.kind == kind && p.n == n && p.field == field {
			return p.value
		}
	}
	return normal
}
