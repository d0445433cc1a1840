package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/synthetic"
)

func TestRun_syncNeedsATenant(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"sync"}, envOf(map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/x"}), io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "AZURE_TENANT_ID") {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
	stderr.Reset()
	code = run(context.Background(), []string{"sync", "-tenant", "x"}, envOf(map[string]string{
		"AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y", "AZURE_USERNAME": "someone@contoso.com", "AZURE_PASSWORD": "hunter2",
		"DATABASE_URL": storetest.NewDB(t)}), io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "password") || strings.Contains(stderr.String(), "hunter2") {
		t.Errorf("username/password credential: exit %d:\n%s", code, stderr.String())
	}
}

func TestRun_importLoadsASnapshot(t *testing.T) {
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"DATABASE_URL": storetest.NewDB(t)})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"import", dir}, env, &out, &errOut); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "succeeded (full") || !strings.Contains(out.String(), "users") {
		t.Errorf("summary:\n%s", out.String())
	}
	// A malformed snapshot is refused with the file and offset, exit 2.
	os.WriteFile(filepath.Join(dir, "users.json"), []byte(`{"value":[{"id":"a"},]}`), 0o644)
	errOut.Reset()
	if code := run(context.Background(), []string{"import", dir}, env, io.Discard, &errOut); code != exitUsage ||
		!strings.Contains(errOut.String(), "users.json: byte") {
		t.Errorf("malformed snapshot: exit %d\n%s", code, errOut.String())
	}
}

// TestRun_demo is what a newcomer does first: `server demo` syncs the
// synthetic tenant through the Graph and Power Platform sources and serves it.
func TestRun_demo(t *testing.T) {
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, envOf(map[string]string{"DATABASE_URL": storetest.NewDB(t), "STEWARD_ADDR": addr}), &out, &logs)
	}()
	body := waitForPage(t, "http://"+addr+"/", done, &logs)
	if !strings.Contains(body, "Fabrikam") {
		t.Errorf("home page does not list the demo tenant:\n%s", body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "succeeded (full") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if s := out.String(); !strings.Contains(s, "succeeded (full") || !strings.Contains(s, "connections") {
		t.Errorf("demo output lacks the sync summary:\n%s", s)
	}
	stopAndWait(t, stop, done, &logs)
}
