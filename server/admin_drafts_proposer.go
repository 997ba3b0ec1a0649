package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/statusd/statusd/data"
)

// Drafts proposed by detection: when the probe engine (or an SLO burn rate)
// turns a component partial or major outage and no open incident covers
// it, a draft is prepared from the matching template, with the journey's
// components and the times filled in, and waits for a comms lead. One
// draft per journey: a second component failing joins the pending draft.
// A journey configured auto_publish publishes it at once.
//
// The proposer is a consumer of component.status_changed events named
// "drafts": it reads after its cursor and writes its drafts in the same
// transaction that moves the cursor, so each event is handled exactly
// once, across restarts.

// DraftsConsumer is the consumer name of the draft proposer.
const DraftsConsumer = "drafts"

// ProposalStore is what the proposer needs. *data.Store satisfies it.
type ProposalStore interface {
	Register(ctx context.Context, consumer string) (int64, error)
	Consume(ctx context.Context, consumer string, limit int, fn func(tx *data.Tx, evs []data.Event) error) (int, error)
	Cursor(ctx context.Context, consumer string) (pos, pending int64, err error)
	Subscribe() (<-chan struct{}, func())
}

var _ ProposalStore = (*data.Store)(nil)

// ProposeDrafts handles the events waiting for the proposer and returns how
// many it consumed. Without an admin (no incident workflow) it does nothing.
func (s *Server) ProposeDrafts(ctx context.Context, st ProposalStore) (int, error) {
	a := s.admin
	if a == nil || a.incidents == nil {
		return 0, nil
	}
	// Most wake-ups (a probe result, a page rebuild) bring no event: a
	// look at the cursor costs one query, the catalog a snapshot.
	_, pending, err := st.Cursor(ctx, DraftsConsumer)
	switch {
	case errors.Is(err, data.ErrNotFound): // not registered yet: Consume registers it
	case err != nil:
		return 0, err
	case pending == 0:
		return 0, nil
	}
	// The catalog is read once per call, and only for an event that may
	// become a draft.
	var ci *catalogInfo
	catalog := func() (*catalogInfo, error) {
		if ci != nil {
			return ci, nil
		}
		var err error
		ci, err = a.catalog(ctx)
		return ci, err
	}
	total := 0
	for {
		n, err := st.Consume(ctx, DraftsConsumer, 100, func(tx *data.Tx, evs []data.Event) error {
			for _, ev := range evs {
				if err := a.propose(ctx, tx, catalog, ev); err != nil {
					return fmt.Errorf("event %d: %w", ev.ID, err)
				}
			}
			return nil
		})
		total += n
		if err != nil || n < 100 {
			return total, err
		}
	}
}

func (a *admin) propose(ctx context.Context, tx *data.Tx, catalog func() (*catalogInfo, error), ev data.Event) error {
	p, ok := ev.Payload.(*data.ComponentStatusChanged)
	if !ok || p.Source != data.SourceAutomatic || (p.New != data.PartialOutage && p.New != data.MajorOutage) {
		return nil
	}
	covered, err := tx.IncidentCovers(p.ComponentID)
	if err != nil || covered {
		return err
	}
	d, exists, err := tx.ProposedDraft(p.JourneyID)
	if err != nil {
		return err
	}
	comps := map[string]data.ComponentStatus{}
	if exists {
		for id, st := range d.Components {
			comps[id] = st
		}
		if comps[p.ComponentID].Severity() >= p.New.Severity() {
			return nil // already in the draft, as bad or worse: seen before
		}
	}
	comps[p.ComponentID] = comps[p.ComponentID].Worse(p.New)
	worst := data.Operational
	ids := make([]string, 0, len(comps))
	for id, st := range comps {
		worst = worst.Worse(st)
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tmplID := "partial-outage"
	if worst == data.MajorOutage {
		tmplID = "full-outage"
	}
	tmpl, err := a.messageTemplate(ctx, tmplID)
	if err != nil {
		return err
	}
	ci, err := catalog()
	if err != nil {
		return err
	}
	start := p.At
	if exists {
		start = d.CreatedAt
	}
	next := a.now().Add(30 * time.Minute).Truncate(time.Minute)
	in := messageInput{NextUpdateBy: next, ScheduledFor: time.Time{}}
	vars := a.templateVars(ci, in, tmpl.Status, "", ids, nil)
	vars["start"] = a.srv.timeView(start).Text
	if p.Reason != "" {
		vars["details"] = "Detected automatically: " + p.Reason + "."
	}
	title, body, err := tmpl.Render(vars)
	if err != nil {
		return err
	}
	di := data.DraftInput{Kind: data.KindIncident, Name: title, Status: tmpl.Status, Severity: tmpl.Severity, Body: body, Components: comps,
		NextUpdateBy: next, Notify: true, TemplateID: tmpl.ID, ProposedBy: "statusd", JourneyID: p.JourneyID, Actor: "statusd"}
	id := d.ID
	if exists {
		err = tx.UpdateDraft(d.ID, di)
	} else {
		var nd data.Draft
		nd, err = tx.CreateDraft(di)
		id = nd.ID
	}
	var inv *data.InvalidError
	if errors.As(err, &inv) {
		// A component archived since, say: nothing to propose, and not a
		// reason to stop the proposer.
		a.log.Warn("draft proposal skipped", "component_id", p.ComponentID, "reason", inv.Error())
		return nil
	}
	if err != nil || !a.opts.AutoPublish[p.JourneyID] {
		return err
	}
	rendered, err := renderMarkdown(body)
	if err != nil {
		return err
	}
	_, err = tx.PublishDraft(id, "statusd", rendered)
	return err
}

// RunDraftProposals proposes drafts until ctx ends: at start, after every
// change the store announces, and at least every poll. It registers the
// consumer first, so that it hears every event from its first start on.
// Errors go to onErr and are retried at the next round.
func (s *Server) RunDraftProposals(ctx context.Context, st ProposalStore, poll time.Duration, onErr func(error)) {
	if poll <= 0 {
		poll = 30 * time.Second
	}
	if _, err := st.Register(ctx, DraftsConsumer); err != nil && onErr != nil {
		onErr(err)
	}
	changed, stop := st.Subscribe()
	defer stop()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.ProposeDrafts(ctx, st); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		case <-t.C:
		}
	}
}
