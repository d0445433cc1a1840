package store_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
)

var testDB *store.DB

func TestMain(m *testing.M) { storetest.Main(m, func(db *store.DB) { testDB = db }) }

func TestMain_schemaIsCurrent(t *testing.T) {
	st, err := testDB.SchemaStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpToDate() || st.Latest == 0 {
		t.Errorf("SchemaStatus = %+v, want current == latest > 0", st)
	}
}

func TestMigrate_emptyThenNoop(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, storetest.NewDB(t))

	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(ms) {
		t.Errorf("first Migrate applied %v, want all %d migrations", applied, len(ms))
	}
	again, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", again)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Errorf("CheckSchema after Migrate: %v", err)
	}
}

func TestMigrate_everyCollectionTableHasTheCommonShape(t *testing.T) {
	// SNAPSHOT.md collections and the columns every tenant-data row must carry.
	tables := []string{"users", "groups", "group_members", "role_definitions", "role_assignments",
		"service_principals", "applications", "app_role_assignments", "owners", "ca_policies",
		"ca_policy_versions", "named_locations", "registration_details", "sign_ins",
		"service_principal_sign_in_activities", "environments", "flows", "flow_permissions", "connections"}
	common := []string{"tenant_id", "raw", "first_seen_run", "last_seen_run", "deleted_at"}
	for _, table := range tables {
		for _, col := range common {
			var typ string
			err := testDB.QueryRowForTest(context.Background(),
				`SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`,
				table, col).Scan(&typ)
			if err != nil {
				t.Errorf("%s.%s: %v", table, col, err)
			}
		}
	}
}

func TestCheckSchema_behindAndAhead(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, storetest.NewDB(t))

	err := db.CheckSchema(ctx)
	if derr.Code(err) != derr.EUNAVAILABLE || !strings.Contains(derr.Message(err), "server migrate") {
		t.Errorf("CheckSchema on empty database = %v, want EUNAVAILABLE telling to migrate", err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// A newer Steward applied a migration this binary does not know.
	if _, err := db.ExecForTest(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSchema(ctx); derr.Code(err) != derr.ECONFLICT {
		t.Errorf("CheckSchema on newer schema = %v, want ECONFLICT", err)
	}
	if _, err := db.Migrate(ctx); derr.Code(err) != derr.ECONFLICT || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("Migrate on newer schema = %v, want a refusal", err)
	}
}

func TestMigrations_filesAreNumberedInOrder(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d is %s, want version %d (no gaps)", i, m.Name, i+1)
		}
	}
	bad := fstest.MapFS{"first.sql": {Data: []byte("SELECT 1")}}
	if _, err := store.LoadMigrationsForTest(bad); err == nil {
		t.Error("a migration without a number was accepted")
	}
}

func TestMigrate_failedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, storetest.NewDB(t))
	ms := []store.Migration{
		{Version: 1, Name: "0001_ok.sql", SQL: `CREATE TABLE a (x int)`},
		{Version: 2, Name: "0002_broken.sql", SQL: `CREATE TABLE b (x int); SELECT no_such_function();`},
	}
	applied, err := db.MigrateForTest(ctx, ms)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate = %v, want an error naming the broken file", err)
	}
	if len(applied) != 1 {
		t.Errorf("applied %v, want only the first", applied)
	}
	var exists bool
	db.QueryRowForTest(ctx, `SELECT to_regclass('b') IS NOT NULL`).Scan(&exists)
	if exists {
		t.Error("table b of the failed migration exists: the migration was not one transaction")
	}
}

func TestStoretest_isolatesPackages(t *testing.T) {
	ctx := context.Background()
	other := mustOpen(t, storetest.NewDB(t))
	if _, err := other.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpsertTenant(ctx, store.Tenant{ID: "11111111-1111-1111-1111-111111111111", DisplayName: "Other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := testDB.Tenant(ctx, "11111111-1111-1111-1111-111111111111"); derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("a tenant written to another test database is visible here (err = %v)", err)
	}
	var a, b string
	testDB.QueryRowForTest(ctx, `SELECT current_database()`).Scan(&a)
	other.QueryRowForTest(ctx, `SELECT current_database()`).Scan(&b)
	if a == b || !strings.HasPrefix(a, storetest.Prefix) {
		t.Errorf("databases %q and %q: want two distinct %s* databases", a, b, storetest.Prefix)
	}
}

func TestOpen_createsMissingDatabase(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.NewDB(t)
	// Name a database that does not exist yet on the same server; NewDB's
	// cleanup drops only its own, so drop this one too.
	missing := strings.Replace(dbURL, storetest.Prefix, storetest.Prefix+"new_", 1)
	db := mustOpen(t, missing)
	var name string
	if err := db.QueryRowForTest(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := testDB.ExecForTest(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, storetest.Prefix+"new_") {
		t.Errorf("connected to %q", name)
	}
}

func TestOpen_unreachableSaysWhereWithoutPassword(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://steward:s3cret@127.0.0.1:1/steward?sslmode=disable", store.Options{})
	if derr.Code(err) != derr.EUNAVAILABLE {
		t.Fatalf("Open = %v, want EUNAVAILABLE", err)
	}
	msg := derr.Message(err)
	if !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "s3cret") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("message %q: want the host and no password", msg)
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgresql://h/db?password=pw", "postgresql://h/db?password=xxxxx"},
		{"host=h password=pw", "(the configured DATABASE_URL)"},
	} {
		if got := store.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTenants(t *testing.T) {
	ctx := context.Background()
	id := "AAAAAAAA-0000-0000-0000-00000000000A"
	got, err := testDB.UpsertTenant(ctx, store.Tenant{ID: id, DisplayName: "Contoso", DefaultDomain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != strings.ToLower(id) {
		t.Errorf("ID = %q, want lower-case", got.ID)
	}
	if _, err := testDB.UpsertTenant(ctx, store.Tenant{ID: id, DisplayName: "Contoso Ltd"}); err != nil {
		t.Fatal(err)
	}
	one, err := testDB.Tenant(ctx, id)
	if err != nil || one.DisplayName != "Contoso Ltd" {
		t.Errorf("Tenant = %+v, %v; want the renamed tenant", one, err)
	}
	all, err := testDB.Tenants(ctx)
	if err != nil || len(all) == 0 {
		t.Errorf("Tenants = %v, %v", all, err)
	}
	if _, err := testDB.UpsertTenant(ctx, store.Tenant{ID: "  "}); derr.Code(err) != derr.EINVALID {
		t.Errorf("UpsertTenant without id = %v, want EINVALID", err)
	}
	if _, err := testDB.Tenant(ctx, "nope"); derr.Code(err) != derr.ENOTFOUND {
		t.Errorf("Tenant(unknown) = %v, want ENOTFOUND", err)
	}
}

func mustOpen(tb testing.TB, dbURL string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dbURL, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}
