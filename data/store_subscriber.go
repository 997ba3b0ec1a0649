package data

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SubscribeResult says what a subscription request led to, so the caller can
// send the right email. The public response must not depend on it: whether
// an address was already subscribed is nobody else's business.
type SubscribeResult struct {
	Subscriber Subscriber
	// ConfirmToken is set when a confirmation link must be sent (a new or
	// still unconfirmed subscription). It is stored only as a hash.
	ConfirmToken string
	// AlreadyConfirmed is set when the subscription existed and was
	// confirmed: nothing changed, and the owner may be told how to manage it.
	AlreadyConfirmed bool
}

const subscriberColumns = `id, channel, address, email, format, staff, manage_token, secret, prev_secret, prev_secret_until,
	created_at, confirmed_at, disabled_at, failing_since`

func scanSubscriber(sc interface{ Scan(...any) error }) (Subscriber, error) {
	var s Subscriber
	var address string
	var prevUntil, confirmed, disabled, failing sql.NullInt64
	var created int64
	err := sc.Scan(&s.ID, &s.Channel, &address, &s.Email, &s.Format, &s.Staff, &s.ManageToken, &s.Secret, &s.PrevSecret, &prevUntil,
		&created, &confirmed, &disabled, &failing)
	if err != nil {
		return Subscriber{}, err
	}
	if s.Channel == ChannelWebhook {
		s.URL = address
	}
	s.PrevSecretUntil = fromNullMS(prevUntil)
	s.CreatedAt = fromMS(created)
	s.ConfirmedAt = fromNullMS(confirmed)
	s.DisabledAt = fromNullMS(disabled)
	s.FailingSince = fromNullMS(failing)
	return s, nil
}

func (s *Store) loadScopes(ctx context.Context, q querier, sub *Subscriber) error {
	rows, err := q.QueryContext(ctx, "SELECT kind, ref_id FROM subscriber_scopes WHERE subscriber_id = ? ORDER BY kind, ref_id", sub.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	sub.Components, sub.Journeys = nil, nil
	for rows.Next() {
		var kind, ref string
		if err := rows.Scan(&kind, &ref); err != nil {
			return err
		}
		if kind == "journey" {
			sub.Journeys = append(sub.Journeys, ref)
		} else {
			sub.Components = append(sub.Components, ref)
		}
	}
	return rows.Err()
}

func (s *Store) setScopes(ctx context.Context, tx *sql.Tx, id int64, components, journeys []string) error {
	if err := s.checkScopes(ctx, tx, components, journeys); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM subscriber_scopes WHERE subscriber_id = ?", id); err != nil {
		return err
	}
	for _, c := range components {
		if _, err := tx.ExecContext(ctx, "INSERT INTO subscriber_scopes(subscriber_id, kind, ref_id) VALUES (?, 'component', ?)", id, c); err != nil {
			return err
		}
	}
	for _, j := range journeys {
		if _, err := tx.ExecContext(ctx, "INSERT INTO subscriber_scopes(subscriber_id, kind, ref_id) VALUES (?, 'journey', ?)", id, j); err != nil {
			return err
		}
	}
	return nil
}

