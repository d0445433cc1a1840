package e2e_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	gosync "sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/store/storetest"
	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
	"github.com/steward-dev/steward/internal/synthetic"
	"github.com/steward-dev/steward/internal/web"
)

// steward is a running Steward, as `server demo` runs it.
type steward struct {
	URL    string // the web UI's root, http://127.0.0.1:PORT
	Tenant string // the demo tenant's id
	DB     *store.DB
	logs   *lockedBuffer
}

// startSteward runs what `server demo` runs, in process and on a database of
// its own: the demo tenant (seed 1, relative to today) served by the
// emulator, one full sync through the Graph (msgraph-sdk-go, client-secret
// credential against the emulator's token endpoint) and Power Platform
// sources followed by the evaluation, and the web UI in demo mode, whose
// "Sync now" starts a delta run in the background. Everything stops when the
// test ends; its log is printed if the test failed.
func startSteward(t *testing.T) *steward {
	t.Helper()
	ctx := context.Background()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Steward's log:\n%s", logs.String())
		}
	})

	db, err := store.Open(ctx, storetest.NewDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	snap, err := synthetic.Generate(synthetic.Options{Profile: synthetic.ProfileDemo, Seed: 1, Now: now.Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(snap, emulator.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	running, err := emu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Close() })
	client := running.HTTPClient()
	t.Cleanup(client.CloseIdleConnections) // before the emulator stops: it waits for open connections

	cred, _, err := graph.CredentialFromEnv(func(k string) string {
		switch k {
		case "AZURE_TENANT_ID":
			return emu.TenantID()
		case "AZURE_CLIENT_ID":
			return emu.Client().ID
		case "AZURE_CLIENT_SECRET":
			return emu.Client().Secret
		}
		return ""
	}, graph.CredentialOptions{AuthorityHost: running.AuthorityHost, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.New(graph.Config{TenantID: emu.TenantID(), GraphURL: running.URL, Credential: cred, HTTPClient: client, Log: log,
		// "Sync now" follows the first run at once: Graph's pacing would
		// make it wait out the full run's Conditional Access budget.
		ConditionalAccessPerSecond: 50, SignInRequestsPer10s: 500})
	if err != nil {
		t.Fatal(err)
	}
	pp := powerplatform.New(powerplatform.Config{BAPURL: running.URL, FlowURL: running.URL, PowerAppsURL: running.URL,
		Tokens: graph.TokenProvider(cred), ApplicationID: emu.Client().ID, HTTPClient: client, Log: log})
	runner := sync.NewRunner(db, log, sync.Options{
		SignInWindow: 30 * 24 * time.Hour,
		Evaluate: func(ctx context.Context, tenantID string, runID int64) error {
			_, err := db.EvaluateTenant(ctx, tenantID, runID, exposure.DefaultConfig(time.Now().UTC()))
			return err
		},
	}, g, pp)

	tenant := &store.Tenant{ID: snap.Tenant.ID, DisplayName: snap.Tenant.DisplayName, DefaultDomain: snap.Tenant.DefaultDomain}
	run, err := runner.Run(ctx, sync.RunRequest{TenantID: emu.TenantID(), Tenant: tenant, Mode: sync.Full})
	if err != nil || run.Status != store.RunSucceeded {
		t.Fatalf("the demo's full sync: status %q, error %v (%s)", run.Status, err, run.Error)
	}

	// "Sync now", as serveUntilDone wires it: answer busy at once, else
	// start a delta run in the background.
	var wg gosync.WaitGroup
	bg, stop := context.WithCancel(ctx)
	syncNow := func(_ context.Context, tenantID string) error {
		unlock, free, err := db.TryLockTenant(bg, tenantID)
		if err != nil {
			return err
		}
		if !free {
			return sync.ErrBusy
		}
		unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := runner.Run(bg, sync.RunRequest{TenantID: tenantID, Mode: sync.Delta}); err != nil {
				log.Warn("sync started from the UI failed", slog.String("tenant_id", tenantID), slog.Any("error", err))
			}
		}()
		return nil
	}
	ts := httptest.NewServer(web.New(db, log, web.Options{Demo: true, SyncNow: syncNow}).Handler())
	// Cleanups run last first: the server, then the background runs, and
	// only then the emulator and the database they use.
	t.Cleanup(func() {
		ts.Close()
		stop()
		wg.Wait()
	})
	return &steward{URL: ts.URL, Tenant: snap.Tenant.ID, DB: db, logs: logs}
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
