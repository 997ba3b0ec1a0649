package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetComponentStatus changes one component's status and records the change in
// its history, the audit log and the outbox, in one transaction. It reports
// whether anything changed: setting the status a component already has is a
// no-op. Returns ErrNotFound for an unknown or archived component and an
// *InvalidError for a group, whose status is derived from its children.
func (s *Store) SetComponentStatus(ctx context.Context, req SetStatus) (bool, error) {
	if err := req.Validate(); err != nil {
		return false, err
	}
	var changed bool
	err := s.write(ctx, "set component status", func(tx *sql.Tx) error {
		var err error
		_, changed, err = s.setStatusTx(ctx, tx, req)
		return err
	})
	return changed, err
}

func (s *Store) setStatusTx(ctx context.Context, tx *sql.Tx, req SetStatus) (old ComponentStatus, changed bool, err error) {
	var isGroup bool
	var name string
	err = tx.QueryRowContext(ctx, "SELECT status, is_group, name FROM components WHERE id = ? AND archived_at IS NULL", req.ComponentID).
		Scan(&old, &isGroup, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, fmt.Errorf("component %q: %w", req.ComponentID, ErrNotFound)
	}
	if err != nil {
		return "", false, err
	}
	if isGroup {
		return old, false, Invalid("component", "%q is a group; its status follows its components", req.ComponentID)
	}
	if old == req.Status {
		return old, false, nil
	}
	now := ms(s.Now())
	if _, err := tx.ExecContext(ctx, "UPDATE components SET status = ?, updated_at = ? WHERE id = ?", req.Status, now, req.ComponentID); err != nil {
		return old, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO component_status_history(component_id, old_status, new_status, source, actor, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, req.ComponentID, old, req.Status, req.Source, req.Actor, req.Reason, now); err != nil {
		return old, false, err
	}
	if err := s.audit(ctx, tx, req.Actor, "component.status", req.ComponentID,
		fmt.Sprintf("%s → %s (%s) %s", old, req.Status, req.Source, req.Reason)); err != nil {
		return old, false, err
	}
	payload := map[string]any{"component_id": req.ComponentID, "name": name, "old_status": old, "new_status": req.Status,
		"source": req.Source, "reason": req.Reason}
	if err := s.event(ctx, tx, EventComponentStatus, req.ComponentID, payload); err != nil {
		return old, false, err
	}
	return old, true, nil
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
