package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	stsync "github.com/steward-dev/steward/internal/sync"
)

// Credential kinds, as CredentialFromEnv reports them.
const (
	KindClientSecret      = "client-secret"
	KindClientCertificate = "client-certificate"
	KindWorkloadIdentity  = "workload-identity"
	KindManagedIdentity   = "managed-identity"
)

// CredentialOptions tune the credential CredentialFromEnv builds.
type CredentialOptions struct {
	// AuthorityHost overrides AZURE_AUTHORITY_HOST, e.g. the emulator's
	// https://127.0.0.1:PORT/ or https://login.microsoftonline.us/.
	AuthorityHost string
	// HTTPClient, when set, sends azidentity's requests (a proxy, or a TLS
	// configuration trusting the emulator's certificate).
	HTTPClient *http.Client
}

// microsoftAuthorities are the Entra ID authorities of Microsoft's clouds,
// where MSAL's instance discovery works; anywhere else (the emulator, a
// test double) it is turned off.
var microsoftAuthorities = []string{"login.microsoftonline.com", "login.microsoftonline.us",
	"login.chinacloudapi.cn", "login.partner.microsoftonline.cn", "login.microsoftonline.de"}

// passwordRefusal is what CredentialFromEnv says to a user's password.
const passwordRefusal = "Steward never signs in with a user's password; use a workload identity " +
	"(AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, STEWARD_MANAGED_IDENTITY=true or AZURE_CLIENT_SECRET) " +
	"and unset AZURE_USERNAME and AZURE_PASSWORD"

// CredentialFromEnv builds the credential Steward reads Graph with from the
// usual AZURE_* variables, read through getenv (os.Getenv in production):
//
//   - STEWARD_MANAGED_IDENTITY=true: a managed identity (AZURE_CLIENT_ID
//     selects a user-assigned one);
//   - otherwise AZURE_TENANT_ID and AZURE_CLIENT_ID, with
//     AZURE_CLIENT_CERTIFICATE_PATH [+ AZURE_CLIENT_CERTIFICATE_PASSWORD]
//     (a certificate, PEM or PKCS#12), AZURE_FEDERATED_TOKEN_FILE (workload
//     identity federation) or AZURE_CLIENT_SECRET, in that order of preference.
//
// AZURE_AUTHORITY_HOST (or opts.AuthorityHost) selects a sovereign cloud or
// the emulator. AZURE_USERNAME and AZURE_PASSWORD are refused. It returns
// the credential and its kind (KindClientSecret, …). Errors name variables,
// never their values.
func CredentialFromEnv(getenv func(string) string, opts CredentialOptions) (azcore.TokenCredential, string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if env("AZURE_USERNAME") != "" || env("AZURE_PASSWORD") != "" {
		return nil, "", errors.New("graph: AZURE_USERNAME/AZURE_PASSWORD are set: " + passwordRefusal)
	}
	client, authority, disableDiscovery, err := clientOptions(env, opts)
	if err != nil {
		return nil, "", err
	}
	tenant, clientID := env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID")

	if v := env("STEWARD_MANAGED_IDENTITY"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return nil, "", fmt.Errorf("graph: STEWARD_MANAGED_IDENTITY must be true or false")
		}
		if on {
			mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: client}
			if clientID != "" {
				mo.ID = azidentity.ClientID(clientID)
			}
			cred, err := azidentity.NewManagedIdentityCredential(mo)
			if err != nil {
				return nil, "", fmt.Errorf("graph: managed identity: %w", err)
			}
			return cred, KindManagedIdentity, nil
		}
	}

	certPath, tokenFile, secret := env("AZURE_CLIENT_CERTIFICATE_PATH"), env("AZURE_FEDERATED_TOKEN_FILE"), getenv("AZURE_CLIENT_SECRET")
	if certPath == "" && tokenFile == "" && secret == "" {
		return nil, "", errors.New("graph: no Graph credential: set AZURE_TENANT_ID and AZURE_CLIENT_ID with " +
			"AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET, or STEWARD_MANAGED_IDENTITY=true")
	}
	var missing []string
	if tenant == "" {
		missing = append(missing, "AZURE_TENANT_ID")
	}
	if clientID == "" {
		missing = append(missing, "AZURE_CLIENT_ID")
	}
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("graph: %s not set: a client credential needs the tenant and the application (client) id",
			strings.Join(missing, " and "))
	}

	switch {
	case certPath != "":
		data, err := os.ReadFile(certPath)
		if err != nil {
			return nil, "", fmt.Errorf("graph: AZURE_CLIENT_CERTIFICATE_PATH: %w", err)
		}
		var password []byte
		if p := getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD"); p != "" {
			password = []byte(p)
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			// The parser's messages name neither the password nor the key.
			return nil, "", fmt.Errorf("graph: AZURE_CLIENT_CERTIFICATE_PATH %s: %w", certPath, err)
		}
		cred, err := azidentity.NewClientCertificateCredential(tenant, clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: client, DisableInstanceDiscovery: disableDiscovery, SendCertificateChain: true})
		if err != nil {
			return nil, "", fmt.Errorf("graph: client certificate: %w", err)
		}
		return cred, KindClientCertificate, nil
	case tokenFile != "":
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: client, TenantID: tenant, ClientID: clientID, TokenFilePath: tokenFile, DisableInstanceDiscovery: disableDiscovery})
		if err != nil {
			return nil, "", fmt.Errorf("graph: workload identity: %w", err)
		}
		return cred, KindWorkloadIdentity, nil
	}
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: client, DisableInstanceDiscovery: disableDiscovery})
	if err != nil {
		return nil, "", fmt.Errorf("graph: client secret credential for client %s (authority %s): %w", clientID, authority, err)
	}
	return cred, KindClientSecret, nil
}

// clientOptions builds azcore's options: the authority and the transport.
func clientOptions(env func(string) string, opts CredentialOptions) (azcore.ClientOptions, string, bool, error) {
	var client azcore.ClientOptions
	if opts.HTTPClient != nil {
		client.Transport = opts.HTTPClient
	}
	authority := opts.AuthorityHost
	if authority == "" {
		authority = env("AZURE_AUTHORITY_HOST")
	}
	if authority == "" {
		return client, cloud.AzurePublic.ActiveDirectoryAuthorityHost, false, nil
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return client, "", false, fmt.Errorf("graph: authority host %q: want an https URL such as https://login.microsoftonline.us/", authority)
	}
	if !strings.HasSuffix(authority, "/") {
		authority += "/"
	}
	client.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: authority, Services: cloud.AzurePublic.Services}
	known := false
	for _, h := range microsoftAuthorities {
		known = known || strings.EqualFold(u.Hostname(), h)
	}
	return client, authority, !known, nil
}

// TokenProvider adapts a credential to sync.TokenProvider, for the Power
// Platform source: the same workload identity asks for other audiences
// (e.g. "https://service.flow.microsoft.com//.default").
func TokenProvider(cred azcore.TokenCredential) stsync.TokenProvider { return tokenProvider{cred} }

type tokenProvider struct{ cred azcore.TokenCredential }

func (t tokenProvider) Token(ctx context.Context, scope string) (string, error) {
	tok, err := t.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", fmt.Errorf("graph: token for %s: %w", scope, err)
	}
	return tok.Token, nil
}
