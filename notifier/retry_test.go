package notifier_test

import (
	"testing"
	"time"

	"github.com/statusd/statusd/notifier"
)

func TestWebhookRetrySchedule(t *testing.T) {
	p := notifier.DefaultWebhookRetry()
	p.Jitter = 0
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
		14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		got, ok := p.Next(i+1, created, now, func() float64 { return 0.5 })
		if !ok || got != w {
			t.Fatalf("after %d failures: %v, %v; want %v", i+1, got, ok, w)
		}
		now = now.Add(got)
	}
	if _, ok := p.Next(10, created, now, nil); ok {
		t.Fatal("an 11th attempt was allowed")
	}
	// Jitter only ever adds, at most the fraction asked for.
	p.Jitter = 0.1
	got, _ := p.Next(1, created, created, func() float64 { return 1 })
	if got != 5*time.Second+500*time.Millisecond {
		t.Errorf("jittered wait %v", got)
	}
}

func TestEmailRetryBackoff(t *testing.T) {
	p := notifier.RetryPolicy{Base: time.Second, Cap: 10 * time.Second, MaxAttempts: 5, MaxAge: time.Hour}
	created := time.Now()
	for attempts, ceil := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second} {
		got, ok := p.Next(attempts, created, created, func() float64 { return 0.999999 })
		if !ok || got > ceil || got < ceil*9/10 {
			t.Errorf("after %d: %v; want just under %v", attempts, got, ceil)
		}
		if low, _ := p.Next(attempts, created, created, func() float64 { return 0 }); low != 0 {
			t.Errorf("full jitter floor %v; want 0", low)
		}
	}
	if _, ok := p.Next(5, created, created, nil); ok {
		t.Error("a 6th attempt was allowed")
	}
	// Too old: dead even with attempts left.
	if _, ok := p.Next(1, created, created.Add(time.Hour), nil); ok {
		t.Error("a delivery past its max age was retried")
	}
}
