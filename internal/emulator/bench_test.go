package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
)

// largeTenant builds n realistic users: the properties the sync selects,
// signInActivity included, and a licence or two.
func largeTenant(n int) *directory.Snapshot {
	s := &directory.Snapshot{Tenant: directory.Tenant{ID: tenantID, DisplayName: "Fabrikam", DefaultDomain: "fabrikam.com"}}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	s.Users = make([]directory.User, n)
	for i := range s.Users {
		when := directory.NewTime(base.Add(-time.Duration(i%9000) * time.Hour))
		s.Users[i] = directory.User{
			ID:                         fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919),
			DisplayName:                fmt.Sprintf("Employee %06d", i),
			UserPrincipalName:          fmt.Sprintf("employee.%06d@fabrikam.com", i),
			Mail:                       fmt.Sprintf("employee.%06d@fabrikam.com", i),
			AccountEnabled:             ptr(i%13 != 0),
			UserType:                   "Member",
			CreatedDateTime:            directory.NewTime(base.AddDate(-3, 0, -i%1000)),
			OnPremisesSyncEnabled:      ptr(i%3 == 0),
			PasswordPolicies:           "DisablePasswordExpiration",
			LastPasswordChangeDateTime: when,
			AssignedLicenses: []directory.AssignedLicense{{SkuID: "06ebc4ee-1bb5-47dd-8120-11324bc54e06", DisabledPlans: []string{}},
				{SkuID: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", DisabledPlans: []string{"a82fbf69-b4d7-49f4-83a6-915b2cf354f4"}}},
			EmployeeType: "Employee",
			SignInActivity: &directory.UserSignInActivity{LastSignInDateTime: when, LastNonInteractiveSignInDateTime: when,
				LastSuccessfulSignInDateTime: when},
		}
	}
	return s
}

const syncUserSelect = "id,displayName,userPrincipalName,accountEnabled,userType,onPremisesSyncEnabled,createdDateTime," +
	"passwordPolicies,lastPasswordChangeDateTime,assignedLicenses,employeeType,signInActivity"

// BenchmarkServeUsers walks every page of 100,000 users the way the sync
// lists them ($select with signInActivity, $top=500) over loopback HTTP with
// keep-alive, decoding each page, and reports objects served per second.
func BenchmarkServeUsers(b *testing.B) {
	const users = 100_000
	e, err := emulator.New(largeTenant(users), emulator.Options{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := e.Start(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	token := e.IssueToken(graphAud)
	walk := func() (objects, bytes int) {
		url := r.URL + "/v1.0/users?$select=" + syncUserSelect + "&$top=500"
		for url != "" {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%d %v", resp.StatusCode, err)
			}
			var p struct {
				Value    []json.RawMessage `json:"value"`
				NextLink string            `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			objects += len(p.Value)
			bytes += len(body)
			url = p.NextLink
		}
		return objects, bytes
	}
	began := time.Now()
	if n, _ := walk(); n != users { // the first walk fills the projection caches
		b.Fatalf("walked %d users, want %d", n, users)
	}
	b.Logf("first (cold) walk: %.0f objects/s", users/time.Since(began).Seconds())

	var objects, size int
	began = time.Now()
	for b.Loop() {
		n, s := walk()
		objects += n
		size = s
	}
	elapsed := time.Since(began).Seconds()
	b.ReportMetric(float64(objects)/elapsed, "objects/s")
	b.ReportMetric(float64(size)/users, "bytes/object")
}
