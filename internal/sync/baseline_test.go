package sync_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/store/storetest"
)

// BenchmarkRawBaseline is the floor a full sync is measured against: the same
// requests as the Graph and Power Platform sources make (listings paged
// sequentially, collections concurrently, per-object requests in $batch of 20
// through 4 workers, Power Platform through 8), with plain net/http,
// encoding/json into raw messages and CopyFrom into one table — no SDK, no
// typed decoding, no staging or apply. It runs against an emulator started by
// scripts/bench-sync.sh (which sets the variables below) and is skipped
// otherwise:
//
//	STEWARD_BENCH_URL=http://127.0.0.1:19000 … go test -run '^$' -bench RawBaseline -benchtime 1x ./internal/sync
func BenchmarkRawBaseline(b *testing.B) {
	base := os.Getenv("STEWARD_BENCH_URL")
	if base == "" {
		b.Skip("STEWARD_BENCH_URL is not set: run scripts/bench-sync.sh")
	}
	bl := newBaseline(b, base)
	for b.Loop() {
		start := time.Now()
		n := bl.run(b)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "objects/s")
		b.ReportMetric(float64(n), "objects")
	}
}

type baseline struct {
	base, graphToken, ppToken string
	client                    *http.Client
	conn                      *pgx.Conn
	mu                        gosync.Mutex
	rows                      [][]any
	total                     int
}

func newBaseline(b *testing.B, base string) *baseline {
	pool, _ := x509.SystemCertPool()
	if pem, err := os.ReadFile(os.Getenv("STEWARD_CA_FILE")); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	t.MaxIdleConnsPerHost = 16
	bl := &baseline{base: base, client: &http.Client{Transport: t, Timeout: time.Minute}}
	bl.graphToken = bl.token(b, "https://graph.microsoft.com/.default")
	bl.ppToken = bl.token(b, "https://api.powerplatform.com/.default")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storetest.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS bench_raw (collection text, raw jsonb); TRUNCATE bench_raw`); err != nil {
		b.Fatal(err)
	}
	bl.conn = conn
	return bl
}

func (bl *baseline) token(b *testing.B, scope string) string {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {os.Getenv("AZURE_CLIENT_ID")},
		"client_secret": {os.Getenv("AZURE_CLIENT_SECRET")}, "scope": {scope}}
	resp, err := bl.client.PostForm(strings.TrimSuffix(os.Getenv("AZURE_AUTHORITY_HOST"), "/")+"/"+os.Getenv("AZURE_TENANT_ID")+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token for %s: %v", scope, err)
	}
	return tok.AccessToken
}

func (bl *baseline) run(b *testing.B) int {
	bl.total = 0
	since := time.Now().Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	listings := map[string]string{
		"users":           "/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled,userType,onPremisesSyncEnabled,createdDateTime,passwordPolicies,lastPasswordChangeDateTime,assignedLicenses,employeeType,mail,signInActivity&$top=500",
		"groups":          "/v1.0/groups/delta?$select=id,displayName,securityEnabled,mailEnabled,groupTypes,isAssignableToRole,membershipRule,members",
		"roleDefs":        "/v1.0/roleManagement/directory/roleDefinitions",
		"roleAssigns":     "/v1.0/roleManagement/directory/roleAssignments",
		"policies":        "/v1.0/identity/conditionalAccess/policies",
		"locations":       "/v1.0/identity/conditionalAccess/namedLocations",
		"registrations":   "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=999",
		"signIns":         "/beta/auditLogs/signIns?$top=1000&$filter=" + url.QueryEscape("createdDateTime ge "+since+" and signInEventTypes/any(t: t eq 'interactiveUser')"),
		"signInsNonInt":   "/beta/auditLogs/signIns?$top=1000&$filter=" + url.QueryEscape("createdDateTime ge "+since+" and signInEventTypes/any(t: t eq 'nonInteractiveUser')"),
		"spActivities":    "/beta/reports/servicePrincipalSignInActivities",
		"spsAndChildren":  "/v1.0/servicePrincipals?$top=999",
		"appsAndChildren": "/v1.0/applications?$top=999",
	}
	var wg gosync.WaitGroup
	for name, path := range listings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := bl.list(b, name, bl.base+path, bl.graphToken, "@odata.nextLink")
			switch name {
			case "spsAndChildren":
				bl.batches(b, ids, "/servicePrincipals/%s/owners", "/servicePrincipals/%s/appRoleAssignments")
			case "appsAndChildren":
				bl.batches(b, ids, "/applications/%s/owners", "/applications/%s/federatedIdentityCredentials")
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); bl.powerPlatform(b) }()
	wg.Wait()
	bl.flush(b)
	return bl.total
}

// list walks a listing and returns the ids of its objects.
func (bl *baseline) list(b *testing.B, name, u, token, nextField string) []string {
	var ids []string
	for u != "" {
		var page map[string]json.RawMessage
		if !bl.get(b, u, token, &page) {
			return ids
		}
		var objs []json.RawMessage
		json.Unmarshal(page["value"], &objs)
		for _, o := range objs {
			var id struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			json.Unmarshal(o, &id)
			if id.Name != "" { // Power Platform: "name" is the id, "id" a resource path
				id.ID = id.Name
			}
			ids = append(ids, id.ID)
			bl.add(b, name, o)
		}
		u = ""
		json.Unmarshal(page[nextField], &u)
	}
	return ids
}

// get decodes one page; it reports failures with b.Error (it runs in
// goroutines, where b.Fatal would hang the benchmark) and returns false.
func (bl *baseline) get(b *testing.B, u, token string, v any) bool {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := bl.client.Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		b.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
		return false
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.Error(err)
		return false
	}
	return true
}

// batches requests each path for every id through $batch, 20 at a time, 4 workers.
func (bl *baseline) batches(b *testing.B, ids []string, paths ...string) {
	var reqs []string
	for _, id := range ids {
		for _, p := range paths {
			reqs = append(reqs, fmt.Sprintf(p, id))
		}
	}
	work := make(chan []string)
	var wg gosync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				var body struct {
					Requests []map[string]string `json:"requests"`
				}
				for i, u := range chunk {
					body.Requests = append(body.Requests, map[string]string{"id": fmt.Sprint(i), "method": "GET", "url": u})
				}
				raw, _ := json.Marshal(body)
				req, _ := http.NewRequest(http.MethodPost, bl.base+"/v1.0/$batch", bytes.NewReader(raw))
				req.Header.Set("Authorization", "Bearer "+bl.graphToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := bl.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var out struct {
					Responses []struct {
						Body struct {
							Value []json.RawMessage `json:"value"`
						} `json:"body"`
					} `json:"responses"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				for _, r := range out.Responses {
					for _, o := range r.Body.Value {
						bl.add(b, "children", o)
					}
				}
			}
		}()
	}
	for i := 0; i < len(reqs); i += 20 {
		work <- reqs[i:min(i+20, len(reqs))]
	}
	close(work)
	wg.Wait()
}

