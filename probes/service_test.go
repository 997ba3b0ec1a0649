package probes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/demo"
)

// TestServiceAgainstDemoShop runs the whole subsystem — scheduler, engine,
// writer, metrics — against the demo shop and a real store: checkout breaks,
// the component goes down with the failing step in the reason, and comes
// back.
func TestServiceAgainstDemoShop(t *testing.T) {
	ctx := context.Background()
	shop, err := demo.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shop.Close(ctx) })
	base := "http://" + shop.Addr()
	s := engineStore(t)
	specs := []Spec{
		{ID: "checkout-journey", Name: "Checkout", ComponentID: "payments", Type: TypeJourney, Steps: []StepSpec{
			{Name: "sign in", Method: "POST", URL: base + "/api/login", Captures: []CaptureSpec{{Name: "token", JSON: "$.token"}}},
			{Name: "search", URL: base + "/search?q=tent", Captures: []CaptureSpec{{Name: "sku", JSON: "$.results[0].sku"}}},
			{Name: "add to basket", Method: "POST", URL: base + "/basket/items", Headers: []HeaderSpec{{"Authorization", "Bearer ${token}"}},
				Body: `{"sku":"${sku}"}`},
			{Name: "pay", Method: "POST", URL: base + "/checkout/pay", Headers: []HeaderSpec{{"Authorization", "Bearer ${token}"}},
				JSON: []JSONSpec{{Path: "$.paid", Equals: ptr("true")}}},
		}},
		{ID: "basket-http", ComponentID: "basket", Type: TypeHTTP, Steps: []StepSpec{{URL: base + "/login/healthz"}}},
	}
	var ps []*Probe
	for _, sp := range specs {
		sp.Interval, sp.Timeout, sp.FailureThreshold, sp.SuccessThreshold = 100*time.Millisecond, 90*time.Millisecond, 2, 2
		p, err := Build(sp, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	reg := prometheus.NewRegistry()
	svc := NewService(s, ps, ServiceOptions{Registerer: reg, FlushEvery: 20 * time.Millisecond, MaintenanceEvery: 50 * time.Millisecond})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = svc.Stop(ctx)
		}
	})
	waitInput := func(status data.ComponentStatus, reason string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second) // hang guard
		var last []data.Input
		for time.Now().Before(deadline) {
			last, _ = s.Inputs(ctx, "payments")
			for _, in := range last {
				if in.Source == data.SourceAutomatic && in.Status == status && strings.Contains(in.Reason, reason) {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("payments inputs = %+v; want automatic %s with %q", last, status, reason)
	}
	waitInput(data.Operational, "Checkout: passing")
	if err := shop.Shop.Set("checkout", demo.Failing); err != nil {
		t.Fatal(err)
	}
	waitInput(data.MajorOutage, `Checkout: step 4 "pay" returned 502 (want 2xx) — failed 2 runs in a row (threshold 2)`)
	_ = shop.Shop.Set("checkout", demo.Healthy)
	waitInput(data.Operational, "Checkout: passing")

	// A maintenance window: the results are kept but left out of uptime.
	if _, err := s.SetInputs(ctx, []data.Input{{ComponentID: "basket", Source: data.SourceMaintenance, Key: "m1", Status: data.UnderMaintenance, Actor: "ops"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	rs, err := s.LatestProbeResults(ctx, "basket-http", 1)
	if err != nil || len(rs) != 1 || !rs[0].Maintenance {
		t.Errorf("latest basket result = %+v, %v; want it marked as in maintenance", rs, err)
	}
	n, _ := s.CountProbeResults(ctx)
	if n < 10 {
		t.Errorf("%d results stored", n)
	}
	if got := testutil.ToFloat64(svc.metrics.results.WithLabelValues("checkout-journey", "local", "down")); got < 2 {
		t.Errorf("statusd_probe_results_total{down} = %v", got)
	}
	if c, err := testutil.GatherAndCount(reg, "statusd_probe_duration_seconds", "statusd_probe_scheduler_lag_seconds",
		"statusd_probe_results_write_batch_size", "statusd_probe_component_status"); err != nil || c < 5 {
		t.Errorf("gathered %d series (%v)", c, err)
	}
}

func ptr[T any](v T) *T { return &v }
