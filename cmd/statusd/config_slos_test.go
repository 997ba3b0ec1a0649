package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

func TestSLOConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/slos.yaml", envFunc(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SLOPushToken != "push-secret" || len(cfg.SLOs) != 4 {
		t.Fatalf("token %q, %d SLOs", cfg.SLOPushToken, len(cfg.SLOs))
	}
	co, lat, probes, open := cfg.SLOs[0], cfg.SLOs[1], cfg.SLOs[2], cfg.SLOs[3]
	if co.Feed.Type != FeedPrometheus || co.Feed.Timeout != 5*time.Second || co.Feed.Poll != 30*time.Second || co.Window != 28*day ||
		co.Objective != 99.95 || len(co.Components) != 1 || co.Name != "Checkout availability" || co.StaleAfter != slo.DefaultStaleAfter {
		t.Errorf("prometheus SLO %+v", co)
	}
	if lat.SLI != "latency" || lat.Threshold != 300*time.Millisecond || !lat.CalendarMonth || lat.Feed.PushToken != "latency-secret" ||
		len(lat.Alerts) != 2 || lat.Alerts[0].Status != data.MajorOutage || lat.Alerts[1].Status != data.DegradedPerformance {
		t.Errorf("push SLO %+v", lat)
	}
	if probes.Feed.Type != FeedProbes || probes.Window != 30*day || probes.Name != "checkout-probes" || probes.Alerts != nil {
		t.Errorf("probes SLO %+v", probes)
	}
	// From OpenSLO: 4w rolling, target 0.999, bad/total counters.
	if open.ID != "checkout-errors" || open.Name != "Checkout without errors" || open.Journey != "checkout" || open.Window != 28*day ||
		open.Objective < 99.8999 || open.Objective > 99.9001 || open.Feed.URL != "http://prometheus:9090" ||
		open.Feed.GoodQuery != `(sum(increase(http_requests_total{job="checkout"}[1m]))) - (sum(increase(http_requests_total{job="checkout",code=~"5.."}[1m])))` ||
		open.Feed.TotalQuery != `sum(increase(http_requests_total{job="checkout"}[1m]))` {
		t.Errorf("OpenSLO SLO %+v", open)
	}
	defs := cfg.Definitions()
	for i := range defs {
		if err := defs[i].Validate(); err != nil {
			t.Errorf("definition %s: %v", defs[i].ID, err)
		}
	}
	if defs[1].Position != 1 || !defs[1].Window.CalendarMonth || defs[0].Window.Days != 28 || defs[2].Alerts == nil {
		t.Errorf("definitions %+v", defs)
	}
	if tok := cfg.pushTokens(); len(tok) != 1 || tok["checkout-latency"] != "latency-secret" {
		t.Errorf("push tokens %v", tok)
	}
}

// TestOpenSLOBad: every problem of an OpenSLO file is reported with that
// file's name and line.
func TestOpenSLOBad(t *testing.T) {
	_, err := LoadConfig("testdata/openslo/config.yaml", envFunc(testEnv))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig = %v; want a *ConfigError", err)
	}
	got := err.Error() + "\n"
	wantFile := "testdata/openslo/bad.want"
	if *update {
		if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(wantFile)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it, then review it)", err)
	}
	if got != string(want) {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	for _, p := range ce.Problems {
		if filepath.Base(p.File) != "slo.yaml" || p.Line < 1 {
			t.Errorf("problem %+v not in slo.yaml", p)
		}
	}
	// A missing file is named.
	dir := t.TempDir()
	src, _ := os.ReadFile("testdata/openslo/config.yaml")
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(strings.Replace(string(src), "slo.yaml", "gone.yaml", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "c.yaml"), nil); err == nil || !strings.Contains(err.Error(), "openslo_files[0]: cannot read gone.yaml") {
		t.Errorf("missing OpenSLO file: %v", err)
	}
}
