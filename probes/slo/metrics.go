package slo

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	sliDesc = prometheus.NewDesc("statusd_slo_sli",
		"Share of good events over the SLO's compliance window (absent without events).", []string{"slo", "journey"}, nil)
	objectiveDesc = prometheus.NewDesc("statusd_slo_objective_ratio",
		"The SLO's objective as a ratio, e.g. 0.999.", []string{"slo", "journey"}, nil)
	budgetDesc = prometheus.NewDesc("statusd_slo_error_budget_remaining_ratio",
		"Share of the error budget left over the compliance window; below 0 when overspent (absent without events).", []string{"slo", "journey"}, nil)
	burnDesc = prometheus.NewDesc("statusd_slo_burn_rate",
		"Error budget burn rate over an alert window: 1 spends the budget exactly over the compliance window (absent for a window without events).",
		[]string{"slo", "window"}, nil)
	staleDesc = prometheus.NewDesc("statusd_slo_stale",
		"1 while the SLO's feed is unreachable or silent, so its figures are old and it changes no status.", []string{"slo"}, nil)
	lastDataDesc = prometheus.NewDesc("statusd_slo_last_data_timestamp_seconds",
		"When the SLO's newest data ends, as a Unix time (absent before any data).", []string{"slo"}, nil)
	alertDesc = prometheus.NewDesc("statusd_slo_alert",
		"1 while the SLO's burn-rate alert of this severity sets its journey's status.", []string{"slo", "severity"}, nil)
)

// Describe sends the descriptions of the engine's metrics.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sliDesc, objectiveDesc, budgetDesc, burnDesc, staleDesc, lastDataDesc, alertDesc} {
		ch <- d
	}
}

// Collect sends the current figures of every SLO. Labels are the configured
// SLO ids and alert windows, so their number is bounded by the
// configuration.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	for _, f := range e.Figures() {
		if f.SLOID == "" {
			continue // not evaluated yet
		}
		ch <- prometheus.MustNewConstMetric(objectiveDesc, prometheus.GaugeValue, f.Objective/100, f.SLOID, f.JourneyID)
		if f.HasData {
			ch <- prometheus.MustNewConstMetric(sliDesc, prometheus.GaugeValue, f.SLI, f.SLOID, f.JourneyID)
			ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, f.BudgetRemaining, f.SLOID, f.JourneyID)
		}
		for _, b := range f.Burn {
			if b.Events > 0 {
				ch <- prometheus.MustNewConstMetric(burnDesc, prometheus.GaugeValue, b.Rate, f.SLOID, FormatWindow(b.Window))
			}
		}
		stale := 0.0
		if f.Stale {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, stale, f.SLOID)
		if !f.LastDataAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(lastDataDesc, prometheus.GaugeValue, float64(f.LastDataAt.Unix()), f.SLOID)
		}
		for _, sev := range []string{"fast", "slow"} {
			v := 0.0
			if f.Alert == sev {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(alertDesc, prometheus.GaugeValue, v, f.SLOID, sev)
		}
	}
}

var _ prometheus.Collector = (*Engine)(nil)
