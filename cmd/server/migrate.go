package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/steward-dev/steward/internal/store"
)

// migrateCmd applies pending migrations and exits: for deployments that
// migrate in a separate step before rolling out new servers.
func migrateCmd(ctx context.Context, env *environment, args []string) error {
	cfg := configFromEnv(env.getenv)
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg.bindFlags(fs, false)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	st, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		fmt.Fprintf(env.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(env.stdout, "schema at version %d (%d migration(s) applied now)\n", st.Current, len(applied))
	return nil
}
