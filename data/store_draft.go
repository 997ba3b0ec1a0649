package data

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

const draftColumns = `id, kind, COALESCE(incident_id, ''), name, status, severity, impact, body, components, next_update_by, notify,
	template_id, variables, scheduled_for, scheduled_until, auto_transition, note, proposed_by, journey_id, created_by,
	created_at, updated_at, published_at, published_by, published_incident, published_update, discarded_at`

func scanDraft(sc interface{ Scan(...any) error }) (Draft, error) {
	var d Draft
	var comps, vars string
	var next, sf, su, pub, disc sql.NullInt64
	var created, updated int64
	err := sc.Scan(&d.ID, &d.Kind, &d.IncidentID, &d.Name, &d.Status, &d.Severity, &d.Impact, &d.Body, &comps, &next, &d.Notify,
		&d.TemplateID, &vars, &sf, &su, &d.AutoTransition, &d.Note, &d.ProposedBy, &d.JourneyID, &d.CreatedBy,
		&created, &updated, &pub, &d.PublishedBy, &d.PublishedIncidentID, &d.PublishedUpdateID, &disc)
	if err != nil {
		return d, err
	}
	d.Components, d.Variables = map[string]ComponentStatus{}, map[string]string{}
	if err := json.Unmarshal([]byte(comps), &d.Components); err != nil {
		return d, fmt.Errorf("draft %s components: %w", d.ID, err)
	}
	if err := json.Unmarshal([]byte(vars), &d.Variables); err != nil {
		return d, fmt.Errorf("draft %s variables: %w", d.ID, err)
	}
	d.NextUpdateBy, d.ScheduledFor, d.ScheduledUntil = fromNullMS(next), fromNullMS(sf), fromNullMS(su)
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	d.PublishedAt, d.DiscardedAt = fromNullMS(pub), fromNullMS(disc)
	return d, nil
}

func readDraftTx(ctx context.Context, q querier, id string) (Draft, error) {
	d, err := scanDraft(q.QueryRowContext(ctx, "SELECT "+draftColumns+" FROM incident_drafts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("draft %q: %w", id, ErrNotFound)
	}
	return d, err
}

// draftAudit is how a draft appears in the audit log's before and after.
type draftAudit struct {
	Kind         Kind                       `json:"kind"`
	IncidentID   string                     `json:"incident_id,omitempty"`
	Name         string                     `json:"name,omitempty"`
	Status       IncidentStatus             `json:"status"`
	Severity     Severity                   `json:"severity,omitempty"`
	Impact       Impact                     `json:"impact,omitempty"`
	Body         string                     `json:"body"`
	Components   map[string]ComponentStatus `json:"components,omitempty"`
	NextUpdateBy *time.Time                 `json:"next_update_by,omitempty"`
	Notify       bool                       `json:"notify"`
	TemplateID   string                     `json:"template,omitempty"`
	HasNote      bool                       `json:"has_note,omitempty"` // the note itself stays out of the log's JSON
}

func auditOfDraft(d Draft) draftAudit {
	a := draftAudit{Kind: d.Kind, IncidentID: d.IncidentID, Name: d.Name, Status: d.Status, Severity: d.Severity, Impact: d.Impact,
		Body: d.Body, Components: d.Components, Notify: d.Notify, TemplateID: d.TemplateID, HasNote: d.Note != ""}
	if !d.NextUpdateBy.IsZero() {
		t := d.NextUpdateBy.UTC()
		a.NextUpdateBy = &t
	}
	return a
}

// checkDraftTx checks what a draft names against the store: the incident it
// updates exists, is of its kind and may move to its status, and every
// component exists and is not a group.
func (s *Store) checkDraftTx(ctx context.Context, q querier, in *DraftInput) error {
	if in.IncidentID != "" {
		var kind Kind
		var status IncidentStatus
		err := q.QueryRowContext(ctx, "SELECT kind, status FROM incidents WHERE id = ?", in.IncidentID).Scan(&kind, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("incident %q: %w", in.IncidentID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if kind != in.Kind {
			return Invalid("kind", "%s is a %s, not a %s", in.IncidentID, kind, in.Kind)
		}
		if !CanMove(kind, status, in.Status) {
			return fmt.Errorf("%s cannot go from %s to %s: %w", kind, status.Label(), in.Status.Label(), ErrConflict)
		}
	}
	ids := make([]string, 0, len(in.Components))
	for id := range in.Components {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var isGroup bool
		err := q.QueryRowContext(ctx, "SELECT is_group FROM components WHERE id = ? AND archived_at IS NULL", id).Scan(&isGroup)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("components", "there is no component %q", id)
		}
		if err != nil {
			return err
		}
		if isGroup {
			return Invalid("components", "%q is a group; name its components instead", id)
		}
	}
	return nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}" // maps of strings always encode
	}
	return string(b)
}

