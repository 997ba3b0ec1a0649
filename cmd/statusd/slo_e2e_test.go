package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is the injectable clock of Main in the SLO end-to-end test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const sloE2EConfig = `page:
  name: Fernhill
  url: https://status.fernhill.example
  time_zone: Europe/Berlin
journeys:
  - id: checkout
    name: Checkout
    components:
      - id: cart
        name: Cart
      - id: payments
        name: Payments
  - id: search
    name: Search
    components:
      - id: search-api
        name: Search API
slos_push_token: ${E2E_SLO_TOKEN}
slos:
  - id: checkout-availability
    journey: checkout
    name: Checkout availability
    objective: 99.9
    window: 28d
    feed:
      type: push
`

func pushEvents(t *testing.T, base, token string, from time.Time, minutes int, good, total int) {
	t.Helper()
	var parts []string
	for i := 0; i < minutes; i++ {
		parts = append(parts, fmt.Sprintf(`{"time":%q,"good":%d,"total":%d}`, from.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), good, total))
	}
	req, _ := http.NewRequest("POST", base+"/api/admin/slo/checkout-availability/events",
		strings.NewReader(`{"events":[`+strings.Join(parts, ",")+`]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("push: %d %s", resp.StatusCode, b)
	}
}

// waitBody polls url until its body contains want.
func waitBody(t *testing.T, url, want string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // hang guard only
	for {
		_, _, body := httpGet(t, url)
		if bytes.Contains(body, []byte(want)) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never contained %q: %s", url, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSLOEndToEnd runs the real Main on a clock the test moves: a burst of
// bad pushed events puts the checkout journey in partial outage with the
// SLO's reason on the page and in the API, and good events as the window
// moves on bring it back.
func TestSLOEndToEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(sloE2EConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "E2E_SLO_TOKEN" {
			return "e2e-secret"
		}
		return ""
	}
	cfg, err := LoadConfig(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.Path = filepath.Join(dir, "statusd.db")
	cfg.Snapshot.Debounce = 20 * time.Millisecond
	clk := &testClock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	base := "http://" + m.Addr()

	// An hour of clean traffic, then five minutes with 30% errors.
	start := clk.Now().Add(-64 * time.Minute).Truncate(time.Minute)
	pushEvents(t, base, "e2e-secret", start, 60, 1000, 1000)
	pushEvents(t, base, "e2e-secret", start.Add(60*time.Minute), 5, 700, 1000)

	summary := waitBody(t, base+"/api/v2/summary.json", `"status":"partial_outage"`)
	var sum struct {
		Components []struct{ ID, Status string }
		Status     struct{ Indicator, Description string }
	}
	if err := json.Unmarshal(summary, &sum); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range sum.Components {
		got[c.ID] = c.Status
	}
	if got["cart"] != "partial_outage" || got["payments"] != "partial_outage" || got["search-api"] != "operational" ||
		sum.Status.Indicator != "minor" {
		t.Fatalf("summary.json after the burst: %s", summary)
	}
	// 1h: 1,500 bad of 60,000 (the minutes 59 ago to now) = 25×; 5m: 300×.
	reason := "SLO Checkout availability: burning error budget 25.0× over 1h and 300× over 5m (objective 99.9%)"
	journeys := waitBody(t, base+"/api/v2/journeys.json", reason)
	if !bytes.Contains(journeys, []byte(`"alert":"fast"`)) || !bytes.Contains(journeys, []byte(`"id":"checkout-availability"`)) {
		t.Fatalf("journeys.json: %s", journeys)
	}
	page := waitBody(t, base+"/", "Automatic detection: "+reason)
	for _, want := range []string{"Checkout availability", "good over the last 28 days (objective 99.9%)", "<meter"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	_, _, metrics := httpGet(t, base+"/metrics")
	for _, want := range []string{`statusd_slo_sli{journey="checkout",slo="checkout-availability"}`,
		`statusd_slo_burn_rate{slo="checkout-availability",window="5m"} 300`, `statusd_slo_error_budget_remaining_ratio`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The window moves on: seven hours of clean traffic later the 6h
	// window of the slow rule no longer holds the burst.
	for h := 0; h < 7; h++ {
		from := clk.Now().Truncate(time.Minute).Add(time.Minute)
		clk.Add(time.Hour)
		pushEvents(t, base, "e2e-secret", from, 60, 1000, 1000)
	}
	summary = waitBody(t, base+"/api/v2/summary.json", `"indicator":"none"`)
	if bytes.Contains(summary, []byte("partial_outage")) || bytes.Contains(summary, []byte("degraded_performance")) {
		t.Fatalf("summary.json after recovery: %s", summary)
	}
	page = waitBody(t, base+"/", "Error budget spent: overspent by") // 1,500 bad of 485,000: 99.69%
	if bytes.Contains(page, []byte("burning error budget")) {
		t.Error("the page still shows the burn after recovery")
	}
	events, err := m.Store.Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		if strings.HasPrefix(string(e.Kind), "slo.") {
			kinds = append(kinds, string(e.Kind))
		}
	}
	if strings.Join(kinds, " ") != "slo.burn slo.burn slo.recovered" {
		t.Errorf("SLO events %v; want a fast burn, a slow burn, recovery", kinds)
	}
}
