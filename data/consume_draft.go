package data

import (
	"database/sql"
	"errors"
)

// The draft proposer (a consumer of component.status_changed events) works
// inside Consume's transaction with these methods, so that the drafts it
// writes commit together with its cursor.

// IncidentCovers reports whether an open incident declares or links the
// component.
func (t *Tx) IncidentCovers(componentID string) (bool, error) {
	var one int
	err := t.tx.QueryRowContext(t.ctx, `SELECT 1 FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id
		WHERE ic.component_id = ? AND i.kind = 'incident' AND i.status IN ('investigating', 'identified', 'monitoring') LIMIT 1`, componentID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ProposedDraft returns the pending draft that detection proposed for a
// journey, if there is one.
func (t *Tx) ProposedDraft(journeyID string) (Draft, bool, error) {
	d, err := scanDraft(t.tx.QueryRowContext(t.ctx, "SELECT "+draftColumns+` FROM incident_drafts
		WHERE proposed_by != '' AND journey_id = ? AND incident_id IS NULL AND published_at IS NULL AND discarded_at IS NULL
		ORDER BY created_at DESC LIMIT 1`, journeyID))
	if errors.Is(err, sql.ErrNoRows) {
		return Draft{}, false, nil
	}
	if err != nil {
		return Draft{}, false, err
	}
	return d, true, nil
}

// CreateDraft is Store.CreateDraft inside the consumer's transaction.
func (t *Tx) CreateDraft(in DraftInput) (Draft, error) {
	if err := in.Validate(); err != nil {
		return Draft{}, err
	}
	if err := t.s.checkDraftTx(t.ctx, t.tx, &in); err != nil {
		return Draft{}, err
	}
	id, err := t.s.insertDraftTx(t.ctx, t.tx, in)
	if err != nil {
		return Draft{}, err
	}
	d, err := readDraftTx(t.ctx, t.tx, id)
	if err != nil {
		return Draft{}, err
	}
	return d, t.s.auditChange(t.ctx, t.tx, AuditChange{Actor: in.Actor, Action: "draft.create", Subject: id, Detail: draftDetail(d) + " proposed by detection",
		After: auditOfDraft(d)})
}

// UpdateDraft is Store.UpdateDraft inside the consumer's transaction.
func (t *Tx) UpdateDraft(id string, in DraftInput) error {
	before, err := readDraftTx(t.ctx, t.tx, id)
	if err != nil {
		return err
	}
	in.Kind, in.IncidentID, in.ProposedBy, in.JourneyID = before.Kind, before.IncidentID, before.ProposedBy, before.JourneyID
	if err := in.Validate(); err != nil {
		return err
	}
	if err := t.s.checkDraftTx(t.ctx, t.tx, &in); err != nil {
		return err
	}
	if err := t.s.updateDraftTx(t.ctx, t.tx, id, in); err != nil {
		return err
	}
	after, err := readDraftTx(t.ctx, t.tx, id)
	if err != nil {
		return err
	}
	return t.s.auditChange(t.ctx, t.tx, AuditChange{Actor: in.Actor, Action: "draft.update", Subject: id, Detail: draftDetail(after),
		Before: auditOfDraft(before), After: auditOfDraft(after)})
}

// PublishDraft is Store.PublishDraft inside the consumer's transaction. It
// returns the incident's id.
func (t *Tx) PublishDraft(id, actor string, body RenderedBody) (string, error) {
	if err := body.validate(); err != nil {
		return "", err
	}
	d, err := readDraftTx(t.ctx, t.tx, id)
	if err != nil {
		return "", err
	}
	incID, _, err := t.s.publishTx(t.ctx, t.tx, d, actor, body)
	return incID, err
}
