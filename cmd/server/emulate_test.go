package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// TestRun_emulate starts `server emulate` on a tiny snapshot, gets a token
// from its TLS token endpoint, reads a page of users, and stops it.
func TestRun_emulate(t *testing.T) {
	dir := t.TempDir()
	enabled := true
	err := snapshot.Write(dir, &directory.Snapshot{
		Tenant:   directory.Tenant{ID: "11111111-2222-3333-4444-555555555555", DisplayName: "Tiny"},
		Captured: map[directory.Collection]bool{directory.Users: true},
		Users: []directory.User{
			{ID: "00000000-0000-0000-0000-000000000001", DisplayName: "Ada", AccountEnabled: &enabled},
			{ID: "00000000-0000-0000-0000-000000000002", DisplayName: "Grace", AccountEnabled: &enabled},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, tlsAddr := freeAddr(t), freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulate", "--snapshot", dir, "--addr", addr, "--tls-addr", tlsAddr,
			"--client-id", "aaaaaaaa-0000-0000-0000-000000000001", "--client-secret", "hunter2", "--latency", "1ms,1us"}, envOf(nil), &out, &logs)
	}()

	// Wait for the banner, which names the certificate file.
	var certFile string
	deadline := time.Now().Add(30 * time.Second)
	for certFile == "" {
		select {
		case code := <-done:
			t.Fatalf("emulate exited with %d\n%s%s", code, out.String(), logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s%s", out.String(), logs.String())
		}
		if m := regexp.MustCompile(`certificate: (\S+)\)`).FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Try:") {
			certFile = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"http://" + addr + "/v1.0", "https://" + tlsAddr + "/", "/_emulator/churn", "/_emulator/stats", "Lower bound:",
		"id aaaaaaaa-0000-0000-0000-000000000001  secret hunter2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}

	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.PostForm("https://"+tlsAddr+"/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"aaaaaaaa-0000-0000-0000-000000000001"},
		"client_secret": {"hunter2"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if resp.StatusCode != 200 || token.AccessToken == "" {
		t.Fatalf("token endpoint: %d", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1.0/users?$select=displayName,accountEnabled&$top=1", nil)
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"displayName":"Ada"`)) || !bytes.Contains(body, []byte(`"@odata.nextLink":"http://`+addr+`/v1.0/users?$skiptoken=`)) {
		t.Errorf("users page: %d %s", resp.StatusCode, body)
	}

	stopAndWait(t, stop, done, &logs)
	if _, err := os.Stat(certFile); !os.IsNotExist(err) {
		t.Errorf("certificate file left behind: %v", err)
	}
}

func TestRun_emulateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"emulate"},
		{"emulate", "--snapshot", t.TempDir(), "--addr", "nonsense"},
		{"emulate", "--snapshot", t.TempDir(), "--latency", "fast"},
		{"emulate", "--snapshot", t.TempDir(), "--fault", "path=/v1.0/users,kind=explode"},
		{"emulate", "--snapshot", t.TempDir(), "--client-secret", "x"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, envOf(nil), io.Discard, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"emulate", "--snapshot", t.TempDir()}, envOf(nil), io.Discard, &stderr); code != exitError ||
		!strings.Contains(stderr.String(), "tenant.json") {
		t.Errorf("a directory without a snapshot: exit %d\n%s", code, stderr.String())
	}
}
