package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLoopbackOnly_refusesOtherHostNames is the DNS-rebinding defence: a
// request reaching the loopback socket under any name but a loopback one is
// refused with 421 and a plain explanation (JSON under /api/).
func TestLoopbackOnly_refusesOtherHostNames(t *testing.T) {
	ts, logs := newServer(t, testDB)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path, host string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	for _, host := range []string{
		"127.0.0.1:" + port, "localhost:" + port, "localhost", "LocalHost:" + port, "localhost.:" + port,
		"steward.localhost:" + port, "127.0.0.2:" + port, "[::1]:" + port, "[::1]", "[::ffff:127.0.0.1]:" + port,
	} {
		if resp, body := get("/healthz", host); resp.StatusCode != 200 {
			t.Errorf("Host %s: status %d, want 200: %s", host, resp.StatusCode, body)
		}
	}

	for _, host := range []string{
		"evil.example", "evil.example:" + port, "localhost.evil.example:" + port, "evillocalhost",
		"192.168.1.10:" + port, "10.0.0.1", "0.0.0.0:" + port, "[::]:" + port, "[fe80::1]:" + port,
	} {
		resp, body := get("/", host)
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: status %d, want 421", host, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Host %s: Content-Type %q, want plain text", host, ct)
		}
		if !strings.Contains(body, "loopback") || !strings.Contains(body, "http://127.0.0.1:"+port+"/") {
			t.Errorf("Host %s: the refusal does not explain itself or say where to go: %q", host, body)
		}
		if strings.Contains(body, "<") {
			t.Errorf("Host %s: the refusal is not plain text: %q", host, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("Host %s: the refusal lacks the security headers: %v", host, resp.Header)
		}
	}
	if !strings.Contains(logs.String(), "host=evil.example") {
		t.Errorf("refusals are not logged with their host:\n%s", logs.String())
	}

	// Under /api/ the refusal is the API's JSON error.
	resp, body := get("/api/v1/accounts", "evil.example")
	if msg := checkAPIError(t, "API under another host", resp, body, http.StatusMisdirectedRequest); !strings.Contains(msg, "loopback") {
		t.Errorf("API refusal message %q does not explain itself", msg)
	}

	// Health checks included: nothing answers under another name.
	if resp, _ := get("/healthz", "evil.example"); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("/healthz under another host: status %d, want 421", resp.StatusCode)
	}
}

// TestLoopbackOnly_refusesMissingHost: an HTTP/1.0 request may omit Host;
// deny by default refuses it too.
func TestLoopbackOnly_refusesMissingHost(t *testing.T) {
	ts, _ := newServer(t, testDB)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("no Host: status %d, want 421", resp.StatusCode)
	}
}
