package data

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when a requested record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a change contradicts the current state, such as
// an incident update that its state machine does not allow.
var ErrConflict = errors.New("conflict")

// ErrClosed is returned by a Store that has been closed.
var ErrClosed = errors.New("store closed")

// InvalidError reports a value that failed validation. Field names the input
// field (as the user spelled it, e.g. "status"); Reason says what is wrong in
// words fit to show the user.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "invalid: " + e.Reason
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Invalid returns an *InvalidError for field with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
