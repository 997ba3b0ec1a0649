package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/probes/demo"
)

// TestProbesEndToEnd runs the real Main with a checkout journey probe
// against the demo shop: breaking checkout turns payments to a major outage
// in summary.json within failure_threshold × interval + 2s, with the failing
// step in the reason, and repairing it brings it back within
// success_threshold × interval + 2s.
func TestProbesEndToEnd(t *testing.T) {
	ctx := context.Background()
	shop, err := demo.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shop.Close(ctx) })
	const (
		interval  = time.Second
		threshold = 2
	)
	base := "http://" + shop.Addr()
	mailDir := filepath.Join(t.TempDir(), "mail")
	config := fmt.Sprintf(`page:
  name: Fernhill
  url: https://status.fernhill.example
journeys:
  - id: checkout
    name: Checkout
    components:
      - id: payments
        name: Card payments
      - id: basket
        name: Basket
probing:
  min_interval: 1s
notifier:
  staff: [oncall@fernhill.example]
  eml_dir: %[4]s
probes:
  - id: checkout-journey
    name: Checkout
    component: payments
    type: journey
    interval: %[2]s
    timeout: 900ms
    failure_threshold: %[3]d
    success_threshold: %[3]d
    steps:
      - name: sign in
        method: POST
        url: %[1]s/api/login
        captures:
          - name: token
            json: $.token
      - name: search
        url: %[1]s/search?q=tent
        captures:
          - name: sku
            json: $.results[0].sku
      - name: add to basket
        method: POST
        url: %[1]s/basket/items
        headers:
          Authorization: Bearer ${token}
        body: '{"sku":"${sku}"}'
      - name: pay
        method: POST
        url: %[1]s/checkout/pay
        headers:
          Authorization: Bearer ${token}
  - id: basket-http
    component: basket
    type: http
    target: %[1]s/basket/healthz
    interval: %[2]s
    timeout: 900ms
`, base, interval, threshold, mailDir)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	_, server := startMain(t, path)

	type comp struct {
		ID, Status string
		Source     *string
		Reason     *string
	}
	read := func() (summary, journeys map[string]comp) {
		summary, journeys = map[string]comp{}, map[string]comp{}
		_, _, body := httpGet(t, server+"/api/v2/summary.json")
		var s struct{ Components []comp }
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Components {
			summary[c.ID] = c
		}
		_, _, body = httpGet(t, server+"/api/v2/journeys.json")
		var j struct {
			Journeys []struct {
				ComponentStatuses []comp `json:"component_statuses"`
			}
		}
		if err := json.Unmarshal(body, &j); err != nil {
			t.Fatal(err)
		}
		for _, jd := range j.Journeys {
			for _, c := range jd.ComponentStatuses {
				journeys[c.ID] = c
			}
		}
		return summary, journeys
	}
	// waitFor polls until payments has status (and, in journeys.json, a
	// reason containing reason), and returns how long that took.
	waitFor := func(status, reason string, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			s, j := read()
			if s["payments"].Status == status && (reason == "" || j["payments"].Reason != nil && strings.Contains(*j["payments"].Reason, reason)) {
				return time.Since(start)
			}
			if time.Since(start) > limit {
				r := j["payments"].Reason
				t.Fatalf("payments is %s (%v) after %s; want %s with %q", s["payments"].Status, deref(r), time.Since(start).Round(time.Millisecond), status, reason)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The engine speaks once the thresholds have had their runs.
	waitFor("operational", "Checkout: passing", 20*time.Second)

	// The bound of the issue: the runs the thresholds need, plus 2s for a
	// run, the engine, the store and the snapshot. The race detector slows
	// all of those several times over, so it gets more slack.
	slack := 2 * time.Second
	if raceEnabled {
		slack = 6 * time.Second
	}
	bound := threshold*interval + slack
	if err := shop.Shop.Set("checkout", demo.Failing); err != nil {
		t.Fatal(err)
	}
	took := waitFor("major_outage", `Checkout: step 4 "pay" returned 502 (want 2xx)`, 30*time.Second)
	t.Logf("checkout broke: summary.json showed it after %s (bound %s)", took.Round(time.Millisecond), bound)
	if took > bound {
		t.Errorf("the outage reached summary.json after %s; want within %s", took, bound)
	}
	if _, j := read(); deref(j["payments"].Source) != "automatic" {
		t.Errorf("payments decided by %q; want automatic", deref(j["payments"].Source))
	}
	if _, _, page := httpGet(t, server+"/"); !strings.Contains(string(page), "step 4") {
		t.Error("the page does not say which step failed")
	}
	if s, _ := read(); s["basket"].Status != "operational" {
		t.Errorf("basket is %s; only checkout broke", s["basket"].Status)
	}
	// Detection proposed a draft incident, and the staff hear that it waits.
	alert := waitForMail(t, mailDir, "Draft incident waiting", 20*time.Second)
	if !strings.Contains(alert, "To: <oncall@fernhill.example>") || !strings.Contains(alert, "/admin/drafts/") {
		t.Errorf("draft alert:\n%s", alert)
	}

	_ = shop.Shop.Set("checkout", demo.Healthy)
	took = waitFor("operational", "Checkout: passing", 30*time.Second)
	t.Logf("checkout repaired: summary.json showed it after %s (bound %s)", took.Round(time.Millisecond), bound)
	if took > bound {
		t.Errorf("the recovery reached summary.json after %s; want within %s", took, bound)
	}
}

// waitForMail waits for a .eml file in dir containing want, and returns it.
func waitForMail(t *testing.T, dir, want string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), want) {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail containing %q in %s after %s (%d files)", want, dir, limit, len(files))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProbeConfigSpec checks what the probe keys of a file become.
func TestProbeConfigSpec(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/probes.yaml", envFunc(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Probing; p.Region != "eu-central" || p.Concurrency != 64 || p.MinInterval != 10*time.Second ||
		p.ResultsRetention != 14*24*time.Hour || p.MajorOutageShare != 0.5 {
		t.Errorf("probing = %+v", p)
	}
	web := cfg.Probes[0].Spec
	st := web.Steps[0]
	if web.Quorum != 2 || len(web.Regions) != 3 || web.FollowRedirects || web.MaxRedirects != 3 || web.MaxBodyBytes != 65536 ||
		web.FailureThreshold != 3 || web.SuccessThreshold != 1 || web.DegradedAfter != 2*time.Second {
		t.Errorf("web spec = %+v", web)
	}
	if strings.Join(st.Status, ",") != "200,301-308,4xx" || st.Method != "HEAD" || st.URL != "https://www.acme.example/" {
		t.Errorf("web step = %+v", st)
	}
	if st.Headers[0].Name != "Accept-Language" || st.Headers[1].Value != "${env:PROBE_KEY}" {
		t.Errorf("headers = %+v; want sorted by name, templates as written", st.Headers)
	}
	if *st.JSON[2].Equals != "true" || *st.JSON[3].Equals != "3" || *st.JSON[1].Exists {
		t.Errorf("json = %+v", st.JSON)
	}
	j := cfg.Probes[1].Spec
	if len(j.Steps) != 2 || j.Steps[0].Captures[2].Regex == "" || j.Steps[1].DegradedAfter != 5*time.Second || !j.FollowRedirects {
		t.Errorf("journey spec = %+v", j)
	}
	if d := cfg.Probes[4].Spec; d.RecordType != "AAAA" || d.Resolver != "[2001:db8::53]:53" || d.Expect[0] != "2001:db8::10" {
		t.Errorf("dns spec = %+v", d)
	}
	ps, err := cfg.BuildProbes()
	if err != nil || len(ps) != 5 {
		t.Fatalf("BuildProbes = %d, %v", len(ps), err)
	}
	// The environment is the one the file was loaded with: without the
	// secrets, the file does not load at all.
	if _, err := LoadConfig("testdata/good/probes.yaml", envFunc(nil)); err == nil || !strings.Contains(err.Error(), "PROBE_KEY is not set") {
		t.Errorf("LoadConfig without secrets = %v", err)
	}
}
