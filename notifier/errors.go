package notifier

import (
	"errors"
	"fmt"
	"time"
)

// SendError describes a failed delivery attempt and what to do about it.
type SendError struct {
	Permanent  bool          // retrying cannot help: dead-letter at once
	Gone       bool          // the endpoint asked to be removed (HTTP 410): disable it
	HostFault  bool          // the host itself is failing: counts against its breaker
	RetryAfter time.Duration // the receiver's own hint, 0 if none
	Code       int           // HTTP status or SMTP reply code; 0 if there was no answer
	Reason     string        // short, safe to store and show to operators
	Err        error
}

func (e *SendError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return e.Reason
}

func (e *SendError) Unwrap() error { return e.Err }

// hostFault reports whether err says the host (not just one endpoint or
// recipient on it) is failing. Errors that are not a *SendError are network
// trouble and count.
func hostFault(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.HostFault
	}
	return true
}

// permanent reports whether err means the delivery can never succeed.
func permanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && (se.Permanent || se.Gone)
}

// gone reports whether the endpoint asked to be removed.
func gone(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Gone
}

// retryAfter is the receiver's hint for the next attempt, 0 if none.
func retryAfter(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}
