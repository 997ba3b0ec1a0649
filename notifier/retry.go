package notifier

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides when a failed delivery is tried again. Next returns the
// wait before the next attempt after attempts attempts have failed, and false
// when the delivery has had all the attempts it gets. A delivery older than
// MaxAge is not retried either.
type RetryPolicy struct {
	// Schedule, when set, lists the waits before each attempt: Schedule[0]
	// before the first (normally 0), Schedule[n] before attempt n+1. Its
	// length is the number of attempts. Each wait gets up to Jitter more.
	Schedule []time.Duration
	Jitter   float64 // fraction of the wait added at random, 0..1

	// Without a schedule: exponential backoff with full jitter, the wait
	// before attempt n+1 drawn uniformly from [0, min(Cap, Base·2^(n-1))].
	Base, Cap   time.Duration
	MaxAttempts int

	// MaxAge bounds how long after its creation a delivery may still be
	// attempted; 0 means no bound beyond the attempts.
	MaxAge time.Duration
}

// WebhookSchedule is the Standard Webhooks retry schedule: immediately, then
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each failure,
// about three days and three hours in all.
var WebhookSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// DefaultWebhookRetry follows WebhookSchedule with 10% jitter, so endpoints
// that failed together are not all retried in the same second.
func DefaultWebhookRetry() RetryPolicy {
	return RetryPolicy{Schedule: WebhookSchedule, Jitter: 0.1, MaxAge: 80 * time.Hour}
}

// DefaultEmailRetry backs off exponentially from 30 s to at most 30 min with
// full jitter, for up to 24 hours: an incident notice older than that is
// history, not news.
func DefaultEmailRetry() RetryPolicy {
	return RetryPolicy{Base: 30 * time.Second, Cap: 30 * time.Minute, MaxAttempts: 30, MaxAge: 24 * time.Hour}
}

// Next returns the wait before the next attempt, after attempts failed
// attempts of a delivery created at created, or false when it should go to
// the dead letters instead.
func (p RetryPolicy) Next(attempts int, created, now time.Time, rnd func() float64) (time.Duration, bool) {
	if rnd == nil {
		rnd = rand.Float64
	}
	var wait time.Duration
	if len(p.Schedule) > 0 {
		if attempts >= len(p.Schedule) {
			return 0, false
		}
		wait = p.Schedule[attempts]
		wait += time.Duration(float64(wait) * p.Jitter * rnd())
	} else {
		if p.MaxAttempts > 0 && attempts >= p.MaxAttempts {
			return 0, false
		}
		ceil := p.Cap
		if attempts >= 1 && attempts < 40 {
			if d := p.Base << (attempts - 1); d > 0 && d < ceil {
				ceil = d
			}
		}
		wait = time.Duration(rnd() * float64(ceil))
	}
	if p.MaxAge > 0 && now.Add(wait).Sub(created) > p.MaxAge {
		return 0, false
	}
	return wait, true
}
