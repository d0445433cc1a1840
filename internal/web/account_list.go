package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web/view"
)

// The accounts list's query string, shared by the page and the API:
//
//	kind=user|servicePrincipal|managedIdentity (repeatable)
//	sa=confirmed|likely|possible|no (repeatable; absent: likely and confirmed; sa=any: all)
//	exposure=exposed|partial|protected|notApplicable (repeatable)
//	finding=CODE  privileged=yes|no  flows=yes|no  q=TEXT
//	sort=exposure|name|score  limit=1..200  after=CURSOR  tenant=ID
//
// Empty values are ignored (the form's "any" choices); any other value
// not listed is a 400. A text search (q) that matches more than
// store.AccountSearchCountLimit accounts lists them without counting them.

// accountList is the accounts page.
func (h *handler) accountList(w http.ResponseWriter, r *http.Request) error {
	p, err := parseAccountListQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page := view.Page{Title: "Accounts", Nav: "accounts", Styles: []string{"accounts.css"}, Demo: h.demo}
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if !ok {
		return render(w, r, http.StatusOK, view.AccountListPage(page, view.AccountList{NoTenant: true}))
	}
	name := cmp.Or(t.DisplayName, t.ID)
	list, err := h.db.AccountList(r.Context(), t.ID, p.filter)
	if derr.Code(err) == derr.ENOTFOUND {
		return render(w, r, http.StatusOK, view.AccountListPage(page, view.AccountList{NotEvaluated: true, TenantName: name}))
	}
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, view.AccountListPage(page, newAccountListView(t.ID, name, p, list)))
}

// apiAccountList is the accounts list as JSON, with the page's filters.
func (h *handler) apiAccountList(w http.ResponseWriter, r *http.Request) error {
	p, err := parseAccountListQuery(r.URL.Query())
	if err != nil {
		return err
	}
	out := accountListJSON{Total: new(int), Accounts: []accountListItemJSON{}, Facets: newAccountFacetsJSON(store.AccountFacets{})}
	t, _, ok, err := h.tenantOf(r)
	if err != nil {
		return err
	}
	if !ok { // nothing synced yet: nothing to list
		return writeJSON(w, http.StatusOK, out)
	}
	out.Tenant = &t.ID
	list, err := h.db.AccountList(r.Context(), t.ID, p.filter)
	if derr.Code(err) == derr.ENOTFOUND { // not evaluated yet: nothing to list
		return writeJSON(w, http.StatusOK, out)
	}
	if err != nil {
		return err
	}
	out.EvaluatedAt = &list.EvaluatedAt
	for _, a := range list.Accounts {
		item := accountListItemJSON{ID: a.ID, UPN: a.UPN, DisplayName: a.DisplayName, Kind: a.Kind, Enabled: a.Enabled,
			Exposure: a.Exposure, Workload: a.Workload, Privileged: a.Privileged, Findings: a.Findings}
		item.ServiceAccount.Level, item.ServiceAccount.Score = a.Level, a.Score
		out.Accounts = append(out.Accounts, item)
	}
	if list.Next != nil {
		next := list.Next.String()
		out.Next = &next
	}
	if list.SearchOver > 0 {
		out.Total, out.Facets, out.SearchMatchesMoreThan = nil, nil, list.SearchOver
	} else {
		out.Total, out.Facets = &list.Total, newAccountFacetsJSON(list.Facets)
	}
	return writeJSON(w, http.StatusOK, out)
}

// accountListJSON is the API's answer.
type accountListJSON struct {
	Tenant      *string    `json:"tenant"`
	EvaluatedAt *time.Time `json:"evaluatedAt"`
	// Total counts the accounts the filters select, on every page; null,
	// like facets, when the text search matches more accounts than
	// searchMatchesMoreThan, which are then not counted.
	Total                 *int                  `json:"total"`
	SearchMatchesMoreThan int                   `json:"searchMatchesMoreThan,omitempty"`
	Accounts              []accountListItemJSON `json:"accounts"`
	Next                  *string               `json:"next"` // the after= of the next page; null on the last
	Facets                *accountFacetsJSON    `json:"facets"`
}

