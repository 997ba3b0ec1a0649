package probes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// BenchmarkProbeLoad runs the whole subsystem — 1,000 HTTP probes every
// 100ms against a local Go target, the engine, every result persisted to
// SQLite with its aggregates — for a fixed time and reports checks per
// second counted where they arrive, results persisted per second, the
// scheduler's lag and the memory per probe. It runs once whatever b.N is.
//
//	nice -n 10 go test -run '^$' -bench BenchmarkProbeLoad -benchtime 1x ./probes
//
// PROBE_BENCH_SECONDS (default 10) and PROBE_BENCH_PROBES (default 1000)
// change the load.
func BenchmarkProbeLoad(b *testing.B) {
	seconds := envInt("PROBE_BENCH_SECONDS", 10)
	n := envInt("PROBE_BENCH_PROBES", 1000)
	const interval = 100 * time.Millisecond
	var arrived atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	defer target.Close()

	st := datatest.MustOpen(b)
	ctx := context.Background()
	var cat data.Catalog
	for j := range (n + 99) / 100 {
		cj := data.CatalogJourney{ID: fmt.Sprintf("j%d", j), Name: fmt.Sprintf("Journey %d", j)}
		for c := range 100 {
			cj.Components = append(cj.Components, data.CatalogComponent{ID: fmt.Sprintf("c%d-%d", j, c), Name: fmt.Sprintf("Component %d", c), Showcase: true})
		}
		cat.Journeys = append(cat.Journeys, cj)
	}
	if _, err := st.SyncCatalog(ctx, cat, "bench"); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var ps []*Probe
	for i := range n {
		p, err := Build(Spec{ID: fmt.Sprintf("p%d", i), ComponentID: fmt.Sprintf("c%d-%d", i/100, i%100), Type: TypeHTTP,
			Interval: interval, Timeout: 90 * time.Millisecond,
			Steps: []StepSpec{{URL: target.URL + "/healthz?probe=" + strconv.Itoa(i), BodyContains: []string{"ok"}}}}, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	svc := NewService(st, ps, ServiceOptions{Registerer: prometheus.NewRegistry(), Concurrency: 256})
	b.ResetTimer()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	time.Sleep(2 * time.Second) // every probe has started and holds a connection
	runtime.GC()
	var steady runtime.MemStats
	runtime.ReadMemStats(&steady)
	stored0, _ := st.CountProbeResults(ctx)
	arrived0, runs0 := arrived.Load(), svc.Scheduler.Stats().Runs
	start := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second)
	took := time.Since(start)
	arrivedN, stats := arrived.Load()-arrived0, svc.Scheduler.Stats()
	if err := svc.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	stored, _ := st.CountProbeResults(ctx)
	b.ReportMetric(float64(arrivedN)/took.Seconds(), "checks/s")
	b.ReportMetric(float64(stored-stored0)/took.Seconds(), "persisted/s")
	b.ReportMetric(float64(stats.LagP99)/float64(time.Millisecond), "lag-p99-ms")
	b.ReportMetric(float64(stats.LagP50)/float64(time.Millisecond), "lag-p50-ms")
	b.ReportMetric(float64(stats.Missed), "missed-ticks")
	b.ReportMetric(float64(int64(steady.HeapInuse)-int64(before.HeapInuse))/float64(n), "heap-B/probe")
	b.Logf("%d probes for %s: %d checks arrived, %d runs, %d results stored in all (%d before stopping)",
		n, took.Round(time.Millisecond), arrivedN, stats.Runs-runs0, stored, stored-stored0)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkHTTPCheck is one HTTP check with a body assertion against a
// local target over a kept-alive connection: the cost of a run.
func BenchmarkHTTPCheck(b *testing.B) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	defer target.Close()
	p, err := Build(Spec{ID: "p", Type: TypeHTTP, Interval: time.Second, Timeout: 500 * time.Millisecond,
		Steps: []StepSpec{{URL: target.URL + "/healthz", BodyContains: []string{"ok"}}}}, BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if c := p.Checker.Check(cctx); c.Outcome != data.ProbeUp {
			b.Fatal(c.Reason)
		}
		cancel()
	}
}
