package emulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts of the emulator's servers: generous, because the slow-body fault
// and the latency model make answers slow on purpose.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second // request bodies are small forms and batches
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// Running is an emulator listening on loopback, as Start returns it.
type Running struct {
	// URL is the plain HTTP base URL, e.g. http://127.0.0.1:40123: Graph is
	// at URL+"/v1.0" and URL+"/beta", the Power Platform APIs at URL.
	URL string
	// TLSURL is the same handler over HTTPS with the emulator's certificate.
	TLSURL string
	// AuthorityHost is what azidentity takes as Cloud.ActiveDirectoryAuthorityHost
	// (TLSURL with a trailing slash); the token endpoint is
	// AuthorityHost+TENANT+"/oauth2/v2.0/token".
	AuthorityHost string

	e       *Emulator
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	closeMu sync.Once
}

// GraphURL returns the Graph v1.0 base URL (the SDK's base URL).
func (r *Running) GraphURL() string { return r.URL + "/v1.0" }

// TokenURL returns the token endpoint over TLS.
func (r *Running) TokenURL() string {
	return r.AuthorityHost + r.e.TenantID() + "/oauth2/v2.0/token"
}

// CertPool returns a pool holding the emulator's certificate.
func (r *Running) CertPool() *x509.CertPool { return r.e.CertPool() }

// HTTPClient returns a client that trusts the emulator's certificate.
func (r *Running) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: r.e.ClientTLSConfig()}}
}

// Close stops the servers, letting in-flight requests finish briefly.
func (r *Running) Close() error {
	r.closeMu.Do(r.cancel)
	<-r.done
	return r.err
}

// Start serves the emulator on Options.Addr (plain HTTP) and Options.TLSAddr
// (HTTPS), both 127.0.0.1:0 by default, until ctx is cancelled or Close.
func (e *Emulator) Start(ctx context.Context) (*Running, error) {
	ln, err := net.Listen("tcp", e.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen on %s: %w", e.opts.Addr, err)
	}
	tlsLn, err := net.Listen("tcp", e.opts.TLSAddr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("emulator: listen on %s: %w", e.opts.TLSAddr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Running{
		URL:    "http://" + ln.Addr().String(),
		TLSURL: "https://" + tlsLn.Addr().String(),
		e:      e,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	r.AuthorityHost = r.TLSURL + "/"
	go func() {
		defer close(r.done)
		r.err = e.Serve(ctx, ln, tlsLn)
	}()
	return r, nil
}

// Serve answers on ln (plain HTTP) and tlsLn (HTTPS; nil for none) until ctx
// is cancelled, then shuts down gracefully. It closes the listeners.
func (e *Emulator) Serve(ctx context.Context, ln, tlsLn net.Listener) error {
	servers := []*http.Server{e.newServer()}
	listeners := []net.Listener{ln}
	if tlsLn != nil {
		s := e.newServer()
		s.TLSConfig = e.serverTLSConfig()
		servers = append(servers, s)
		listeners = append(listeners, tls.NewListener(tlsLn, s.TLSConfig))
	}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func() { errc <- s.Serve(listeners[i]) }()
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if serr := s.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (e *Emulator) newServer() *http.Server {
	return &http.Server{
		Handler:           e,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout, // no WriteTimeout: slow answers are the point of some faults
		// HTTP/1.1 only: faults hijack connections (see serverTLSConfig).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(e.logger().Handler(), slog.LevelWarn),
	}
}
