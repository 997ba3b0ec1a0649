package probes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func engineStore(t *testing.T) *data.Store {
	t.Helper()
	s := datatest.MustOpen(t)
	_, err := s.SyncCatalog(context.Background(), data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "checkout", Name: "Checkout", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Card payments", Showcase: true},
			{ID: "basket", Name: "Basket", Showcase: true},
		}},
	}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feed is one step of an engine scenario: results from one probe in one
// region, one character per run: U up, G degraded, D down, '.' nothing.
type feed struct {
	probe, region, runs string
}

// want is what the store must hold after a step ("" status: nothing written).
type want struct {
	automatic data.ComponentStatus
	reason    []string
	effective data.ComponentStatus
}

func TestEngine(t *testing.T) {
	pay := func(f, s int) *Probe {
		return &Probe{ID: "pay", Name: "Checkout", ComponentID: "payments", Interval: 10 * time.Second, FailureThreshold: f, SuccessThreshold: s}
	}
	regional := func(q int) *Probe {
		p := pay(2, 2)
		p.Regions, p.Quorum = []string{"eu-west", "local", "us-east"}, q
		return p
	}
	second := &Probe{ID: "pay-api", Name: "Payments API", ComponentID: "payments", Interval: 10 * time.Second, FailureThreshold: 2, SuccessThreshold: 2}
	type step struct {
		feeds  []feed
		before func(t *testing.T, s *data.Store)
		want   want
	}
	tests := []struct {
		name       string
		probes     []*Probe
		majorShare float64
		steps      []step
	}{
		{"hysteresis", []*Probe{pay(3, 2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "UU"}}, want: want{}}, // not enough runs yet to speak
			{feeds: []feed{{"pay", "local", "U"}}, want: want{automatic: data.Operational, reason: []string{"Checkout: passing"}}},
			{feeds: []feed{{"pay", "local", "DD"}}, want: want{automatic: data.Operational}},
			{feeds: []feed{{"pay", "local", "D"}}, want: want{automatic: data.MajorOutage, effective: data.MajorOutage,
				reason: []string{"Checkout: returned 502", "failed 3 runs in a row (threshold 3)"}}},
			{feeds: []feed{{"pay", "local", "U"}}, want: want{automatic: data.MajorOutage}},
			{feeds: []feed{{"pay", "local", "U"}}, want: want{automatic: data.Operational, effective: data.Operational}},
		}},
		{"one blip changes nothing", []*Probe{pay(2, 2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "UUDUUDUUU"}}, want: want{automatic: data.Operational, effective: data.Operational}},
		}},
		{"flapping stays put", []*Probe{pay(2, 2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "UUDUDUDUDUDU"}}, want: want{automatic: data.Operational}},
			{feeds: []feed{{"pay", "local", "DD"}}, want: want{automatic: data.MajorOutage}},
			{feeds: []feed{{"pay", "local", "UDUDUDUD"}}, want: want{automatic: data.MajorOutage}},
			{feeds: []feed{{"pay", "local", "UU"}}, want: want{automatic: data.Operational}},
		}},
		{"latency degraded", []*Probe{pay(2, 2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "UUG"}}, want: want{automatic: data.Operational}},
			{feeds: []feed{{"pay", "local", "G"}}, want: want{automatic: data.DegradedPerformance, effective: data.DegradedPerformance,
				reason: []string{"Checkout: slow: responded in 1.2s, over 800ms", "degraded 2 runs in a row"}}},
			{feeds: []feed{{"pay", "local", "DD"}}, want: want{automatic: data.MajorOutage}},
			{feeds: []feed{{"pay", "local", "GG"}}, want: want{automatic: data.DegradedPerformance}},
			{feeds: []feed{{"pay", "local", "UU"}}, want: want{automatic: data.Operational}},
		}},
		{"quorum of regions", []*Probe{regional(2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "UU"}, {"pay", "eu-west", "UU"}, {"pay", "us-east", "UU"}}, want: want{automatic: data.Operational}},
			{feeds: []feed{{"pay", "eu-west", "DDDD"}, {"pay", "local", "UU"}, {"pay", "us-east", "UU"}}, want: want{automatic: data.Operational}},
			{feeds: []feed{{"pay", "eu-west", "D"}, {"pay", "local", "DD"}, {"pay", "us-east", "U"}}, want: want{automatic: data.MajorOutage,
				reason: []string{"in 2 of 3 regions (eu-west, local; quorum 2)"}}},
			// us-east goes quiet and eu-west recovers: one region down
			// is below the quorum.
			{feeds: []feed{{"pay", "eu-west", "UUUU"}, {"pay", "local", "DDDD"}}, want: want{automatic: data.Operational}},
		}},
		{"a quiet region stops counting", []*Probe{regional(2)}, 0, []step{
			{feeds: []feed{{"pay", "eu-west", "DD"}, {"pay", "local", "DD"}, {"pay", "us-east", "UU"}}, want: want{automatic: data.MajorOutage}},
			// eu-west and us-east send nothing for a while: only local is
			// fresh, and one region is below the quorum.
			{feeds: []feed{{"pay", "local", "DDDDD"}}, want: want{automatic: data.Operational}},
		}},
		{"share of probes: partial then major", []*Probe{pay(2, 2), second}, 0, []step{
			{feeds: []feed{{"pay", "local", "UU"}, {"pay-api", "local", "UU"}}, want: want{automatic: data.Operational, reason: []string{"all 2 probes passing"}}},
			{feeds: []feed{{"pay", "local", "DD"}, {"pay-api", "local", "U"}}, want: want{automatic: data.PartialOutage,
				reason: []string{"Checkout: returned 502", "1 of 2 probes down: partial outage"}}},
			{feeds: []feed{{"pay-api", "local", "DD"}}, want: want{automatic: data.MajorOutage, reason: []string{"Checkout:", "Payments API:", "2 of 2 probes down: major outage"}}},
		}},
		{"major share of a half", []*Probe{pay(2, 2), second}, 0.5, []step{
			{feeds: []feed{{"pay", "local", "DD"}, {"pay-api", "local", "UU"}}, want: want{automatic: data.MajorOutage, reason: []string{"1 of 2 probes down: major outage"}}},
		}},
		{"journey step named", []*Probe{pay(2, 2)}, 0, []step{
			{feeds: []feed{{"pay", "local", "JJ"}}, want: want{automatic: data.MajorOutage, effective: data.MajorOutage,
				reason: []string{`Checkout: step 3 "pay" returned 502 (want 2xx) — failed 2 runs in a row (threshold 2)`}}},
		}},
		{"maintenance outranks probes", []*Probe{pay(2, 2)}, 0, []step{
			{before: func(t *testing.T, s *data.Store) {
				_, err := s.SetInputs(context.Background(), []data.Input{{ComponentID: "payments", Source: data.SourceMaintenance, Key: "m1",
					Status: data.UnderMaintenance, Reason: "card processor upgrade", Actor: "ops"}})
				if err != nil {
					t.Fatal(err)
				}
			}, feeds: []feed{{"pay", "local", "DD"}}, want: want{automatic: data.MajorOutage, effective: data.UnderMaintenance}},
			{before: func(t *testing.T, s *data.Store) {
				if _, err := s.ClearInput(context.Background(), "payments", data.SourceMaintenance, "m1", "ops", "done"); err != nil {
					t.Fatal(err)
				}
			}, feeds: []feed{{"pay", "local", "D"}}, want: want{automatic: data.MajorOutage, effective: data.MajorOutage}},
		}},
		{"an override wins over probes", []*Probe{pay(2, 2)}, 0, []step{
			{before: func(t *testing.T, s *data.Store) {
				if _, err := s.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "payments", Status: data.DegradedPerformance,
					Actor: "ops@fernhill.example", Reason: "known slowness"}); err != nil {
					t.Fatal(err)
				}
			}, feeds: []feed{{"pay", "local", "DD"}}, want: want{automatic: data.MajorOutage, effective: data.DegradedPerformance}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := engineStore(t)
			e := NewEngine(s, tt.probes, EngineOptions{MajorShare: tt.majorShare})
			now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
			for i, st := range tt.steps {
				if st.before != nil {
					st.before(t, s)
				}
				// Feeds interleave run by run, one interval apart.
				longest := 0
				for _, f := range st.feeds {
					longest = max(longest, len(f.runs))
				}
				for k := range longest {
					now = now.Add(10 * time.Second)
					for _, f := range st.feeds {
						if k >= len(f.runs) || f.runs[k] == '.' {
							continue
						}
						r := data.ProbeResult{ProbeID: f.probe, ComponentID: "payments", Region: f.region, At: now, Duration: 30 * time.Millisecond}
						switch f.runs[k] {
						case 'U':
							r.Outcome = data.ProbeUp
						case 'G':
							r.Outcome, r.Reason = data.ProbeDegraded, "slow: responded in 1.2s, over 800ms"
						case 'D':
							r.Outcome, r.Reason = data.ProbeDown, "returned 502 (want 2xx)"
						case 'J':
							r.Outcome, r.Reason, r.Step = data.ProbeDown, `step 3 "pay" returned 502 (want 2xx)`, "pay"
						}
						e.apply(&r)
					}
					e.flush(context.Background(), now)
				}
				checkEngineStep(t, i, s, st.want)
			}
		})
	}
}

