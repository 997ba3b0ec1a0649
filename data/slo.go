package data

import (
	"math"
	"time"
)

// SLOMinute is one minute of an SLO's events: how many were good and how many
// there were. Start is the minute's first instant.
type SLOMinute struct {
	Start       time.Time
	Good, Total int64
}

// Validate checks the counts: neither negative, good never more than total.
func (m SLOMinute) Validate() error {
	switch {
	case m.Start.IsZero():
		return Invalid("time", "is missing")
	case m.Good < 0:
		return Invalid("good", "%d is negative", m.Good)
	case m.Total < 0:
		return Invalid("total", "%d is negative", m.Total)
	case m.Good > m.Total:
		return Invalid("good", "%d is more than total (%d)", m.Good, m.Total)
	}
	return nil
}

// BurnRate is how fast an SLO spent its error budget over one window: 1
// spends exactly the budget over the SLO's window, 14.4 spends 2% of a 30-day
// budget in an hour. Events is how many events the window had; a window
// without events has no burn rate.
type BurnRate struct {
	Window time.Duration `json:"window_seconds"`
	Rate   float64       `json:"rate"`
	Events int64         `json:"events"`
}

// SLO alert severities.
const (
	SLOFastBurn = "fast"
	SLOSlowBurn = "slow"
)

// SLOFigures is what the SLO engine last computed for one SLO, kept in the
// store so that the page and the API show it without computing anything.
type SLOFigures struct {
	SLOID     string
	JourneyID string
	Name      string
	Position  int     // order within the journey
	Objective float64 // percent, e.g. 99.9
	// Window says the compliance window in words ("28 days", "calendar
	// month"); WindowStart and WindowEnd bound what the figures cover.
	Window      string
	WindowStart time.Time
	WindowEnd   time.Time
	Good, Total int64
	// SLI is Good/Total and HasData says whether there were any events;
	// without events SLI and BudgetRemaining mean nothing.
	SLI     float64
	HasData bool
	// BudgetTime is the whole error budget as time: the share of the window
	// the objective allows to fail. BudgetRemaining is the share of it left
	// (1 untouched, 0 spent, below 0 overspent).
	BudgetTime      time.Duration
	BudgetRemaining float64
	Burn            []BurnRate
	// Alert is SLOFastBurn, SLOSlowBurn or "" and AlertReason says why.
	Alert       string
	AlertReason string
	// Stale is set when the feed has been unreachable or silent: the figures
	// are as of LastDataAt.
	Stale      bool
	LastDataAt time.Time
	UpdatedAt  time.Time
}

// BudgetRemainingTime is the error budget left, as time (negative when
// overspent).
func (f SLOFigures) BudgetRemainingTime() time.Duration {
	if !f.HasData {
		return f.BudgetTime
	}
	return time.Duration(math.Round(float64(f.BudgetTime) * f.BudgetRemaining))
}

// Validate checks figures before they are stored.
func (f SLOFigures) Validate() error {
	if err := ValidateID("slo", f.SLOID); err != nil {
		return err
	}
	if err := ValidateID("journey", f.JourneyID); err != nil {
		return err
	}
	if !(f.Objective > 0 && f.Objective < 100) {
		return Invalid("objective", "%v is not a percentage between 0 and 100", f.Objective)
	}
	if f.Good < 0 || f.Total < f.Good {
		return Invalid("good", "%d good of %d is not possible", f.Good, f.Total)
	}
	switch f.Alert {
	case "", SLOFastBurn, SLOSlowBurn:
	default:
		return Invalid("alert", "%q is not fast, slow or empty", f.Alert)
	}
	return ValidateText("name", f.Name, 200, true, false)
}

// SLOBurn is the payload of EventSLOBurn and EventSLORecovered: an SLO
// started or stopped burning its error budget fast enough to alert, or
// changed how fast. The incident workflow turns a burn into a draft incident
// and the notifier into a staff alert.
type SLOBurn struct {
	SLOID       string  `json:"slo_id"`
	SLOName     string  `json:"slo_name"`
	JourneyID   string  `json:"journey_id"`
	JourneyName string  `json:"journey_name"`
	Objective   float64 `json:"objective"`
	// Severity is SLOFastBurn or SLOSlowBurn while burning, "" on recovery;
	// OldSeverity is what it was before.
	Severity    string `json:"severity"`
	OldSeverity string `json:"old_severity"`
	// Status is what the burn sets on the components (operational on
	// recovery).
	Status ComponentStatus `json:"status"`
	// Long and Short are the alert's window pair with their burn rates and
	// Factor the threshold they crossed; zero on recovery.
	Long      time.Duration `json:"long_window"`
	Short     time.Duration `json:"short_window"`
	LongRate  float64       `json:"long_rate"`
	ShortRate float64       `json:"short_rate"`
	Factor    float64       `json:"factor"`
	// BudgetRemaining is the share of the error budget left over the SLO's
	// window.
	BudgetRemaining float64 `json:"budget_remaining"`
	Reason          string  `json:"reason"`
	// Components are the components whose automatic input the SLO sets;
	// empty means every component of the journey.
	Components []string  `json:"components"`
	At         time.Time `json:"at"`
}

func (*SLOBurn) eventPayload() {}

// SLOInputKey is the key of an SLO's automatic input on a component.
func SLOInputKey(sloID string) string { return "slo:" + sloID }
