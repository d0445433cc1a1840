package main

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/store"
)

// migrateCmd applies pending migrations and exits: for deployments that
// migrate in a separate step before rolling out new servers.
func migrateCmd(ctx context.Context, env *environment, args []string) error {
	fs, cfg := newCommandFlags("migrate", env.getenv, env.stderr, false)
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
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