func checkEngineStep(t *testing.T, i int, s *data.Store, w want) {
	t.Helper()
	ins, err := s.Inputs(context.Background(), "payments")
	if err != nil {
		t.Fatal(err)
	}
	var auto *data.Input
	for k := range ins {
		if ins[k].Source == data.SourceAutomatic && ins[k].Key == InputKey {
			auto = &ins[k]
		}
	}
	switch {
	case w.automatic == "" && auto != nil:
		t.Errorf("step %d: automatic input %s %q; want none yet", i, auto.Status, auto.Reason)
	case w.automatic != "" && auto == nil:
		t.Errorf("step %d: no automatic input; want %s", i, w.automatic)
	case auto != nil && auto.Status != w.automatic:
		t.Errorf("step %d: automatic input %s (%q); want %s", i, auto.Status, auto.Reason, w.automatic)
	case auto != nil:
		for _, r := range w.reason {
			if !strings.Contains(auto.Reason, r) {
				t.Errorf("step %d: reason %q; want it to contain %q", i, auto.Reason, r)
			}
		}
		if auto.Actor != "probes" {
			t.Errorf("step %d: actor %q", i, auto.Actor)
		}
	}
	if w.effective != "" {
		got, _ := data.Resolve(ins)
		if got != w.effective {
			t.Errorf("step %d: effective status %s; want %s", i, got, w.effective)
		}
	}
}

