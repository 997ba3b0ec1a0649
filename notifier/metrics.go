package notifier

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	deliveries     *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	attemptSeconds *prometheus.HistogramVec
	queued         *prometheus.GaugeVec
	oldest         *prometheus.GaugeVec
	expanded       prometheus.Counter
}

func newMetrics(r prometheus.Registerer, e *Engine) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_deliveries_total",
			Help: "Delivery attempts by channel and result: sent, retry, dead, deferred (breaker open or host busy, no attempt spent), released (shutdown), dropped.",
		}, []string{"channel", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "statusd_delivery_latency_seconds",
			Help:    "Time from an event's publication to its successful delivery, by channel.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600, 72 * 3600},
		}, []string{"channel"}),
		attemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "statusd_delivery_attempt_duration_seconds",
			Help:    "Time one delivery attempt took, by channel.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 11),
		}, []string{"channel"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "statusd_delivery_queue_depth",
			Help: "Deliveries pending, retrying or in flight, by channel (\"transactional\": confirmation mails in the mail outbox).",
		}, []string{"channel"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "statusd_delivery_oldest_pending_seconds",
			Help: "Age of the event behind the oldest undelivered delivery, by channel; 0 when the queue is empty.",
		}, []string{"channel"}),
		expanded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "statusd_fanout_deliveries_total",
			Help: "Deliveries created by expanding events to subscribers.",
		}),
	}
	if r != nil {
		r.MustRegister(m.deliveries, m.latency, m.attemptSeconds, m.queued, m.oldest, m.expanded, breakerCollector{e})
	}
	return m
}

// breakerCollector reports how many breakers are in each state, per
// channel, at scrape time. Hosts are not labels: their number is unbounded.
type breakerCollector struct{ e *Engine }

var breakerDesc = prometheus.NewDesc("statusd_delivery_breakers",
	"Circuit breakers by channel and state (closed, half_open, open); one per webhook host and per SMTP relay.",
	[]string{"channel", "state"}, nil)

func (c breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breakerDesc }

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range []struct {
		name string
		b    *breakers
	}{{"email", c.e.emailBreakers}, {"webhook", c.e.webhookBreakers}} {
		if x.b == nil {
			continue
		}
		closed, half, open := x.b.states()
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, float64(closed), x.name, "closed")
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, float64(half), x.name, "half_open")
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, float64(open), x.name, "open")
	}
}
