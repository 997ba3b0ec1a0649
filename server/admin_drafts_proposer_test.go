package server

import (
	"context"
	"database/sql"
	"testing"

	"github.com/statusd/statusd/data"
)

// TestDraftProposals: an outage injected as automatic input yields exactly
// one draft for its journey, also when its event is seen twice and after a
// restart; a second component of the journey joins that draft; a covered
// component or a non-automatic source proposes nothing; auto_publish
// publishes.
func TestDraftProposals(t *testing.T) {
	ctx := context.Background()
	h := newAdminHarness(t)
	if _, err := h.store.Register(ctx, DraftsConsumer); err != nil {
		t.Fatal(err)
	}
	outage := func(id string, st data.ComponentStatus) {
		t.Helper()
		if _, err := h.store.SetInputs(ctx, []data.Input{{ComponentID: id, Source: data.SourceAutomatic, Key: "probes", Status: st,
			Reason: "probe " + id + " failed from 2 of 3 regions", Actor: "probes"}}); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() []data.Draft {
		t.Helper()
		d, err := h.store.Drafts(ctx, data.DraftFilter{Pending: true})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	propose := func(s *Server) {
		t.Helper()
		if _, err := s.ProposeDrafts(ctx, h.store); err != nil {
			t.Fatal(err)
		}
	}
	outage("payments", data.PartialOutage)
	// An override is not detection: nothing proposed for it.
	if _, err := h.store.SetInputs(ctx, []data.Input{{ComponentID: "search-api", Source: data.SourceOverride, Status: data.MajorOutage,
		Reason: "by hand", Actor: "cara@example.com"}}); err != nil {
		t.Fatal(err)
	}
	propose(h.srv)
	ds := pending()
	if len(ds) != 1 || ds[0].ProposedBy != "statusd" || ds[0].Components["payments"] != data.PartialOutage || ds[0].TemplateID != "partial-outage" {
		t.Fatalf("drafts after one outage = %+v", ds)
	}
	// Seen twice: move the cursor back and consume again.
	db, err := sql.Open("sqlite3", "file:"+h.store.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE event_cursors SET position = 0 WHERE consumer = ?", DraftsConsumer); err != nil {
		t.Fatal(err)
	}
	propose(h.srv)
	// After a restart: a new server on the same store.
	srv2, err := New(h.store, Options{Page: h.srv.opts.Page, Now: h.clock, Admin: AdminOptions{Store: h.store}})
	if err != nil {
		t.Fatal(err)
	}
	propose(srv2)
	if ds = pending(); len(ds) != 1 {
		t.Fatalf("after seeing the event twice and a restart: %d drafts; want 1", len(ds))
	}
	// Nothing public yet.
	list, _ := h.store.Incidents(ctx, data.IncidentFilter{})
	if len(list) != 0 {
		t.Fatalf("a proposal was published without a person: %+v", list)
	}
	// Worse now: the same draft becomes a full outage.
	outage("payments", data.MajorOutage)
	propose(h.srv)
	if ds = pending(); len(ds) != 1 || ds[0].TemplateID != "full-outage" || ds[0].Components["payments"] != data.MajorOutage {
		t.Fatalf("after the outage worsened: %+v", ds)
	}
	// Published by a person: a further event for the covered component
	// proposes nothing.
	if _, err := h.srv.admin.publish(ctx, ds[0].ID, "cara@example.com"); err != nil {
		t.Fatal(err)
	}
	outage("payments", data.PartialOutage)
	propose(h.srv)
	if ds = pending(); len(ds) != 0 {
		t.Fatalf("a covered component got a draft: %+v", ds)
	}

	// auto_publish: the sign-in journey publishes its proposals.
	auto, err := New(h.store, Options{Page: h.srv.opts.Page, Now: h.clock, Admin: AdminOptions{Store: h.store, AutoPublish: map[string]bool{"sign-in": true}}})
	if err != nil {
		t.Fatal(err)
	}
	outage("auth-api", data.MajorOutage)
	propose(auto)
	list, _ = h.store.Incidents(ctx, data.IncidentFilter{Open: true})
	found := false
	for _, in := range list {
		for _, c := range in.ComponentIDs {
			if c == "auth-api" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("auto_publish did not publish the proposal: %+v", list)
	}
}
