package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Hooks for store_test; compiled only into the test binary.

func (db *DB) QueryRowForTest(ctx context.Context, sql string, args ...any) pgx.Row {
	return db.pool.QueryRow(ctx, sql, args...)
}

func (db *DB) ExecForTest(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.pool.Exec(ctx, sql, args...)
}

func (db *DB) MigrateForTest(ctx context.Context, ms []Migration) ([]string, error) {
	return db.migrate(ctx, ms)
}

var LoadMigrationsForTest = loadMigrations

func (db *DB) QueryForTest(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return db.pool.Query(ctx, sql, args...)
}

// ReadTxForTest is readTx, for readtx_test.
type ReadTxForTest = readTx

func (db *DB) BeginReadForTest(ctx context.Context) (*readTx, error) { return db.beginRead(ctx) }
func (t *readTx) CommitWithNextForTest()                             { t.commitWithNext = true }
func (t *readTx) CloseForTest(ctx context.Context)                   { t.close(ctx) }

// LiteralsForTest writes vs as accountPageQuery writes filter values.
func LiteralsForTest(vs ...string) (string, []any) {
	var w accountConds
	return w.literals(vs...), w.args
}

// InTransactionForTest reports whether t's connection is inside a transaction.
func (t *readTx) InTransactionForTest() bool { return t.conn.Conn().PgConn().TxStatus() != 'I' }

const UnreadablePolicyForTest = unreadablePolicy
