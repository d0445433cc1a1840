package directory

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// Policy states.
const (
	StateEnabled    = "enabled"
	StateDisabled   = "disabled"
	StateReportOnly = "enabledForReportingButNotEnforced"
)

// ConditionalAccessPolicy is a Conditional Access policy. A policy targets
// either users (Conditions.Users) or workload identities
// (Conditions.ClientApplications).
type ConditionalAccessPolicy struct {
	ID               string             `json:"id"`
	DisplayName      string             `json:"displayName,omitempty"`
	State            string             `json:"state,omitempty"`
	CreatedDateTime  Time               `json:"createdDateTime,omitzero"`
	ModifiedDateTime Time               `json:"modifiedDateTime,omitzero"`
	Conditions       *CAConditions      `json:"conditions,omitempty"`
	GrantControls    *CAGrantControls   `json:"grantControls,omitempty"`
	SessionControls  *CASessionControls `json:"sessionControls,omitempty"`

	Meta
}

// CAConditions are a policy's conditions.
type CAConditions struct {
	Users                      *CAUsers               `json:"users,omitempty"`
	Applications               *CAApplications        `json:"applications,omitempty"`
	ClientApplications         *CAClientApplications  `json:"clientApplications,omitempty"`
	ClientAppTypes             []string               `json:"clientAppTypes,omitempty"`
	Platforms                  *CAPlatforms           `json:"platforms,omitempty"`
	Locations                  *CALocations           `json:"locations,omitempty"`
	Devices                    *CADevices             `json:"devices,omitempty"`
	SignInRiskLevels           []string               `json:"signInRiskLevels,omitempty"`
	UserRiskLevels             []string               `json:"userRiskLevels,omitempty"`
	ServicePrincipalRiskLevels []string               `json:"servicePrincipalRiskLevels,omitempty"`
	InsiderRiskLevels          CommaList              `json:"insiderRiskLevels,omitempty"`
	AuthenticationFlows        *CAAuthenticationFlows `json:"authenticationFlows,omitempty"`
}

// CAUsers is the users condition. Include/exclude lists hold object ids or the
// keywords All, None and GuestsOrExternalUsers; roles are role template ids.
type CAUsers struct {
	IncludeUsers                 []string  `json:"includeUsers,omitempty"`
	ExcludeUsers                 []string  `json:"excludeUsers,omitempty"`
	IncludeGroups                []string  `json:"includeGroups,omitempty"`
	ExcludeGroups                []string  `json:"excludeGroups,omitempty"`
	IncludeRoles                 []string  `json:"includeRoles,omitempty"`
	ExcludeRoles                 []string  `json:"excludeRoles,omitempty"`
	IncludeGuestsOrExternalUsers *CAGuests `json:"includeGuestsOrExternalUsers,omitempty"`
	ExcludeGuestsOrExternalUsers *CAGuests `json:"excludeGuestsOrExternalUsers,omitempty"`
}

// CAGuests selects guest and external user types.
type CAGuests struct {
	GuestOrExternalUserTypes CommaList          `json:"guestOrExternalUserTypes,omitempty"`
	ExternalTenants          *CAExternalTenants `json:"externalTenants,omitempty"`
}

// CAExternalTenants narrows guests to some home tenants (membershipKind all | enumerated).
type CAExternalTenants struct {
	ODataType      string   `json:"@odata.type,omitempty"`
	MembershipKind string   `json:"membershipKind,omitempty"`
	Members        []string `json:"members,omitempty"`
}

// CAApplications is the target resources condition. includeApplications holds
// appIds or the keywords All, None, Office365, MicrosoftAdminPortals.
type CAApplications struct {
	IncludeApplications                         []string  `json:"includeApplications,omitempty"`
	ExcludeApplications                         []string  `json:"excludeApplications,omitempty"`
	IncludeUserActions                          []string  `json:"includeUserActions,omitempty"`
	IncludeAuthenticationContextClassReferences []string  `json:"includeAuthenticationContextClassReferences,omitempty"`
	ApplicationFilter                           *CAFilter `json:"applicationFilter,omitempty"`
}

// CAClientApplications is the workload identities condition: service principal
// object ids or ServicePrincipalsInMyTenant.
type CAClientApplications struct {
	IncludeServicePrincipals []string  `json:"includeServicePrincipals,omitempty"`
	ExcludeServicePrincipals []string  `json:"excludeServicePrincipals,omitempty"`
	ServicePrincipalFilter   *CAFilter `json:"servicePrincipalFilter,omitempty"`
}

// CAFilter is a rule-based filter (devices, applications, service principals).
type CAFilter struct {
	Mode string `json:"mode,omitempty"` // include | exclude
	Rule string `json:"rule,omitempty"`
}

// CAPlatforms is the device platforms condition.
type CAPlatforms struct {
	IncludePlatforms []string `json:"includePlatforms,omitempty"`
	ExcludePlatforms []string `json:"excludePlatforms,omitempty"`
}

// CALocations is the locations condition: All, AllTrusted or named location ids.
type CALocations struct {
	IncludeLocations []string `json:"includeLocations,omitempty"`
	ExcludeLocations []string `json:"excludeLocations,omitempty"`
}

// CADevices is the devices condition.
type CADevices struct {
	DeviceFilter *CAFilter `json:"deviceFilter,omitempty"`
}

// CAAuthenticationFlows is the authentication flows condition (device code, transfer).
type CAAuthenticationFlows struct {
	TransferMethods CommaList `json:"transferMethods,omitempty"`
}

