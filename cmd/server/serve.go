package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/web"
)

// serveCmd runs the web server until SIGINT/SIGTERM, then drains requests.
func serveCmd(ctx context.Context, env *environment, args []string) error {
	cfg := configFromEnv(env.getenv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg.bindFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	log := cfg.logger(env.stderr)

	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (STEWARD_ADDR): %w", cfg.Addr, err)
	}
	log.Info("steward listening", slog.String("url", "http://"+ln.Addr().String()))
	err = web.New(db, log).Serve(ctx, ln)
	log.Info("steward stopped")
	return err
}

// openMigrated opens the database, creating it if needed, and brings its
// schema up to date.
func openMigrated(ctx context.Context, cfg Config, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, name := range applied {
		log.Info("migration applied", slog.String("migration", name))
	}
	log.Info("database ready", slog.String("database_url", store.RedactURL(cfg.DatabaseURL)))
	return db, nil
}
