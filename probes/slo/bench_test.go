package slo

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/statusd/statusd/data/datatest"
)

// BenchmarkMinute1000 is the engine's work when a minute passes for 1,000
// SLOs with 30-day windows full of minute buckets: each window moves one
// minute, the new minute gets its counts, and the figures, burn rates and
// alerts are computed. It reports the memory the minute buckets take.
func BenchmarkMinute1000(b *testing.B) {
	const n = 1000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	trs := make([]*tracker, n)
	head := unixMinute(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC))
	for i := range trs {
		d := Definition{ID: fmt.Sprintf("slo-%d", i), JourneyID: "j", Objective: 99.9, Window: Window{Days: 30}}
		if err := d.Validate(); err != nil {
			b.Fatal(err)
		}
		trs[i] = newTracker(d, time.UTC)
		start := head - 30*24*60 + 1
		trs[i].s.advance(start)
		for m := start; m <= head; m++ {
			trs[i].s.add(m, counts{999, 1000})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	for b.Loop() {
		head++
		for _, t := range trs {
			t.s.advance(head)
			t.s.add(head, counts{999, 1000})
			_ = t.figures(head)
			_ = t.evaluate()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/SLO")
	b.ReportMetric(held, "MiB-held")
}

// BenchmarkEngineTick1000 is Engine.Tick for 1,000 SLOs: the computation
// and the one transaction that stores every SLO's figures.
func BenchmarkEngineTick1000(b *testing.B) {
	st := datatest.MustOpen(b)
	var slos []SLO
	for i := range 1000 {
		slos = append(slos, SLO{Definition: Definition{ID: fmt.Sprintf("slo-%d", i), JourneyID: "j", Objective: 99.9, Window: Window{Days: 30},
			StaleAfter: 30 * 24 * time.Hour}})
	}
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	e, err := New(st, slos, Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range e.slos {
		for m := unixMinute(now) - 60; m <= unixMinute(now); m++ {
			s.tr.s.add(m, counts{1000, 1000}) // no alert: the journey is not in this store
		}
		s.lastData = now
	}
	ctx := context.Background()
	for b.Loop() {
		now = now.Add(time.Minute)
		if err := e.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
