// Package derr is Steward's small domain error type.
//
// Every layer speaks the same few codes, so the web layer can turn any error into
// the right HTTP status without knowing where it came from, and users only ever
// see the message of an error that was meant for them. Internal errors (anything
// without a code) are logged and shown as "Internal error."
package derr

import (
	"errors"
	"fmt"
)

// Codes that callers may act on. Anything else is internal.
const (
	EINTERNAL    = "internal"
	EINVALID     = "invalid"
	ENOTFOUND    = "not_found"
	ECONFLICT    = "conflict"
	EFORBIDDEN   = "forbidden"
	EUNAVAILABLE = "unavailable"
)

// Error is an error meant to be shown: its Message is safe for users to read.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the code of the first *Error in err's chain, or EINTERNAL.
// A nil error has no code.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Message returns the user-safe message of the first *Error in err's chain, or
// "Internal error." so that internals never leak to a page.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Wrap adds context to *errp when it is non-nil, keeping the chain intact (%w).
// Use it once per function, deferred:
//
//	defer derr.Wrap(&err, "store.Tenant(%s)", id)
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
