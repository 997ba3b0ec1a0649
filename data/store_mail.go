package data

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// QueuedMail is a transactional message in the mail outbox: a confirmation
// link or a note about a subscription, not about an event.
type QueuedMail struct {
	ID        int64
	To        string
	Body      []byte // the message, as the notifier encoded it
	Attempts  int    // attempts before this one
	CreatedAt time.Time
}

// MailResult is the outcome of one attempt at a queued mail.
type MailResult struct {
	ID int64
	// Err is "" when the mail was sent; the row is then deleted.
	Err string
	// RetryAt is when to try again; zero with Err set means never: the row
	// is kept dead, without its body.
	RetryAt time.Time
}

// QueueMail stores a transactional mail for sending. It commits before it
// returns, so the mail survives a crash.
func (s *Store) QueueMail(ctx context.Context, to string, body []byte) (int64, error) {
	var id int64
	err := s.writeQuiet(ctx, "queue mail", func(tx *sql.Tx) error {
		now := ms(s.Now())
		res, err := tx.ExecContext(ctx, "INSERT INTO mail_outbox(to_addr, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
			to, string(body), now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// ClaimMail leases up to n due mails for lease: until the lease ends no
// other claim returns them, and after it (a crash mid-send) they are due
// again.
func (s *Store) ClaimMail(ctx context.Context, n int, lease time.Duration) ([]QueuedMail, error) {
	var out []QueuedMail
	err := s.writeQuiet(ctx, "claim mail", func(tx *sql.Tx) error {
		now := s.Now()
		rows, err := tx.QueryContext(ctx, `UPDATE mail_outbox SET next_attempt_at = ?
			WHERE id IN (SELECT id FROM mail_outbox WHERE dead_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?)
			RETURNING id, to_addr, body, attempts, created_at`, ms(now.Add(lease)), ms(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m QueuedMail
			var body string
			var created int64
			if err := rows.Scan(&m.ID, &m.To, &body, &m.Attempts, &created); err != nil {
				return err
			}
			m.Body, m.CreatedAt = []byte(body), fromMS(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReleaseMail makes every mail due within lease from now due now. A
// notifier calls it when it starts: mails a dead process had claimed would
// otherwise wait for their lease to end, and since a claim and a scheduled
// retry look alike, retries due within the lease go a little early too.
func (s *Store) ReleaseMail(ctx context.Context, lease time.Duration) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, "release mail", func(tx *sql.Tx) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, "UPDATE mail_outbox SET next_attempt_at = ? WHERE dead_at IS NULL AND next_attempt_at > ? AND next_attempt_at <= ?",
			ms(now), ms(now), ms(now.Add(lease)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// FinishMail records the outcome of an attempt.
func (s *Store) FinishMail(ctx context.Context, r MailResult) error {
	return s.writeQuiet(ctx, "finish mail", func(tx *sql.Tx) error {
		var err error
		switch {
		case r.Err == "":
			_, err = tx.ExecContext(ctx, "DELETE FROM mail_outbox WHERE id = ?", r.ID)
		case r.RetryAt.IsZero():
			_, err = tx.ExecContext(ctx, "UPDATE mail_outbox SET body = '', attempts = attempts + 1, last_error = ?, dead_at = ? WHERE id = ?",
				truncate(r.Err, 500), ms(s.Now()), r.ID)
		default:
			_, err = tx.ExecContext(ctx, "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
				truncate(r.Err, 500), ms(r.RetryAt), r.ID)
		}
		return err
	})
}

// MailQueue reports how many mails wait (not dead) and when the oldest of
// them was queued (zero when none).
func (s *Store) MailQueue(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*), MIN(created_at) FROM mail_outbox WHERE dead_at IS NULL").Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read mail queue: %w", err)
	}
	return n, fromNullMS(oldest), nil
}

// PruneMail deletes dead mails that died before before.
func (s *Store) PruneMail(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, "prune mail", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM mail_outbox WHERE dead_at IS NOT NULL AND dead_at < ?", ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