func (bl *baseline) powerPlatform(b *testing.B) {
	envs := bl.list(b, "environments", bl.base+"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01", bl.ppToken, "nextLink")
	type flowRef struct{ env, flow string }
	flowsCh := make(chan flowRef, 1024)
	envCh := make(chan string)
	var listers, perms gosync.WaitGroup
	for range 8 {
		listers.Add(1)
		go func() {
			defer listers.Done()
			for env := range envCh {
				for _, f := range bl.list(b, "flows", bl.base+"/providers/Microsoft.ProcessSimple/scopes/admin/environments/"+env+"/v2/flows?api-version=2016-11-01", bl.ppToken, "nextLink") {
					flowsCh <- flowRef{env, f}
				}
				bl.list(b, "connections", bl.base+"/providers/Microsoft.PowerApps/scopes/admin/environments/"+env+"/connections?api-version=2016-11-01", bl.ppToken, "nextLink")
			}
		}()
		perms.Add(1)
		go func() {
			defer perms.Done()
			for f := range flowsCh {
				bl.list(b, "permissions", bl.base+"/providers/Microsoft.ProcessSimple/scopes/admin/environments/"+f.env+"/flows/"+f.flow+"/permissions?api-version=2016-11-01", bl.ppToken, "nextLink")
			}
		}()
	}
	for _, e := range envs {
		envCh <- e
	}
	close(envCh)
	listers.Wait()
	close(flowsCh)
	perms.Wait()
}

func (bl *baseline) add(b *testing.B, collection string, raw json.RawMessage) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	bl.rows = append(bl.rows, []any{collection, []byte(raw)})
	bl.total++
	if len(bl.rows) >= 2000 {
		bl.flushLocked(b)
	}
}

func (bl *baseline) flush(b *testing.B) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	bl.flushLocked(b)
}

func (bl *baseline) flushLocked(b *testing.B) {
	if len(bl.rows) == 0 {
		return
	}
	if _, err := bl.conn.CopyFrom(context.Background(), pgx.Identifier{"bench_raw"}, []string{"collection", "raw"}, pgx.CopyFromRows(bl.rows)); err != nil {
		b.Error(err)
	}
	bl.rows = bl.rows[:0]
}
