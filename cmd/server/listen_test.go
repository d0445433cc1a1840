package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/store/storetest"
)

// fakeLookup resolves from a fixed table; any other name does not resolve.
func fakeLookup(table map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		addrs, ok := table[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestLoopbackAddr(t *testing.T) {
	lookup := fakeLookup(map[string][]string{
		"localhost": {"::1", "127.0.0.1"},
		"ip6-only":  {"::1"},
		"mapped":    {"::ffff:127.0.0.1"},
		"lan":       {"192.168.1.10"},
		"mixed":     {"127.0.0.1", "10.0.0.5"},
		"wildcard":  {"0.0.0.0"},
		"empty":     {},
	})
	for _, tc := range []struct {
		addr string
		want string // the address to listen on; "" when refused
		why  string // part of the refusal
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"127.9.9.9:0", "127.9.9.9:0", ""},
		{"[::1]:8080", "[::1]:8080", ""},
		{"[::ffff:127.0.0.1]:8080", "127.0.0.1:8080", ""},
		{"localhost:8080", "127.0.0.1:8080", ""}, // IPv4 first, as net.Listen
		{"ip6-only:8080", "[::1]:8080", ""},
		{"mapped:8080", "127.0.0.1:8080", ""},

		{":8080", "", "every network interface"},
		{"0.0.0.0:8080", "", "every network interface"},
		{"[::]:8080", "", "every network interface"},
		{"wildcard:8080", "", "every network interface"},
		{"192.168.1.10:8080", "", "is not a loopback address"},
		{"[fe80::1]:8080", "", "is not a loopback address"},
		{"lan:8080", "", "lan resolves to 192.168.1.10"},
		{"mixed:8080", "", "mixed resolves to 10.0.0.5"},
		{"nowhere.invalid:8080", "", "does not resolve"},
		{"empty:8080", "", "does not resolve (no addresses)"},
		{"nonsense", "", "not host:port"},
	} {
		got, err := loopbackAddr(context.Background(), lookup, tc.addr)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("loopbackAddr(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("loopbackAddr(%q) = %q; want a refusal", tc.addr, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("loopbackAddr(%q) error %q; want it to say %q", tc.addr, err, tc.why)
		}
		if tc.why != "not host:port" && !strings.Contains(err.Error(), "127.0.0.1:8080") {
			t.Errorf("loopbackAddr(%q) error %q does not say what to use instead", tc.addr, err)
		}
	}
}

// TestRun_refusesNonLoopbackAddress: serve and demo exit 2 with a clear
// message before touching anything else (the database here is unreachable,
// so reaching it would exit 1 with another message).
func TestRun_refusesNonLoopbackAddress(t *testing.T) {
	for _, cmd := range []string{"serve", "demo"} {
		for _, tc := range []struct {
			env  string // STEWARD_ADDR
			args []string
			why  string
		}{
			{"0.0.0.0:8080", nil, "every network interface"},
			{":8080", nil, "every network interface"},
			{"[::]:8080", nil, "every network interface"},
			{"192.168.1.10:8080", nil, "is not a loopback address"},
			{"127.0.0.1:0", []string{"-addr", "10.1.2.3:8080"}, "is not a loopback address"},
		} {
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{cmd}, tc.args...), envOf(map[string]string{
				"DATABASE_URL": "postgres://postgres@127.0.0.1:1/steward?sslmode=disable",
				"STEWARD_ADDR": tc.env,
			}), io.Discard, &stderr)
			out := stderr.String()
			if code != exitUsage {
				t.Errorf("%s %v (STEWARD_ADDR %s): exit %d, want %d\n%s", cmd, tc.args, tc.env, code, exitUsage, out)
			}
			if !strings.Contains(out, tc.why) || !strings.Contains(out, "no sign-in yet") {
				t.Errorf("%s %v (STEWARD_ADDR %s): message does not say why:\n%s", cmd, tc.args, tc.env, out)
			}
			if strings.Contains(out, "cannot reach PostgreSQL") {
				t.Errorf("%s: reached for the database before checking the address:\n%s", cmd, out)
			}
		}
	}
}

// TestRun_serveOnLocalhostRefusesOtherHosts: a host name that resolves to
// loopback is accepted (and listened on as the address it resolved to), and
// the server answers only requests that name a loopback host.
func TestRun_serveOnLocalhostRefusesOtherHosts(t *testing.T) {
	dbURL := storetest.NewDB(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, envOf(map[string]string{
			"DATABASE_URL": dbURL, "STEWARD_ADDR": "localhost:" + port, "STEWARD_SYNC_INTERVAL": "off",
		}), io.Discard, &logs)
	}()
	waitForPage(t, "http://localhost:"+port+"/healthz", done, &logs)
	if !strings.Contains(logs.String(), "url=http://127.0.0.1:"+port) {
		t.Errorf("not listening on the loopback address localhost resolved to:\n%s", logs.String())
	}

	client := &http.Client{Timeout: 10 * time.Second}
	for host, want := range map[string]int{
		"localhost:" + port:      200,
		"127.0.0.1:" + port:      200,
		"evil.example:" + port:   http.StatusMisdirectedRequest,
		"192.168.1.10:" + port:   http.StatusMisdirectedRequest,
		"localhost.evil.example": http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/", nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
		if want != 200 && !strings.Contains(string(body), "loopback") {
			t.Errorf("Host %s: the refusal does not explain itself: %q", host, body)
		}
	}
	stopAndWait(t, stop, done, &logs)
}
