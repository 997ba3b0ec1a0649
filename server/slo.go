package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/statusd/statusd/probes/slo"
)

// sloView is one SLO of a journey on the page: every figure as text, and the
// remaining error budget also as a <meter>.
type sloView struct {
	ID         string // HTML id
	Name       string
	Compliance string // e.g. "99.93% good over the last 28 days (objective 99.95%)"
	HasData    bool
	// BudgetValue is the share of the budget left for the meter, 0 to 100
	// (0 when overspent); BudgetText says it in words.
	BudgetValue int
	BudgetText  string
	Alert       string // why the SLO sets its journey's status; "" when it does not
	Stale       string // "No data since …" when the feed is silent; ""
}

// sloViews returns the views of a journey's SLOs from the snapshot's figures.
func (s *Server) sloViews(m *model, journeyID string) []sloView {
	var out []sloView
	for _, f := range m.snap.SLOs {
		if f.JourneyID != journeyID {
			continue
		}
		v := sloView{ID: "slo-" + f.SLOID, Name: f.Name, HasData: f.HasData}
		over := "over the last " + f.Window
		if f.Window == "calendar month" {
			over = "this calendar month"
		}
		obj := slo.FormatObjective(f.Objective)
		if f.HasData {
			v.Compliance = fmt.Sprintf("%s good %s (objective %s)", sliPercent(f.SLI, f.Objective), over, obj)
			left := f.BudgetRemainingTime()
			switch {
			case f.BudgetRemaining >= 0:
				v.BudgetValue = int(math.Floor(f.BudgetRemaining * 100))
				v.BudgetText = fmt.Sprintf("%d%% of the error budget left (%s of %s)", v.BudgetValue, duration(left), duration(f.BudgetTime))
			default:
				v.BudgetText = fmt.Sprintf("Error budget spent: overspent by %s (%d%% of the %s budget)",
					duration(-left), int(math.Ceil(-f.BudgetRemaining*100)), duration(f.BudgetTime))
			}
		} else {
			v.Compliance = fmt.Sprintf("No events %s yet (objective %s)", over, obj)
		}
		if f.Alert != "" {
			v.Alert = f.AlertReason
		}
		if f.Stale {
			if f.LastDataAt.IsZero() {
				v.Stale = "No data has arrived yet."
			} else {
				v.Stale = "No data since " + s.timeView(f.LastDataAt).Text + "; the figures are as of then and do not change the status."
			}
		}
		out = append(out, v)
	}
	return out
}

// sliPercent formats an SLI with at least two decimals and one more than
// the objective has, rounded down so that a missed objective never reads as
// met.
func sliPercent(sli, objective float64) string {
	dec := 2
	if s := strconv.FormatFloat(objective, 'f', -1, 64); strings.Contains(s, ".") {
		dec = max(dec, len(s)-strings.Index(s, ".")-1+1)
	}
	dec = min(dec, 6)
	p := math.Pow(10, float64(dec))
	v := math.Floor(sli*100*p+1e-9) / p
	return strconv.FormatFloat(v, 'f', dec, 64) + "%"
}

// sloDoc is one SLO in journeys.json.
type sloDoc struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Objective   float64   `json:"objective"` // percent
	Window      string    `json:"window"`
	WindowStart spTime    `json:"window_start"`
	WindowEnd   spTime    `json:"window_end"`
	Good        int64     `json:"good"`
	Total       int64     `json:"total"`
	SLI         *float64  `json:"sli"` // null without events
	ErrorBudget budgetDoc `json:"error_budget"`
	BurnRates   []burnDoc `json:"burn_rates"`
	Alert       *string   `json:"alert"` // fast, slow or null
	AlertReason *string   `json:"alert_reason"`
	Stale       bool      `json:"stale"`
	LastDataAt  spTime    `json:"last_data_at"`
	UpdatedAt   spTime    `json:"updated_at"`
}

type budgetDoc struct {
	TotalSeconds     float64  `json:"total_seconds"`
	RemainingRatio   *float64 `json:"remaining_ratio"` // below 0 when overspent; null without events
	RemainingSeconds float64  `json:"remaining_seconds"`
}

type burnDoc struct {
	Window string  `json:"window"` // 5m, 1h, 3d
	Rate   float64 `json:"rate"`
	Events int64   `json:"events"`
}

// sloDocs returns a journey's SLOs for journeys.json.
func sloDocs(m *model, journeyID string) []sloDoc {
	out := []sloDoc{}
	for _, f := range m.snap.SLOs {
		if f.JourneyID != journeyID {
			continue
		}
		d := sloDoc{ID: f.SLOID, Name: f.Name, Objective: f.Objective, Window: f.Window, WindowStart: spTime(f.WindowStart),
			WindowEnd: spTime(f.WindowEnd), Good: f.Good, Total: f.Total, Alert: nullable(f.Alert), AlertReason: nullable(f.AlertReason),
			Stale: f.Stale, LastDataAt: spTime(f.LastDataAt), UpdatedAt: spTime(f.UpdatedAt), BurnRates: []burnDoc{},
			ErrorBudget: budgetDoc{TotalSeconds: round3(f.BudgetTime.Seconds()), RemainingSeconds: round3(f.BudgetRemainingTime().Seconds())}}
		if f.HasData {
			sli, rem := f.SLI, f.BudgetRemaining
			d.SLI, d.ErrorBudget.RemainingRatio = &sli, &rem
		}
		for _, b := range f.Burn {
			d.BurnRates = append(d.BurnRates, burnDoc{Window: slo.FormatWindow(b.Window), Rate: b.Rate, Events: b.Events})
		}
		out = append(out, d)
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
