package slo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/sony/gobreaker/v2"

	"github.com/statusd/statusd/data"
)

// PrometheusConfig says where and what a Prometheus feed reads.
//
// GoodQuery and TotalQuery count the events of the minute before the
// evaluation time, e.g. sum(increase(http_requests_total{job="checkout",
// code!~"5.."}[1m])). Instead of GoodQuery, ErrorRatioQuery may give the
// share of bad events in that minute (0 to 1); without TotalQuery each
// minute then weighs the same (RatioWeight events).
type PrometheusConfig struct {
	URL             string
	GoodQuery       string
	TotalQuery      string
	ErrorRatioQuery string
	Timeout         time.Duration // per request; 10s
	Retries         int           // after the first attempt; 2
	// BreakerFailures consecutive failures open the breaker for
	// BreakerOpen, during which reads fail at once; 5 and 30s.
	BreakerFailures int
	BreakerOpen     time.Duration
	// Transport is for tests; a transport with connect and header timeouts
	// when nil.
	Transport http.RoundTripper
}

// RatioWeight is how many events a minute counts for when an SLO is read
// from an error-ratio query alone.
const RatioWeight = 10000

// Prometheus is a Source reading an SLO's minutes from a Prometheus server
// with query_range at one-minute steps. Each request has a timeout, failed
// requests are retried with exponential backoff and full jitter, and a
// breaker stops calling a server that keeps failing.
type Prometheus struct {
	cfg     PrometheusConfig
	api     v1.API
	breaker *gobreaker.CircuitBreaker[model.Value]
	sleep   func(ctx context.Context, d time.Duration) error
}

var _ Source = (*Prometheus)(nil)

// NewPrometheus makes a Prometheus feed. Returns an *data.InvalidError for
// a missing URL or queries.
func NewPrometheus(name string, cfg PrometheusConfig) (*Prometheus, error) {
	switch {
	case cfg.URL == "":
		return nil, data.Invalid("url", "a Prometheus feed needs the server's URL")
	case cfg.TotalQuery == "" && cfg.ErrorRatioQuery == "":
		return nil, data.Invalid("total_query", "a Prometheus feed needs total_query (or error_ratio_query)")
	case cfg.GoodQuery == "" && cfg.ErrorRatioQuery == "":
		return nil, data.Invalid("good_query", "a Prometheus feed needs good_query (or error_ratio_query)")
	case cfg.GoodQuery != "" && cfg.ErrorRatioQuery != "":
		return nil, data.Invalid("error_ratio_query", "give good_query or error_ratio_query, not both")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 2
	}
	if cfg.BreakerFailures <= 0 {
		cfg.BreakerFailures = 5
	}
	if cfg.BreakerOpen <= 0 {
		cfg.BreakerOpen = 30 * time.Second
	}
	rt := cfg.Transport
	if rt == nil {
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		}
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, data.Invalid("url", "%v", err)
	}
	p := &Prometheus{cfg: cfg, api: v1.NewAPI(c), sleep: sleepCtx}
	failures := uint32(cfg.BreakerFailures)
	p.breaker = gobreaker.NewCircuitBreaker[model.Value](gobreaker.Settings{
		Name:        "prometheus " + name,
		Timeout:     cfg.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// A query Prometheus refuses is a configuration mistake, not an
		// unhealthy server; a cancelled read says nothing either way.
		IsExcluded: func(err error) bool { return permanent(err) || errors.Is(err, context.Canceled) },
	})
	return p, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// permanent reports whether retrying err cannot help: Prometheus refused
// the query itself.
func permanent(err error) bool {
	var ae *v1.Error
	return errors.As(err, &ae) && (ae.Type == v1.ErrBadData || ae.Type == v1.ErrBadResponse)
}

// Minutes reads the minutes [from, to): the sample at each step t counts the
// minute that ends at t. A minute for which a query has no sample is left
// out (no data, not bad data).
func (p *Prometheus) Minutes(ctx context.Context, from, to time.Time) ([]data.SLOMinute, error) {
	r := v1.Range{Start: from.Add(time.Minute), End: to, Step: time.Minute}
	if r.End.Before(r.Start) {
		return nil, nil
	}
	var total, good, ratio map[int64]float64
	var err error
	if p.cfg.TotalQuery != "" {
		if total, err = p.query(ctx, p.cfg.TotalQuery, r); err != nil {
			return nil, err
		}
	}
	if p.cfg.GoodQuery != "" {
		if good, err = p.query(ctx, p.cfg.GoodQuery, r); err != nil {
			return nil, err
		}
	} else if ratio, err = p.query(ctx, p.cfg.ErrorRatioQuery, r); err != nil {
		return nil, err
	}
	var out []data.SLOMinute
	for t := r.Start; !t.After(r.End); t = t.Add(time.Minute) {
		k := t.Unix()
		var g, n float64
		switch {
		case good != nil:
			var ok1, ok2 bool
			n, ok1 = total[k]
			g, ok2 = good[k]
			if !ok1 || !ok2 {
				continue
			}
		default:
			e, ok := ratio[k]
			if !ok || math.IsNaN(e) {
				continue
			}
			e = min(max(e, 0), 1)
			n = RatioWeight
			if total != nil {
				if n, ok = total[k]; !ok {
					continue
				}
			}
			g = n * (1 - e)
		}
		if math.IsNaN(n) || math.IsNaN(g) || math.IsInf(n, 0) || math.IsInf(g, 0) {
			continue
		}
		ni := int64(math.Round(max(n, 0)))
		gi := min(int64(math.Round(max(g, 0))), ni)
		out = append(out, data.SLOMinute{Start: t.Add(-time.Minute).UTC(), Good: gi, Total: ni})
	}
	return out, nil
}

// query runs one range query through the breaker with retries and sums the
// series it returns at each step, by Unix second.
func (p *Prometheus) query(ctx context.Context, q string, r v1.Range) (map[int64]float64, error) {
	var v model.Value
	var err error
	for attempt := 0; ; attempt++ {
		v, err = p.breaker.Execute(func() (model.Value, error) {
			qctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			defer cancel()
			v, _, _, err := p.api.QueryRange(qctx, q, r)
			return v, err
		})
		if err == nil {
			break
		}
		if attempt >= p.cfg.Retries || permanent(err) || errors.Is(err, gobreaker.ErrOpenState) ||
			errors.Is(err, gobreaker.ErrTooManyRequests) || ctx.Err() != nil {
			return nil, fmt.Errorf("query %s: %w", p.cfg.URL, err)
		}
		// Full jitter: a random wait up to 250ms, 500ms, 1s… (at most 5s),
		// so that feeds failing together do not retry together.
		backoff := min(250*time.Millisecond<<attempt, 5*time.Second)
		if err := p.sleep(ctx, rand.N(backoff)+time.Millisecond); err != nil {
			return nil, fmt.Errorf("query %s: %w", p.cfg.URL, err)
		}
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("query %s: got a %s, want a range vector", p.cfg.URL, v.Type())
	}
	out := map[int64]float64{}
	for _, s := range m {
		for _, sp := range s.Values {
			out[sp.Timestamp.Unix()] += float64(sp.Value)
		}
	}
	return out, nil
}
