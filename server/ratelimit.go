package server

import (
	"sync"
	"time"
)

// rateLimiter allows each key n events per window, counted in fixed
// windows. Memory is bounded: at most maxKeys keys are tracked per window,
// and a key that does not fit is refused (failing closed under a flood of
// distinct keys).
type rateLimiter struct {
	n      int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	start time.Time
	count map[string]int
}

const maxRateKeys = 100000

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, now: time.Now, count: map[string]int{}}
}

// allow counts an event for key and reports whether it is within the limit.
func (r *rateLimiter) allow(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.start) >= r.window {
		r.start = now
		clear(r.count)
	}
	c, ok := r.count[key]
	if !ok && len(r.count) >= maxRateKeys {
		return false
	}
	if c >= r.n {
		return false
	}
	r.count[key] = c + 1
	return true
}
