package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// userFields are the user properties Steward reads (SNAPSHOT.md). Graph
// returns only a small default set without $select.
var userFields = []string{"id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType",
	"onPremisesSyncEnabled", "createdDateTime", "passwordPolicies", "lastPasswordChangeDateTime", "assignedLicenses",
	"employeeType", "externalUserState", "department", "jobTitle"}

// signInActivity needs AuditLog.Read.All and Entra ID P1/P2 on top of
// User.Read.All; without them Graph refuses the whole request.
const signInActivity = "signInActivity"

const signInActivityDenied = "signInActivity not captured (it needs AuditLog.Read.All and Entra ID P1/P2): "

// users fetches users. A full run lists /users with signInActivity (which
// users/delta may not return: GRAPH.md §1) and takes its delta link with
// $deltatoken=latest ("sync from now": one request, no objects) just before
// the listing, so that the link covers every change made after the listing
// began (a change seen twice is harmless, one missed is not). A delta run
// reads what changed from the link, then re-reads the changed users by id
// with signInActivity through $batch, so that a delta never overwrites a
// stored user with one lacking it. Sign-in activity of unchanged users is
// refreshed by the next full run.
func (r *run) users(ctx context.Context) ([]stsync.Outcome, error) {
	if link := r.req.DeltaLinks[directory.Users]; r.delta() && link != "" {
		out, err := r.usersDelta(ctx, link)
		switch {
		case err == nil:
			return out, nil
		case isDenied(err):
			return []stsync.Outcome{r.notCaptured(directory.Users, err)}, nil
		case !isExpiredDelta(err) && !errors.Is(err, errBadLink):
			return nil, err
		}
		r.s.cfg.Log.Warn("graph: delta link unusable, listing the collection in full",
			slog.String("collection", string(directory.Users)), slog.String("error", err.Error()))
	}
	return r.usersFull(ctx)
}

// usersFull takes a fresh delta link, then lists every user.
func (r *run) usersFull(ctx context.Context) ([]stsync.Outcome, error) {
	link, err := r.latestDeltaLink(ctx)
	if err == nil {
		var out stsync.Outcome
		if out, err = r.listUsers(ctx); err == nil {
			out.DeltaLink = link
			return []stsync.Outcome{out}, nil
		}
	}
	if isDenied(err) {
		return []stsync.Outcome{r.notCaptured(directory.Users, err)}, nil
	}
	return nil, err
}

// latestDeltaLink asks users/delta for a link to the current state without
// listing anyone.
func (r *run) latestDeltaLink(ctx context.Context) (string, error) {
	info, err := r.s.client.Users().Delta().ToGetRequestInformation(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: userFields}})
	if err != nil {
		return "", err
	}
	u, err := info.GetUri()
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("$deltatoken", "latest")
	u.RawQuery = q.Encode()
	info.SetUri(*u)
	link, err := r.walk(ctx, directory.Users, info, cost{classRU, 1}, func(items []json.RawMessage, _ string) error { return nil })
	if err == nil && link == "" {
		err = &RequestError{Collection: directory.Users, Request: describe(info), Message: "users/delta?$deltatoken=latest gave no delta link"}
	}
	return link, err
}

// listUsers lists /users with signInActivity, and without it when Graph
// refuses it (no licence or no AuditLog.Read.All).
func (r *run) listUsers(ctx context.Context) (stsync.Outcome, error) {
	list := func(fields []string, top int32) error {
		info, err := r.s.client.Users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: fields, Top: &top}})
		if err != nil {
			return err
		}
		sink := r.sink(directory.Users)
		_, err = r.walk(ctx, directory.Users, info, costOf("users", true, false), func(items []json.RawMessage, desc string) error {
			for _, raw := range items {
				if err := decodePut[directory.User](sink, directory.Users, desc, raw); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	}
	out := stsync.Outcome{Collection: directory.Users, Complete: true}
	err := list(append(slices.Clone(userFields), signInActivity), int32(r.s.cfg.UsersPageSize))
	if isDenied(err) {
		out.Reason = signInActivityDenied + err.Error()
		r.s.cfg.Log.Warn("graph: "+signInActivityDenied+"listing users without it", slog.String("error", err.Error()))
		err = list(userFields, int32(r.s.cfg.PageSize))
	}
	return out, err
}

// usersDelta applies a users delta round: removals, then the changed users
// re-read with signInActivity.
func (r *run) usersDelta(ctx context.Context, link string) ([]stsync.Outcome, error) {
	info, err := linkRequest(link)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadLink, err)
	}
	sink := r.sink(directory.Users)
	var changed []string
	next, err := r.walkDelta(ctx, directory.Users, info, func(raw []byte, _ string) error {
		id, _, _ := itemHead(raw)
		changed = append(changed, id)
		return nil
	}, sink.Remove)
	if err != nil {
		return nil, err
	}
	out := stsync.Outcome{Collection: directory.Users, DeltaLink: next}
	err = r.readUsers(ctx, changed, append(slices.Clone(userFields), signInActivity))
	if isDenied(err) {
		out.Reason = signInActivityDenied + err.Error()
		err = r.readUsers(ctx, changed, userFields)
	}
	if err != nil {
		return nil, err
	}
	return []stsync.Outcome{out}, nil
}

// readUsers reads users by id through $batch and stages them. A user deleted
// since the delta round is skipped: the next round reports its removal.
func (r *run) readUsers(ctx context.Context, ids []string, fields []string) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	urls := make([]string, len(ids))
	for i, id := range ids {
		u, err := r.relative(r.s.client.Users().ByUserId(id).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: fields}}))
		if err != nil {
			return err
		}
		urls[i] = u
	}
	sink := r.sink(directory.Users)
	return r.batch(ctx, directory.Users, urls, costOf("users/{id}", true, false), func(i int, body []byte) error {
		raw, err := rebuild(body, []string{"@odata.context"})
		if err != nil {
			return objectError(directory.Users, inner(urls[i]), err)
		}
		return decodePut[directory.User](sink, directory.Users, inner(urls[i]), raw)
	})
}
