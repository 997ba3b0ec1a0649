package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetComponentStatus sets a person's override of one component's status: the
// override wins over every other input until ClearInput removes it. It
// reports whether the component's status changed. Returns ErrNotFound for an
// unknown or archived component and an *InvalidError for a group, whose
// status follows its components.
func (s *Store) SetComponentStatus(ctx context.Context, req SetStatus) (bool, error) {
	changes, err := s.SetInputs(ctx, []Input{{ComponentID: req.ComponentID, Source: SourceOverride, Status: req.Status,
		Actor: req.Actor, Reason: req.Reason}})
	return len(changes) > 0, err
}

// SetInputs writes inputs and resolves the status of each component they
// touch, all in one transaction: the input rows, the effective status where
// it changed, its history row, an audit entry per input change and a
// component.status_changed event per status change. An input equal to the
// stored one (same status and reason) changes nothing and emits nothing; one
// that differs only in its reason updates the reason shown without a history
// row. It returns the status changes made. Returns ErrNotFound for an unknown
// or archived component and an *InvalidError for bad input or a group;
// nothing is stored then.
func (s *Store) SetInputs(ctx context.Context, ins []Input) ([]StatusChange, error) {
	for _, in := range ins {
		if err := in.Validate(); err != nil {
			return nil, err
		}
	}
	var out []StatusChange
	err := s.write(ctx, "set status inputs", func(tx *sql.Tx) error {
		out = out[:0]
		for _, in := range ins {
			ch, err := s.putInputTx(ctx, tx, in)
			if err != nil {
				return err
			}
			if ch != nil {
				out = append(out, *ch)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClearInput removes one input and resolves the component's status from what
// remains. It reports whether the status changed. Clearing an input that is
// not there changes nothing. Returns ErrNotFound for an unknown component.
func (s *Store) ClearInput(ctx context.Context, componentID string, src InputSource, key, actor, reason string) (bool, error) {
	if err := ValidateID("component", componentID); err != nil {
		return false, err
	}
	if !src.Valid() {
		return false, Invalid("source", "%q is not one of override, incident, maintenance, automatic", src)
	}
	if err := ValidateText("actor", actor, 200, true, false); err != nil {
		return false, err
	}
	if err := ValidateText("reason", reason, 2000, false, false); err != nil {
		return false, err
	}
	var changed bool
	err := s.write(ctx, "clear status input", func(tx *sql.Tx) error {
		ch, err := s.clearInputTx(ctx, tx, componentID, src, key, actor, reason)
		changed = ch != nil
		return err
	})
	return changed, err
}

// Inputs returns a component's inputs, the deciding one first.
func (s *Store) Inputs(ctx context.Context, componentID string) ([]Input, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ins, err := loadInputs(ctx, s.reader, "component_id = ?", componentID)
	if err != nil {
		return nil, fmt.Errorf("list inputs of %s: %w", componentID, err)
	}
	sortInputs(ins)
	return ins, nil
}

// AllInputs returns every component's inputs by component id, each list with
// the deciding input first.
func (s *Store) AllInputs(ctx context.Context) (map[string][]Input, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ins, err := loadInputs(ctx, s.reader, "1")
	if err != nil {
		return nil, fmt.Errorf("list inputs: %w", err)
	}
	out := map[string][]Input{}
	for _, in := range ins {
		out[in.ComponentID] = append(out[in.ComponentID], in)
	}
	for _, l := range out {
		sortInputs(l)
	}
	return out, nil
}

func loadInputs(ctx context.Context, q querier, where string, args ...any) ([]Input, error) {
	rows, err := q.QueryContext(ctx, `SELECT component_id, source, key, status, reason, actor, updated_at
		FROM component_inputs WHERE `+where+` ORDER BY component_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Input
	for rows.Next() {
		var in Input
		var at int64
		if err := rows.Scan(&in.ComponentID, &in.Source, &in.Key, &in.Status, &in.Reason, &in.Actor, &at); err != nil {
			return nil, err
		}
		in.At = fromMS(at)
		out = append(out, in)
	}
	return out, rows.Err()
}

// componentRow is what resolving a component's status reads about it.
type componentRow struct {
	id, name, groupID, journeyID, journeyName string
	status                                    ComponentStatus
	source                                    InputSource
	reason                                    string
}

func (s *Store) lockComponent(ctx context.Context, tx *sql.Tx, id string) (componentRow, error) {
	var c componentRow
	var isGroup bool
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.name, COALESCE(c.group_id, ''), c.journey_id, j.name, c.status, c.status_source,
		c.status_reason, c.is_group FROM components c JOIN journeys j ON j.id = c.journey_id
		WHERE c.id = ? AND c.archived_at IS NULL`, id).
		Scan(&c.id, &c.name, &c.groupID, &c.journeyID, &c.journeyName, &c.status, &c.source, &c.reason, &isGroup)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("component %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	if isGroup {
		return c, Invalid("component", "%q is a group; its status follows its components", id)
	}
	return c, nil
}

// putInputTx stores one input and resolves its component. It returns the
// status change, or nil if the status stayed.
func (s *Store) putInputTx(ctx context.Context, tx *sql.Tx, in Input) (*StatusChange, error) {
	c, err := s.lockComponent(ctx, tx, in.ComponentID)
	if err != nil {
		return nil, err
	}
	var oldStatus ComponentStatus
	var oldReason string
	err = tx.QueryRowContext(ctx, "SELECT status, reason FROM component_inputs WHERE component_id = ? AND source = ? AND key = ?",
		in.ComponentID, in.Source, in.Key).Scan(&oldStatus, &oldReason)
	existed := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if existed && oldStatus == in.Status && oldReason == in.Reason {
		return nil, nil // re-asserted: nothing changes, nothing is announced
	}
	now := s.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO component_inputs(component_id, source, key, status, reason, actor, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (component_id, source, key) DO UPDATE SET
		status = excluded.status, reason = excluded.reason, actor = excluded.actor, updated_at = excluded.updated_at`,
		in.ComponentID, in.Source, in.Key, in.Status, in.Reason, in.Actor, ms(now)); err != nil {
		return nil, err
	}
	if existed && oldStatus == in.Status {
		// Only the words changed: keep the page's reason current, quietly.
		return nil, s.refreshReasonTx(ctx, tx, c)
	}
	detail := fmt.Sprintf("%s %s input: %s", in.Source, in.Key, in.Status)
	if existed {
		detail = fmt.Sprintf("%s %s input: %s → %s", in.Source, in.Key, oldStatus, in.Status)
	}
	if in.Reason != "" {
		detail += " (" + in.Reason + ")"
	}
	var before any
	if existed {
		before = inputAudit{Source: in.Source, Key: in.Key, Status: oldStatus, Reason: oldReason}
	}
	if err := s.auditChange(ctx, tx, AuditChange{Actor: in.Actor, Action: "component.input", Subject: in.ComponentID, Detail: detail,
		Before: before, After: inputAudit{Source: in.Source, Key: in.Key, Status: in.Status, Reason: in.Reason}}); err != nil {
		return nil, err
	}
	return s.resolveTx(ctx, tx, c, in.Actor)
}

func (s *Store) clearInputTx(ctx context.Context, tx *sql.Tx, componentID string, src InputSource, key, actor, reason string) (*StatusChange, error) {
	c, err := s.lockComponent(ctx, tx, componentID)
	if err != nil {
		return nil, err
	}
	var was inputAudit
	err = tx.QueryRowContext(ctx, "SELECT source, key, status, reason FROM component_inputs WHERE component_id = ? AND source = ? AND key = ?",
		componentID, src, key).Scan(&was.Source, &was.Key, &was.Status, &was.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // nothing to clear
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM component_inputs WHERE component_id = ? AND source = ? AND key = ?", componentID, src, key); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("cleared %s %s input", src, key)
	if reason != "" {
		detail += " (" + reason + ")"
	}
	if err := s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "component.input", Subject: componentID, Detail: detail, Before: was}); err != nil {
		return nil, err
	}
	return s.resolveTx(ctx, tx, c, actor)
}

// resolveTx recomputes c's status from its stored inputs and, if it changed,
// records the change with its history row and event.
func (s *Store) resolveTx(ctx context.Context, tx *sql.Tx, c componentRow, actor string) (*StatusChange, error) {
	ins, err := loadInputs(ctx, tx, "component_id = ?", c.id)
	if err != nil {
		return nil, err
	}
	status, by := Resolve(ins)
	reason := by.Reason
	if by.Source == "" {
		reason = "no reported problem"
	}
	now := s.Now()
	if status == c.status {
		if by.Source != c.source || reason != c.reason {
			_, err := tx.ExecContext(ctx, "UPDATE components SET status_source = ?, status_reason = ? WHERE id = ?", by.Source, reason, c.id)
			return nil, err
		}
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE components SET status = ?, status_source = ?, status_reason = ?, status_changed_at = ?,
		updated_at = ? WHERE id = ?`, status, by.Source, reason, ms(now), ms(now), c.id); err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO component_status_history(component_id, old_status, new_status, source, actor, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.id, c.status, status, string(by.Source), actor, reason, ms(now))
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	ev := &ComponentStatusChanged{ComponentID: c.id, ComponentName: c.name, GroupID: c.groupID, JourneyID: c.journeyID,
		JourneyName: c.journeyName, Old: c.status, New: status, Source: by.Source, Key: by.Key, Reason: reason, Actor: actor, At: now.UTC()}
	if err := s.event(ctx, tx, EventComponentStatusChanged, c.id, ev); err != nil {
		return nil, err
	}
	return &StatusChange{ID: id, ComponentID: c.id, OldStatus: c.status, NewStatus: status, Source: string(by.Source),
		Actor: actor, Reason: reason, At: now.UTC()}, nil
}

// refreshReasonTx updates the shown reason when the deciding input's words
// changed but no status did.
func (s *Store) refreshReasonTx(ctx context.Context, tx *sql.Tx, c componentRow) error {
	_, err := s.resolveTx(ctx, tx, c, "")
	return err
}

// History returns a component's status changes, newest first, at most limit.
func (s *Store) History(ctx context.Context, componentID string, limit int) ([]StatusChange, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT id, component_id, old_status, new_status, source, actor, reason, created_at
		FROM component_status_history WHERE component_id = ? ORDER BY id DESC LIMIT ?`, componentID, limit)
	if err != nil {
		return nil, fmt.Errorf("list history of %s: %w", componentID, err)
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var at int64
		if err := rows.Scan(&c.ID, &c.ComponentID, &c.OldStatus, &c.NewStatus, &c.Source, &c.Actor, &c.Reason, &at); err != nil {
			return nil, fmt.Errorf("list history of %s: %w", componentID, err)
		}
		c.At = fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
