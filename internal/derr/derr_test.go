package derr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/steward-dev/steward/internal/derr"
)

func TestCodeAndMessage(t *testing.T) {
	notFound := derr.Errorf(derr.ENOTFOUND, "account %s not found", "x")
	var wrapped error = notFound
	derr.Wrap(&wrapped, "web.accountShow(%s)", "x")
	for _, tc := range []struct {
		err       error
		code, msg string
	}{
		{nil, "", "Internal error."},
		{errors.New("pq: password=hunter2"), derr.EINTERNAL, "Internal error."},
		{notFound, derr.ENOTFOUND, "account x not found"},
		{wrapped, derr.ENOTFOUND, "account x not found"},
		{fmt.Errorf("outer: %w", wrapped), derr.ENOTFOUND, "account x not found"},
	} {
		if got := derr.Code(tc.err); got != tc.code {
			t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if tc.err != nil {
			if got := derr.Message(tc.err); got != tc.msg {
				t.Errorf("Message(%v) = %q, want %q", tc.err, got, tc.msg)
			}
		}
	}
	if wrapped.Error() != "web.accountShow(x): not_found: account x not found" {
		t.Errorf("Wrap: %q", wrapped.Error())
	}
	var none error
	derr.Wrap(&none, "ignored")
	if none != nil {
		t.Errorf("Wrap on nil error = %v, want nil", none)
	}
}
