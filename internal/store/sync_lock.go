package store

import (
	"context"
	"hash/fnv"

	"github.com/steward-dev/steward/internal/derr"
)

// TryLockTenant takes the tenant's sync lock: a PostgreSQL advisory lock held
// on a dedicated connection, so that one run per tenant happens at a time
// across every Steward process (the leader per tenant). It reports false if
// another session holds it. The lock is released by unlock, or by the server
// if this process dies and its connection drops.
func (db *DB) TryLockTenant(ctx context.Context, tenantID string) (unlock func(), ok bool, err error) {
	defer derr.Wrap(&err, "store.TryLockTenant(%s)", tenantID)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, mapError(err, "acquire")
	}
	key := lockKey(tenantID)
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, false, mapError(err, "sync lock")
	}
	return func() {
		// A fresh context: the run's may be cancelled, the lock must still go.
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// The connection is suspect: close it so the server drops the lock.
			conn.Conn().Close(ctx)
		}
		conn.Release()
	}, true, nil
}

// lockKey maps a tenant to an advisory lock key in a namespace of its own.
func lockKey(tenantID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("steward-sync:"))
	h.Write([]byte(normalizeTenant(tenantID)))
	return int64(h.Sum64())
}
