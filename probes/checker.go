package probes

import (
	"context"
	"time"

	"github.com/statusd/statusd/data"
)

// Check is what one run of a checker found.
type Check struct {
	Outcome data.ProbeOutcome
	// Reason says why the run was degraded or down, in words for people
	// ("returned 502 (want 200-299)", "certificate expired on 2026-01-02");
	// empty when up. It never holds a secret.
	Reason string
	// Step names the journey step that decided the outcome.
	Step string
}

// A Checker runs one kind of check against one target.
type Checker interface {
	// Check runs once and reports what it found. It returns by ctx's
	// deadline (a run that hits it is down, with a reason saying what it
	// was waiting for) and never panics on what a target sends.
	Check(ctx context.Context) Check
}

// Probe is a checker with its schedule and the rules the engine applies to
// its results.
type Probe struct {
	ID          string
	Name        string // shown in reasons; the id if not set
	ComponentID string
	Interval    time.Duration
	Timeout     time.Duration
	// FailureThreshold consecutive down runs mark the probe down (in a
	// region); SuccessThreshold consecutive better runs recover it. The
	// same counts apply to degraded.
	FailureThreshold int
	SuccessThreshold int
	// Quorum is how many regions must agree before the probe counts as
	// failing for its component. 1 unless results come from several regions.
	Quorum int
	// Regions the probe runs in; [data.DefaultRegion] if empty.
	Regions []string
	Checker Checker
}

func (p *Probe) name() string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

func up() Check { return Check{Outcome: data.ProbeUp} }

func down(reason string) Check { return Check{Outcome: data.ProbeDown, Reason: reason} }

// timeoutOf is how long ctx allowed from start, for reasons.
func timeoutOf(ctx context.Context, start time.Time) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return dl.Sub(start)
	}
	return time.Since(start)
}
