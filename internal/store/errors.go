package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/steward-dev/steward/internal/derr"
)

// mapError turns driver errors into the project's error codes, so callers
// never import pgx to ask "was it not found?". what names the operation for
// the message of a user-facing error. Unknown errors pass through wrapped and
// are treated as internal.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &derr.Error{Code: derr.ENOTFOUND, Message: what + " not found"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &derr.Error{Code: derr.ECONFLICT, Message: what + " already exists"}
		case "23503", "23514", "23502", "22P02": // foreign key, check, not null, invalid text
			return &derr.Error{Code: derr.EINVALID, Message: what + " is invalid"}
		case "40001", "40P01": // serialization failure, deadlock: safe to retry
			return &derr.Error{Code: derr.ECONFLICT, Message: what + " conflicted with a concurrent change; try again"}
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &derr.Error{Code: derr.EUNAVAILABLE, Message: "the database is not reachable"}
	}
	return fmt.Errorf("%s: %w", what, err)
}
