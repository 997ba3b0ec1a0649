package notifier

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrBreakerOpen is returned (wrapped) for a delivery not attempted because
// its host's breaker is open. The delivery waits without losing an attempt.
var ErrBreakerOpen = errors.New("circuit breaker open")

// BreakerSettings configure the breakers of one channel.
type BreakerSettings struct {
	// Failures in a row that open a breaker; 5 if 0.
	Failures uint32
	// OpenFor is how long an open breaker refuses before letting one probe
	// attempt through; 30s if 0.
	OpenFor time.Duration
}

// breakers holds one circuit breaker per key (a webhook host or an SMTP
// server). Only faults of the host count against it (timeouts, refused
// connections, 5xx, 429); an endpoint's own 404 does not open the breaker
// for every other endpoint on the same host.
type breakers struct {
	settings gobreaker.Settings
	mu       sync.Mutex
	m        map[string]*gobreaker.TwoStepCircuitBreaker[struct{}]
	onChange func(key string, from, to gobreaker.State)
}

type gobreakerState = gobreaker.State

// maxBreakers bounds the map; closed breakers without recent failures are
// dropped when it is reached.
const maxBreakers = 20000

func newBreakers(s BreakerSettings, onChange func(key string, from, to gobreaker.State)) *breakers {
	if s.Failures == 0 {
		s.Failures = 5
	}
	if s.OpenFor <= 0 {
		s.OpenFor = 30 * time.Second
	}
	n := s.Failures
	b := &breakers{m: map[string]*gobreaker.TwoStepCircuitBreaker[struct{}]{}, onChange: onChange}
	b.settings = gobreaker.Settings{
		MaxRequests:  1,
		Interval:     0,
		Timeout:      s.OpenFor,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= n },
		IsSuccessful: func(err error) bool { return !hostFault(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if b.onChange != nil {
				b.onChange(name, from, to)
			}
		},
	}
	return b
}

func (b *breakers) get(key string) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	b.mu.Lock()
	defer b.mu.Unlock()
	cb, ok := b.m[key]
	if !ok {
		if len(b.m) >= maxBreakers {
			for k, v := range b.m {
				if v.State() == gobreaker.StateClosed && v.Counts().ConsecutiveFailures == 0 {
					delete(b.m, k)
				}
			}
		}
		s := b.settings
		s.Name = key
		cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](s)
		b.m[key] = cb
	}
	return cb
}

// allow asks key's breaker for permission; done reports the outcome.
func (b *breakers) allow(key string) (done func(error), err error) {
	done, err = b.get(key).Allow()
	if err != nil {
		return nil, ErrBreakerOpen
	}
	return done, nil
}

// states counts breakers by state, for the metrics.
func (b *breakers) states() (closed, halfOpen, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, cb := range b.m {
		switch cb.State() {
		case gobreaker.StateClosed:
			closed++
		case gobreaker.StateHalfOpen:
			halfOpen++
		case gobreaker.StateOpen:
			open++
		}
	}
	return
}

// openFor is how long an open breaker waits before a probe attempt.
func (b *breakers) openFor() time.Duration { return b.settings.Timeout }
