package graph_test

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/sync/graph"
)

func TestCredentialFromEnv_clientSecretAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	e, r := startEmulator(t, mustDemo(t), emulator.Options{})
	client := r.HTTPClient()
	t.Cleanup(client.CloseIdleConnections)
	// AZURE_AUTHORITY_HOST from the environment, as a deployment sets it.
	env := emulatorEnv(e)
	env["AZURE_AUTHORITY_HOST"] = r.AuthorityHost
	cred, kind, err := graph.CredentialFromEnv(getenv(env), graph.CredentialOptions{HTTPClient: client})
	if err != nil || kind != graph.KindClientSecret {
		t.Fatalf("kind %q, err %v", kind, err)
	}
	tok, err := cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil || tok.Token == "" {
		t.Fatalf("GetToken: %v", err)
	}
	// The same credential serves the Power Platform source.
	flow, err := graph.TokenProvider(cred).Token(t.Context(), "https://service.flow.microsoft.com//.default")
	if err != nil || flow == "" || flow == tok.Token {
		t.Fatalf("Flow token: %q, %v", flow, err)
	}

	// A wrong secret fails with Entra's answer, never the secret.
	env["AZURE_CLIENT_SECRET"] = "wrong-secret-value~0123456789"
	bad, _, err := graph.CredentialFromEnv(getenv(env), graph.CredentialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), env["AZURE_CLIENT_SECRET"]) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

func TestCredentialFromEnv_refusalsAndMissingVariables(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-value-never-shown"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // texts the error holds
	}{
		{"username and password", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_USERNAME": "svc@contoso.com", "AZURE_PASSWORD": secret},
			[]string{"never signs in with a user's password", "workload identity"}},
		{"password only", map[string]string{"AZURE_PASSWORD": secret}, []string{"never signs in with a user's password"}},
		{"nothing", map[string]string{}, []string{"no Graph credential", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "STEWARD_MANAGED_IDENTITY"}},
		{"secret without tenant", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": secret}, []string{"AZURE_TENANT_ID not set"}},
		{"secret without ids", map[string]string{"AZURE_CLIENT_SECRET": secret}, []string{"AZURE_TENANT_ID and AZURE_CLIENT_ID not set"}},
		{"missing certificate", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent/cert.pem",
			"AZURE_CLIENT_CERTIFICATE_PASSWORD": secret}, []string{"AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/cert.pem"}},
		{"authority over http", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": secret,
			"AZURE_AUTHORITY_HOST": "http://127.0.0.1:1/"}, []string{"want an https URL"}},
		{"managed identity flag", map[string]string{"STEWARD_MANAGED_IDENTITY": "maybe"}, []string{"STEWARD_MANAGED_IDENTITY must be true or false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := graph.CredentialFromEnv(getenv(tc.env), graph.CredentialOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

func TestCredentialFromEnv_kinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		kind string
	}{
		{map[string]string{"STEWARD_MANAGED_IDENTITY": "true"}, graph.KindManagedIdentity},
		{map[string]string{"STEWARD_MANAGED_IDENTITY": "true", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001"}, graph.KindManagedIdentity},
		{map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/token"}, graph.KindWorkloadIdentity},
		{map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "x", "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us"}, graph.KindClientSecret},
	} {
		_, kind, err := graph.CredentialFromEnv(getenv(tc.env), graph.CredentialOptions{})
		if err != nil || kind != tc.kind {
			t.Errorf("%v: kind %q, err %v; want %q", tc.env, kind, err, tc.kind)
		}
	}
}
