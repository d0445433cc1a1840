package graph_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/emulator"
	stsync "github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
)

// benchUsers builds n users with the properties the sync selects,
// signInActivity and two licences each (as the emulator's own benchmark).
func benchUsers(n int) *directory.Snapshot {
	s := &directory.Snapshot{Tenant: directory.Tenant{ID: "11111111-2222-3333-4444-555555555555", DisplayName: "Fabrikam", DefaultDomain: "fabrikam.com"}}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	enabled, disabled, synced := true, false, true
	s.Users = make([]directory.User, n)
	for i := range s.Users {
		when := directory.NewTime(base.Add(-time.Duration(i%9000) * time.Hour))
		u := directory.User{
			ID:                         fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919),
			DisplayName:                fmt.Sprintf("Employee %06d", i),
			UserPrincipalName:          fmt.Sprintf("employee.%06d@fabrikam.com", i),
			Mail:                       fmt.Sprintf("employee.%06d@fabrikam.com", i),
			AccountEnabled:             &enabled,
			UserType:                   "Member",
			CreatedDateTime:            directory.NewTime(base.AddDate(-3, 0, -i%1000)),
			OnPremisesSyncEnabled:      &synced,
			PasswordPolicies:           "DisablePasswordExpiration",
			LastPasswordChangeDateTime: when,
			AssignedLicenses: []directory.AssignedLicense{{SkuID: "06ebc4ee-1bb5-47dd-8120-11324bc54e06", DisabledPlans: []string{}},
				{SkuID: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e", DisabledPlans: []string{"a82fbf69-b4d7-49f4-83a6-915b2cf354f4"}}},
			EmployeeType: "Employee",
			SignInActivity: &directory.UserSignInActivity{LastSignInDateTime: when, LastNonInteractiveSignInDateTime: when,
				LastSuccessfulSignInDateTime: when},
		}
		if i%13 == 0 {
			u.AccountEnabled = &disabled
		}
		s.Users[i] = u
	}
	return s
}

// countingSinks counts what is put and keeps nothing.
type countingSinks struct{ n atomic.Int64 }

func (c *countingSinks) Sink(directory.Collection) stsync.Sink { return countingSink{c} }

type countingSink struct{ c *countingSinks }

func (s countingSink) Put(directory.Object) error { s.c.n.Add(1); return nil }
func (s countingSink) Remove(string) error        { return nil }
func (s countingSink) Scope(string) error         { return nil }

// BenchmarkUsersPage lists 100,000 users from the emulator the way the sync
// does ($select with signInActivity, $top=500: 200 pages), through the same
// SDK pipeline (auth, retry, middleware), three ways:
//
//   - sdk-models: client.Users().Get and the SDK's PageIterator, which parse
//     every page into models.Userable;
//   - raw-pages: the source's path, SendPrimitive("[]byte") and
//     encoding/json into directory.User with its raw JSON kept;
//   - transport: SendPrimitive only, reading each page's next link: what
//     fetching costs before any decoding (the in-process emulator's share
//     of allocations included, as in the other two).
//
// One op is one walk of every user; users/s is the walk's rate.
func BenchmarkUsersPage(b *testing.B) {
	const n = 100_000
	e, err := emulator.New(benchUsers(n), emulator.Options{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := e.Start(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	src := mustSource(b, e, r, nil)
	client, adapter := graph.Client(src)
	top := int32(500)
	sel := []string{"id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType", "onPremisesSyncEnabled",
		"createdDateTime", "passwordPolicies", "lastPasswordChangeDateTime", "assignedLicenses", "employeeType",
		"externalUserState", "department", "jobTitle", "signInActivity"}
	cfg := &users.UsersRequestBuilderGetRequestConfiguration{QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: sel, Top: &top}}

	walks := map[string]func(b *testing.B) int{
		"sdk-models": func(b *testing.B) int {
			resp, err := client.Users().Get(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			it, err := msgraphcore.NewPageIterator[models.Userable](resp, adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
			if err != nil {
				b.Fatal(err)
			}
			count := 0
			if err := it.Iterate(b.Context(), func(u models.Userable) bool {
				if u.GetId() != nil && u.GetSignInActivity() != nil {
					count++
				}
				return true
			}); err != nil {
				b.Fatal(err)
			}
			return count
		},
		"raw-pages": func(b *testing.B) int {
			sinks := &countingSinks{}
			if _, err := graph.ListUsers(b.Context(), src, sinks); err != nil {
				b.Fatal(err)
			}
			return int(sinks.n.Load())
		},
		"transport": func(b *testing.B) int {
			info, err := client.Users().ToGetRequestInformation(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			pages := 0
			for {
				res, err := adapter.SendPrimitive(b.Context(), info, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
				if err != nil {
					b.Fatal(err)
				}
				var p struct {
					Next string `json:"@odata.nextLink"`
				}
				if err := json.Unmarshal(res.([]byte), &p); err != nil {
					b.Fatal(err)
				}
				pages++
				if p.Next == "" {
					return pages * 500
				}
				info = abs.NewRequestInformation()
				info.Method = abs.GET
				info.UrlTemplate = "{+baseurl}"
				info.PathParameters["request-raw-url"] = p.Next
			}
		},
	}
	for _, name := range []string{"sdk-models", "raw-pages", "transport"} {
		walk := walks[name]
		b.Run(name, func(b *testing.B) {
			walk(b) // warm the emulator's projection cache and the connection pool
			b.ReportAllocs()
			total := 0
			began := time.Now()
			for b.Loop() {
				if got := walk(b); got != n {
					b.Fatalf("walked %d users, want %d", got, n)
				}
				total += n
			}
			b.ReportMetric(float64(total)/time.Since(began).Seconds(), "users/s")
		})
	}
}
