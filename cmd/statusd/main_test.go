package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// startMain runs the real Main from a configuration file, on 127.0.0.1:0
// with its database in a temp dir, and closes it when the test ends.
func startMain(t *testing.T, configPath string) (*Main, string) {
	t.Helper()
	cfg, err := LoadConfig(configPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.Path = filepath.Join(t.TempDir(), "statusd.db")
	cfg.Snapshot.Debounce = 20 * time.Millisecond
	cfg.Server.DrainDelay = 0
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
	return m, "http://" + m.Addr()
}

func httpGet(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestEndToEnd runs statusd from config.example.yaml and walks what a
// newcomer would: the page, the API, feeds, health, metrics, a status
// change reaching the API, and a restart keeping the data.
func TestEndToEnd(t *testing.T) {
	m, base := startMain(t, "../../config.example.yaml")

	code, hdr, page := httpGet(t, base+"/")
	if code != 200 || !bytes.Contains(page, []byte(m.Config.Page.Name)) || hdr.Get("ETag") == "" {
		t.Fatalf("GET / = %d, %d bytes", code, len(page))
	}
	for _, j := range m.Config.Journeys {
		if !bytes.Contains(page, []byte(j.Name)) {
			t.Errorf("page lacks journey %q", j.Name)
		}
	}
	for _, p := range []string{"/history", "/history.rss", "/history.atom", "/api/v2/summary.json", "/api/v2/status.json",
		"/api/v2/components.json", "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json",
		"/api/v2/scheduled-maintenances.json", "/api/v2/scheduled-maintenances/upcoming.json",
		"/api/v2/scheduled-maintenances/active.json", "/api/v2/journeys.json", "/healthz", "/readyz"} {
		if code, _, body := httpGet(t, base+p); code != 200 {
			t.Errorf("GET %s = %d %s", p, code, body)
		}
	}
	var status struct {
		Status struct{ Indicator, Description string }
	}
	_, _, body := httpGet(t, base+"/api/v2/status.json")
	if err := json.Unmarshal(body, &status); err != nil || status.Status.Indicator != "none" {
		t.Errorf("status.json = %s (%v)", body, err)
	}

	// A change in the store reaches the API through the rebuild loop.
	first := m.Config.Journeys[0].Components[0]
	if first.IsGroup() {
		first = first.Components[0]
	}
	if _, err := m.Store.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: first.ID, Status: data.MajorOutage,
		Actor: "e2e"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body = httpGet(t, base+"/api/v2/status.json")
		if bytes.Contains(body, []byte(`"indicator":"major"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status change never reached status.json: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	code, _, metrics := httpGet(t, base+"/metrics")
	for _, name := range []string{"statusd_http_request_duration_seconds_bucket{code=\"200\",route=\"/\"", "statusd_snapshot_rebuilds_total",
		"statusd_snapshot_rebuild_duration_seconds", "statusd_snapshot_age_seconds", "go_goroutines", "process_resident_memory_bytes"} {
		if code != 200 || !bytes.Contains(metrics, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if bytes.Contains(metrics, []byte("nosuch")) {
		t.Error("metrics carry a raw request path")
	}
}

// TestRestartKeepsData stops statusd and starts it again on the same file:
// history survives and the sync changes nothing.
func TestRestartKeepsData(t *testing.T) {
	cfg, err := LoadConfig("../../config.example.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "statusd.db")
	start := func() *Main {
		c := *cfg
		c.Server.Listen = "127.0.0.1:0"
		c.Database.Path = db
		m := &Main{Config: &c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	stop := func(m *Main) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	m := start()
	id := cfg.Catalog().Journeys[0].Components[0].ID
	if _, err := m.Store.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: id, Status: data.PartialOutage, Actor: "e2e"}); err != nil {
		t.Fatal(err)
	}
	stop(m)
	m = start()
	defer stop(m)
	hist, err := m.Store.History(context.Background(), id, 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history after restart = %v, %v; want 2 records", hist, err)
	}
	_, _, body := httpGet(t, "http://"+m.Addr()+"/api/v2/components.json")
	if !bytes.Contains(body, []byte(`"partial_outage"`)) {
		t.Error("status lost across restart")
	}
}

// TestServeGracefulShutdown runs the serve command as main would and sends
// SIGTERM-equivalent cancellation: it must exit 0 after finishing.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	// The example's drain delay, shortened.
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, bytes.Replace(example, []byte("drain_delay: 5s"), []byte("drain_delay: 10ms"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", config, "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0",
			"--db", filepath.Join(dir, "s.db"), "--log-format", "json"}, io.Discard, &stderr, func(string) string { return "" })
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"serving"`) {
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), `"ops_addr":"127.0.0.1:`) {
		t.Errorf("serving logged no ops address: %s", stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit code = %d; want 0\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), `"msg":"draining"`) {
		t.Errorf("no drain logged: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "s.db")); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"version"}, 0, "statusd "},
		{[]string{"help"}, 0, "Usage"},
		{[]string{"serve", "--listen", "nonsense"}, 2, "--listen"},
		{[]string{"serve", "--ops-listen", "nonsense"}, 2, "--ops-listen"},
		{[]string{"serve", "--config", "testdata/does-not-exist.yaml"}, 1, "does-not-exist.yaml"},
		{[]string{"migrate"}, 2, "--db"},
		{[]string{"healthcheck", "--url", "http://127.0.0.1:1/healthz", "--timeout", "1s"}, 1, "healthcheck"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb, func(string) string { return "" })
			if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.out) {
				t.Errorf("run(%v) = %d, %q; want %d and %q", tt.args, code, out.String()+errb.String(), tt.code, tt.out)
			}
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	for i, want := range []string{"applied 0001_init.sql", "up to date"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"migrate", "--db", db}, &out, &errb, func(string) string { return "" }); code != 0 {
			t.Fatalf("migrate #%d = %d: %s", i, code, errb.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate #%d said %q; want %q", i, out.String(), want)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	_, base := startMain(t, "../../config.example.yaml")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"healthcheck", "--url", base + "/healthz"}, &out, &errb, nil); code != 0 {
		t.Errorf("healthcheck = %d: %s", code, errb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSetStatusReachesRunningServer changes a status with the CLI, as a
// separate connection to the running server's database, and expects the
// page's API to show it.
func TestSetStatusReachesRunningServer(t *testing.T) {
	m, base := startMain(t, "../../config.example.yaml")
	env := func(string) string { return "" }
	var out, errb bytes.Buffer
	args := []string{"set-status", "--db", m.Config.Database.Path, "--reason", "card errors", "--actor", "ops", "payments", "partial_outage"}
	if code := run(context.Background(), args, &out, &errb, env); code != 0 {
		t.Fatalf("set-status = %d: %s", code, errb.String())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body := httpGet(t, base+"/api/v2/status.json")
		if bytes.Contains(body, []byte(`"Minor Service Outage"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CLI change never reached the running server: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	hist, err := m.Store.History(context.Background(), "payments", 1)
	if err != nil || len(hist) != 1 || hist[0].Source != "override" || hist[0].Actor != "ops" || hist[0].Reason != "card errors" {
		t.Errorf("history = %+v, %v", hist, err)
	}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"set-status", "--db", m.Config.Database.Path, "payments", "partial_outage"}, 0, "payments stays partial_outage (override"},
		{[]string{"set-status", "--db", m.Config.Database.Path, "--clear", "payments"}, 0, "payments is now operational (no reported problem)"},
		{[]string{"set-status", "--db", m.Config.Database.Path, "--clear", "payments"}, 0, "payments stays operational"},
		{[]string{"set-status", "--db", m.Config.Database.Path, "payments", "down"}, 2, "not one of"},
		{[]string{"set-status", "--db", m.Config.Database.Path, "nosuch", "major_outage"}, 1, "no component"},
		{[]string{"set-status", "--db", m.Config.Database.Path, "identity-providers", "major_outage"}, 2, "group"},
		{[]string{"set-status", "--db", filepath.Join(t.TempDir(), "none.db"), "payments", "major_outage"}, 1, "start statusd serve once"},
		{[]string{"set-status", "payments"}, 2, "usage"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, &out, &errb, env)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.out) {
			t.Errorf("run(%v) = %d, %q; want %d and %q", tt.args[len(tt.args)-2:], code, out.String()+errb.String(), tt.code, tt.out)
		}
	}
}