type accountListItemJSON struct {
	ID             string `json:"id"`
	UPN            string `json:"upn"`
	DisplayName    string `json:"displayName"`
	Kind           string `json:"kind"`
	Enabled        bool   `json:"enabled"`
	Exposure       string `json:"exposure"`
	Workload       string `json:"workload,omitempty"`
	ServiceAccount struct {
		Level string `json:"level"`
		Score int    `json:"score"`
	} `json:"serviceAccount"`
	Privileged []string `json:"privileged"`
	Findings   []string `json:"findings"`
}

// accountFacetsJSON counts, for every value of every filter, the accounts
// it would select, the other filters applied. Each filter's values are
// keyed as the query string spells them (serviceAccount is sa=, ownsFlows
// is flows=).
type accountFacetsJSON struct {
	Kind           map[string]int `json:"kind"`
	ServiceAccount map[string]int `json:"serviceAccount"`
	Exposure       map[string]int `json:"exposure"`
	Finding        map[string]int `json:"finding"`
	Privileged     map[string]int `json:"privileged"`
	OwnsFlows      map[string]int `json:"ownsFlows"`
}

// newAccountFacetsJSON lists every value, zero counts included.
func newAccountFacetsJSON(f store.AccountFacets) *accountFacetsJSON {
	all := func(values []string, counts map[string]int) map[string]int {
		m := make(map[string]int, len(values))
		for _, v := range values {
			m[v] = counts[v]
		}
		return m
	}
	return &accountFacetsJSON{
		Kind:           all(accountKinds, f.Kind),
		ServiceAccount: all(accountLevels, f.Level),
		Exposure:       all(accountExposures, f.Exposure),
		Finding:        all(exposure.Codes, f.Finding),
		Privileged:     map[string]int{"yes": f.Privileged.Yes, "no": f.Privileged.No},
		OwnsFlows:      map[string]int{"yes": f.OwnsFlows.Yes, "no": f.OwnsFlows.No},
	}
}

// The values of the list's filters, in the order the form shows them.
var (
	accountKinds     = []string{string(exposure.KindUser), string(exposure.KindServicePrincipal), string(exposure.KindManagedIdentity)}
	accountLevels    = []string{string(exposure.ServiceConfirmed), string(exposure.ServiceLikely), string(exposure.ServicePossible), string(exposure.ServiceNo)}
	accountExposures = []string{string(exposure.LevelExposed), string(exposure.LevelPartial), string(exposure.LevelProtected), string(exposure.LevelNotApplicable)}
	accountSorts     = []string{store.AccountSortExposure, store.AccountSortName, store.AccountSortScore}
	// accountDefaultLevels is the list without an sa parameter: the
	// accounts the dashboard is about.
	accountDefaultLevels = []string{string(exposure.ServiceConfirmed), string(exposure.ServiceLikely)}
)

// accountListParams is a checked query string.
type accountListParams struct {
	filter store.AccountListFilter
	// levelDefault: no sa parameter, so filter.Levels is the default.
	levelDefault bool
}

// accountSearchMax bounds the text search (runes).
const accountSearchMax = 200

