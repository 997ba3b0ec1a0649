package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Tx is a write transaction handed to an event consumer, so that what it
// writes commits together with its cursor. Consumers' own writes are methods
// on Tx, defined beside the tables they touch.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
	s   *Store
}

// Audit appends an entry to the audit log in the transaction.
func (t *Tx) Audit(actor, action, subject, detail string) error {
	return t.s.audit(t.ctx, t.tx, actor, action, subject, detail)
}

// Consume hands the events after consumer's cursor (at most limit, oldest
// first) to fn inside one write transaction and, if fn succeeds, advances the
// cursor past them in that same transaction. If fn fails or the process dies
// before the commit, neither fn's writes nor the cursor move persist and the
// same events are handed over again next time: each event is consumed exactly
// once. It returns how many events were consumed.
//
// A consumer seen for the first time starts after the newest event, so a
// new notifier does not announce history.
func (s *Store) Consume(ctx context.Context, consumer string, limit int, fn func(tx *Tx, evs []Event) error) (int, error) {
	if err := ValidateID("consumer", consumer); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	n := 0
	err := s.write(ctx, "consume events for "+consumer, func(tx *sql.Tx) error {
		pos, created, err := s.cursorTx(ctx, tx, consumer)
		if err != nil {
			return err
		}
		evs, err := loadEvents(ctx, tx, pos, limit)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			if created {
				return nil // keep the new cursor
			}
			// Nothing to do: roll back, and wake no one. A commit here would
			// tell every subscriber that something changed, and a consumer
			// woken by that would consume again, for ever.
			return errSkip
		}
		if err := fn(&Tx{ctx: ctx, tx: tx, s: s}, evs); err != nil {
			return err
		}
		n = len(evs)
		_, err = tx.ExecContext(ctx, "UPDATE event_cursors SET position = ?, updated_at = ? WHERE consumer = ?",
			evs[len(evs)-1].ID, ms(s.Now()), consumer)
		return err
	})
	if errors.Is(err, errSkip) {
		err = nil
	}
	return n, err
}

// Register makes sure consumer has a cursor, starting after the newest
// event, and returns its position. Calling it at start-up fixes the point
// from which a consumer hears events, even before its first Consume.
func (s *Store) Register(ctx context.Context, consumer string) (int64, error) {
	if err := ValidateID("consumer", consumer); err != nil {
		return 0, err
	}
	var pos int64
	err := s.write(ctx, "register consumer "+consumer, func(tx *sql.Tx) error {
		var err error
		pos, _, err = s.cursorTx(ctx, tx, consumer)
		return err
	})
	return pos, err
}

// Cursor returns a consumer's position and how many events wait after it.
// Returns ErrNotFound for a consumer that never registered.
func (s *Store) Cursor(ctx context.Context, consumer string) (pos, pending int64, err error) {
	if s.closed.Load() {
		return 0, 0, ErrClosed
	}
	err = s.reader.QueryRowContext(ctx, `SELECT c.position, (SELECT COUNT(*) FROM events e WHERE e.id > c.position)
		FROM event_cursors c WHERE c.consumer = ?`, consumer).Scan(&pos, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("consumer %q: %w", consumer, ErrNotFound)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read cursor of %s: %w", consumer, err)
	}
	return pos, pending, nil
}

func (s *Store) cursorTx(ctx context.Context, tx *sql.Tx, consumer string) (pos int64, created bool, err error) {
	err = tx.QueryRowContext(ctx, "SELECT position FROM event_cursors WHERE consumer = ?", consumer).Scan(&pos)
	if err == nil {
		return pos, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&pos); err != nil {
		return 0, false, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO event_cursors(consumer, position, updated_at) VALUES (?, ?, ?)", consumer, pos, ms(s.Now()))
	return pos, true, err
}