// TestEngineRestart: an engine started on a store holding an outage it
// wrote earlier keeps it until the thresholds say otherwise, and clears the
// input of a component that has no probes any more.
func TestEngineRestart(t *testing.T) {
	s := engineStore(t)
	ctx := context.Background()
	_, err := s.SetInputs(ctx, []data.Input{
		{ComponentID: "payments", Source: data.SourceAutomatic, Key: InputKey, Status: data.MajorOutage, Reason: "Checkout: returned 502", Actor: "probes"},
		{ComponentID: "basket", Source: data.SourceAutomatic, Key: InputKey, Status: data.MajorOutage, Reason: "old probe", Actor: "probes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &Probe{ID: "pay", Name: "Checkout", ComponentID: "payments", Interval: 10 * time.Second, FailureThreshold: 2, SuccessThreshold: 3}
	e := NewEngine(s, []*Probe{p}, EngineOptions{Reevaluate: time.Hour})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if ins, _ := s.Inputs(ctx, "basket"); len(ins) != 0 {
		t.Errorf("basket inputs = %+v; want the stale probe input cleared", ins)
	}
	now := time.Now()
	for i, o := range []data.ProbeOutcome{data.ProbeUp, data.ProbeUp, data.ProbeUp} {
		e.Record(data.ProbeResult{ProbeID: "pay", ComponentID: "payments", Region: "local", At: now.Add(time.Duration(i) * time.Second), Outcome: o})
	}
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	ins, _ := s.Inputs(ctx, "payments")
	if len(ins) != 1 || ins[0].Status != data.Operational {
		t.Errorf("payments inputs = %+v; want operational after 3 successes", ins)
	}
	if st, ok := e.Status("payments"); !ok || st != data.Operational {
		t.Errorf("Status = %s, %v", st, ok)
	}
}
