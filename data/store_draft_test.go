package data_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func draftStore(t *testing.T) *data.Store {
	t.Helper()
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	return s
}

func counts(t *testing.T, s *data.Store) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]int{}
	for _, table := range []string{"incidents", "incident_updates", "component_inputs", "events", "audit_log", "incident_notes", "incident_details"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func TestDraftPublishOnce(t *testing.T) {
	s := draftStore(t)
	before := counts(t, s)
	next := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	d, err := s.CreateDraft(ctx, data.DraftInput{Name: "Card payments failing", Severity: data.SEV2, Body: "We are **looking** into it.",
		Components: map[string]data.ComponentStatus{"payments": data.PartialOutage}, NextUpdateBy: next, Notify: true,
		Note: "secret-internal-marker", Actor: "cara@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Impact != data.ImpactMajor || d.Kind != data.KindIncident || d.Status != data.Investigating {
		t.Errorf("draft defaults = %s %s %s; want major incident investigating", d.Impact, d.Kind, d.Status)
	}
	// A draft is not public: no incident, no input, no event.
	after := counts(t, s)
	for _, table := range []string{"incidents", "component_inputs", "events"} {
		if after[table] != before[table] {
			t.Errorf("a draft wrote to %s", table)
		}
	}
	p, err := s.PublishDraft(ctx, d.ID, "cara@example.com", data.RenderedBody{HTML: "<p>We are <strong>looking</strong> into it.</p>", Text: "We are looking into it."})
	if err != nil {
		t.Fatal(err)
	}
	if p.Incident.Impact != data.ImpactMajor || len(p.Incident.Updates) != 1 || p.Incident.Updates[0].BodyHTML == "" {
		t.Errorf("published = %+v", p.Incident)
	}
	ins, err := s.Inputs(ctx, "payments")
	if err != nil || len(ins) != 1 || ins[0].Source != data.SourceIncident || ins[0].Status != data.PartialOutage {
		t.Errorf("payments inputs = %+v, %v", ins, err)
	}
	det, err := s.Details(ctx, p.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	dd := det[p.Incident.ID]
	if dd.Severity != data.SEV2 || !dd.NextUpdateBy.Equal(next) || len(dd.Notes) != 1 {
		t.Errorf("details = %+v", dd)
	}
	if !dd.Overdue(p.Incident, next.Add(time.Minute)) || dd.Overdue(p.Incident, next.Add(-time.Minute)) {
		t.Error("overdue is wrong")
	}
	evs, err := s.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if ic, ok := e.Payload.(*data.IncidentChanged); ok && strings.Contains(ic.Body, "secret-internal-marker") {
			t.Error("the internal note reached an event")
		}
	}
	_, err = s.PublishDraft(ctx, d.ID, "cara@example.com", data.RenderedBody{HTML: "<p>x</p>", Text: "x"})
	if !errors.Is(err, data.ErrConflict) {
		t.Errorf("second publish: %v; want ErrConflict", err)
	}

	// An update through a draft, then resolve.
	u, err := s.CreateDraft(ctx, data.DraftInput{IncidentID: p.Incident.ID, Status: data.Resolved, Body: "Fixed.", Actor: "cara@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishDraft(ctx, u.ID, "cara@example.com", data.RenderedBody{Text: "Fixed.", HTML: "<p>Fixed.</p>"}); err != nil {
		t.Fatal(err)
	}
	if ins, _ := s.Inputs(ctx, "payments"); len(ins) != 0 {
		t.Errorf("resolved, payments still has %+v", ins)
	}
	det, _ = s.Details(ctx, p.Incident.ID)
	if !det[p.Incident.ID].NextUpdateBy.IsZero() {
		t.Error("a resolved incident still promises an update")
	}
	// Resolved → investigating is a reopen (allowed); postmortem after postmortem only.
	pm, err := s.CreateDraft(ctx, data.DraftInput{IncidentID: p.Incident.ID, Status: data.Postmortem, Body: "What happened.", Actor: "cara@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishDraft(ctx, pm.ID, "cara@example.com", data.RenderedBody{Text: "What happened.", HTML: "<p>What happened.</p>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDraft(ctx, data.DraftInput{IncidentID: p.Incident.ID, Status: data.Investigating, Body: "x", Actor: "a"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("postmortem → investigating: %v; want ErrConflict", err)
	}
	det, _ = s.Details(ctx, p.Incident.ID)
	if det[p.Incident.ID].Postmortem != "What happened." {
		t.Errorf("postmortem = %q", det[p.Incident.ID].Postmortem)
	}
}

func TestDraftBadInput(t *testing.T) {
	s := draftStore(t)
	long := strings.Repeat("x", data.MaxBodyLength+1)
	for _, c := range []struct {
		name  string
		in    data.DraftInput
		field string
		is    error
	}{
		{"unknown component", data.DraftInput{Name: "x", Body: "x", Components: map[string]data.ComponentStatus{"nope": data.MajorOutage}}, "components", nil},
		{"group", data.DraftInput{Name: "x", Body: "x", Components: map[string]data.ComponentStatus{"idp": data.MajorOutage}}, "components", nil},
		{"empty title", data.DraftInput{Name: " ", Body: "x"}, "title", nil},
		{"body too long", data.DraftInput{Name: "x", Body: long}, "body", nil},
		{"bad severity", data.DraftInput{Name: "x", Body: "x", Severity: "SEV9"}, "severity", nil},
		{"resolved new", data.DraftInput{Name: "x", Body: "x", Status: data.Resolved}, "status", nil},
		{"unknown incident", data.DraftInput{IncidentID: "nope", Status: data.Identified, Body: "x"}, "", data.ErrNotFound},
		{"maintenance without window", data.DraftInput{Kind: data.KindMaintenance, Name: "x", Body: "x"}, "scheduled_for", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.Actor = "cara@example.com"
			_, err := s.CreateDraft(ctx, c.in)
			var inv *data.InvalidError
			switch {
			case c.is != nil:
				if !errors.Is(err, c.is) {
					t.Errorf("err = %v; want %v", err, c.is)
				}
			case !errors.As(err, &inv) || inv.Field != c.field:
				t.Errorf("err = %v; want invalid %s", err, c.field)
			}
		})
	}
}

// TestPublishFailureLeavesNoTrace makes the last step of a publish fail and
// checks that nothing of it stays: no incident, update, input, event, audit
// entry or note, and the draft is still a draft that publishes later.
func TestPublishFailureLeavesNoTrace(t *testing.T) {
	s := draftStore(t)
	d, err := s.CreateDraft(ctx, data.DraftInput{Name: "Sign-in down", Body: "Down.", Note: "note",
		Components: map[string]data.ComponentStatus{"auth-api": data.MajorOutage}, Notify: true, Actor: "cara@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	before := counts(t, s)
	db, err := sql.Open("sqlite3", "file:"+s.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_publish BEFORE UPDATE OF published_at ON incident_drafts
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishDraft(ctx, d.ID, "cara@example.com", data.RenderedBody{HTML: "<p>Down.</p>", Text: "Down."}); err == nil {
		t.Fatal("publish succeeded despite the failure")
	}
	if after := counts(t, s); !equalCounts(before, after) {
		t.Errorf("a failed publish left a trace: before %v, after %v", before, after)
	}
	if ins, _ := s.Inputs(ctx, "auth-api"); len(ins) != 0 {
		t.Errorf("inputs after a failed publish: %+v", ins)
	}
	if _, err := db.Exec("DROP TRIGGER fail_publish"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishDraft(ctx, d.ID, "cara@example.com", data.RenderedBody{HTML: "<p>Down.</p>", Text: "Down."}); err != nil {
		t.Fatalf("publish after the failure: %v", err)
	}
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestMessageTemplates(t *testing.T) {
	tm := data.MessageTemplate{ID: "t", Name: "T", Status: data.Identified, Title: "{{.journeys}} down", Body: "ETA {{.eta}}.{{with index . \"workaround\"}} Try {{.}}.{{end}}"}
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	title, body, err := tm.Render(map[string]string{"journeys": "Checkout", "eta": "11:00"})
	if err != nil || title != "Checkout down" || body != "ETA 11:00." {
		t.Errorf("render = %q %q %v", title, body, err)
	}
	_, _, err = tm.Render(map[string]string{"journeys": "Checkout"})
	var inv *data.InvalidError
	var mv *data.MissingVariableError
	if !errors.As(err, &inv) || inv.Field != "eta" || !errors.As(err, &mv) || mv.Variable != "eta" {
		t.Errorf("missing eta: %v", err)
	}
	bad := tm
	bad.Body = "{{.nope}}"
	if err := bad.Validate(); !errors.As(err, &inv) || inv.Field != "body" {
		t.Errorf("unknown variable: %v", err)
	}
	bad.Body = "{{.eta"
	if err := bad.Validate(); !errors.As(err, &inv) {
		t.Errorf("broken template: %v", err)
	}
}

func FuzzParseMessageTemplateFile(f *testing.F) {
	f.Add([]byte("name: x\nstatus: investigating\n---\nhello {{.journeys}}"))
	f.Add([]byte("---\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		tm, err := data.ParseMessageTemplateFile("fuzz", src)
		if err == nil {
			if _, _, err := tm.Render(map[string]string{}); err != nil {
				var inv *data.InvalidError
				if !errors.As(err, &inv) {
					t.Errorf("render error is not invalid input: %v", err)
				}
			}
		}
	})
}
