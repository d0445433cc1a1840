package emulator_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
)

// deltaRound walks a delta round and returns its items and the delta link.
func (h *harness) deltaRound(url string, header ...string) ([]map[string]any, string) {
	h.t.Helper()
	items, pages := h.walk(url, header...)
	last := pages[len(pages)-1]
	if last.DeltaLink == "" {
		h.t.Fatalf("%s: the last page has no delta link", url)
	}
	for _, p := range pages[:len(pages)-1] {
		if p.DeltaLink != "" || p.NextLink == "" {
			h.t.Fatalf("%s: an intermediate page without a next link or with a delta link", url)
		}
	}
	return items, last.DeltaLink
}

func TestDelta_users(t *testing.T) {
	h := start(t, fixture(t, 10), emulator.Options{})
	items, pages := h.walk("/v1.0/users/delta?$select=displayName,accountEnabled", "Prefer", "odata.maxpagesize=4")
	if len(items) != 10 || len(pages) != 3 {
		t.Fatalf("initial round: %d users in %d pages, want 10 in 3", len(items), len(pages))
	}
	if _, ok := items[0]["userPrincipalName"]; ok {
		t.Errorf("initial round ignores $select: %v", items[0])
	}
	deltaLink := pages[2].DeltaLink

	changed := fixture(t, 10).Users[1]
	changed.DisplayName = "Renamed"
	if _, err := h.e.Apply(emulator.Churn{
		AddUsers:    []directory.User{{ID: "99999999-0000-0000-0000-000000000001", DisplayName: "Newcomer", AccountEnabled: ptr(true)}},
		UpdateUsers: []directory.User{changed},
		DeleteUsers: []string{userID(3)},
	}); err != nil {
		t.Fatal(err)
	}
	items, next := h.deltaRound(deltaLink)
	got, _ := json.Marshal(items)
	want := `[{"accountEnabled":true,"displayName":"Renamed","id":"` + userID(2) + `"},` +
		`{"@removed":{"reason":"deleted"},"id":"` + userID(3) + `"},` +
		`{"accountEnabled":true,"displayName":"Newcomer","id":"99999999-0000-0000-0000-000000000001"}]`
	if string(got) != want {
		t.Errorf("delta after churn:\n%s\nwant\n%s", got, want)
	}
	if items, _ := h.deltaRound(next); len(items) != 0 {
		t.Errorf("delta without changes: %v", items)
	}

	// A scoping filter on ids is the only filter delta accepts.
	items, _ = h.deltaRound("/v1.0/users/delta?$filter=id eq '" + userID(4) + "'")
	if len(items) != 1 || items[0]["id"] != userID(4) {
		t.Errorf("delta with id filter: %v", items)
	}
	wantGraphError(t, h.get("/v1.0/users/delta?$filter=displayName eq 'x'", http.StatusBadRequest), "Request_UnsupportedQuery")
}

