package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// statusdBinary builds the real statusd binary once per test run.
func statusdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "statusd-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "statusd")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build statusd: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// process is a running statusd binary.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
	done chan error
}

var listenLine = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startBinary runs `statusd serve` with extra arguments on a free loopback
// port, waits until it serves, and stops it (SIGTERM) when the test ends.
func startBinary(t *testing.T, args ...string) *process {
	t.Helper()
	bin := statusdBinary(t)
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "STATUSD_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if m := listenLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("statusd exited before serving: %v\n%s", err, p.logs.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("statusd did not start:\n%s", p.logs.String())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *process) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("statusd did not stop on SIGTERM:\n%s", p.logs.String())
	}
}

// waitFor polls url until match accepts its body, or fails after 20 s.
func waitFor(t *testing.T, url string, what string, match func(body []byte) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, body := httpGet(t, url)
		if match(body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed at %s; last body:\n%.2000s", what, url, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runCLI runs the statusd binary with args and returns its output.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, statusdBinary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("statusd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type journeysDoc struct {
	Journeys []struct {
		ID                string `json:"id"`
		ComponentStatuses []struct {
			ID     string  `json:"id"`
			Status string  `json:"status"`
			Source *string `json:"source"`
			Reason *string `json:"reason"`
		} `json:"component_statuses"`
	} `json:"journeys"`
}

func componentOf(t *testing.T, body []byte, id string) (status, source, reason string) {
	t.Helper()
	var d journeysDoc
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("journeys.json: %v", err)
	}
	for _, j := range d.Journeys {
		for _, c := range j.ComponentStatuses {
			if c.ID == id {
				if c.Source != nil {
					source = *c.Source
				}
				if c.Reason != nil {
					reason = *c.Reason
				}
				return c.Status, source, reason
			}
		}
	}
	t.Fatalf("journeys.json lacks %s", id)
	return
}

// TestStatusModelEndToEnd runs the real binary and layers an override, an
// incident and a maintenance on one component, then clears them in another
// order: the page, summary.json and the "last changed because" text follow
// each step. The incident and the window are written by a second process
// (this test) on the same database, as statusd's own CLI would.
func TestStatusModelEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "statusd.db")
	p := startBinary(t, "--config", "../../config.example.yaml", "--db", db)
	base := "http://" + p.addr
	st, err := openStore(t, db)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ status, source, reason, page string }
	check := func(step string, w want) {
		t.Helper()
		body := waitFor(t, base+"/api/v2/journeys.json", step, func(b []byte) bool {
			s, src, why := componentOf(t, b, "payments")
			return s == w.status && src == w.source && strings.Contains(why, w.reason)
		})
		_ = body
		waitFor(t, base+"/api/v2/summary.json", step+" in summary.json", func(b []byte) bool {
			var sum struct {
				Components []struct{ ID, Status string } `json:"components"`
			}
			if json.Unmarshal(b, &sum) != nil {
				return false
			}
			for _, c := range sum.Components {
				if c.ID == "payments" {
					return c.Status == w.status
				}
			}
			return false
		})
		waitFor(t, base+"/", step+" on the page", func(b []byte) bool {
			i := bytes.Index(b, []byte(`<h3>Card payments</h3>`))
			if i < 0 {
				return false
			}
			rest := b[i:]
			if j := bytes.Index(rest, []byte(`</li>`)); j > 0 {
				rest = rest[:j]
			}
			if w.page == "" {
				return !bytes.Contains(rest, []byte(`class="why"`))
			}
			return bytes.Contains(rest, []byte(w.page))
		})
	}
	check("start", want{"operational", "", "", ""})

	out := runCLI(t, "set-status", "--db", db, "--actor", "ops", "--reason", "card network down", "payments", "major_outage")
	if !strings.Contains(out, "payments is now major_outage (override: card network down)") {
		t.Errorf("set-status said %q", out)
	}
	check("override", want{"major_outage", "override", "card network down", "Set by the team: card network down"})

	in, err := st.CreateIncident(ctxBG, newIncident("Card payments failing", "payments", "partial_outage"))
	if err != nil {
		t.Fatal(err)
	}
	check("incident under an override", want{"major_outage", "override", "card network down", "Set by the team: card network down"})

	mt, err := st.CreateMaintenance(ctxBG, newMaintenance("Database upgrade", "payments"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUpdate(ctxBG, mt.ID, newUpdate("in_progress")); err != nil {
		t.Fatal(err)
	}
	check("maintenance under an override", want{"major_outage", "override", "card network down", "Set by the team"})

	runCLI(t, "set-status", "--db", db, "--clear", "payments")
	check("override cleared", want{"partial_outage", "incident", `incident "Card payments failing", posted by lee`,
		"incident &#34;Card payments failing&#34;, posted by lee"})

	if _, err := st.AddUpdate(ctxBG, in.ID, newUpdate("resolved")); err != nil {
		t.Fatal(err)
	}
	check("incident resolved", want{"under_maintenance", "maintenance", `maintenance "Database upgrade" started`,
		"maintenance &#34;Database upgrade&#34; started"})

	if _, err := st.AddUpdate(ctxBG, mt.ID, newUpdate("completed")); err != nil {
		t.Fatal(err)
	}
	check("maintenance completed", want{"operational", "", "no reported problem", ""})
}
