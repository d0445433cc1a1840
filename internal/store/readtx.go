package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// readTx is a read-only REPEATABLE READ transaction, a snapshot of the
// database, whose BEGIN travels in the batch of its first queries and whose
// COMMIT can travel in the batch of its last, instead of each taking a round
// trip of its own: a page read in two batches then costs two round trips,
// not four (at 32 concurrent clients on two cores, an eighth more pages per
// second).
type readTx struct {
	conn  *pgxpool.Conn
	begun bool // BEGIN sent
	ended bool // COMMIT sent
	// commitWithNext: the next batch is the transaction's last; COMMIT
	// goes with it.
	commitWithNext bool
}

const beginReadSQL = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// genericPlans, queued in a transaction, has its statements planned once
// per connection rather than for each set of parameters: for queries
// whose shape Go chose (accounts pages) or that look up keys (an account's
// details), where a custom plan costs more than it saves.
const genericPlans = `SET LOCAL plan_cache_mode = force_generic_plan`

// beginRead starts a readTx. Its first query begins it; close ends it.
func (db *DB) beginRead(ctx context.Context) (*readTx, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, mapError(err, "begin")
	}
	return &readTx{conn: conn}, nil
}

// readBatch sends b as one read-only snapshot: BEGIN, b's queries and
// COMMIT in one round trip.
func (db *DB) readBatch(ctx context.Context, b *pgx.Batch) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return err
	}
	defer tx.close(ctx)
	tx.commitWithNext = true
	return tx.SendBatch(ctx, b).Close()
}

// SendBatch sends b, with BEGIN in front if nothing was sent yet and with
// COMMIT behind if commitWithNext is set.
func (t *readTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.ended {
		return errBatch{errReadTxEnded}
	}
	if !t.begun {
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: beginReadSQL}}, b.QueuedQueries...)
		t.begun = true
	}
	if t.commitWithNext {
		b.Queue("COMMIT")
		t.commitWithNext, t.ended = false, true
	}
	return t.conn.SendBatch(ctx, b)
}

// begin sends BEGIN on its own, for a first query that is not a batch.
func (t *readTx) begin(ctx context.Context) error {
	if t.ended {
		return errReadTxEnded
	}
	if t.begun {
		return nil
	}
	t.begun = true
	_, err := t.conn.Exec(ctx, beginReadSQL)
	return err
}

func (t *readTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.conn.Query(ctx, sql, args...)
}

func (t *readTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.begin(ctx); err != nil {
		return errRow{err}
	}
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *readTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.begin(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.conn.Exec(ctx, sql, args...)
}

// Commit ends the transaction, unless a batch already did.
func (t *readTx) Commit(ctx context.Context) error {
	if !t.begun || t.ended {
		return nil
	}
	t.ended = true
	_, err := t.conn.Exec(ctx, "COMMIT")
	return err
}

// close rolls back a transaction still open (an error ended the reading)
// and gives the connection back. The pool closes a connection it gets back
// inside a transaction, should the rollback fail too.
func (t *readTx) close(ctx context.Context) {
	if t.conn.Conn().PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		t.conn.Exec(ctx, "ROLLBACK")
	}
	t.conn.Release()
}

// eachRow is a batch callback that scans every row into dest and calls fn
// after each.
func eachRow(dest []any, fn func()) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, dest, func() error {
			fn()
			return nil
		})
		return err
	}
}

// errReadTxEnded refuses a query sent after the batch that carried COMMIT:
// it would no longer read the transaction's snapshot.
var errReadTxEnded = errors.New("store: query after the read transaction's last batch")

// errBatch is the pgx.BatchResults of a batch that was not sent.
type errBatch struct{ err error }

func (r errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, r.err }
func (r errBatch) Query() (pgx.Rows, error)         { return nil, r.err }
func (r errBatch) QueryRow() pgx.Row                { return errRow{r.err} }
func (r errBatch) Close() error                     { return r.err }
func (r errBatch) Tx() pgx.Tx                       { return nil }

// errRow is a pgx.Row whose Scan returns an error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