func (s *Store) insertDraftTx(ctx context.Context, tx *sql.Tx, in DraftInput) (string, error) {
	id := "d" + s.NewID()
	now := ms(s.Now())
	comps := in.Components
	if comps == nil {
		comps = map[string]ComponentStatus{}
	}
	vars := in.Variables
	if vars == nil {
		vars = map[string]string{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO incident_drafts(id, kind, incident_id, name, status, severity, impact, body, components,
		next_update_by, notify, template_id, variables, scheduled_for, scheduled_until, auto_transition, note, proposed_by, journey_id,
		created_by, created_at, updated_at) VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, in.Kind, in.IncidentID, in.Name, in.Status, in.Severity, in.Impact, in.Body, jsonText(comps), nullMS(in.NextUpdateBy), in.Notify,
		in.TemplateID, jsonText(vars), nullMS(in.ScheduledFor), nullMS(in.ScheduledUntil), in.AutoTransition, in.Note, in.ProposedBy,
		in.JourneyID, in.Actor, now, now)
	return id, err
}

func (s *Store) updateDraftTx(ctx context.Context, tx *sql.Tx, id string, in DraftInput) error {
	comps := in.Components
	if comps == nil {
		comps = map[string]ComponentStatus{}
	}
	vars := in.Variables
	if vars == nil {
		vars = map[string]string{}
	}
	_, err := tx.ExecContext(ctx, `UPDATE incident_drafts SET name = ?, status = ?, severity = ?, impact = ?, body = ?, components = ?,
		next_update_by = ?, notify = ?, template_id = ?, variables = ?, scheduled_for = ?, scheduled_until = ?, auto_transition = ?,
		note = ?, updated_at = ? WHERE id = ?`,
		in.Name, in.Status, in.Severity, in.Impact, in.Body, jsonText(comps), nullMS(in.NextUpdateBy), in.Notify, in.TemplateID,
		jsonText(vars), nullMS(in.ScheduledFor), nullMS(in.ScheduledUntil), in.AutoTransition, in.Note, ms(s.Now()), id)
	return err
}

// CreateDraft saves a draft: nothing public changes, no status input is
// declared and no event is written. Returns an *InvalidError for bad input
// (an unknown component, an empty title, a body over the limit),
// ErrNotFound for an unknown incident and ErrConflict for an update its
// incident's state machine does not allow.
func (s *Store) CreateDraft(ctx context.Context, in DraftInput) (Draft, error) {
	if err := in.Validate(); err != nil {
		return Draft{}, err
	}
	var id string
	err := s.writeQuiet(ctx, "create draft", func(tx *sql.Tx) error {
		if err := s.checkDraftTx(ctx, tx, &in); err != nil {
			return err
		}
		var err error
		if id, err = s.insertDraftTx(ctx, tx, in); err != nil {
			return err
		}
		d, err := readDraftTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.saveIdempotent(ctx, tx, in.Idempotency, d); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: in.Actor, Action: "draft.create", Subject: id, Detail: draftDetail(d), After: auditOfDraft(d)})
	})
	if err != nil {
		return Draft{}, err
	}
	return s.Draft(ctx, id)
}

func draftDetail(d Draft) string {
	what := d.Name
	if d.IncidentID != "" {
		what = "update on " + d.IncidentID
	}
	return fmt.Sprintf("%s %s (%s)", d.Kind, what, d.Status)
}