// CAGrantControls is what a policy demands. Operator AND: all controls; OR: any one.
type CAGrantControls struct {
	Operator                    string                  `json:"operator,omitempty"`
	BuiltInControls             []string                `json:"builtInControls,omitempty"`
	CustomAuthenticationFactors []string                `json:"customAuthenticationFactors,omitempty"`
	TermsOfUse                  []string                `json:"termsOfUse,omitempty"`
	AuthenticationStrength      *AuthenticationStrength `json:"authenticationStrength,omitempty"`
}

// AuthenticationStrength is an authentication strength policy used as a grant.
type AuthenticationStrength struct {
	ID                  string   `json:"id,omitempty"`
	DisplayName         string   `json:"displayName,omitempty"`
	AllowedCombinations []string `json:"allowedCombinations,omitempty"`
}

// CASessionControls are a policy's session controls.
type CASessionControls struct {
	SignInFrequency           *SignInFrequency   `json:"signInFrequency,omitempty"`
	PersistentBrowser         *PersistentBrowser `json:"persistentBrowser,omitempty"`
	DisableResilienceDefaults *bool              `json:"disableResilienceDefaults,omitempty"`
}

// SignInFrequency forces re-authentication after an interval, or every time.
type SignInFrequency struct {
	IsEnabled          *bool  `json:"isEnabled,omitempty"`
	Type               string `json:"type,omitempty"` // days | hours
	Value              *int   `json:"value,omitempty"`
	AuthenticationType string `json:"authenticationType,omitempty"`
	FrequencyInterval  string `json:"frequencyInterval,omitempty"` // timeBased | everyTime
}

// PersistentBrowser controls persistent browser sessions.
type PersistentBrowser struct {
	IsEnabled *bool  `json:"isEnabled,omitempty"`
	Mode      string `json:"mode,omitempty"` // always | never
}

func (p *ConditionalAccessPolicy) normalize() {
	p.ID = ID(p.ID)
	c := p.Conditions
	if c == nil {
		return
	}
	if u := c.Users; u != nil {
		for _, l := range [][]string{u.IncludeUsers, u.ExcludeUsers, u.IncludeGroups, u.ExcludeGroups, u.IncludeRoles, u.ExcludeRoles} {
			IDs(l)
		}
	}
	if a := c.Applications; a != nil {
		IDs(a.IncludeApplications)
		IDs(a.ExcludeApplications)
	}
	if ca := c.ClientApplications; ca != nil {
		IDs(ca.IncludeServicePrincipals)
		IDs(ca.ExcludeServicePrincipals)
	}
	if l := c.Locations; l != nil {
		IDs(l.IncludeLocations)
		IDs(l.ExcludeLocations)
	}
}

// setRaw keeps the policy's JSON with its keys in Graph's camelCase, so a
// PowerShell export and the same policy read from Graph store alike.
func (p *ConditionalAccessPolicy) setRaw(b json.RawMessage) { p.Raw = CamelKeys(b) }

// CamelKeys rewrites every object key of a JSON document whose first letter is
// upper-case to start lower-case ("Conditions" → "conditions"), leaving values
// and "@odata" annotations alone. Invalid JSON is returned as is.
func CamelKeys(b []byte) []byte {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep numbers exactly as written
	if err := d.Decode(&v); err != nil {
		return b
	}
	changed := false
	v = camelKeys(v, &changed)
	if !changed {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

func camelKeys(v any, changed *bool) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			r, size := utf8.DecodeRuneInString(k)
			if unicode.IsUpper(r) {
				k = string(unicode.ToLower(r)) + k[size:]
				*changed = true
			}
			m[k] = camelKeys(val, changed)
		}
		return m
	case []any:
		for i := range t {
			t[i] = camelKeys(t[i], changed)
		}
		return t
	}
	return v
}

// NamedLocation is an IP-range or country named location.
type NamedLocation struct {
	ODataType                         string    `json:"@odata.type,omitempty"`
	ID                                string    `json:"id"`
	DisplayName                       string    `json:"displayName,omitempty"`
	CreatedDateTime                   Time      `json:"createdDateTime,omitzero"`
	ModifiedDateTime                  Time      `json:"modifiedDateTime,omitzero"`
	IsTrusted                         *bool     `json:"isTrusted,omitempty"`
	IPRanges                          []IPRange `json:"ipRanges,omitempty"`
	CountriesAndRegions               []string  `json:"countriesAndRegions,omitempty"`
	IncludeUnknownCountriesAndRegions *bool     `json:"includeUnknownCountriesAndRegions,omitempty"`
	CountryLookupMethod               string    `json:"countryLookupMethod,omitempty"`

	Meta
}

// IPRange is one CIDR range of an IP named location.
type IPRange struct {
	ODataType   string `json:"@odata.type,omitempty"`
	CIDRAddress string `json:"cidrAddress"`
}

// Kind returns "ip", "country" or "" for a location of another type.
func (l *NamedLocation) Kind() string {
	switch l.ODataType {
	case "#microsoft.graph.ipNamedLocation":
		return "ip"
	case "#microsoft.graph.countryNamedLocation":
		return "country"
	}
	switch {
	case len(l.IPRanges) > 0:
		return "ip"
	case len(l.CountriesAndRegions) > 0:
		return "country"
	}
	return ""
}

// Trusted reports whether the location is marked trusted (only IP locations can be).
func (l *NamedLocation) Trusted() bool { return l.IsTrusted != nil && *l.IsTrusted }

func (l *NamedLocation) normalize() { l.ID = ID(l.ID) }
