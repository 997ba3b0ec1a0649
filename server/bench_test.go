package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// BenchmarkServePage measures the public read path: a GET of the page
// through fiber's handler chain, with brotli chosen. It copies prebuilt
// bytes and must not allocate per request beyond fasthttp's own.
func BenchmarkServePage(b *testing.B) {
	srv, _ := newFixtureServer(b)
	h := srv.App().Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("Accept-Encoding", "gzip, deflate, br")
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

// BenchmarkServeNotModified is the conditional request a CDN revalidates with.
func BenchmarkServeNotModified(b *testing.B) {
	srv, _ := newFixtureServer(b)
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/", nil), -1)
	if err != nil {
		b.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	h := srv.App().Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("If-None-Match", etag)
		h(&ctx)
		if ctx.Response.StatusCode() != 304 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

// BenchmarkRebuildFixture is the cost of one status change at the size of
// config.example.yaml (the fixture has 16 components, 9 incidents and
// maintenances): read the store, render and compress what changed. The
// write itself is not timed.
func BenchmarkRebuildFixture(b *testing.B) {
	srv, st := newFixtureServer(b)
	benchStatusChanges(b, srv, st, "rest")
}

// benchStatusChanges times Rebuild after each of a series of status changes
// of component id. Besides the time it reports the CPU time (cpu-ms/op, all
// threads), which on a shared machine says more than the time does.
func benchStatusChanges(b *testing.B, srv *Server, st *data.Store, id string) {
	b.Helper()
	var n int
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		n++
		status := []data.ComponentStatus{data.MajorOutage, data.Operational}[n%2]
		if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: id, Status: status, Actor: "b"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c := cpuTime()
		if err := srv.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// catalogStore has journeys×per components with ids jNNN-cNNN, synced
// 800 days ago.
func catalogStore(tb testing.TB, journeys, per int) *data.Store {
	tb.Helper()
	st := datatest.MustOpen(tb)
	var cat data.Catalog
	for j := 0; j < journeys; j++ {
		cj := data.CatalogJourney{ID: fmt.Sprintf("j%03d", j), Name: fmt.Sprintf("Journey %d", j)}
		for c := 0; c < per; c++ {
			cj.Components = append(cj.Components, data.CatalogComponent{ID: fmt.Sprintf("j%03d-c%03d", j, c),
				Name: fmt.Sprintf("Component %d of journey %d", c, j), Showcase: true})
		}
		cat.Journeys = append(cat.Journeys, cj)
	}
	clock := time.Now().AddDate(0, 0, -800)
	st.Now = func() time.Time { return clock }
	if _, err := st.SyncCatalog(context.Background(), cat, "config"); err != nil {
		tb.Fatal(err)
	}
	st.Now = time.Now
	return st
}

// largeStore has journeys×per components, each with some history.
func largeStore(b *testing.B, journeys, per int) *data.Store {
	st := catalogStore(b, journeys, per)
	clock := time.Now().AddDate(0, 0, -100)
	st.Now = func() time.Time { return clock }
	for i := 0; i < journeys*per; i += 7 {
		clock = clock.Add(time.Hour)
		id := fmt.Sprintf("j%03d-c%03d", i/per, i%per)
		for _, s := range []data.ComponentStatus{data.PartialOutage, data.Operational} {
			if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: id, Status: s, Actor: "b"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	st.Now = time.Now
	return st
}

// historyStore is catalogStore with incidents incidents and maintenances
// spread evenly over the last span: every tenth a completed maintenance,
// the others resolved incidents through three updates, each on one
// component (which the incident takes to partial outage and back).
func historyStore(tb testing.TB, journeys, per, incidents int, span time.Duration) *data.Store {
	tb.Helper()
	st := catalogStore(tb, journeys, per)
	ctx := context.Background()
	now := time.Now()
	var clock time.Time
	st.Now = func() time.Time { return clock }
	defer func() { st.Now = time.Now }()
	step := span / time.Duration(incidents+1)
	n := journeys * per
	for i := 0; i < incidents; i++ {
		clock = now.Add(-span + time.Duration(i+1)*step)
		comp := fmt.Sprintf("j%03d-c%03d", (i*37%n)/per, (i*37%n)%per)
		if i%10 == 9 {
			m, err := st.CreateMaintenance(ctx, data.NewMaintenance{Name: fmt.Sprintf("Maintenance %d", i), Body: "We will upgrade a database.",
				ScheduledFor: clock.Add(time.Hour), ScheduledUntil: clock.Add(2 * time.Hour), ComponentIDs: []string{comp}, Actor: "bench"})
			if err != nil {
				tb.Fatal(err)
			}
			for _, u := range []struct {
				s    data.IncidentStatus
				body string
			}{{data.InProgress, "Started."}, {data.Completed, "Done."}} {
				clock = clock.Add(time.Hour)
				if _, err := st.AddUpdate(ctx, m.ID, data.NewUpdate{Status: u.s, Body: u.body, Actor: "bench"}); err != nil {
					tb.Fatal(err)
				}
			}
			continue
		}
		in, err := st.CreateIncident(ctx, data.NewIncident{Name: fmt.Sprintf("Incident %d: errors on a component", i), Impact: data.ImpactMinor,
			Body: "We are investigating elevated error rates.\n\nMore soon.", Components: map[string]data.ComponentStatus{comp: data.PartialOutage}, Actor: "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		for _, u := range []struct {
			s    data.IncidentStatus
			body string
		}{{data.Identified, "We found the cause."}, {data.Resolved, "Resolved."}} {
			clock = clock.Add(30 * time.Minute)
			if _, err := st.AddUpdate(ctx, in.ID, data.NewUpdate{Status: u.s, Body: u.body, Actor: "bench"}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return st
}

// BenchmarkRebuildHistory is a status change on a page of 500 components
// (10 journeys of 50) with 2,000 incidents and maintenances over two years,
// about 250 of them in the 90-day window.
func BenchmarkRebuildHistory(b *testing.B) {
	st := historyStore(b, 10, 50, 2000, 730*24*time.Hour)
	srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
	if err != nil {
		b.Fatal(err)
	}
	e := srv.snap.Load().entries["/"]
	b.Logf("page: %d bytes, %d gzip, %d brotli; %d documents", len(e.plain), len(e.gz), len(e.br), len(srv.snap.Load().entries))
	benchStatusChanges(b, srv, st, "j003-c007")
}

// BenchmarkRebuild2000 renders a page of 2,000 components (20 journeys of
// 100) with 90-day uptime bars from scratch, as at start.
func BenchmarkRebuild2000(b *testing.B) {
	st := largeStore(b, 20, 100)
	srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
	if err != nil {
		b.Fatal(err)
	}
	e := srv.snap.Load().entries["/"]
	b.Logf("page: %d bytes, %d gzip, %d brotli", len(e.plain), len(e.gz), len(e.br))
	b.ReportMetric(float64(len(e.plain)), "page-bytes")
	for b.Loop() {
		srv.snap.Store(nil) // force full rendering and compression
		srv.frags = fragments{}
		if err := srv.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuild2000Change is a status change on that page. It also logs
// how long the first rebuild took and what the snapshot holds.
func BenchmarkRebuild2000Change(b *testing.B) {
	st := largeStore(b, 20, 100)
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	start := time.Now()
	srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.Logf("first rebuild: %v; %s; server heap %.1f MiB", took.Round(time.Millisecond), snapshotSize(srv.snap.Load()),
		float64(heap()-before)/(1<<20))
	benchStatusChanges(b, srv, st, "j007-c042")
}

// snapshotSize describes how many documents sn holds and about how much
// memory they take, all and those under /feeds/.
func snapshotSize(sn *snapshot) string {
	var n, size, feeds, feedSize int
	for p, e := range sn.entries {
		n++
		size += e.size()
		if strings.HasPrefix(p, "/feeds/") {
			feeds++
			feedSize += e.size()
		}
	}
	return fmt.Sprintf("%d documents, %.1f MiB; of them %d feeds, %.1f MiB", n, float64(size)/(1<<20), feeds, float64(feedSize)/(1<<20))
}

// BenchmarkMemory10k reports the memory of a server whose store holds
// 10,000 incidents and maintenances over six years (50 components): Go heap
// in use and the process's resident set, after start and after 2,000
// distinct archived incident pages were asked for. Each iteration then
// serves one archived page from the archive's cache.
func BenchmarkMemory10k(b *testing.B) {
	st := historyStore(b, 5, 10, 10000, 6*365*24*time.Hour)
	srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.App().Handler()
	get := func(path string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("Accept-Encoding", "br")
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("GET %s = %d", path, ctx.Response.StatusCode())
		}
	}
	var heap, rss float64
	report := func(when string) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap, rss = float64(ms.HeapInuse)/(1<<20), float64(residentBytes())/(1<<20)
		pages, bytes, ids := srv.archive.stats()
		b.Logf("%s: heap in use %.1f MiB, RSS %.1f MiB; snapshot %d documents; archive %d pages, %.1f MiB, %d ids",
			when, heap, rss, len(srv.snap.Load().entries), pages, float64(bytes)/(1<<20), ids)
	}
	report("after start")
	b.ReportMetric(heap, "start-heap-MiB")
	b.ReportMetric(rss, "start-rss-MiB")
	var archived []string
	srv.archive.mu.RLock()
	for id := range srv.archive.ids {
		if srv.snap.Load().entries["/incidents/"+id] == nil && len(archived) < 2000 {
			archived = append(archived, id)
		}
	}
	srv.archive.mu.RUnlock()
	for _, id := range archived {
		get("/incidents/" + id)
	}
	report("after 2,000 archived pages")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(rss, "rss-MiB")
	last := "/incidents/" + archived[len(archived)-1]
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI(last)
		ctx.Request.Header.Set("Accept-Encoding", "br")
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

// residentBytes is the process's resident set size, from /proc (0 where
// there is none).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
