package data_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func TestConsumeAdvancesWithWrites(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	// A consumer starts after the newest event: history is not replayed.
	pos, err := s.Register(ctx, "notifier")
	if err != nil || pos == 0 {
		t.Fatalf("Register = %d, %v", pos, err)
	}
	for i, st := range []data.ComponentStatus{data.MajorOutage, data.PartialOutage, data.DegradedPerformance} {
		if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: st, Actor: "ops", Reason: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A failing consumer moves nothing and keeps nothing.
	boom := fmt.Errorf("boom")
	n, err := s.Consume(ctx, "notifier", 10, func(tx *data.Tx, evs []data.Event) error {
		if err := tx.Audit("notifier", "test.consume", "x", "should vanish"); err != nil {
			return err
		}
		return boom
	})
	if n != 0 || err == nil {
		t.Fatalf("failing Consume = %d, %v", n, err)
	}
	if _, pending, _ := s.Cursor(ctx, "notifier"); pending != 3 {
		t.Fatalf("pending after failed consume = %d; want 3", pending)
	}
	var got []data.ComponentStatus
	for {
		n, err := s.Consume(ctx, "notifier", 2, func(tx *data.Tx, evs []data.Event) error {
			for _, e := range evs {
				p := e.Payload.(*data.ComponentStatusChanged)
				got = append(got, p.New)
				if p.JourneyName != "Checkout" || p.ComponentName != "Payments" || p.Source != data.SourceOverride {
					t.Errorf("payload = %+v", p)
				}
				if err := tx.Audit("notifier", "test.consume", strconv.FormatInt(e.ID, 10), ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if fmt.Sprint(got) != "[major_outage partial_outage degraded_performance]" {
		t.Errorf("consumed %v", got)
	}
	for _, a := range mustAudit(t, s) {
		if a.Detail == "should vanish" {
			t.Error("a failed consumer's write was kept")
		}
	}
	if _, pending, _ := s.Cursor(ctx, "notifier"); pending != 0 {
		t.Errorf("pending = %d; want 0", pending)
	}
	if _, _, err := s.Cursor(ctx, "nobody"); err == nil {
		t.Error("Cursor of an unknown consumer succeeded")
	}
}

// consumerChild is the body of the child process in TestConsumeSurvivesKill:
// it consumes events one at a time, writing an audit row per event, and
// says "IN <id>" while it holds the transaction open, so the parent can kill
// it between the consumer's write and the commit that advances the cursor.
func consumerChild(path string) {
	s, err := data.Open(context.Background(), path)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	for {
		n, err := s.Consume(context.Background(), "crashy", 1, func(tx *data.Tx, evs []data.Event) error {
			if err := tx.Audit("crashy", "test.consume", strconv.FormatInt(evs[0].ID, 10), ""); err != nil {
				return err
			}
			fmt.Println("IN", evs[0].ID)
			time.Sleep(20 * time.Millisecond)
			return nil
		})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		if n == 0 {
			fmt.Println("DONE")
			os.Exit(0)
		}
	}
}

// TestConsumeNothingWakesNobody: a consumer with nothing to read writes
// nothing and tells no subscriber of a change; otherwise every consumer
// woken by a change would consume again and wake the others, for ever. A
// consumer's first Consume still keeps its new cursor.
func TestConsumeNothingWakesNobody(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	changed, stop := s.Subscribe()
	defer stop()
	drain := func() bool {
		select {
		case <-changed:
			return true
		default:
			return false
		}
	}
	drain()
	n, err := s.Consume(ctx, "fresh", 10, func(*data.Tx, []data.Event) error { return nil })
	if err != nil || n != 0 {
		t.Fatalf("first Consume = %d, %v", n, err)
	}
	pos, pending, err := s.Cursor(ctx, "fresh")
	if err != nil || pos == 0 || pending != 0 {
		t.Fatalf("after a first Consume with nothing to read: cursor %d, %d pending, %v; want it kept at the newest event", pos, pending, err)
	}
	drain()
	for range 3 {
		if n, err := s.Consume(ctx, "fresh", 10, func(*data.Tx, []data.Event) error { t.Error("called with no events"); return nil }); err != nil || n != 0 {
			t.Fatalf("Consume = %d, %v", n, err)
		}
	}
	if drain() {
		t.Error("consuming nothing told subscribers that something changed")
	}
	// An event still wakes them, and is consumed.
	if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "ops", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	if !drain() {
		t.Error("a status change woke nobody")
	}
	if n, err := s.Consume(ctx, "fresh", 10, func(*data.Tx, []data.Event) error { return nil }); err != nil || n == 0 {
		t.Errorf("Consume after a change = %d, %v", n, err)
	}
}

func TestMain(m *testing.M) {
	if p := os.Getenv("STATUSD_TEST_CONSUMER_CHILD"); p != "" {
		consumerChild(p)
	}
	os.Exit(m.Run())
}

func TestConsumeSurvivesKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "statusd.db")
	s, err := data.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "crashy"); err != nil {
		t.Fatal(err)
	}
	const events = 30
	statuses := []data.ComponentStatus{data.MajorOutage, data.PartialOutage}
	for i := range events {
		if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: statuses[i%2], Actor: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	kills := 0
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "STATUSD_TEST_CONSUMER_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		done, seen := false, 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ERR") {
				t.Fatalf("child: %s", line)
			}
			if line == "DONE" {
				done = true
				break
			}
			// Kill inside the third transaction of every run but the last ones.
			if seen++; seen == 3 && attempt < 5 {
				_ = cmd.Process.Kill() // SIGKILL: no deferred code, no commit
				kills++
				break
			}
		}
		_ = cmd.Wait() // a killed child exits with an error, which is the point
		if done {
			break
		}
	}
	if kills != 5 {
		t.Fatalf("killed the consumer %d times; want 5", kills)
	}
	seen := map[string]int{}
	for _, a := range mustAudit(t, s) {
		if a.Action == "test.consume" {
			seen[a.Subject]++
		}
	}
	all, _ := s.Events(ctx, 0, 1000)
	want := 0
	for _, e := range all {
		if e.Kind != data.EventComponentStatusChanged {
			continue
		}
		want++
		if n := seen[strconv.FormatInt(e.ID, 10)]; n != 1 {
			t.Errorf("event %d consumed %d times; want exactly once", e.ID, n)
		}
	}
	if want != events || len(seen) != events {
		t.Errorf("consumed %d distinct events of %d", len(seen), want)
	}
}
