package probes

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
)

// Metrics are the probes' Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	duration    *prometheus.HistogramVec
	results     *prometheus.CounterVec
	component   *prometheus.GaugeVec
	lag         prometheus.Histogram
	missedTicks prometheus.Counter
	batchSize   prometheus.Histogram
	batchTime   prometheus.Histogram
	dropped     prometheus.Counter

	perProbe sync.Map // probe+"\x00"+region → *probeObservers
}

type probeObservers struct {
	duration prometheus.Observer
	results  [3]prometheus.Counter // by outcome level
}

// NewMetrics registers the probe metrics on reg. Labels are bounded by the
// configuration: probe ids, regions and component ids.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "statusd_probe_duration_seconds", Help: "Time of each probe run (a journey: all its steps).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"probe", "region"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_probe_results_total", Help: "Probe runs by result: up, degraded or down.",
		}, []string{"probe", "region", "result"}),
		component: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "statusd_probe_component_status",
			Help: "Status the probe engine asserts per component: 0 operational, 2 degraded performance, 3 partial outage, 4 major outage.",
		}, []string{"component"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "statusd_probe_scheduler_lag_seconds", Help: "How late probe runs start after they are due.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		missedTicks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_probe_scheduler_missed_total", Help: "Probe runs skipped because they could not start before the next was due.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "statusd_probe_results_write_batch_size", Help: "Results per write transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "statusd_probe_results_write_duration_seconds", Help: "Time to write one batch of results and aggregates.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_probe_results_dropped_total", Help: "Results not stored because the database kept failing.",
		}),
	}
	reg.MustRegister(m.duration, m.results, m.component, m.lag, m.missedTicks, m.batchSize, m.batchTime, m.dropped)
	return m
}

func (m *Metrics) result(r *data.ProbeResult) {
	if m == nil {
		return
	}
	key := r.ProbeID + "\x00" + r.Region
	o, ok := m.perProbe.Load(key)
	if !ok {
		po := &probeObservers{duration: m.duration.WithLabelValues(r.ProbeID, r.Region)}
		for i, name := range []data.ProbeOutcome{data.ProbeUp, data.ProbeDegraded, data.ProbeDown} {
			po.results[i] = m.results.WithLabelValues(r.ProbeID, r.Region, string(name))
		}
		o, _ = m.perProbe.LoadOrStore(key, po)
	}
	po := o.(*probeObservers)
	po.duration.Observe(r.Duration.Seconds())
	po.results[r.Outcome.Level()].Inc()
}

func (m *Metrics) schedulerLag(d time.Duration) {
	if m != nil {
		m.lag.Observe(d.Seconds())
	}
}

func (m *Metrics) missed(n int) {
	if m != nil {
		m.missedTicks.Add(float64(n))
	}
}

func (m *Metrics) batch(n int, took time.Duration) {
	if m != nil {
		m.batchSize.Observe(float64(n))
		m.batchTime.Observe(took.Seconds())
	}
}

func (m *Metrics) drop(n int) {
	if m != nil {
		m.dropped.Add(float64(n))
	}
}

func (m *Metrics) componentStatus(id string, s data.ComponentStatus) {
	if m != nil {
		m.component.WithLabelValues(id).Set(float64(s.Severity()))
	}
}
