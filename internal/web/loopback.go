package web

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// loopbackOnly refuses, with 421 Misdirected Request, every request whose
// Host is not a loopback name or address.
//
// Until sign-in exists Steward listens on loopback only (cmd/server refuses
// anything else), but that alone does not keep other sites out: a page on
// evil.example can make its name resolve to 127.0.0.1 (DNS rebinding) and read
// Steward from the visitor's browser as its own origin. Such requests still
// carry Host: evil.example, so only loopback host names are answered. The
// check does not resolve anything: a name that resolves to loopback is
// exactly what the attack uses.
func (h *handler) loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLoopbackHost(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		h.log.WarnContext(r.Context(), "request for a host other than loopback refused",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("host", r.Host),
			slog.String("path", r.URL.Path))
		msg := "Steward has no sign-in yet, so it answers only to loopback host names " +
			"(localhost, 127.0.0.1, [::1]); this request named another host."
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			msg += fmt.Sprintf(" Open http://%s/ instead.", local)
		}
		if isAPI(r) {
			writeAPIError(w, r, http.StatusMisdirectedRequest, msg)
			return
		}
		// Plain text rather than the site's error page: under a foreign name
		// even the page's stylesheet would be refused.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusMisdirectedRequest)
		io.WriteString(w, msg+"\n")
	})
}

// isLoopbackHost reports whether host (a Host header: name or address, with
// or without a port) names this machine's loopback without a DNS lookup:
// localhost and its subdomains (RFC 6761: never resolved by DNS), or a
// loopback IP literal. 0.0.0.0 is not loopback, although some browsers
// connect it to this machine.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
