package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/steward-dev/steward/internal/sync"
	"github.com/steward-dev/steward/internal/sync/graph"
	"github.com/steward-dev/steward/internal/sync/powerplatform"
)

// liveSources builds the Graph and Power Platform sources of one tenant from
// the configuration and the AZURE_* credential variables. httpClient, when
// non-nil, carries every outbound request (the demo's emulator trust).
func liveSources(cfg Config, getenv func(string) string, tenant string, httpClient *http.Client, authority string, log *slog.Logger) ([]sync.Source, error) {
	if httpClient == nil {
		var err error
		if httpClient, err = outboundClient(cfg.Sync.CAFile); err != nil {
			return nil, err
		}
	}
	env := func(k string) string {
		if k == "AZURE_TENANT_ID" {
			return tenant // one credential per tenant, same application (multi-tenant app)
		}
		return getenv(k)
	}
	cred, kind, err := graph.CredentialFromEnv(env, graph.CredentialOptions{AuthorityHost: authority, HTTPClient: httpClient})
	if err != nil {
		return nil, err
	}
	log.Info("credential ready", slog.String("tenant_id", tenant), slog.String("kind", kind))
	g, err := graph.New(graph.Config{
		TenantID:   tenant,
		GraphURL:   cfg.Sync.GraphURL,
		Credential: cred,
		HTTPClient: httpClient,
		SignInDays: cfg.Sync.SignInDays,
		Log:        log,

		ResourceUnitsPer10s:        cfg.Sync.PacingRU,
		ConditionalAccessPerSecond: cfg.Sync.PacingCA,
		SignInRequestsPer10s:       cfg.Sync.PacingSignIns,
	})
	if err != nil {
		return nil, err
	}
	sources := []sync.Source{g}
	if cfg.Sync.PowerPlatform {
		sources = append(sources, powerplatform.New(powerplatform.Config{
			BAPURL:         cfg.Sync.BAPURL,
			FlowURL:        cfg.Sync.FlowURL,
			PowerAppsURL:   cfg.Sync.PowerAppsURL,
			Tokens:         graph.TokenProvider(cred),
			ApplicationID:  getenv("AZURE_CLIENT_ID"),
			RefreshInDelta: cfg.Sync.PowerPlatformInDelta,
			HTTPClient:     httpClient,
			Log:            log,
		}))
	}
	return sources, nil
}

// outboundClient is the HTTP client for Microsoft's APIs: the system's
// certificate authorities, plus those of STEWARD_CA_FILE (a TLS-inspecting
// proxy, a private cloud, the emulator run on its own).
func outboundClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("STEWARD_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("STEWARD_CA_FILE %s holds no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}, nil
}
