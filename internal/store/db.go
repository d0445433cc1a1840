// Package store is Steward's only door to PostgreSQL: raw SQL through pgx, one
// file per aggregate, one transaction per public method.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/steward-dev/steward/internal/derr"
)

// DB is a pool of connections to one Steward database.
type DB struct {
	pool *pgxpool.Pool
}

// Options tune Open. The zero value is usable.
type Options struct {
	// ConnectTimeout bounds each attempt to reach the server (default 5s), so a
	// wrong DATABASE_URL fails fast with a clear message instead of hanging.
	ConnectTimeout time.Duration
	// MaxConns caps the pool (default: pgxpool's, max(4, GOMAXPROCS)).
	MaxConns int32
}

// Open connects to the database named by databaseURL, creating the database
// first if the server says it does not exist. It does not migrate: call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (_ *DB, err error) {
	defer derr.Wrap(&err, "store.Open")
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's parse errors can echo the URL, password included: say less.
		return nil, derr.Errorf(derr.EINVALID, "DATABASE_URL is not a valid PostgreSQL URL (%s)", RedactURL(databaseURL))
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}

	pool, err := connect(ctx, cfg)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name: no such database
		if err := createDatabase(ctx, cfg.ConnConfig); err != nil {
			return nil, unreachable(databaseURL, err)
		}
		pool, err = connect(ctx, cfg)
	}
	if err != nil {
		return nil, unreachable(databaseURL, err)
	}
	return &DB{pool: pool}, nil
}

func connect(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// NewWithConfig connects lazily; ping so that a bad URL fails here, once.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// createDatabase creates cfg.Database through the server's maintenance database.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another process won the race
		return nil
	}
	return err
}

// unreachable turns a connection failure into one user-facing sentence that
// names the server without its password and keeps pgx's reason.
func unreachable(databaseURL string, err error) error {
	reason := err.Error()
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) && connErr.Unwrap() != nil {
		reason = connErr.Unwrap().Error()
	}
	// pgx joins one error per attempt (TLS, then plain; each address): the
	// first says it all, and the message stays one line.
	reason, _, _ = strings.Cut(reason, "\n")
	return &derr.Error{
		Code:    derr.EUNAVAILABLE,
		Message: fmt.Sprintf("cannot reach PostgreSQL at %s: %s", RedactURL(databaseURL), reason),
	}
}

// Close waits for borrowed connections to come back, then closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapError(db.pool.Ping(ctx), "ping")
}

// inTx runs fn in a transaction, committing if fn returns nil. Public store
// methods are each one call of inTx, so a method is all-or-nothing.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return mapError(err, "begin")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return mapError(tx.Commit(ctx), "commit")
}

// RedactURL returns a PostgreSQL URL with its password replaced, for messages
// and logs. A value that is not a URL (a key=value DSN) is reduced to a
// placeholder, since it may hold a password anywhere.
func RedactURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(the configured DATABASE_URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