// parseAccountListQuery checks the query string; a value it does not know
// is EINVALID, with a message that says what is allowed.
func parseAccountListQuery(q url.Values) (p accountListParams, err error) {
	f := &p.filter
	if f.Kinds, err = accountListValues(q, "kind", "kind", accountKinds); err != nil {
		return p, err
	}
	if f.Exposures, err = accountListValues(q, "exposure", "exposure level", accountExposures); err != nil {
		return p, err
	}
	levels := accountListNonEmpty(q, "sa")
	switch {
	case len(levels) == 0:
		f.Levels, p.levelDefault = accountDefaultLevels, true
	case slices.Contains(levels, "any"):
		if len(levels) > 1 {
			return p, derr.Errorf(derr.EINVALID, "sa=any selects every service-account level: give it alone.")
		}
	default:
		if f.Levels, err = accountListValues(q, "sa", "service-account level", accountLevels); err != nil {
			return p, err
		}
	}
	if v, err := accountListOne(q, "finding", "finding code", exposure.Codes); err != nil {
		return p, err
	} else if v != "" {
		f.Finding = &v
	}
	if f.Privileged, err = accountListFlag(q, "privileged"); err != nil {
		return p, err
	}
	if f.OwnsFlows, err = accountListFlag(q, "flows"); err != nil {
		return p, err
	}
	if s, err := accountListOne(q, "q", "", nil); err != nil {
		return p, err
	} else if s = strings.TrimSpace(s); s != "" {
		if utf8.RuneCountInString(s) > accountSearchMax || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return p, derr.Errorf(derr.EINVALID, "The text search (q) must be one line of at most %d characters.", accountSearchMax)
		}
		f.Search = &s
	}
	if f.Sort, err = accountListOne(q, "sort", "sort order", accountSorts); err != nil {
		return p, err
	}
	if s, err := accountListOne(q, "limit", "", nil); err != nil {
		return p, err
	} else if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.AccountListMaxLimit {
			return p, derr.Errorf(derr.EINVALID, "The page size (limit) must be a number from 1 to %d.", store.AccountListMaxLimit)
		}
		f.Limit = n
	}
	if s, err := accountListOne(q, "after", "", nil); err != nil {
		return p, err
	} else if s != "" {
		c, err := store.ParseAccountCursor(s)
		if err != nil {
			return p, err
		}
		if c.Sort != cmp.Or(f.Sort, store.AccountSortExposure) {
			return p, derr.Errorf(derr.EINVALID, "The page position (after) belongs to another sort order: start again from the first page.")
		}
		f.After = &c
	}
	return p, nil
}

// accountListNonEmpty returns a parameter's non-empty values.
func accountListNonEmpty(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// accountListValues returns a repeatable parameter's values, each one of
// allowed; nil when absent or when every allowed value is given.
func accountListValues(q url.Values, name, what string, allowed []string) ([]string, error) {
	vs := accountListNonEmpty(q, name)
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			return nil, derr.Errorf(derr.EINVALID, "Unknown %s %q (%s=): use %s.", what, v, name, strings.Join(allowed, ", "))
		}
	}
	if len(vs) == 0 || len(vs) == len(allowed) {
		return nil, nil
	}
	return vs, nil
}

// accountListOne returns a single-valued parameter ("" when absent), one of
// allowed unless allowed is nil.
func accountListOne(q url.Values, name, what string, allowed []string) (string, error) {
	vs := accountListNonEmpty(q, name)
	if len(vs) == 0 {
		return "", nil
	}
	if len(vs) > 1 {
		return "", derr.Errorf(derr.EINVALID, "Give %s= once.", name)
	}
	if allowed != nil && !slices.Contains(allowed, vs[0]) {
		return "", derr.Errorf(derr.EINVALID, "Unknown %s %q (%s=): use %s.", what, vs[0], name, strings.Join(allowed, ", "))
	}
	return vs[0], nil
}

// accountListFlag reads a yes/no parameter.
func accountListFlag(q url.Values, name string) (*bool, error) {
	v, err := accountListOne(q, name, "value", []string{"yes", "no"})
	if err != nil || v == "" {
		return nil, err
	}
	b := v == "yes"
	return &b, nil
}

