package data_test

import (
	"errors"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func TestSLOMinutesAddAndPut(t *testing.T) {
	s := datatest.MustOpen(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// 1,200 minutes cross the batch size of one INSERT.
	var mins []data.SLOMinute
	for i := range 1200 {
		mins = append(mins, data.SLOMinute{Start: t0.Add(time.Duration(i)*time.Minute + 17*time.Second), Good: 9, Total: 10})
	}
	if err := s.AddSLOMinutes(ctx, "co", mins); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSLOMinutes(ctx, "co", mins[:2]); err != nil {
		t.Fatal(err)
	}
	got, err := s.SLOMinutes(ctx, "co", t0, t0.Add(1200*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1200 || got[0].Good != 18 || got[0].Total != 20 || got[2].Total != 10 || !got[0].Start.Equal(t0) {
		t.Fatalf("after two adds: %d minutes, first %+v, third %+v", len(got), got[0], got[2])
	}
	if err := s.PutSLOMinutes(ctx, "co", []data.SLOMinute{{Start: t0, Good: 1, Total: 1}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SLOMinutes(ctx, "co", t0, t0.Add(time.Minute))
	if len(got) != 1 || got[0].Good != 1 || got[0].Total != 1 {
		t.Fatalf("after put: %+v", got)
	}
	// One bad minute refuses the whole batch.
	bad := []data.SLOMinute{{Start: t0.Add(time.Hour), Good: 5, Total: 5}, {Start: t0.Add(2 * time.Hour), Good: 6, Total: 5}}
	var inv *data.InvalidError
	if err := s.AddSLOMinutes(ctx, "co", bad); !errors.As(err, &inv) {
		t.Fatalf("good > total: %v", err)
	}
	got, _ = s.SLOMinutes(ctx, "co", t0.Add(time.Hour), t0.Add(time.Hour+time.Minute))
	if got[0].Total != 10 {
		t.Fatalf("a refused batch changed a minute: %+v", got[0])
	}
	n, err := s.PruneSLOMinutes(ctx, "co", t0.Add(1000*time.Minute), 300)
	if err != nil || n != 1000 {
		t.Fatalf("prune = %d, %v; want 1000", n, err)
	}
}

func TestSLOAlertSetsAndClearsInputs(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return t0 }
	fig := data.SLOFigures{SLOID: "signin-avail", JourneyID: "sign-in", Name: "Sign-in availability", Objective: 99.9, Window: "30 days",
		WindowStart: t0.Add(-30 * 24 * time.Hour), WindowEnd: t0, Good: 900, Total: 1000, SLI: 0.9, HasData: true,
		BudgetTime: 43*time.Minute + 12*time.Second, BudgetRemaining: -99, Alert: data.SLOFastBurn, AlertReason: "burning",
		Burn: []data.BurnRate{{Window: time.Hour, Rate: 100, Events: 1000}}, UpdatedAt: t0}
	pos, err := s.Register(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	burn := data.SLOBurn{SLOID: "signin-avail", SLOName: "Sign-in availability", JourneyID: "sign-in", Objective: 99.9,
		Severity: data.SLOFastBurn, Status: data.PartialOutage, Long: time.Hour, Short: 5 * time.Minute, LongRate: 100, ShortRate: 100,
		Factor: 14.4, Reason: "SLO Sign-in availability: burning error budget 100× over 1h and 100× over 5m (objective 99.9%)"}
	changes, err := s.SetSLOAlert(ctx, burn, fig)
	if err != nil {
		t.Fatal(err)
	}
	// Every component of the journey that is not a group: auth-api and the
	// two in the idp group.
	if len(changes) != 3 {
		t.Fatalf("burn changed %d components; want 3: %+v", len(changes), changes)
	}
	ins, _ := s.Inputs(ctx, "sso-google")
	if len(ins) != 1 || ins[0].Key != "slo:signin-avail" || ins[0].Status != data.PartialOutage || ins[0].Reason != burn.Reason {
		t.Fatalf("inputs of sso-google: %+v", ins)
	}
	evs, _ := s.Events(ctx, pos, 100)
	var kinds []data.EventKind
	var got *data.SLOBurn
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
		if p, ok := e.Payload.(*data.SLOBurn); ok {
			got = p
		}
	}
	if got == nil || got.JourneyName != "Sign in" || got.Severity != data.SLOFastBurn || got.LongRate != 100 || !got.At.Equal(t0) {
		t.Fatalf("events %v, burn payload %+v", kinds, got)
	}
	figs, err := s.SLOFigures(ctx)
	if err != nil || len(figs) != 1 {
		t.Fatalf("figures: %v, %v", figs, err)
	}
	if f := figs[0]; f.Alert != data.SLOFastBurn || !f.HasData || f.SLI != 0.9 || f.BudgetTime != fig.BudgetTime ||
		len(f.Burn) != 1 || f.Burn[0].Window != time.Hour || f.BudgetRemaining != -99 {
		t.Fatalf("stored figures %+v", f)
	}
	byID, _ := s.SLOAlertInputs(ctx)
	if byID["signin-avail"] != data.PartialOutage {
		t.Fatalf("SLOAlertInputs = %v", byID)
	}

	// An override stays on top; recovery clears only the SLO's input.
	if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "auth-api", Status: data.MajorOutage, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	fig.Alert, fig.AlertReason = "", ""
	changes, err = s.SetSLOAlert(ctx, data.SLOBurn{SLOID: "signin-avail", SLOName: "Sign-in availability", JourneyID: "sign-in",
		Objective: 99.9, OldSeverity: data.SLOFastBurn}, fig)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("recovery changed %d components; want the 2 without an override", len(changes))
	}
	for _, id := range []string{"auth-api", "sso-google", "sso-github"} {
		ins, _ := s.Inputs(ctx, id)
		for _, in := range ins {
			if in.Source == data.SourceAutomatic {
				t.Errorf("%s keeps %+v after recovery", id, in)
			}
		}
	}
	evs, _ = s.Events(ctx, pos, 100)
	if last := evs[len(evs)-1]; last.Kind != data.EventSLORecovered {
		t.Fatalf("last event %s; want slo.recovered", last.Kind)
	}

	// Unknown journey, bad severity: nothing stored.
	if _, err := s.SetSLOAlert(ctx, data.SLOBurn{SLOID: "x", JourneyID: "nope", Severity: data.SLOSlowBurn, Status: data.DegradedPerformance},
		data.SLOFigures{SLOID: "x", JourneyID: "nope", Name: "X", Objective: 99}); !errors.Is(err, data.ErrNotFound) {
		t.Fatalf("unknown journey: %v", err)
	}
	var inv *data.InvalidError
	if _, err := s.SetSLOAlert(ctx, data.SLOBurn{SLOID: "x", JourneyID: "sign-in", Severity: data.SLOSlowBurn, Status: data.Operational},
		data.SLOFigures{SLOID: "x", JourneyID: "sign-in", Name: "X", Objective: 99}); !errors.As(err, &inv) {
		t.Fatalf("a burn setting operational: %v", err)
	}
	// Figures of SLOs no longer configured go.
	if err := s.PutSLOFigures(ctx, nil, []string{"other"}); err != nil {
		t.Fatal(err)
	}
	if figs, _ := s.SLOFigures(ctx); len(figs) != 0 {
		t.Fatalf("figures kept: %+v", figs)
	}
}