func TestDelta_groupMembers(t *testing.T) {
	h := start(t, fixture(t, 10), emulator.Options{})
	items, deltaLink := h.deltaRound("/v1.0/groups/delta?$select=displayName,members")
	if len(items) != 3 {
		t.Fatalf("initial round: %v", items)
	}
	got, _ := json.Marshal(items[0]["members@delta"])
	if want := `[{"@odata.type":"#microsoft.graph.user","id":"` + userID(1) + `"},{"@odata.type":"#microsoft.graph.user","id":"` + userID(2) +
		`"},{"@odata.type":"#microsoft.graph.user","id":"` + userID(3) + `"}]`; string(got) != want {
		t.Errorf("members@delta of the first round: %s", got)
	}

	// Move user 1 from group 1 to group 3, delete user 2 (which leaves group 1),
	// add user 5 to group 3 and take them out again (no net change).
	user5 := directory.Ref{ODataType: "#microsoft.graph.user", ID: userID(5)}
	if _, err := h.e.Apply(emulator.Churn{
		RemoveMembers: []emulator.Membership{{GroupID: groupID(1), Member: ref("user", userID(1))}},
		AddMembers:    []emulator.Membership{{GroupID: groupID(3), Member: ref("user", userID(1))}, {GroupID: groupID(3), Member: user5}},
		DeleteUsers:   []string{userID(2)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Apply(emulator.Churn{RemoveMembers: []emulator.Membership{{GroupID: groupID(3), Member: user5}}}); err != nil {
		t.Fatal(err)
	}
	items, deltaLink = h.deltaRound(deltaLink)
	b, _ := json.Marshal(items)
	want := `[{"displayName":"Service accounts","id":"` + groupID(1) + `","members@delta":[` +
		`{"@odata.type":"#microsoft.graph.user","@removed":{"reason":"deleted"},"id":"` + userID(1) + `"},` +
		`{"@odata.type":"#microsoft.graph.user","@removed":{"reason":"deleted"},"id":"` + userID(2) + `"}]},` +
		`{"displayName":"Empty","id":"` + groupID(3) + `","members@delta":[{"@odata.type":"#microsoft.graph.user","id":"` + userID(1) + `"}]}]`
	if string(b) != want {
		t.Errorf("groups delta after moves:\n%s\nwant\n%s", b, want)
	}
	// The members endpoint agrees.
	members, _ := h.walk("/v1.0/groups/" + groupID(1) + "/members")
	if got := ids(members); !slices.Equal(got, []string{userID(3)}) {
		t.Errorf("group 1 members: %v", got)
	}
	// Deleting a group reports it removed.
	h.e.Apply(emulator.Churn{DeleteGroups: []string{groupID(3)}})
	items, _ = h.deltaRound(deltaLink)
	if len(items) != 1 || items[0]["@removed"] == nil || items[0]["id"] != groupID(3) {
		t.Errorf("deleted group: %v", items)
	}
}

func TestDelta_expiredAndRestart(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := start(t, fixture(t, 6), emulator.Options{Now: clock, TokenLifetime: 30 * 24 * time.Hour})

	_, link := h.deltaRound("/v1.0/servicePrincipals/delta?$select=displayName")
	h.e.ExpireDeltaTokens()
	wantGraphError(t, h.get(link, http.StatusBadRequest), "syncStateNotFound")

	_, link = h.deltaRound("/v1.0/servicePrincipals/delta?$select=displayName")
	h.e.RequireResync()
	resp, b := h.do(http.MethodGet, link, h.token, nil)
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("after RequireResync: %d %s", resp.StatusCode, b)
	}
	wantGraphError(t, b, "resyncRequired")
	restart := resp.Header.Get("Location")
	if !strings.Contains(restart, "/v1.0/servicePrincipals/delta?$select=displayName") {
		t.Errorf("Location %q", restart)
	}
	items, link := h.deltaRound(restart)
	if len(items) != 3 {
		t.Errorf("restarted round: %v", items)
	}

	// Delta tokens live 7 days.
	h.get(link, http.StatusOK)
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()
	wantGraphError(t, h.get(link, http.StatusBadRequest), "syncStateNotFound")
	wantGraphError(t, h.get("/v1.0/users/delta?$deltatoken=garbage", http.StatusBadRequest), "syncStateNotFound")
}

func TestRandomChurn(t *testing.T) {
	run := func() ([]map[string]any, emulator.ChurnSummary) {
		h := start(t, fixture(t, 200), emulator.Options{})
		_, users := h.deltaRound("/v1.0/users/delta?$select=displayName,accountEnabled")
		sum, err := h.e.RandomChurn(0.05, 42)
		if err != nil {
			t.Fatal(err)
		}
		items, _ := h.deltaRound(users)
		return items, sum
	}
	a, sumA := run()
	b, sumB := run()
	if sumA != sumB {
		t.Errorf("same seed, different churn: %+v vs %+v", sumA, sumB)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("same seed, different deltas")
	}
	if sumA.UsersAdded != 3 || sumA.UsersDeleted != 2 || sumA.UsersChanged != 5 || sumA.ServicePrincipalsAdded != 1 {
		t.Errorf("summary %+v", sumA)
	}
	removed := 0
	for _, m := range a {
		if m["@removed"] != nil {
			removed++
		}
	}
	if len(a) != 10 || removed != 2 {
		t.Errorf("user delta after 5%% churn of 200: %d items, %d removed, want 10 and 2", len(a), removed)
	}

	h := start(t, fixture(t, 20), emulator.Options{})
	resp, body := h.do(http.MethodPost, "/_emulator/churn?fraction=0.1&seed=7", "", nil)
	var sum emulator.ChurnSummary
	if resp.StatusCode != 200 || json.Unmarshal(body, &sum) != nil || sum.Version != 2 || sum.MembershipsMoved == 0 {
		t.Errorf("POST /_emulator/churn: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.do(http.MethodGet, "/_emulator/churn", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /_emulator/churn: %d", resp.StatusCode)
	}
}

func TestApply_rejectsInvalidChanges(t *testing.T) {
	h := start(t, fixture(t, 6), emulator.Options{})
	for _, ch := range []emulator.Churn{
		{AddUsers: []directory.User{{ID: userID(1)}}},
		{UpdateUsers: []directory.User{{ID: userID(99)}}},
		{DeleteServicePrincipals: []string{spID(99)}},
		{AddMembers: []emulator.Membership{{GroupID: groupID(1), Member: ref("user", userID(1))}}},
		{RemoveMembers: []emulator.Membership{{GroupID: groupID(1), Member: ref("user", userID(6))}}},
		{AddUsers: []directory.User{{ID: userID(50)}}, DeleteUsers: []string{userID(99)}},
	} {
		if _, err := h.e.Apply(ch); err == nil {
			t.Errorf("Apply(%+v) succeeded", ch)
		}
	}
	if v := h.e.Stats().Version; v != 1 {
		t.Errorf("version %d after refused changes, want 1", v)
	}
	// Deleting a service principal removes it where it is referenced.
	if _, err := h.e.Apply(emulator.Churn{DeleteServicePrincipals: []string{spID(1)}}); err != nil {
		t.Fatal(err)
	}
	members, _ := h.walk("/v1.0/groups/" + groupID(2) + "/members")
	if slices.Contains(ids(members), spID(1)) {
		t.Errorf("deleted service principal still a member")
	}
	if ara, _ := h.walk("/v1.0/servicePrincipals/" + spID(3) + "/appRoleAssignedTo"); len(ara) != 0 {
		t.Errorf("assignments of a deleted principal remain: %v", ara)
	}
	wantGraphError(t, h.get("/v1.0/servicePrincipals/"+spID(1)+"/owners", http.StatusNotFound), "Request_ResourceNotFound")
}
