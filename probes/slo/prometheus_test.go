package slo_test

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

// prometheusBinary finds Debian's prometheus. A missing binary fails the
// test (CI installs it with .ci/deps); only -short skips.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PROMETHEUS"), "/usr/bin/prometheus"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if testing.Short() {
		t.Skip("prometheus is not installed (-short)")
	}
	t.Fatal("prometheus is not installed: run bash .ci/deps (Debian package prometheus)")
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// promServer is a Prometheus the test started; kill stops it.
type promServer struct {
	URL  string
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

func (p *promServer) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill() // it may have exited on its own
		<-p.done
	})
}

// startPrometheus runs prometheus on a loopback port with a config that
// scrapes target every second, and waits until it has scraped it.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"+
		"  - job_name: app\n    static_configs:\n      - targets: ['%s']\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	var logs strings.Builder
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &promServer{URL: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }() // exit status of a killed server means nothing
	t.Cleanup(p.kill)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed assertion
	for {
		resp, err := client.Get(p.URL + "/api/v1/query?query=count_over_time(up%5B1m%5D)")
		if err == nil {
			var body [512]byte
			n, _ := resp.Body.Read(body[:])
			resp.Body.Close()
			// Three scrapes are enough for increase() to see a rate.
			if resp.StatusCode == 200 && strings.Contains(string(body[:n]), `"result":[{`) && !strings.Contains(string(body[:n]), `,"1"]`) &&
				!strings.Contains(string(body[:n]), `,"2"]`) {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("prometheus exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus did not scrape the exporter in time: %s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exporter serves counters that grow with time: per second, total by 10,000
// and good by goodPerSec.
func exporter(t *testing.T, goodPerSec float64) *httptest.Server {
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := time.Since(start).Seconds()
		total := math.Floor(s * 10000)
		good := math.Floor(s * goodPerSec)
		fmt.Fprintf(w, "# TYPE checkout_requests_total counter\ncheckout_requests_total{code=\"200\"} %.0f\ncheckout_requests_total{code=\"500\"} %.0f\n",
			good, total-good)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// shiftedClock runs with real time plus an offset the test moves: the
// engine's minutes line up with Prometheus' real samples while the test
// jumps ahead without waiting.
type shiftedClock struct{ off atomic.Int64 }

func (c *shiftedClock) Now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *shiftedClock) Add(d time.Duration) { c.off.Add(int64(d)) }

// TestPrometheusFeed reads an SLO from a real Prometheus scraping an
// exporter with known counters: 98% of requests succeed, so the SLI is 0.98
// and a 99.9% objective burns 20× (a fast burn). Then Prometheus dies: the
// SLO turns stale and the status stays.
func TestPrometheusFeed(t *testing.T) {
	exp := exporter(t, 9800)
	prom := startPrometheus(t, strings.TrimPrefix(exp.URL, "http://"))

	// Minutes are read up to the current minute's start, and Prometheus
	// has only seconds of data: move the engine's clock just past the
	// next minute, so that the minute it reads is the one with the data.
	clk := &shiftedClock{}
	now := time.Now()
	clk.Add(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))

	s := catalogStore(t, &clock{t: clk.Now()})
	s.Now = clk.Now
	src, err := slo.NewPrometheus("checkout", slo.PrometheusConfig{URL: prom.URL,
		GoodQuery:  `sum(increase(checkout_requests_total{code!~"5.."}[1m]))`,
		TotalQuery: `sum(increase(checkout_requests_total[1m]))`, Timeout: 5 * time.Second, Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	def := checkoutSLO()
	def.Source, def.Poll = src, 100*time.Millisecond
	e, err := slo.New(s, []slo.SLO{def}, slo.Options{Now: clk.Now, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(ctx) })

	var f data.SLOFigures
	waitFor(t, "figures from Prometheus", func() bool {
		f = e.Figures()[0]
		return f.HasData
	})
	if math.Abs(f.SLI-0.98) > 0.0005 || f.Stale {
		t.Fatalf("SLI %v from %d of %d (stale %v); want 0.98", f.SLI, f.Good, f.Total, f.Stale)
	}
	if st, why := statusOf(t, s, "payments"); st != data.PartialOutage || !strings.Contains(why, "over 5m") {
		t.Fatalf("status %s %q; want a fast burn", st, why)
	}
	last := f.LastDataAt

	// The outage: reads fail, retried and then refused by the breaker;
	// eleven minutes later the SLO is stale and the status unchanged.
	prom.kill()
	clk.Add(11 * time.Minute)
	waitFor(t, "stale figures", func() bool {
		if err := e.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		f = e.Figures()[0]
		return f.Stale
	})
	if !f.LastDataAt.Equal(last) {
		t.Errorf("last data %v; want %v", f.LastDataAt, last)
	}
	if st, _ := statusOf(t, s, "payments"); st != data.PartialOutage {
		t.Fatalf("the outage changed the status to %s", st)
	}
	figs, _ := s.SLOFigures(ctx)
	if !figs[0].Stale || figs[0].Alert != data.SLOFastBurn {
		t.Fatalf("stored figures %+v", figs[0])
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // hang guard only
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPrometheusRetriesAndBreaker: a failing server is asked 1 + Retries
// times per read, and after BreakerFailures failures not at all until the
// breaker's timeout.
func TestPrometheusRetriesAndBreaker(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	p, err := slo.NewPrometheus("x", slo.PrometheusConfig{URL: srv.URL, GoodQuery: "g", TotalQuery: "t", Retries: 2,
		BreakerFailures: 4, BreakerOpen: time.Hour, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := p.Minutes(ctx, from, from.Add(10*time.Minute)); err == nil {
		t.Fatal("no error from a failing server")
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("first read made %d requests; want 3 (1 + 2 retries)", n)
	}
	_, _ = p.Minutes(ctx, from, from.Add(10*time.Minute)) // the 4th failure opens the breaker
	n := calls.Load()
	_, err = p.Minutes(ctx, from, from.Add(10*time.Minute))
	if err == nil || !strings.Contains(err.Error(), "open") || calls.Load() != n {
		t.Fatalf("with the breaker open: %v, %d more requests", err, calls.Load()-n)
	}

	// A query Prometheus refuses is not retried.
	calls.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
	}))
	defer bad.Close()
	p, _ = slo.NewPrometheus("y", slo.PrometheusConfig{URL: bad.URL, GoodQuery: "g(", TotalQuery: "t", Retries: 2})
	if _, err := p.Minutes(ctx, from, from.Add(10*time.Minute)); err == nil || calls.Load() != 1 {
		t.Fatalf("bad query: %v after %d requests; want an error after 1", err, calls.Load())
	}
}
