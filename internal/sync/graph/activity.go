package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// registrations lists every user's MFA registration details. Full runs
// only: there is no delta API, and listing it costs as much as the users.
func (r *run) registrations(ctx context.Context) ([]stsync.Outcome, error) {
	top := int32(r.s.cfg.PageSize)
	info, err := r.s.client.Reports().AuthenticationMethods().UserRegistrationDetails().ToGetRequestInformation(ctx,
		&reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{
			QueryParameters: &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{Top: &top}})
	if err != nil {
		return nil, err
	}
	out, err := listAll[directory.RegistrationDetail](ctx, r, directory.RegistrationDetails, info,
		costOf("reports/authenticationMethods/userRegistrationDetails", false, false))
	if err != nil {
		return nil, err
	}
	return []stsync.Outcome{out}, nil
}

// signIns lists the sign-in log since Request.SignInsSince (or the last
// SignInDays days) from beta, which alone reports non-interactive sign-ins:
// one listing for interactiveUser, one for nonInteractiveUser, de-duplicated
// by id. The log is paced at 5 requests per 10 s. The outcome is never
// Complete: a window of a log is not the whole log, and older sign-ins stay
// stored.
func (r *run) signIns(ctx context.Context) ([]stsync.Outcome, error) {
	since := r.req.SignInsSince
	if since.IsZero() {
		since = time.Now().AddDate(0, 0, -r.s.cfg.SignInDays)
	}
	filter := "createdDateTime ge " + since.UTC().Format("2006-01-02T15:04:05Z")
	top := int32(r.s.cfg.SignInsPageSize)
	sink := r.sink(directory.SignIns)
	seen := map[string]bool{}
	// Each kind by name: the two listings do not overlap, so no page is
	// fetched twice under the 5-per-10-s budget (unfiltered, beta's answer
	// depends on the tenant's defaults).
	for _, f := range []string{filter + " and signInEventTypes/any(t: t eq 'interactiveUser')",
		filter + " and signInEventTypes/any(t: t eq 'nonInteractiveUser')"} {
		info, err := r.s.client.AuditLogs().SignIns().ToGetRequestInformation(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
			QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &f, Top: &top}})
		if err == nil {
			err = r.toBeta(info)
		}
		if err != nil {
			return nil, err
		}
		_, err = r.walk(ctx, directory.SignIns, info, cost{class: classSignIns, units: 1}, func(items []json.RawMessage, desc string) error {
			for _, raw := range items {
				id, _, err := itemHead(raw)
				if err != nil {
					return objectError(directory.SignIns, desc, err)
				}
				if seen[id] {
					continue
				}
				seen[id] = true
				if err := decodePut[directory.SignIn](sink, directory.SignIns, desc, raw); err != nil {
					return err
				}
			}
			return nil
		})
		if isDenied(err) {
			return []stsync.Outcome{r.notCaptured(directory.SignIns, err)}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return []stsync.Outcome{{Collection: directory.SignIns}}, nil
}

// servicePrincipalSignInActivities lists the beta report of service
// principals' last sign-ins. Full runs only, like registrations. The v1.0
// SDK has no builder for it: the request is built by hand and still goes
// through the SDK's pipeline.
func (r *run) servicePrincipalSignInActivities(ctx context.Context) ([]stsync.Outcome, error) {
	info, err := linkRequest(fmt.Sprintf("%s/reports/servicePrincipalSignInActivities?%s=%d", r.s.ep.beta, url.QueryEscape("$top"), r.s.cfg.PageSize))
	if err != nil {
		return nil, err
	}
	out, err := listAll[directory.ServicePrincipalSignInActivity](ctx, r, directory.ServicePrincipalSignInActivities, info,
		costOf("reports/servicePrincipalSignInActivities", false, false))
	if err != nil {
		return nil, err
	}
	return []stsync.Outcome{out}, nil
}

// toBeta points a request built by a v1.0 builder at beta: the path is
// the same there.
func (r *run) toBeta(info *absRequest) error {
	u, err := info.GetUri()
	if err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(u.String(), r.s.ep.v1)
	if !ok {
		return fmt.Errorf("graph: request %s is not under %s", u, r.s.ep.v1)
	}
	beta, err := url.Parse(r.s.ep.beta + rest)
	if err != nil {
		return err
	}
	info.SetUri(*beta)
	return nil
}
