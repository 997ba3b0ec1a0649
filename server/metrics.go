package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests       *prometheus.HistogramVec
	rebuilds       *prometheus.CounterVec
	rebuildSeconds prometheus.Histogram
}

func newMetrics(r prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "statusd_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route", "code"}),
		rebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "statusd_snapshot_rebuilds_total",
			Help: "Snapshot rebuilds by result: ok, stale (store unreadable, last data re-rendered) or error.",
		}, []string{"result"}),
		rebuildSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "statusd_snapshot_rebuild_duration_seconds",
			Help:    "Time to read the store and render every public document.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	if r != nil {
		age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "statusd_snapshot_age_seconds",
			Help: "Age of the data the served snapshot shows; -1 before the first successful read.",
		}, func() float64 {
			a := s.dataAge()
			if a < 0 {
				return -1
			}
			return a.Seconds()
		})
		r.MustRegister(m.requests, m.rebuilds, m.rebuildSeconds, age)
	}
	return m
}

// middleware times each request under its route pattern, so the label set
// stays bounded whatever paths clients make up.
func (m *metrics) middleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	route := c.Route().Path
	code := c.Response().StatusCode()
	if err != nil {
		e, _ := ErrorFor(err)
		code = e.Code
	}
	if route == "/" && c.Path() != "/" {
		route = "other" // fiber reports "/" for the catch-all
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	return err
}