// UpdateDraft replaces what a pending draft says. Returns ErrNotFound for an
// unknown draft and ErrConflict for one already published or discarded.
func (s *Store) UpdateDraft(ctx context.Context, id string, in DraftInput) (Draft, error) {
	err := s.writeQuiet(ctx, "update draft", func(tx *sql.Tx) error {
		before, err := readDraftTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if !before.Pending() {
			return fmt.Errorf("draft %s is no longer a draft: %w", id, ErrConflict)
		}
		in.Kind, in.IncidentID, in.ProposedBy, in.JourneyID = before.Kind, before.IncidentID, before.ProposedBy, before.JourneyID
		if err := in.Validate(); err != nil {
			return err
		}
		if err := s.checkDraftTx(ctx, tx, &in); err != nil {
			return err
		}
		if err := s.updateDraftTx(ctx, tx, id, in); err != nil {
			return err
		}
		after, err := readDraftTx(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: in.Actor, Action: "draft.update", Subject: id, Detail: draftDetail(after),
			Before: auditOfDraft(before), After: auditOfDraft(after)})
	})
	if err != nil {
		return Draft{}, err
	}
	return s.Draft(ctx, id)
}

// DiscardDraft throws a pending draft away. Returns ErrNotFound for an
// unknown draft and ErrConflict for one already published or discarded.
func (s *Store) DiscardDraft(ctx context.Context, id, actor string) error {
	return s.writeQuiet(ctx, "discard draft", func(tx *sql.Tx) error {
		d, err := readDraftTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if !d.Pending() {
			return fmt.Errorf("draft %s is no longer a draft: %w", id, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE incident_drafts SET discarded_at = ?, updated_at = ? WHERE id = ?", ms(s.Now()), ms(s.Now()), id); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "draft.discard", Subject: id, Detail: draftDetail(d), Before: auditOfDraft(d)})
	})
}

// Draft returns one draft. Returns ErrNotFound if there is none.
func (s *Store) Draft(ctx context.Context, id string) (Draft, error) {
	if s.closed.Load() {
		return Draft{}, ErrClosed
	}
	return readDraftTx(ctx, s.reader, id)
}

// DraftFilter selects drafts. Pending keeps those not yet published or
// discarded; IncidentID those updating one incident ("" any).
type DraftFilter struct {
	Pending    bool
	IncidentID string
	Limit      int // 200 when zero
}

// Drafts returns drafts, newest first.
func (s *Store) Drafts(ctx context.Context, f DraftFilter) ([]Draft, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var where []string
	var args []any
	if f.Pending {
		where = append(where, "published_at IS NULL AND discarded_at IS NULL")
	}
	if f.IncidentID != "" {
		where = append(where, "incident_id = ?")
		args = append(args, f.IncidentID)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	q := "SELECT " + draftColumns + " FROM incident_drafts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	rows, err := s.reader.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	defer rows.Close()
	out := []Draft{}
	for rows.Next() {
		d, err := scanDraft(rows)
		if err != nil {
			return nil, fmt.Errorf("list drafts: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PublishDraft makes a draft public, in one transaction: the incident (or
// maintenance) and its update with body as rendered, the component inputs it
// declares, the workflow details (severity, next update, postmortem), its
// internal note, the audit entries and the events. A failure anywhere
// leaves no trace. Returns ErrNotFound for an unknown draft, ErrConflict
// for a draft already published or discarded (a second publish) or a status
// change the state machine does not allow, and an *InvalidError for what
// the store refuses (such as a component removed since).
func (s *Store) PublishDraft(ctx context.Context, id, actor string, body RenderedBody) (Published, error) {
	if err := body.validate(); err != nil {
		return Published{}, err
	}
	if err := validateActor(actor); err != nil {
		return Published{}, err
	}
	var p Published
	err := s.write(ctx, "publish draft", func(tx *sql.Tx) error {
		d, err := readDraftTx(ctx, tx, id)
		if err != nil {
			return err
		}
		p.Draft = d
		p.Incident.ID, p.UpdateID, err = s.publishTx(ctx, tx, d, actor, body)
		return err
	})
	if err != nil {
		return Published{}, err
	}
	if p.Draft, err = s.Draft(ctx, id); err != nil {
		return Published{}, err
	}
	if p.Incident, err = s.Incident(ctx, p.Incident.ID); err != nil {
		return Published{}, err
	}
	return p, nil
}

// publishTx publishes d inside tx and returns the incident's and the
// update's ids.
func (s *Store) publishTx(ctx context.Context, tx *sql.Tx, d Draft, actor string, body RenderedBody) (string, string, error) {
	if !d.Pending() {
		return "", "", fmt.Errorf("draft %s was already published or discarded: %w", d.ID, ErrConflict)
	}
	in := DraftInput{Kind: d.Kind, IncidentID: d.IncidentID, Name: d.Name, Status: d.Status, Severity: d.Severity, Impact: d.Impact,
		Body: d.Body, Components: d.Components, ScheduledFor: d.ScheduledFor, ScheduledUntil: d.ScheduledUntil, Actor: actor}
	if err := in.Validate(); err != nil {
		return "", "", err
	}
	if err := s.checkDraftTx(ctx, tx, &in); err != nil {
		return "", "", err
	}
	var incID, updID string
	var err error
	switch {
	case d.IncidentID == "" && d.Kind == KindIncident:
		incID = s.NewID()
		n := NewIncident{Name: d.Name, Status: d.Status, Impact: in.Impact, Body: body.Text, BodyHTML: body.HTML,
			Components: d.Components, Actor: actor, Silent: !d.Notify}
		if err := n.Validate(); err != nil {
			return "", "", err
		}
		updID, err = s.createIncidentTx(ctx, tx, incID, n)
	case d.IncidentID == "":
		incID = s.NewID()
		n := NewMaintenance{Name: d.Name, Body: body.Text, BodyHTML: body.HTML, ScheduledFor: d.ScheduledFor, ScheduledUntil: d.ScheduledUntil,
			Actor: actor, AutoTransition: d.AutoTransition, Silent: !d.Notify}
		for id := range d.Components {
			n.ComponentIDs = append(n.ComponentIDs, id)
		}
		sort.Strings(n.ComponentIDs)
		if err := n.Validate(); err != nil {
			return "", "", err
		}
		updID, err = s.createMaintenanceTx(ctx, tx, incID, n)
	default:
		incID = d.IncidentID
		if d.Kind == KindIncident && d.Impact != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE incidents SET impact = ? WHERE id = ? AND kind = 'incident'", d.Impact, incID); err != nil {
				return "", "", err
			}
		}
		comps := map[string]ComponentStatus{}
		for id, st := range d.Components {
			if st != "" {
				comps[id] = st
			}
		}
		n := NewUpdate{Status: d.Status, Body: body.Text, BodyHTML: body.HTML, Components: comps, Actor: actor, Silent: !d.Notify}
		if err := n.Validate(); err != nil {
			return "", "", err
		}
		updID, err = s.addUpdateTx(ctx, tx, incID, n)
	}
	if err != nil {
		return "", "", err
	}
	if err := s.saveDetailsTx(ctx, tx, incID, d); err != nil {
		return "", "", err
	}
	if strings.TrimSpace(d.Note) != "" {
		if _, err := s.addNoteTx(ctx, tx, incID, d.Note, actor); err != nil {
			return "", "", err
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE incident_drafts SET published_at = ?, published_by = ?, published_incident = ?, published_update = ?,
		updated_at = ? WHERE id = ? AND published_at IS NULL AND discarded_at IS NULL`, ms(s.Now()), actor, incID, updID, ms(s.Now()), d.ID)
	if err != nil {
		return "", "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", "", fmt.Errorf("draft %s was already published: %w", d.ID, ErrConflict)
	}
	after := auditOfDraft(d)
	return incID, updID, s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: string(d.Kind) + ".publish", Subject: incID,
		Detail: fmt.Sprintf("published draft %s: %s (%s)", d.ID, strings.TrimSpace(d.Name+" "+d.Status.Label()), notifyWord(d.Notify)), After: after})
}

func notifyWord(n bool) string {
	if n {
		return "subscribers notified"
	}
	return "subscribers not notified"
}

// saveDetailsTx records what the workflow keeps beside the public record:
// the severity, the next update promised (none once closed), the template,
// and the postmortem when the update is one.
func (s *Store) saveDetailsTx(ctx context.Context, tx *sql.Tx, incidentID string, d Draft) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO incident_details(incident_id) VALUES (?)", incidentID); err != nil {
		return err
	}
	next := nullMS(d.NextUpdateBy)
	if !(Incident{Kind: d.Kind, Status: d.Status}).Open() {
		next = sql.NullInt64{}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE incident_details SET next_update_by = ? WHERE incident_id = ?", next, incidentID); err != nil {
		return err
	}
	if d.Severity != "" {
		if _, err := tx.ExecContext(ctx, "UPDATE incident_details SET severity = ? WHERE incident_id = ?", d.Severity, incidentID); err != nil {
			return err
		}
	}
	if d.TemplateID != "" {
		if _, err := tx.ExecContext(ctx, "UPDATE incident_details SET template_id = ? WHERE incident_id = ?", d.TemplateID, incidentID); err != nil {
			return err
		}
	}
	if d.Status == Postmortem {
		if _, err := tx.ExecContext(ctx, "UPDATE incident_details SET postmortem_source = ?, postmortem_at = ? WHERE incident_id = ?",
			d.Body, ms(s.Now()), incidentID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) addNoteTx(ctx context.Context, tx *sql.Tx, incidentID, body, actor string) (string, error) {
	id := "n" + s.NewID()
	if _, err := tx.ExecContext(ctx, "INSERT INTO incident_notes(id, incident_id, body, actor, created_at) VALUES (?, ?, ?, ?, ?)",
		id, incidentID, body, actor, ms(s.Now())); err != nil {
		return "", err
	}
	// The note's words stay out of the audit log's detail, which the audit
	// API shows to anyone with audit:read; that it was written is recorded.
	return id, s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "incident.note", Subject: incidentID, Detail: "internal note " + id})
}

// AddNote adds an internal note to an incident or maintenance. Notes never
// reach customers. Returns ErrNotFound for an unknown incident.
func (s *Store) AddNote(ctx context.Context, incidentID, body, actor string) (Note, error) {
	if err := ValidateText("note", body, MaxBodyLength, true, true); err != nil {
		return Note{}, err
	}
	if err := validateActor(actor); err != nil {
		return Note{}, err
	}
	var id string
	err := s.writeQuiet(ctx, "add note", func(tx *sql.Tx) error {
		if _, err := readIncidentRow(ctx, tx, incidentID); err != nil {
			return err
		}
		var err error
		id, err = s.addNoteTx(ctx, tx, incidentID, body, actor)
		return err
	})
	if err != nil {
		return Note{}, err
	}
	return Note{ID: id, IncidentID: incidentID, Body: body, Actor: actor, CreatedAt: s.Now().UTC()}, nil
}

// Details returns the workflow details of incidents by id, with their
// notes; an incident without any has a zero IncidentDetails (with its id).
func (s *Store) Details(ctx context.Context, ids ...string) (map[string]IncidentDetails, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := map[string]IncidentDetails{}
	if len(ids) == 0 {
		return out, nil
	}
	for _, id := range ids {
		out[id] = IncidentDetails{IncidentID: id}
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT incident_id, severity, next_update_by, template_id, postmortem_source, postmortem_at, series_id
		FROM incident_details WHERE incident_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read incident details: %w", err)
	}
	for rows.Next() {
		var d IncidentDetails
		var next, pm sql.NullInt64
		if err := rows.Scan(&d.IncidentID, &d.Severity, &next, &d.TemplateID, &d.Postmortem, &pm, &d.SeriesID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read incident details: %w", err)
		}
		d.NextUpdateBy, d.PostmortemAt = fromNullMS(next), fromNullMS(pm)
		out[d.IncidentID] = d
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("read incident details: %w", err)
	}
	rows, err = s.reader.QueryContext(ctx, `SELECT id, incident_id, body, actor, created_at FROM incident_notes
		WHERE incident_id IN (`+in+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read incident notes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.IncidentID, &n.Body, &n.Actor, &at); err != nil {
			return nil, fmt.Errorf("read incident notes: %w", err)
		}
		n.CreatedAt = fromMS(at)
		d := out[n.IncidentID]
		d.Notes = append(d.Notes, n)
		out[n.IncidentID] = d
	}
	return out, rows.Err()
}

// IncidentFilter selects incidents for the admin.
type IncidentFilter struct {
	Kind  Kind // "" both
	Open  bool // only open ones
	Limit int  // 100 when zero
}

// Incidents lists incidents and maintenance for the admin, newest first.
func (s *Store) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where := "id IN (SELECT id FROM incidents WHERE (? = '' OR kind = ?) AND (? = 0 OR status NOT IN ('resolved', 'postmortem', 'completed')) ORDER BY created_at DESC LIMIT ?)"
	list, err := loadIncidents(ctx, s.reader, where, f.Kind, f.Kind, f.Open, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return list, nil
}