// query is the canonical query string of the list with these filters (and
// a page position), for links.
func (p accountListParams) query(tenant string, after *store.AccountCursor) string {
	f := p.filter
	v := url.Values{"tenant": {tenant}}
	if f.Search != nil {
		v.Set("q", *f.Search)
	}
	if f.Kinds != nil {
		v["kind"] = f.Kinds
	}
	switch {
	case f.Levels == nil:
		v.Set("sa", "any")
	case !p.levelDefault:
		v["sa"] = f.Levels
	}
	if f.Exposures != nil {
		v["exposure"] = f.Exposures
	}
	if f.Finding != nil {
		v.Set("finding", *f.Finding)
	}
	for name, b := range map[string]*bool{"privileged": f.Privileged, "flows": f.OwnsFlows} {
		if b != nil {
			v.Set(name, map[bool]string{true: "yes", false: "no"}[*b])
		}
	}
	if f.Sort != "" && f.Sort != store.AccountSortExposure {
		v.Set("sort", f.Sort)
	}
	if f.Limit != 0 && f.Limit != store.AccountListDefaultLimit {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	if after != nil {
		v.Set("after", after.String())
	}
	return v.Encode()
}

// Words for the values of the list.
var (
	accountKindText = map[string]string{
		string(exposure.KindUser): "User", string(exposure.KindServicePrincipal): "Service principal",
		string(exposure.KindManagedIdentity): "Managed identity",
	}
	accountLevelText = map[string]string{
		string(exposure.ServiceConfirmed): "Confirmed", string(exposure.ServiceLikely): "Likely",
		string(exposure.ServicePossible): "Possible", string(exposure.ServiceNo): "No",
	}
	accountExposureText = map[string]string{
		string(exposure.LevelExposed): "Exposed", string(exposure.LevelPartial): "Partial",
		string(exposure.LevelProtected): "Protected", string(exposure.LevelNotApplicable): "Not applicable",
	}
	accountWorkloadText = map[string]string{
		string(exposure.WorkloadLocationRestricted): "location-restricted",
		string(exposure.WorkloadUnrestricted):       "unrestricted",
		string(exposure.WorkloadNotApplicable):      "not applicable",
	}
	accountSortText = map[string]string{
		store.AccountSortExposure: "Exposure (exposed first)", store.AccountSortName: "Name",
		store.AccountSortScore: "Service-account score",
	}
	// accountFindingText is each finding code as a short label.
	accountFindingText = map[string]string{
		exposure.CodeNoMFAPolicy:                  "No MFA policy",
		exposure.CodeExcludedFromMFA:              "Excluded from MFA",
		exposure.CodeAppExclusion:                 "App exclusion",
		exposure.CodeReportOnlyOnly:               "Report-only policies only",
		exposure.CodeConditionalOnly:              "MFA only under conditions",
		exposure.CodeTermsOfUse:                   "Terms of use",
		exposure.CodeSignInFrequency:              "Sign-in frequency",
		exposure.CodeMandatoryMFA:                 "Mandatory MFA applies",
		exposure.CodePrivilegedUserServiceAccount: "Privileged user account",
		exposure.CodeMFANotRegistered:             "MFA not registered",
		exposure.CodeDormant:                      "Dormant",
		exposure.CodeMFAFailures:                  "MFA failures",
		exposure.CodeConnectionError:              "Connection error",
		exposure.CodeShouldMigrate:                "Should migrate",
		exposure.CodeSecretLongLived:              "Long-lived secret",
		exposure.CodeSecretExpired:                "Secret expired",
		exposure.CodeSecretExpiring:               "Secret expiring",
		exposure.CodeNoOwner:                      "No owner",
		exposure.CodeHighPrivilege:                "High privilege",
		exposure.CodeNoWorkloadPolicy:             "No workload policy",
		exposure.CodeUnknownReference:             "Unknown reference",
	}
)

// newAccountListView builds the page model.
func newAccountListView(tenant, name string, p accountListParams, l store.AccountList) view.AccountList {
	f := p.filter
	base := "/accounts?"
	counted := l.SearchOver == 0
	m := view.AccountList{
		TenantName:  name,
		EvaluatedAt: l.EvaluatedAt.UTC().Format("2006-01-02 15:04 UTC"),
		Total:       l.Total,
		SearchOver:  l.SearchOver,
		ClearHref:   base + url.Values{"tenant": {tenant}, "sa": {"any"}}.Encode(),
		APIHref:     "/api/v1/accounts?" + p.query(tenant, f.After),
	}
	if f.After != nil {
		m.FirstHref = base + p.query(tenant, nil)
	}
	if l.Next != nil {
		m.NextHref = base + p.query(tenant, l.Next)
	}

	checks := func(values []string, text map[string]string, counts map[string]int, selected []string) []view.AccountListChoice {
		out := make([]view.AccountListChoice, len(values))
		for i, v := range values {
			out[i] = view.AccountListChoice{Value: v, Label: text[v], Count: counts[v], ShowCount: counted,
				Selected: slices.Contains(selected, v)}
		}
		return out
	}
	flag := func(b *bool, c store.AccountFlagCount, yes, no string) []view.AccountListChoice {
		return []view.AccountListChoice{
			{Value: "", Label: "Any", Selected: b == nil},
			{Value: "yes", Label: yes, Count: c.Yes, ShowCount: counted, Selected: b != nil && *b},
			{Value: "no", Label: no, Count: c.No, ShowCount: counted, Selected: b != nil && !*b},
		}
	}
	levels := f.Levels
	if levels == nil { // any level: every box ticked (none ticked is the default)
		levels = accountLevels
	}
	form := view.AccountListForm{
		Tenant:     tenant,
		Kinds:      checks(accountKinds, accountKindText, l.Facets.Kind, f.Kinds),
		Levels:     checks(accountLevels, accountLevelText, l.Facets.Level, levels),
		Exposures:  checks(accountExposures, accountExposureText, l.Facets.Exposure, f.Exposures),
		Privileged: flag(f.Privileged, l.Facets.Privileged, "Holds admin roles", "No admin role"),
		OwnsFlows:  flag(f.OwnsFlows, l.Facets.OwnsFlows, "Owns flows or connections", "Owns none"),
		ResetHref:  base + url.Values{"tenant": {tenant}}.Encode(),
	}
	if f.Search != nil {
		form.Search = *f.Search
	}
	if f.Limit != 0 && f.Limit != store.AccountListDefaultLimit {
		form.Limit = strconv.Itoa(f.Limit)
	}
	form.Findings = []view.AccountListChoice{{Value: "", Label: "Any", Selected: f.Finding == nil}}
	for _, code := range exposure.Codes {
		form.Findings = append(form.Findings, view.AccountListChoice{Value: code, Label: accountFindingText[code],
			Count: l.Facets.Finding[code], ShowCount: counted, Selected: f.Finding != nil && *f.Finding == code})
	}
	for _, s := range accountSorts {
		form.Sorts = append(form.Sorts, view.AccountListChoice{Value: s, Label: accountSortText[s],
			Selected: s == cmp.Or(f.Sort, store.AccountSortExposure)})
	}
	m.Form = form

	q := "?tenant=" + url.QueryEscape(tenant)
	for _, a := range l.Accounts {
		row := view.AccountListRow{
			Href:          "/accounts/" + url.PathEscape(a.ID) + q,
			Name:          cmp.Or(a.DisplayName, a.UPN, a.ID),
			UPN:           a.UPN,
			UPNLabel:      "UPN",
			Kind:          cmp.Or(accountKindText[a.Kind], a.Kind),
			Disabled:      !a.Enabled,
			Level:         cmp.Or(accountLevelText[a.Level], a.Level),
			Exposure:      cmp.Or(accountExposureText[a.Exposure], a.Exposure),
			ExposureClass: "exposure-" + strings.ToLower(a.Exposure),
			Workload:      accountWorkloadText[a.Workload],
			Privileged:    a.Privileged,
		}
		if a.Kind == string(exposure.KindUser) {
			row.Score = strconv.Itoa(a.Score)
		} else {
			row.UPNLabel = "App ID"
		}
		for _, code := range a.Findings {
			row.Findings = append(row.Findings, view.AccountListFinding{Code: code, Label: cmp.Or(accountFindingText[code], code)})
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}
