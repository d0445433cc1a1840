package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/synthetic"
)

// TestRun_whatif explains a demo service account from a snapshot (no
// database) and, after an import, from stored data: the same JSON contract
// either way; unknown accounts and bad snapshots exit 2.
func TestRun_whatif(t *testing.T) {
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	const account = "flow-finance@fabrikam.example"
	// No database is configured: -snapshot must not need one.
	noDB := envOf(map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"whatif", "-snapshot", dir, "-account", account, "-json"}, noDB, &out, &errOut); code != 0 {
		t.Fatalf("whatif -snapshot: exit %d\n%s", code, errOut.String())
	}
	var fromSnapshot exposure.WhatIf
	if err := json.Unmarshal(out.Bytes(), &fromSnapshot); err != nil {
		t.Fatalf("not the JSON contract: %v\n%s", err, out.String())
	}
	if fromSnapshot.Account.UPN != account || fromSnapshot.Account.Kind != exposure.KindUser || fromSnapshot.Exposure != exposure.LevelExposed ||
		len(fromSnapshot.Resources) < len(exposure.Catalog) || len(fromSnapshot.Findings) == 0 {
		t.Errorf("whatif JSON: %+v", fromSnapshot)
	}
	for _, key := range []string{`"account"`, `"serviceAccount"`, `"exposure"`, `"resources"`, `"verdict"`, `"policies"`, `"effect"`, `"path"`, `"findings"`, `"evidence"`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("whatif JSON lacks %s", key)
		}
	}

	out.Reset()
	if code := run(context.Background(), []string{"whatif", "-snapshot", dir, "-account", account, "-app", "7df0a125-d3be-4c96-aa54-591f83ff541c"}, noDB, &out, &errOut); code != 0 {
		t.Fatalf("whatif text: exit %d\n%s", code, errOut.String())
	}
	text := out.String()
	if !strings.Contains(text, "Microsoft Flow Service") || strings.Contains(text, "Microsoft Graph [") || !strings.Contains(text, "excluded — group") {
		t.Errorf("whatif -app text should explain only Flow Service with the exclusion path:\n%s", text)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown account", []string{"whatif", "-snapshot", dir, "-account", "nobody@fabrikam.example"}, "no account"},
		{"no account", []string{"whatif", "-snapshot", dir}, "-account is required"},
		{"both sources", []string{"whatif", "-snapshot", dir, "-tenant", "x", "-account", account}, "exactly one"},
		{"bad app", []string{"whatif", "-snapshot", dir, "-account", account, "-app", "Office365"}, "not an appId"},
	} {
		errOut.Reset()
		if code := run(context.Background(), tc.args, noDB, io.Discard, &errOut); code != exitUsage || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", tc.name, code, exitUsage, tc.want, errOut.String())
		}
	}

	// From stored data: import (which evaluates the tenant and stores the
	// results), then the same question by tenant.
	dbURL := storetest.NewDB(t)
	env := envOf(map[string]string{"DATABASE_URL": dbURL})
	if code := run(context.Background(), []string{"import", dir}, env, io.Discard, &errOut); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errOut.String())
	}
	tenantJSON, err := os.ReadFile(filepath.Join(dir, "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tenant struct{ ID string }
	if err := json.Unmarshal(tenantJSON, &tenant); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	at := synthetic.DefaultNow.Format("2006-01-02T15:04:05Z")
	if code := run(context.Background(), []string{"whatif", "-tenant", tenant.ID, "-account", account, "-json", "-at", at}, env, &out, &errOut); code != 0 {
		t.Fatalf("whatif -tenant: exit %d\n%s", code, errOut.String())
	}
	var fromStore exposure.WhatIf
	if err := json.Unmarshal(out.Bytes(), &fromStore); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cur, err := db.CurrentEvaluation(context.Background(), tenant.ID)
	if err != nil || cur.Accounts == 0 || cur.SyncRunID == nil {
		t.Errorf("after import, the current evaluation is %+v, %v; want one tagged with the import's run", cur, err)
	}
	if fromStore.Exposure != fromSnapshot.Exposure || len(fromStore.Resources) != len(fromSnapshot.Resources) || len(fromStore.Findings) != len(fromSnapshot.Findings) {
		t.Errorf("stored data and snapshot disagree:\nstore:    %+v\nsnapshot: %+v", fromStore, fromSnapshot)
	}

	// A malformed snapshot: exit 2 with the file named.
	os.WriteFile(filepath.Join(dir, "conditionalAccessPolicies.json"), []byte(`{"value":[{"id":`), 0o644)
	errOut.Reset()
	if code := run(context.Background(), []string{"whatif", "-snapshot", dir, "-account", account}, noDB, io.Discard, &errOut); code != exitUsage ||
		!strings.Contains(errOut.String(), "conditionalAccessPolicies.json") {
		t.Errorf("malformed snapshot: exit %d\n%s", code, errOut.String())
	}
}
