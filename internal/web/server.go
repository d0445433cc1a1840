// Package web serves Steward's pages, JSON API, static files and health checks.
// Start at routes.go: it is the whole surface of the application.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/steward-dev/steward/internal/store"
)

// Timeouts of the HTTP server. They bound what a slow or hostile client can
// hold: headers must arrive quickly, bodies are small forms, and no page takes
// long to render. Long exports, when they exist, get their own deadline.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	// shutdownTimeout is how long in-flight requests get to finish on SIGTERM.
	shutdownTimeout = 20 * time.Second
)

// Server is Steward's HTTP server.
type Server struct {
	router *chi.Mux
	http   *http.Server
	log    *slog.Logger
}

// Options are what the server needs besides the store.
type Options struct {
	// Demo shows the "demo mode" banner: the data is synthetic.
	Demo bool
	// SyncNow starts a sync of a tenant in the background and returns at
	// once (sync.ErrBusy when one is running). Nil: the "Sync now" button
	// says that no tenant is configured for sync.
	SyncNow func(ctx context.Context, tenantID string) error
}

// New builds a server on top of a store.
func New(db *store.DB, log *slog.Logger, opts Options) *Server {
	s := &Server{log: log}
	h := &handler{db: db, log: log, demo: opts.Demo, startSync: opts.SyncNow}
	s.router = h.routes()
	s.http = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the root handler, middleware included (for tests).
func (s *Server) Handler() http.Handler { return s.router }

// Serve answers requests on ln until ctx is cancelled, then stops accepting,
// lets in-flight requests finish (up to shutdownTimeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}
