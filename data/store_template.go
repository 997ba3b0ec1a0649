package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// templateAudit is a template in the audit log's before and after.
type templateAudit struct {
	Name            string          `json:"name"`
	Kind            Kind            `json:"kind"`
	Status          IncidentStatus  `json:"status"`
	ComponentStatus ComponentStatus `json:"component_status,omitempty"`
	Severity        Severity        `json:"severity,omitempty"`
	Title           string          `json:"title"`
	Body            string          `json:"body"`
}

func auditOfTemplate(t MessageTemplate) templateAudit {
	return templateAudit{Name: t.Name, Kind: t.Kind, Status: t.Status, ComponentStatus: t.ComponentStatus, Severity: t.Severity, Title: t.Title, Body: t.Body}
}

// SaveTemplate creates or replaces a template made in the admin. Returns an
// *InvalidError for a template that does not parse or uses an unknown
// variable.
func (s *Store) SaveTemplate(ctx context.Context, t MessageTemplate, actor string) (MessageTemplate, error) {
	if err := t.Validate(); err != nil {
		return MessageTemplate{}, err
	}
	if err := validateActor(actor); err != nil {
		return MessageTemplate{}, err
	}
	err := s.writeQuiet(ctx, "save template", func(tx *sql.Tx) error {
		before, err := readTemplate(ctx, tx, t.ID)
		existed := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		now := ms(s.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_templates(id, name, kind, status, component_status, severity, title, body,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, status = excluded.status,
			component_status = excluded.component_status, severity = excluded.severity, title = excluded.title, body = excluded.body,
			updated_at = excluded.updated_at`,
			t.ID, t.Name, t.Kind, t.Status, t.ComponentStatus, t.Severity, t.Title, t.Body, actor, now, now); err != nil {
			return err
		}
		a := AuditChange{Actor: actor, Action: "template.create", Subject: t.ID, Detail: t.Name, After: auditOfTemplate(t)}
		if existed {
			a.Action, a.Before = "template.update", auditOfTemplate(before)
		}
		return s.auditChange(ctx, tx, a)
	})
	if err != nil {
		return MessageTemplate{}, err
	}
	return readTemplate(ctx, s.reader, t.ID)
}

// DeleteTemplate removes a template made in the admin. Returns ErrNotFound
// if there is none.
func (s *Store) DeleteTemplate(ctx context.Context, id, actor string) error {
	return s.writeQuiet(ctx, "delete template", func(tx *sql.Tx) error {
		before, err := readTemplate(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM message_templates WHERE id = ?", id); err != nil {
			return err
		}
		return s.auditChange(ctx, tx, AuditChange{Actor: actor, Action: "template.delete", Subject: id, Detail: before.Name, Before: auditOfTemplate(before)})
	})
}

// Templates returns the templates made in the admin, by name.
func (s *Store) Templates(ctx context.Context) ([]MessageTemplate, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+templateColumns+" FROM message_templates ORDER BY name, id")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	var out []MessageTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

const templateColumns = "id, name, kind, status, component_status, severity, title, body, created_by, created_at, updated_at"

func scanTemplate(sc interface{ Scan(...any) error }) (MessageTemplate, error) {
	var t MessageTemplate
	var c, u int64
	err := sc.Scan(&t.ID, &t.Name, &t.Kind, &t.Status, &t.ComponentStatus, &t.Severity, &t.Title, &t.Body, &t.CreatedBy, &c, &u)
	t.CreatedAt, t.UpdatedAt, t.Origin = fromMS(c), fromMS(u), "admin"
	return t, err
}

func readTemplate(ctx context.Context, q querier, id string) (MessageTemplate, error) {
	t, err := scanTemplate(q.QueryRowContext(ctx, "SELECT "+templateColumns+" FROM message_templates WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("template %q: %w", id, ErrNotFound)
	}
	return t, err
}
