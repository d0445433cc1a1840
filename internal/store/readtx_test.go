package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/store/storetest"
)

// countInBatch reads the rows of readtx_rows in one batch of t.
func countInBatch(tb testing.TB, ctx context.Context, t interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}) (int, error) {
	tb.Helper()
	var n int
	var b pgx.Batch
	b.Queue(`SELECT count(*) FROM readtx_rows`).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	return n, t.SendBatch(ctx, &b).Close()
}

// A readTx is one snapshot from its first batch (which carries BEGIN) to
// the batch that carries COMMIT, is read-only, and leaves no transaction
// open behind it, whether it ends well or by an error.
func TestReadTx_snapshotReadOnlyAndClosed(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, storetest.NewDB(t))
	if _, err := db.ExecForTest(ctx, `CREATE TABLE readtx_rows (n int); INSERT INTO readtx_rows VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	openTransactions := func() int {
		var n int
		if err := db.QueryRowForTest(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tx, err := db.BeginReadForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := countInBatch(t, ctx, tx); err != nil || n != 1 {
		t.Fatalf("first batch: %d rows, %v", n, err)
	}
	if !tx.InTransactionForTest() {
		t.Fatal("the first batch did not begin a transaction")
	}
	if _, err := db.ExecForTest(ctx, `INSERT INTO readtx_rows VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	if n, err := countInBatch(t, ctx, tx); err != nil || n != 1 {
		t.Fatalf("a row committed meanwhile is seen (%d rows, %v): not one snapshot", n, err)
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO readtx_rows VALUES (3)`)
	if err := tx.SendBatch(ctx, &b).Close(); err == nil {
		t.Fatal("a write in a read-only transaction succeeded")
	}
	tx.CloseForTest(ctx)
	if n := openTransactions(); n != 0 {
		t.Fatalf("%d transactions left open after an error", n)
	}

	// COMMIT in the last batch: the connection goes back to the pool idle.
	tx, err = db.BeginReadForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.CommitWithNextForTest()
	if n, err := countInBatch(t, ctx, tx); err != nil || n != 2 {
		t.Fatalf("batch with BEGIN and COMMIT: %d rows, %v", n, err)
	}
	if tx.InTransactionForTest() {
		t.Fatal("the batch meant to carry COMMIT left its transaction open")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit after a committing batch: %v", err)
	}
	tx.CloseForTest(ctx)
	if n := openTransactions(); n != 0 {
		t.Fatalf("%d transactions left open", n)
	}
}
