package data

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditChange is one admin action for the audit log: who did what to which
// subject, and the subject before and after (any JSON-encodable value; nil
// when there was nothing before, or is nothing after).
type AuditChange struct {
	Actor   string
	Action  string // "user.create", "token.revoke", "session.login"…
	Subject string
	Detail  string
	Before  any
	After   any
}

// auditChange appends a to the audit log inside tx.
func (s *Store) auditChange(ctx context.Context, tx *sql.Tx, a AuditChange) error {
	before, err := auditJSON(a.Before)
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.Action, err)
	}
	after, err := auditJSON(a.After)
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.Action, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log(actor, action, subject, detail, before, after, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.Actor, a.Action, a.Subject, a.Detail, before, after, ms(s.Now()))
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.Action, err)
	}
	return nil
}

func auditJSON(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// RecordAudit appends one entry to the audit log on its own, for actions
// that change nothing else in the store (a sign-out, a refused request worth
// keeping).
func (s *Store) RecordAudit(ctx context.Context, a AuditChange) error {
	return s.writeQuiet(ctx, "record audit entry", func(tx *sql.Tx) error {
		return s.auditChange(ctx, tx, a)
	})
}

// AuditFilter selects audit entries. Empty fields match everything. Actor
// matches in any case, and also entries made through the actor's API tokens.
// Action
// matches exactly, or as a prefix when it ends in '*' ("user.*"). Since is
// inclusive, Until exclusive. BeforeID pages backwards: only entries with a
// smaller id are returned.
type AuditFilter struct {
	Actor    string
	Action   string
	Subject  string
	Since    time.Time
	Until    time.Time
	BeforeID int64
	Limit    int // 1–500; 100 when zero
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// MaxAuditPage is the most entries SearchAudit returns at once.
const MaxAuditPage = 500

// SearchAudit returns the audit entries matching f, newest first.
func (s *Store) SearchAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > MaxAuditPage {
		return nil, Invalid("limit", "must be between 1 and %d", MaxAuditPage)
	}
	var where []string
	var args []any
	if f.Actor != "" {
		// "ann@example.com" also finds what ann did through a token,
		// recorded as "ann@example.com (token tok_…)".
		where = append(where, `(actor = ? COLLATE NOCASE OR actor LIKE ? ESCAPE '\')`)
		args = append(args, f.Actor, likeEscaper.Replace(f.Actor)+" (%")
	}
	if f.Action != "" {
		if p, ok := strings.CutSuffix(f.Action, "*"); ok {
			where = append(where, "substr(action, 1, ?) = ?")
			args = append(args, len(p), p)
		} else {
			where = append(where, "action = ?")
			args = append(args, f.Action)
		}
	}
	if f.Subject != "" {
		where = append(where, "subject = ?")
		args = append(args, f.Subject)
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, ms(f.Until))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	q := "SELECT id, actor, action, subject, detail, before, after, created_at FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		var at int64
		if err := rows.Scan(&a.ID, &a.Actor, &a.Action, &a.Subject, &a.Detail, &a.Before, &a.After, &at); err != nil {
			return nil, fmt.Errorf("search audit log: %w", err)
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// writeQuiet is write without telling subscribers: for changes that no
// public document shows (accounts, sessions, tokens, the audit log), so that
// signing in does not rebuild the status page.
func (s *Store) writeQuiet(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	if err := fn(tx); err != nil {
		var inv *InvalidError
		if errors.As(err, &inv) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// inputAudit is how a status input appears in the audit log's before and
// after.
type inputAudit struct {
	Source InputSource     `json:"source"`
	Key    string          `json:"key,omitempty"`
	Status ComponentStatus `json:"status"`
	Reason string          `json:"reason,omitempty"`
}
