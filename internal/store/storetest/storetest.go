// Package storetest gives each test package its own throwaway Steward database,
// created and migrated in TestMain and dropped at the end, so packages can run
// in parallel against one PostgreSQL server without seeing each other's rows.
//
//	var testDB *store.DB
//
//	func TestMain(m *testing.M) { storetest.Main(m, func(db *store.DB) { testDB = db }) }
//
// The server is STEWARD_TEST_DATABASE_URL, by default the local trust-auth
// cluster: postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/store"
)

// Prefix starts the name of every database this package creates.
const Prefix = "steward_test_"

// AdminURL is the URL of the server's maintenance database used to create and
// drop throwaway databases.
func AdminURL() string {
	if u := os.Getenv("STEWARD_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Main runs a package's tests against a fresh, migrated database and exits.
// set receives the open database before any test runs.
func Main(m *testing.M, set func(db *store.DB)) {
	os.Exit(run(m, set))
}

func run(m *testing.M, set func(db *store.DB)) int {
	ctx := context.Background()
	dropOrphans(ctx)
	dbURL, drop, err := Create(ctx, packageName())
	if err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		return 1
	}
	defer drop()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		return 1
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "storetest: migrate:", err)
		return 1
	}
	packageURL = dbURL
	set(db)
	return m.Run()
}

// packageURL is the URL of the database Main created.
var packageURL string

// URL returns the URL of the database Main created for this test package.
func URL() string { return packageURL }

// Fingerprint returns, per table, a digest of every row of a tenant: equal
// fingerprints before and after an operation mean it changed nothing.
func Fingerprint(tb testing.TB, dbURL, tenantID string, tables ...string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	conn := mustConnect(tb, dbURL)
	defer conn.Close(ctx)
	out := map[string]string{}
	for _, t := range tables {
		var digest string
		err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
			FROM %s t WHERE tenant_id = $1`, pgx.Identifier{t}.Sanitize()), tenantID).Scan(&digest)
		if err != nil {
			tb.Fatal(err)
		}
		out[t] = digest
	}
	return out
}

// NewDB creates an extra empty (unmigrated) database for one test, dropped
// when the test ends, and returns its URL. Open it with store.Open.
func NewDB(tb testing.TB) string {
	tb.Helper()
	dbURL, drop, err := Create(context.Background(), packageName()+"_"+sanitize(tb.Name()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return dbURL
}

// Create makes an empty database whose name starts with Prefix, carries this
// process id (so orphans of crashed runs can be told apart) and a random part
// (so parallel packages never collide). It returns the database's URL and a
// function that drops it, closing any connection still open.
func Create(ctx context.Context, label string) (dbURL string, drop func(), err error) {
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s%d_%s_%s", Prefix, os.Getpid(), sanitize(label), hex.EncodeToString(b[:]))
	if len(name) > 63 { // PostgreSQL truncates identifiers at 63 bytes
		name = fmt.Sprintf("%s%d_%s", Prefix, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if err := adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create test database (is PostgreSQL running at %s?): %w", store.RedactURL(AdminURL()), err)
	}
	u, err := url.Parse(AdminURL())
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop = func() {
		if err := adminExec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "storetest: drop:", err)
		}
	}
	return u.String(), drop, nil
}

func adminExec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// dropOrphans drops test databases left behind by test processes that died
// before dropping them (their pid is no longer alive).
func dropOrphans(ctx context.Context) {
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return // Create will report the problem
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, Prefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		pidPart, _, _ := strings.Cut(strings.TrimPrefix(name, Prefix), "_")
		pid, err := strconv.Atoi(pidPart)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
}

// packageName is the test binary's package ("store" for store.test).
func packageName() string {
	return sanitize(strings.TrimSuffix(filepath.Base(os.Args[0]), ".test"))
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

func sanitize(s string) string {
	s = unsafeChars.ReplaceAllString(strings.ToLower(s), "_")
	if len(s) > 24 {
		s = s[:24]
	}
	return strings.Trim(s, "_")
}

// Exec runs sql on the database at dbURL, for tests that need a state the
// store's API will not produce (a schema one migration behind, say).
func Exec(tb testing.TB, dbURL, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	conn := mustConnect(tb, dbURL)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatal(err)
	}
}

// QueryRow scans one row of a query on the database at dbURL, for assertions.
func QueryRow(tb testing.TB, dbURL, sql string, args []any, dest ...any) {
	tb.Helper()
	ctx := context.Background()
	conn := mustConnect(tb, dbURL)
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		tb.Fatal(err)
	}
}

// mustConnect opens one connection to dbURL for a test helper.
func mustConnect(tb testing.TB, dbURL string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	return conn
}