// checkScopes refuses ids of components and journeys that do not exist (or
// are archived).
func (s *Store) checkScopes(ctx context.Context, tx *sql.Tx, components, journeys []string) error {
	for _, c := range components {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM components WHERE id = ? AND archived_at IS NULL", c).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("components", "%q is not a component on this page", c)
		}
		if err != nil {
			return err
		}
	}
	for _, j := range journeys {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM journeys WHERE id = ? AND archived_at IS NULL", j).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("journeys", "%q is not a journey on this page", j)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// RequestSubscription records a subscription request and says whether to send a
// confirmation link (ConfirmToken, valid for ttl and usable once) or, for an
// address already confirmed, nothing was changed (AlreadyConfirmed). A
// pending request made again gets a new token and the new scope; the old
// token stops working. A disabled webhook endpoint subscribed again starts
// over, unconfirmed. Returns an *InvalidError for bad input, including
// unknown component or journey ids.
func (s *Store) RequestSubscription(ctx context.Context, n NewSubscriber, ttl time.Duration) (SubscribeResult, error) {
	if err := n.Validate(); err != nil {
		return SubscribeResult{}, err
	}
	address := strings.ToLower(n.Email)
	if n.Channel == ChannelWebhook {
		address = n.URL
	}
	var res SubscribeResult
	err := s.writeQuiet(ctx, "subscribe", func(tx *sql.Tx) error {
		now := s.Now()
		token := newToken()
		sub, err := scanSubscriber(tx.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE channel = ? AND address = ?", n.Channel, address))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r, err := tx.ExecContext(ctx, `INSERT INTO subscribers(channel, address, email, format, manage_token, confirm_hash, confirm_expires_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.Channel, address, n.Email, n.Format, newToken(), hashToken(token), ms(now.Add(ttl)), ms(now), ms(now))
			if err != nil {
				return err
			}
			if sub.ID, err = r.LastInsertId(); err != nil {
				return err
			}
		case err != nil:
			return err
		case sub.Confirmed() && sub.DisabledAt.IsZero():
			res = SubscribeResult{Subscriber: sub, AlreadyConfirmed: true}
			return s.loadScopes(ctx, tx, &res.Subscriber)
		default:
			// Pending, or a disabled endpoint starting over: the latest
			// request wins, and only its link works.
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET email = ?, format = ?, confirm_hash = ?, confirm_expires_at = ?,
				confirmed_at = NULL, disabled_at = NULL, failing_since = NULL, secret = '', prev_secret = '', prev_secret_until = NULL,
				manage_token = ?, updated_at = ? WHERE id = ?`,
				n.Email, n.Format, hashToken(token), ms(now.Add(ttl)), newToken(), ms(now), sub.ID); err != nil {
				return err
			}
		}
		if err := s.setScopes(ctx, tx, sub.ID, n.Components, n.Journeys); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "public", "subscriber.request", fmt.Sprint(sub.ID), string(n.Channel)); err != nil {
			return err
		}
		res.ConfirmToken = token
		res.Subscriber, err = s.subscriberTx(ctx, tx, sub.ID)
		return err
	})
	return res, err
}

func (s *Store) subscriberTx(ctx context.Context, q querier, id int64) (Subscriber, error) {
	sub, err := scanSubscriber(q.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, fmt.Errorf("subscriber %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Subscriber{}, err
	}
	return sub, s.loadScopes(ctx, q, &sub)
}

// Subscriber returns one subscriber with its scope. Returns ErrNotFound if
// there is none with that id.
func (s *Store) Subscriber(ctx context.Context, id int64) (Subscriber, error) {
	if s.closed.Load() {
		return Subscriber{}, ErrClosed
	}
	return s.subscriberTx(ctx, s.reader, id)
}

// errBadLink is what every unusable token gets: forged, expired and used
// tokens look the same from outside.
var errBadLink = Invalid("token", "this link is not valid: it may have expired or been used already")

// PendingSubscriber returns the unconfirmed subscription a confirmation
// token belongs to, without using the token up: the confirmation page shows
// what is being confirmed. Returns an *InvalidError for a malformed, unknown,
// used or expired token.
func (s *Store) PendingSubscriber(ctx context.Context, token string) (Subscriber, error) {
	if s.closed.Load() {
		return Subscriber{}, ErrClosed
	}
	if !ValidToken(token) {
		return Subscriber{}, errBadLink
	}
	var id int64
	var expires int64
	err := s.reader.QueryRowContext(ctx, "SELECT id, confirm_expires_at FROM subscribers WHERE confirm_hash = ?", hashToken(token)).Scan(&id, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !s.Now().Before(fromMS(expires)) {
		return Subscriber{}, errBadLink
	}
	if err != nil {
		return Subscriber{}, fmt.Errorf("look up confirmation: %w", err)
	}
	return s.subscriberTx(ctx, s.reader, id)
}

// ConfirmSubscriber uses a confirmation token: the subscription starts
// receiving, and a webhook gets its signing secret, returned here once (the
// caller shows it). The token cannot be used again. Returns an
// *InvalidError for a malformed, unknown, used or expired token.
func (s *Store) ConfirmSubscriber(ctx context.Context, token string) (Subscriber, error) {
	if !ValidToken(token) {
		return Subscriber{}, errBadLink
	}
	var sub Subscriber
	err := s.writeQuiet(ctx, "confirm subscriber", func(tx *sql.Tx) error {
		now := s.Now()
		var id, expires int64
		var channel Channel
		err := tx.QueryRowContext(ctx, "SELECT id, channel, confirm_expires_at FROM subscribers WHERE confirm_hash = ?", hashToken(token)).
			Scan(&id, &channel, &expires)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !now.Before(fromMS(expires)) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		secret := ""
		if channel == ChannelWebhook {
			secret = NewWebhookSecret()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET confirmed_at = ?, confirm_hash = NULL, confirm_expires_at = NULL,
			secret = ?, updated_at = ? WHERE id = ?`, ms(now), secret, ms(now), id); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "public", "subscriber.confirm", fmt.Sprint(id), string(channel)); err != nil {
			return err
		}
		sub, err = s.subscriberTx(ctx, tx, id)
		return err
	})
	return sub, err
}

