package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/store/storetest"
)

// envOf returns a getenv over a fixed map, so tests never read the real
// environment.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe to read while the server writes its log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRun_unreachableDatabase(t *testing.T) {
	for _, cmd := range []string{"serve", "migrate"} {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{cmd}, envOf(map[string]string{
			"DATABASE_URL": "postgres://steward:hunter2@127.0.0.1:1/steward?sslmode=disable",
			"STEWARD_ADDR": "127.0.0.1:0",
		}), io.Discard, &stderr)
		out := stderr.String()
		if code == 0 {
			t.Errorf("%s: exit 0 with an unreachable database", cmd)
		}
		if !strings.Contains(out, "cannot reach PostgreSQL at postgres://steward:xxxxx@127.0.0.1:1/steward") ||
			!strings.Contains(out, "docker compose up -d db") {
			t.Errorf("%s: message does not name the URL and how to get a database:\n%s", cmd, out)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s: the password leaked:\n%s", cmd, out)
		}
		if n := strings.Count(out, "cannot reach"); n != 1 {
			t.Errorf("%s: said %d times, want one clear message:\n%s", cmd, n, out)
		}
	}
}

func TestRun_invalidConfiguration(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "-addr", "nonsense"}, envOf(map[string]string{
		"STEWARD_LOG_LEVEL": "loud",
	}), io.Discard, &stderr)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"STEWARD_ADDR \"nonsense\"", "STEWARD_LOG_LEVEL \"loud\""} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestRun_unknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, envOf(nil), io.Discard, &stderr); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "unknown command") || !strings.Contains(stderr.String(), "migrate") {
		t.Errorf("usage not shown:\n%s", stderr.String())
	}
}

func TestRun_migrateCreatesDatabaseAndIsIdempotent(t *testing.T) {
	// A database name that does not exist yet: migrate must create it.
	dbURL := strings.Replace(storetest.NewDB(t), storetest.Prefix, storetest.Prefix+"cli_", 1)
	t.Cleanup(func() {
		u, _ := url.Parse(dbURL)
		storetest.Exec(t, storetest.AdminURL(), "DROP DATABASE IF EXISTS "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	})
	env := envOf(map[string]string{"DATABASE_URL": dbURL})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, env, &out, &errOut); code != 0 {
		t.Fatalf("first migrate: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "applied 0001_core.sql") {
		t.Errorf("first migrate output:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate"}, env, &out, &errOut); code != 0 {
		t.Fatalf("second migrate: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "(0 migration(s) applied now)") {
		t.Errorf("second migrate output:\n%s", out.String())
	}
}

// TestRun_serveShowsEmptyStateAndShutsDownGracefully is what a newcomer does:
// start the server on a fresh database, open the page, stop it with a signal.
func TestRun_serveShowsEmptyStateAndShutsDownGracefully(t *testing.T) {
	dbURL := storetest.NewDB(t)
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{"DATABASE_URL": dbURL, "STEWARD_ADDR": addr}), io.Discard, &logs)
	}()

	body := waitForPage(t, "http://"+addr+"/", done, &logs)
	if !strings.Contains(body, "No tenant has been synced yet") {
		t.Errorf("home page is not the empty state:\n%s", body)
	}

	stopAndWait(t, stop, done, &logs)
	if !strings.Contains(logs.String(), "steward stopped") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitForPage polls url until it answers 200, the server exits, or 30s pass.
func waitForPage(t *testing.T, pageURL string, done <-chan int, logs *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("server exited with %d before serving\n%s", code, logs.String())
		default:
		}
		resp, err := http.Get(pageURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no answer from %s\n%s", pageURL, logs.String())
	return ""
}

// stopAndWait cancels a running command's context, as SIGINT/SIGTERM do through
// signal.NotifyContext, and expects it to exit 0 within 30 s.
func stopAndWait(t *testing.T, stop context.CancelFunc, done <-chan int, logs *syncBuffer) {
	t.Helper()
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after shutdown\n%s", code, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not stop after its context was cancelled")
	}
}
