package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Bodies of the updates posted when a window moves on its own.
const (
	maintenanceStartedBody   = "The scheduled maintenance has started."
	maintenanceCompletedBody = "The scheduled maintenance has been completed."
)

// AdvanceMaintenance moves every automatic maintenance whose time has come:
// scheduled windows whose start has passed go to in_progress (putting their
// components under maintenance), and in-progress or verifying windows whose
// end has passed go to completed. A window that started and ended while
// statusd was down goes through both. Each move is its own transaction with
// its update, inputs, audit entry and event, written by actor "statusd".
// It returns how many moves it made.
func (s *Store) AdvanceMaintenance(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	now := ms(s.Now())
	type move struct {
		id string
		to IncidentStatus
	}
	var moves []move
	rows, err := s.reader.QueryContext(ctx, `SELECT id, status, scheduled_until FROM incidents
		WHERE kind = 'maintenance' AND auto_transition = 1 AND status IN ('scheduled', 'in_progress', 'verifying')
		AND (scheduled_for <= ? OR scheduled_until <= ?) ORDER BY scheduled_for, id`, now, now)
	if err != nil {
		return 0, fmt.Errorf("list due maintenance: %w", err)
	}
	for rows.Next() {
		var id string
		var st IncidentStatus
		var until int64
		if err := rows.Scan(&id, &st, &until); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list due maintenance: %w", err)
		}
		if st == Scheduled {
			moves = append(moves, move{id, InProgress})
		}
		if until <= now {
			moves = append(moves, move{id, Completed})
		}
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("list due maintenance: %w", err)
	}
	n := 0
	for _, m := range moves {
		body := maintenanceStartedBody
		if m.to == Completed {
			body = maintenanceCompletedBody
		}
		err := s.write(ctx, "advance maintenance", func(tx *sql.Tx) error {
			// Re-read inside the transaction: a person may have moved it.
			inc, err := readIncidentRow(ctx, tx, m.id)
			if err != nil {
				return err
			}
			if !inc.auto || !CanMove(KindMaintenance, inc.status, m.to) || inc.status == m.to {
				return errSkip
			}
			_, err = s.addUpdateTx(ctx, tx, m.id, NewUpdate{Status: m.to, Body: body, Actor: "statusd"})
			return err
		})
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// errSkip rolls back a transaction that found nothing to do.
var errSkip = errors.New("nothing to do")

// NextMaintenanceTransition returns when the next automatic maintenance is
// due to start or end, or the zero time when none is scheduled.
func (s *Store) NextMaintenanceTransition(ctx context.Context) (time.Time, error) {
	if s.closed.Load() {
		return time.Time{}, ErrClosed
	}
	var next sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `SELECT MIN(CASE WHEN status = 'scheduled' THEN scheduled_for ELSE scheduled_until END)
		FROM incidents WHERE kind = 'maintenance' AND auto_transition = 1 AND status IN ('scheduled', 'in_progress', 'verifying')`).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("next maintenance transition: %w", err)
	}
	return fromNullMS(next), nil
}

// RunMaintenance advances automatic maintenance windows until ctx ends: at
// start (catching up on windows that began or ended while statusd was down),
// at each window's start and end, and at least every poll, which also picks
// up windows created by other processes. Errors are reported to onErr and
// retried at the next poll.
func (s *Store) RunMaintenance(ctx context.Context, poll time.Duration, onErr func(error)) {
	if poll <= 0 {
		poll = 30 * time.Second
	}
	changed, stop := s.Subscribe()
	defer stop()
	for {
		if _, err := s.AdvanceMaintenance(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		wait := poll
		if next, err := s.NextMaintenanceTransition(ctx); err == nil && !next.IsZero() {
			if d := next.Sub(s.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case _, ok := <-changed:
			t.Stop()
			if !ok {
				return // the store closed
			}
		case <-t.C:
		}
	}
}