// NewWebhookSecret returns a new Standard Webhooks signing secret: "whsec_"
// and the base64 of 32 random bytes.
func NewWebhookSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// SubscriberByToken returns the subscriber a manage token (from a
// preferences or unsubscribe link) belongs to. Returns an *InvalidError for
// a malformed or unknown token.
func (s *Store) SubscriberByToken(ctx context.Context, token string) (Subscriber, error) {
	if s.closed.Load() {
		return Subscriber{}, ErrClosed
	}
	if !ValidToken(token) {
		return Subscriber{}, errBadLink
	}
	sub, err := scanSubscriber(s.reader.QueryRowContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE manage_token = ?", token))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscriber{}, errBadLink
	}
	if err != nil {
		return Subscriber{}, fmt.Errorf("look up subscriber: %w", err)
	}
	return sub, s.loadScopes(ctx, s.reader, &sub)
}

// UpdateSubscription replaces what the subscriber behind a manage token hears
// about. Returns an *InvalidError for a bad token or unknown ids.
func (s *Store) UpdateSubscription(ctx context.Context, token string, components, journeys []string) (Subscriber, error) {
	if !ValidToken(token) {
		return Subscriber{}, errBadLink
	}
	if len(components)+len(journeys) > maxScopes {
		return Subscriber{}, Invalid("components", "at most %d components and journeys", maxScopes)
	}
	components, err := uniqueIDs("components", components)
	if err != nil {
		return Subscriber{}, err
	}
	journeys, err = uniqueIDs("journeys", journeys)
	if err != nil {
		return Subscriber{}, err
	}
	var sub Subscriber
	err = s.writeQuiet(ctx, "update subscription", func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM subscribers WHERE manage_token = ? AND staff = 0", token).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if err := s.setScopes(ctx, tx, id, components, journeys); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE subscribers SET updated_at = ? WHERE id = ?", ms(s.Now()), id); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "public", "subscriber.update", fmt.Sprint(id), ""); err != nil {
			return err
		}
		sub, err = s.subscriberTx(ctx, tx, id)
		return err
	})
	return sub, err
}

// Unsubscribe deletes the subscriber behind a manage token, with its
// undelivered messages: nothing more is sent. Returns an *InvalidError for a
// malformed or unknown token (including one already used).
func (s *Store) Unsubscribe(ctx context.Context, token string) error {
	if !ValidToken(token) {
		return errBadLink
	}
	return s.writeQuiet(ctx, "unsubscribe", func(tx *sql.Tx) error {
		var id int64
		var channel Channel
		err := tx.QueryRowContext(ctx, "SELECT id, channel FROM subscribers WHERE manage_token = ? AND staff = 0", token).Scan(&id, &channel)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if err := s.deleteSubscriber(ctx, tx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, "public", "subscriber.unsubscribe", fmt.Sprint(id), string(channel))
	})
}

func (s *Store) deleteSubscriber(ctx context.Context, tx *sql.Tx, id int64) error {
	// Deliveries and scopes go with it (ON DELETE CASCADE).
	_, err := tx.ExecContext(ctx, "DELETE FROM subscribers WHERE id = ?", id)
	return err
}

// DeleteSubscriber removes a subscriber by id (an operator's action).
// Returns ErrNotFound if there is none.
func (s *Store) DeleteSubscriber(ctx context.Context, id int64, actor string) error {
	return s.writeQuiet(ctx, "delete subscriber", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, "DELETE FROM subscribers WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("subscriber %d: %w", id, ErrNotFound)
		}
		return s.audit(ctx, tx, actor, "subscriber.delete", fmt.Sprint(id), "")
	})
}

