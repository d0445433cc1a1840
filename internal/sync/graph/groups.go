package graph

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// groupFields are the group properties Steward reads, and members: with it
// groups/delta reports direct memberships in members@delta, which makes one
// walk list the groups and all their members. Membership dominates the sync
// cost of a large tenant (GRAPH.md §2): per-group /members calls would cost
// 3 resource units for each of thousands of groups.
var groupFields = []string{"id", "displayName", "description", "securityEnabled", "mailEnabled", "groupTypes",
	"isAssignableToRole", "membershipRule", "members"}

// memberAnnotation is where groups/delta reports membership.
const memberAnnotation = "members@delta"

// groups fetches groups and their direct members with groups/delta. A full
// run is a first delta round: every group, every member, and the delta link.
// A delta run stages the changed groups, the members added (as a
// GroupMembership holding the additions) and the removed membership edges
// (Remove("<group>/<member>") on groupMembers, which the store reads as an
// edge key); a removed group also has its edges scoped away.
func (r *run) groups(ctx context.Context) ([]stsync.Outcome, error) {
	groupSink, memberSink := r.sink(directory.Groups), r.sink(directory.GroupMembers)
	// Graph may report one group several times in a round (its members split
	// across pages), so memberships are gathered and staged at the end.
	var order []string
	added := map[string][]json.RawMessage{}
	put := map[string]bool{}
	reset := func() { order, added, put = nil, map[string][]json.RawMessage{}, map[string]bool{} }

	onItem := func(raw []byte, desc string) error {
		var h struct {
			ID      string            `json:"id"`
			Members []json.RawMessage `json:"members@delta"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return objectError(directory.Groups, desc, err)
		}
		id := directory.ID(h.ID)
		if _, seen := added[id]; !seen {
			order = append(order, id)
			added[id] = nil
		}
		for _, m := range h.Members {
			mid, removed, err := itemHead(m)
			if err != nil {
				return objectError(directory.GroupMembers, desc, err)
			}
			if removed {
				if err := memberSink.Remove(id + "/" + mid); err != nil {
					return err
				}
				continue
			}
			added[id] = append(added[id], m)
		}
		if put[id] {
			return nil
		}
		obj, err := rebuild(raw, []string{memberAnnotation})
		if err != nil {
			return objectError(directory.Groups, desc, err)
		}
		// A group reported only for its membership may carry nothing but its
		// id: staging it would blank the stored one.
		if !hasProperties(obj) {
			return nil
		}
		put[id] = true
		return decodePut[directory.Group](groupSink, directory.Groups, desc, obj)
	}
	onRemoved := func(id string) error {
		if err := groupSink.Remove(id); err != nil {
			return err
		}
		return r.scope(directory.GroupMembers, id)
	}
	first := func() (*absRequest, error) {
		return r.s.client.Groups().Delta().ToGetRequestInformation(ctx, &groups.DeltaRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.DeltaRequestBuilderGetQueryParameters{Select: groupFields}})
	}
	round, err := r.runDelta(ctx, directory.Groups, first, onItem, onRemoved, reset)
	if isDenied(err) {
		return []stsync.Outcome{r.notCaptured(directory.Groups, err), r.notCaptured(directory.GroupMembers, err)}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, id := range order {
		if len(added[id]) == 0 {
			continue
		}
		if err := putMembership(memberSink, id, added[id]); err != nil {
			return nil, err
		}
	}
	return []stsync.Outcome{
		{Collection: directory.Groups, Complete: round.full, DeltaLink: round.link},
		{Collection: directory.GroupMembers, Complete: round.full},
	}, nil
}

// putMembership stages a group's members as SNAPSHOT.md writes them:
// {"groupId":…,"members":[{"@odata.type":…,"id":…},…]}, each member as Graph
// sent it.
func putMembership(sink stsync.Sink, groupID string, members []json.RawMessage) error {
	raw, err := json.Marshal(struct {
		GroupID string            `json:"groupId"`
		Members []json.RawMessage `json:"members"`
	}{groupID, members})
	if err != nil {
		return err
	}
	return decodePut[directory.GroupMembership](sink, directory.GroupMembers, "groups/delta members", raw)
}

// hasProperties reports whether an object carries more than its identity.
func hasProperties(raw []byte) bool {
	ms, err := members(raw)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(ms, func(m member) bool {
		return m.name != "id" && m.name != "@odata.type" && m.name != "@odata.id"
	})
}
