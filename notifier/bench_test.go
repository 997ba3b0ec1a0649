package notifier_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifiertest"
)

// heapPeak samples the live heap until stop is called and returns the
// highest value seen above the baseline taken at the start.
func heapPeak() (stop func() (peakMB float64)) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

func benchStore(b *testing.B, list []data.NewSubscriber) *data.Store {
	b.Helper()
	st := datatest.MustOpen(b)
	if _, err := st.SyncCatalog(context.Background(), catalog(), "config"); err != nil {
		b.Fatal(err)
	}
	for len(list) > 0 {
		chunk := list[:min(len(list), 20000)]
		list = list[len(chunk):]
		if _, err := st.AddConfirmedSubscribers(context.Background(), chunk, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// report publishes an incident, waits until want messages arrived (per
// count and arrivals), and reports the figures.
func report(b *testing.B, st *data.Store, eng *notifier.Engine, want int, count func() int, arrivals func() (time.Time, time.Time)) {
	b.Helper()
	stop := heapPeak()
	cpu0 := cpuTime()
	t0 := time.Now()
	if _, err := st.CreateIncident(context.Background(), data.NewIncident{Name: "Card payments failing", Body: "We are investigating.",
		Impact: data.ImpactMajor, Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	eng.Wake()
	deadline := time.Now().Add(10 * time.Minute) // hang guard
	for count() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d delivered after 10 minutes", count(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	first, last := arrivals()
	cpu := cpuTime() - cpu0
	peak := stop()
	total := last.Sub(t0)
	b.ReportMetric(first.Sub(t0).Seconds()*1000, "ms-to-first")
	b.ReportMetric(total.Seconds(), "s-to-last")
	b.ReportMetric(float64(want)/total.Seconds(), "msgs/s")
	b.ReportMetric(peak, "peak-heap-MB")
	// CPU time per message, of the whole process (the local sink too): a
	// figure that does not depend on how busy the machine is.
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-µs/msg")
	b.Logf("%d messages: first after %v, last after %v, %.0f msgs/s, peak heap +%.1f MB, %.0f µs CPU per message (sink included)",
		want, first.Sub(t0).Round(time.Millisecond), total.Round(time.Millisecond), float64(want)/total.Seconds(), peak,
		float64(cpu.Microseconds())/float64(want))
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanoutEmail publishes one incident to N email subscribers of
// everything, sent through a local SMTP sink (in process, counting only).
func BenchmarkFanoutEmail(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			for range b.N {
				var list []data.NewSubscriber
				for i := range n {
					list = append(list, data.NewSubscriber{Channel: data.ChannelEmail, Email: fmt.Sprintf("user%06d@example.com", i)})
				}
				st := benchStore(b, list)
				list = nil
				sink := notifiertest.StartSMTP(b, notifiertest.SMTPOptions{CountOnly: true})
				mailer, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: sink.Host, Port: sink.Port, TLS: notifier.TLSNone,
					Concurrency: 8, MaxPerConn: 1000})
				if err != nil {
					b.Fatal(err)
				}
				eng, err := notifier.New(st, notifier.Options{Page: testPage, From: "Fernhill Status <status@fernhill.example>", Mailer: mailer,
					EmailWorkers: 32, Poll: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				if err := eng.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				report(b, st, eng, n, sink.Count, sink.Arrivals)
				b.StopTimer()
				if err := eng.Stop(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFanoutWebhook publishes one incident to N webhook endpoints on
// a local receiver that counts signed requests.
func BenchmarkFanoutWebhook(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			for range b.N {
				var mu sync.Mutex
				var count int
				var first, last time.Time
				recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("webhook-signature") == "" {
						w.WriteHeader(400)
						return
					}
					now := time.Now()
					mu.Lock()
					count++
					if first.IsZero() {
						first = now
					}
					last = now
					mu.Unlock()
					w.WriteHeader(204)
				}))
				b.Cleanup(recv.Close)
				var list []data.NewSubscriber
				for i := range n {
					list = append(list, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "owner@example.com",
						URL: fmt.Sprintf("%s/hook/%06d", recv.URL, i)})
				}
				st := benchStore(b, list)
				allow, _ := notifier.ParseAllowlist([]string{"127.0.0.0/8"})
				eng, err := notifier.New(st, notifier.Options{Page: testPage, From: "status@fernhill.example", EMLDir: b.TempDir(),
					Allow: allow, WebhookWorkers: 64, WebhookPerHost: 64, Poll: 100 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				if err := eng.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				report(b, st, eng, n,
					func() int { mu.Lock(); defer mu.Unlock(); return count },
					func() (time.Time, time.Time) { mu.Lock(); defer mu.Unlock(); return first, last })
				b.StopTimer()
				if err := eng.Stop(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