// RotateWebhookSecret gives the webhook behind a manage token a new signing
// secret, returned once. The old secret keeps signing alongside the new one
// for overlap, so the receiver can switch without losing messages. Returns
// an *InvalidError for a bad token or a subscription that is not a confirmed
// webhook.
func (s *Store) RotateWebhookSecret(ctx context.Context, token string, overlap time.Duration) (Subscriber, error) {
	if !ValidToken(token) {
		return Subscriber{}, errBadLink
	}
	var sub Subscriber
	err := s.writeQuiet(ctx, "rotate webhook secret", func(tx *sql.Tx) error {
		now := s.Now()
		var id int64
		var channel Channel
		var confirmed sql.NullInt64
		var old string
		err := tx.QueryRowContext(ctx, "SELECT id, channel, confirmed_at, secret FROM subscribers WHERE manage_token = ?", token).
			Scan(&id, &channel, &confirmed, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if channel != ChannelWebhook || !confirmed.Valid {
			return Invalid("token", "only a confirmed webhook has a signing secret")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET secret = ?, prev_secret = ?, prev_secret_until = ?, updated_at = ? WHERE id = ?`,
			NewWebhookSecret(), old, ms(now.Add(overlap)), ms(now), id); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "public", "subscriber.rotate_secret", fmt.Sprint(id), ""); err != nil {
			return err
		}
		sub, err = s.subscriberTx(ctx, tx, id)
		return err
	})
	return sub, err
}

// SyncStaff makes the staff subscribers match the configured addresses:
// confirmed email subscribers that hear staff alerts only. Addresses
// removed from the configuration stop receiving.
func (s *Store) SyncStaff(ctx context.Context, emails []string) error {
	norm := make([]string, 0, len(emails))
	for _, e := range emails {
		n, err := NormalizeAddress("staff", e)
		if err != nil {
			return err
		}
		norm = append(norm, n)
	}
	return s.writeQuiet(ctx, "sync staff addresses", func(tx *sql.Tx) error {
		now := ms(s.Now())
		keep := map[string]bool{}
		for _, e := range norm {
			keep[e] = true
			// A customer subscription to the same address is a different
			// row: staff rows are keyed "staff:" + address.
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscribers(channel, address, email, staff, manage_token, created_at, updated_at, confirmed_at)
				VALUES ('email', ?, ?, 1, ?, ?, ?, ?) ON CONFLICT(channel, address) DO NOTHING`,
				"staff:"+e, e, newToken(), now, now, now); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, email FROM subscribers WHERE staff = 1")
		if err != nil {
			return err
		}
		var drop []int64
		for rows.Next() {
			var id int64
			var e string
			if err := rows.Scan(&id, &e); err != nil {
				rows.Close()
				return err
			}
			if !keep[e] {
				drop = append(drop, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range drop {
			if err := s.deleteSubscriber(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// SubscriberFilter narrows a subscriber listing.
type SubscriberFilter struct {
	After   int64  // ids greater than this (for paging)
	Limit   int    // at most this many; 100 if 0
	Search  string // part of the address or owner address
	Channel Channel
	// Confirmed, when set, keeps only confirmed (true) or only pending
	// (false) subscribers.
	Confirmed *bool
}

// Subscribers lists subscribers in id order, without staff.
func (s *Store) Subscribers(ctx context.Context, f SubscriberFilter) ([]Subscriber, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 100
	}
	q := "SELECT " + subscriberColumns + " FROM subscribers WHERE staff = 0 AND id > ?"
	args := []any{f.After}
	if f.Search != "" {
		q += " AND (instr(address, ?) > 0 OR instr(email, ?) > 0)"
		args = append(args, strings.ToLower(f.Search), strings.ToLower(f.Search))
	}
	if f.Channel != "" {
		q += " AND channel = ?"
		args = append(args, f.Channel)
	}
	if f.Confirmed != nil {
		if *f.Confirmed {
			q += " AND confirmed_at IS NOT NULL"
		} else {
			q += " AND confirmed_at IS NULL"
		}
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	var out []Subscriber
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
		out = append(out, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	for i := range out {
		if err := s.loadScopes(ctx, s.reader, &out[i]); err != nil {
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
	}
	return out, nil
}

// AddConfirmedSubscriber adds a subscriber that needs no confirmation (an
// operator's import, or a test). It returns the subscriber with its manage
// token and, for a webhook, its secret. Returns ErrConflict if the address
// is already subscribed.
func (s *Store) AddConfirmedSubscriber(ctx context.Context, n NewSubscriber, actor string) (Subscriber, error) {
	if err := n.Validate(); err != nil {
		return Subscriber{}, err
	}
	address := strings.ToLower(n.Email)
	secret := ""
	if n.Channel == ChannelWebhook {
		address = n.URL
		secret = NewWebhookSecret()
	}
	var sub Subscriber
	err := s.writeQuiet(ctx, "add subscriber", func(tx *sql.Tx) error {
		now := ms(s.Now())
		r, err := tx.ExecContext(ctx, `INSERT INTO subscribers(channel, address, email, format, manage_token, secret, created_at, updated_at, confirmed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, address) DO NOTHING`,
			n.Channel, address, n.Email, n.Format, newToken(), secret, now, now, now)
		if err != nil {
			return err
		}
		if k, _ := r.RowsAffected(); k == 0 {
			return fmt.Errorf("subscriber exists: %w", ErrConflict)
		}
		id, err := r.LastInsertId()
		if err != nil {
			return err
		}
		if err := s.setScopes(ctx, tx, id, n.Components, n.Journeys); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, actor, "subscriber.add", fmt.Sprint(id), string(n.Channel)); err != nil {
			return err
		}
		sub, err = s.subscriberTx(ctx, tx, id)
		return err
	})
	return sub, err
}
