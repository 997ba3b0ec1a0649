package server

import (
	"context"
	"fmt"
	"net/http/httptest"
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

// BenchmarkRebuildFixture reads the fixture store and renders and
// compresses every document (the cost of one change).
func BenchmarkRebuildFixture(b *testing.B) {
	srv, st := newFixtureServer(b)
	var n int
	for b.Loop() {
		// Touch a component so that every rebuild renders new bytes.
		n++
		st := st
		status := []data.ComponentStatus{data.MajorOutage, data.Operational}[n%2]
		if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "rest", Status: status, Actor: "b"}); err != nil {
			b.Fatal(err)
		}
		if err := srv.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// largeStore has journeys×per components, each with some history.
func largeStore(b *testing.B, journeys, per int) *data.Store {
	st := datatest.MustOpen(b)
	var cat data.Catalog
	for j := 0; j < journeys; j++ {
		cj := data.CatalogJourney{ID: fmt.Sprintf("j%03d", j), Name: fmt.Sprintf("Journey %d", j)}
		for c := 0; c < per; c++ {
			cj.Components = append(cj.Components, data.CatalogComponent{ID: fmt.Sprintf("j%03d-c%03d", j, c),
				Name: fmt.Sprintf("Component %d of journey %d", c, j), Showcase: true})
		}
		cat.Journeys = append(cat.Journeys, cj)
	}
	clock := time.Now().AddDate(0, 0, -100)
	st.Now = func() time.Time { return clock }
	if _, err := st.SyncCatalog(context.Background(), cat, "config"); err != nil {
		b.Fatal(err)
	}
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

// BenchmarkRebuild2000 renders a page of 2,000 components (20 journeys of
// 100) with 90-day uptime bars: the "well under a second".
func BenchmarkRebuild2000(b *testing.B) {
	st := largeStore(b, 20, 100)
	srv, err := New(st, Options{Page: Page{ID: "big", Name: "Big", URL: "https://status.big.example"}})
	if err != nil {
		b.Fatal(err)
	}
	e := srv.snap.Load().entries["/"]
	b.Logf("page: %d bytes, %d gzip, %d brotli", len(e.plain), len(e.gz), len(e.br))
	for b.Loop() {
		srv.snap.Store(nil) // force full rendering and compression
		if err := srv.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
