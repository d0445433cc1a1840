package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/steward-dev/steward/internal/emulator"
	"github.com/steward-dev/steward/internal/snapshot"
)

// faultFlags collects repeated --fault flags.
type faultFlags []emulator.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f), " fault(s)") }

func (f *faultFlags) Set(s string) error {
	fault, err := emulator.ParseFault(s)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// emulateCmd serves a snapshot as Microsoft Graph and the Power Platform admin
// APIs until SIGINT/SIGTERM: what the demo and the sync's tests talk to, run
// by hand. It needs no database.
func emulateCmd(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dir := fs.String("snapshot", "", "snapshot directory to serve (required)")
	addr := fs.String("addr", "127.0.0.1:8081", "plain HTTP address for Graph and the Power Platform APIs")
	tlsAddr := fs.String("tls-addr", "127.0.0.1:8443", "HTTPS address, the authority host of the token endpoint (azidentity requires https)")
	throttle := fs.Bool("throttle", false, "model Graph's throttling (resource units, Conditional Access and sign-in limits)")
	latency := fs.String("latency", "", "latency model BASE,PEROBJECT, e.g. 40ms,50us (default none)")
	var faults faultFlags
	fs.Var(&faults, "fault", "inject a fault, repeatable: path=/v1.0/users,nth=3,kind=503 (kind: 5xx, 429, reset, truncate, malformed, slow)")
	clientID := fs.String("client-id", "", "client id the token endpoint accepts (default: generated)")
	clientSecret := fs.String("client-secret", "", "its client secret (default: generated)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *dir == "" {
		return usageError{errors.New("-snapshot is required: the directory of the snapshot to serve")}
	}
	for name, a := range map[string]string{"addr": *addr, "tls-addr": *tlsAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return usageError{fmt.Errorf("-%s %q: want host:port", name, a)}
		}
	}
	if *clientSecret != "" && *clientID == "" {
		return usageError{errors.New("-client-secret needs -client-id")}
	}
	opts := emulator.Options{
		Throttle: emulator.Throttle{Enabled: *throttle},
		Faults:   faults,
		Log:      slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if *latency != "" {
		l, err := emulator.ParseLatency(*latency)
		if err != nil {
			return usageError{err}
		}
		opts.Latency = l
	}
	if *clientID != "" {
		secret := *clientSecret
		if secret == "" {
			secret = rand.Text()
		}
		opts.Clients = []emulator.Client{{ID: *clientID, Secret: secret}}
	}

	snap, err := snapshot.Read(*dir)
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	e, err := emulator.New(snap, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (-addr): %w", *addr, err)
	}
	tlsLn, err := net.Listen("tcp", *tlsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s (-tls-addr): %w", *tlsAddr, err)
	}
	certFile, err := writeCertificate(e.CertificatePEM())
	if err != nil {
		ln.Close()
		tlsLn.Close()
		return err
	}
	defer os.Remove(certFile)

	printEmulator(env, e, snap.Tenant.DisplayName, "http://"+ln.Addr().String(), "https://"+tlsLn.Addr().String(), certFile, opts)
	err = e.Serve(ctx, ln, tlsLn)
	fmt.Fprintln(env.stdout, "emulator stopped")
	return err
}

// writeCertificate writes the emulator's certificate where curl --cacert and
// other processes can read it.
func writeCertificate(pem []byte) (string, error) {
	f, err := os.CreateTemp(os.TempDir(), "steward-emulator-*.pem")
	if err != nil {
		return "", fmt.Errorf("write the certificate: %w", err)
	}
	if _, err := f.Write(pem); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("write the certificate: %w", err)
	}
	return f.Name(), f.Close()
}

// printEmulator tells the person at the terminal how to reach everything.
func printEmulator(env *environment, e *emulator.Emulator, name, url, tlsURL, certFile string, opts emulator.Options) {
	c := e.Client()
	tenant := e.TenantID()
	models := []string{}
	if opts.Throttle.Enabled {
		models = append(models, "throttling")
	}
	if opts.Latency.Enabled() {
		models = append(models, "latency "+opts.Latency.String())
	}
	if len(models) == 0 {
		models = append(models, "no throttling or latency model")
	}
	w := env.stdout
	fmt.Fprintf(w, "Emulating tenant %s (%s)\n", name, tenant)
	fmt.Fprintf(w, "  Graph:           %s/v1.0  and  %s/beta\n", url, url)
	fmt.Fprintf(w, "  Power Platform:  %s  (/providers/Microsoft.BusinessAppPlatform|ProcessSimple|PowerApps/...)\n", url)
	fmt.Fprintf(w, "  Authority host:  %s/  (certificate: %s)\n", tlsURL, certFile)
	fmt.Fprintf(w, "  Token endpoint:  %s/%s/oauth2/v2.0/token\n", tlsURL, tenant)
	fmt.Fprintf(w, "  Client:          id %s  secret %s\n", c.ID, c.Secret)
	fmt.Fprintf(w, "  Scopes:          https://graph.microsoft.com/.default, https://service.powerapps.com//.default,\n")
	fmt.Fprintf(w, "                   https://service.flow.microsoft.com//.default, https://api.powerplatform.com/.default\n")
	fmt.Fprintf(w, "  Admin:           POST %s/_emulator/churn?fraction=0.01&seed=1\n", url)
	fmt.Fprintf(w, "                   GET  %s/_emulator/stats\n", url)
	fmt.Fprintf(w, "  Lower bound:     %s to fetch the whole tenant (%s)\n", e.LowerBound(), strings.Join(models, ", "))
	fmt.Fprintf(w, "Try: curl --cacert %s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s \\\n", certFile, c.ID, c.Secret)
	fmt.Fprintf(w, "       -d scope=https://graph.microsoft.com/.default %s/%s/oauth2/v2.0/token\n", tlsURL, tenant)
}
