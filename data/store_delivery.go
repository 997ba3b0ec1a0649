package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audience is who a fan-out reaches.
type Audience string

// The audiences of a fan-out.
const (
	// AudienceScoped: subscribers of everything, and those whose scope
	// covers one of the affected components.
	AudienceScoped Audience = "scoped"
	// AudienceEveryone: every customer subscriber, whatever their scope
	// (an incident that names no component concerns everyone).
	AudienceEveryone Audience = "everyone"
	// AudienceStaff: the configured staff addresses only.
	AudienceStaff Audience = "staff"
)

// Fanout plans the deliveries of one event: who hears it, on which
// channels.
type Fanout struct {
	EventID  int64
	EventAt  time.Time
	Audience Audience
	// Components the event affects; their groups and journeys are looked up
	// when the fan-out is planned, so journey and group subscriptions cover
	// components added to them later.
	Components []string
	Email      bool
	Webhook    bool
}

// PlanFanout records that ev's subscribers must hear about it, in the
// consumer's transaction: the deliveries themselves are inserted later, a
// page of subscribers at a time, by ExpandFanouts. Planning the same event
// twice is a no-op.
func (t *Tx) PlanFanout(f Fanout) error {
	if !f.Email && !f.Webhook {
		return nil
	}
	switch f.Audience {
	case AudienceScoped, AudienceEveryone, AudienceStaff:
	default:
		return Invalid("audience", "%q is not scoped, everyone or staff", f.Audience)
	}
	ctx, tx := t.ctx, t.tx
	r, err := tx.ExecContext(ctx, `INSERT INTO fanouts(event_id, audience, email, webhook, event_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING`, f.EventID, f.Audience, f.Email, f.Webhook, ms(f.EventAt), ms(t.s.Now()))
	if err != nil {
		return fmt.Errorf("plan fan-out of event %d: %w", f.EventID, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil
	}
	for _, c := range f.Components {
		// The component itself, its group and its journey, as they are now.
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO fanout_targets(event_id, kind, ref_id)
			SELECT ?, 'component', ?
			UNION ALL SELECT ?, 'component', group_id FROM components WHERE id = ? AND group_id IS NOT NULL
			UNION ALL SELECT ?, 'journey', journey_id FROM components WHERE id = ?`,
			f.EventID, c, f.EventID, c, f.EventID, c)
		if err != nil {
			return fmt.Errorf("plan fan-out of event %d: %w", f.EventID, err)
		}
	}
	return nil
}

// ExpandFanouts inserts the deliveries of the oldest unfinished fan-out for
// the next page of at most page subscribers (by id), in one transaction,
// and records how far it got. Subscribers are never loaded into memory: the
// page is one INSERT … SELECT. It returns how many deliveries it inserted
// and whether fan-outs remain unfinished.
func (s *Store) ExpandFanouts(ctx context.Context, page int) (inserted int, more bool, err error) {
	if page <= 0 {
		page = 1000
	}
	err = s.writeQuiet(ctx, "expand fan-out", func(tx *sql.Tx) error {
		var ev, after, eventAt int64
		var audience Audience
		var email, webhook bool
		err := tx.QueryRowContext(ctx, `SELECT event_id, audience, email, webhook, event_at, after_subscriber FROM fanouts
			WHERE done_at IS NULL ORDER BY event_id LIMIT 1`).Scan(&ev, &audience, &email, &webhook, &eventAt, &after)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		more = true
		var upto sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(id) FROM (SELECT id FROM subscribers WHERE id > ? ORDER BY id LIMIT ?)", after, page).
			Scan(&upto); err != nil {
			return err
		}
		now := ms(s.Now())
		if !upto.Valid {
			_, err := tx.ExecContext(ctx, "UPDATE fanouts SET done_at = ? WHERE event_id = ?", now, ev)
			return err
		}
		var who string
		switch audience {
		case AudienceStaff:
			who = "s.staff = 1"
		case AudienceEveryone:
			who = "s.staff = 0"
		default:
			who = `s.staff = 0 AND (NOT EXISTS (SELECT 1 FROM subscriber_scopes ss WHERE ss.subscriber_id = s.id)
				OR EXISTS (SELECT 1 FROM subscriber_scopes ss JOIN fanout_targets ft
					ON ft.event_id = :ev AND ft.kind = ss.kind AND ft.ref_id = ss.ref_id
					WHERE ss.subscriber_id = s.id))`
		}
		r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries(event_id, subscriber_id, channel, state, next_attempt_at, created_at, event_at)
			SELECT :ev, s.id, s.channel, 'pending', :now, :now, :at FROM subscribers s
			WHERE s.id > :after AND s.id <= :upto AND s.confirmed_at IS NOT NULL AND s.disabled_at IS NULL
			AND ((s.channel = 'email' AND :email) OR (s.channel = 'webhook' AND :webhook))
			AND `+who+` ORDER BY s.id`,
			sql.Named("ev", ev), sql.Named("now", now), sql.Named("at", eventAt), sql.Named("after", after),
			sql.Named("upto", upto.Int64), sql.Named("email", email), sql.Named("webhook", webhook))
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		inserted = int(n)
		_, err = tx.ExecContext(ctx, "UPDATE fanouts SET after_subscriber = ? WHERE event_id = ?", upto.Int64, ev)
		return err
	})
	return inserted, more, err
}

const deliveryColumns = "id, event_id, notice, notice_detail, subscriber_id, channel, state, attempts, next_attempt_at, lease_until, last_error, created_at, event_at, sent_at"

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var ev, lease, sent sql.NullInt64
	var next, created, at int64
	if err := sc.Scan(&d.ID, &ev, &d.Notice, &d.NoticeDetail, &d.SubscriberID, &d.Channel, &d.State, &d.Attempts, &next, &lease,
		&d.LastError, &created, &at, &sent); err != nil {
		return Delivery{}, err
	}
	d.EventID = ev.Int64
	d.NextAttemptAt, d.LeaseUntil, d.CreatedAt, d.EventAt, d.SentAt = fromMS(next), fromNullMS(lease), fromMS(created), fromMS(at), fromNullMS(sent)
	if d.EventID != 0 {
		d.Key = EventKey(d.EventID, d.SubscriberID)
	} else {
		d.Key = fmt.Sprintf("n%d", d.ID)
	}
	return d, nil
}

// ClaimDeliveries leases up to n due deliveries of a channel, oldest due
// first, until lease from now, and returns them with their subscribers. Due
// means pending, retrying with its next attempt time passed, or leased with
// its lease run out (its worker died). A lease moves the next attempt time
// to the lease's end, so a claimed delivery comes due again by itself if
// nobody reports on it.
func (s *Store) ClaimDeliveries(ctx context.Context, ch Channel, n int, lease time.Duration) ([]Delivery, error) {
	var out []Delivery
	err := s.writeQuiet(ctx, "claim "+string(ch)+" deliveries", func(tx *sql.Tx) error {
		now := s.Now()
		until := ms(now.Add(lease))
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET state = 'leased', lease_until = ?, next_attempt_at = ?
			WHERE id IN (SELECT id FROM deliveries WHERE channel = ? AND state IN ('pending', 'retrying', 'leased')
				AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?)
			RETURNING `+deliveryColumns, until, until, ch, ms(now), n)
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.attachSubscribers(ctx, tx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attachSubscribers fills in each delivery's subscriber, in one query.
func (s *Store) attachSubscribers(ctx context.Context, q querier, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := map[int64]bool{}
	args := make([]any, 0, len(ds))
	for _, d := range ds {
		if !ids[d.SubscriberID] {
			ids[d.SubscriberID] = true
			args = append(args, d.SubscriberID)
		}
	}
	subs := make(map[int64]Subscriber, len(args))
	for len(args) > 0 {
		chunk := args[:min(len(args), 500)]
		args = args[len(chunk):]
		rows, err := q.QueryContext(ctx, "SELECT "+subscriberColumns+" FROM subscribers WHERE id IN (?"+strings.Repeat(",?", len(chunk)-1)+")", chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			sub, err := scanSubscriber(rows)
			if err != nil {
				rows.Close()
				return err
			}
			subs[sub.ID] = sub
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range ds {
		ds[i].Subscriber = subs[ds[i].SubscriberID]
	}
	return nil
}

// maxErrorLength bounds the stored reason of a failure.
const maxErrorLength = 500

func shortError(s string) string {
	if len(s) > maxErrorLength {
		return s[:maxErrorLength]
	}
	return s
}

// FinishDeliveries records the outcomes of attempts, in one transaction. A
// result for a delivery that is no longer leased (its subscriber left, or
// another worker took it over after the lease ran out and finished first)
// is ignored.
func (s *Store) FinishDeliveries(ctx context.Context, results []DeliveryResult) error {
	if len(results) == 0 {
		return nil
	}
	return s.writeQuiet(ctx, "finish deliveries", func(tx *sql.Tx) error {
		f := finisher{s: s, tx: tx, now: s.Now(), stmts: map[string]*sql.Stmt{}}
		defer f.close()
		for _, r := range results {
			if err := f.finish(ctx, r); err != nil {
				return fmt.Errorf("delivery %d: %w", r.ID, err)
			}
		}
		return nil
	})
}

// finisher records outcomes in one transaction, preparing each statement
// once: a batch holds hundreds of them.
type finisher struct {
	s     *Store
	tx    *sql.Tx
	now   time.Time
	stmts map[string]*sql.Stmt
}

func (f *finisher) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := f.stmts[q]; ok {
		return st, nil
	}
	st, err := f.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	f.stmts[q] = st
	return st, nil
}

func (f *finisher) close() {
	for _, st := range f.stmts {
		_ = st.Close() // closing a statement of a finished transaction reports nothing useful
	}
}

func (f *finisher) finish(ctx context.Context, r DeliveryResult) error {
	next := r.Next
	if next.IsZero() {
		next = f.now
	}
	var set string
	var args []any
	switch r.Outcome {
	case OutcomeSent:
		set = "state = 'sent', attempts = attempts + 1, sent_at = ?, lease_until = NULL, last_error = ''"
		args = []any{ms(f.now)}
	case OutcomeRetry:
		set = "state = 'retrying', attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL, last_error = ?"
		args = []any{ms(next), shortError(r.Error)}
	case OutcomeDead:
		set = "state = 'dead', attempts = attempts + 1, lease_until = NULL, last_error = ?"
		args = []any{shortError(r.Error)}
	case OutcomeRelease:
		set = "state = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END, next_attempt_at = ?, lease_until = NULL"
		args = []any{ms(next)}
	default:
		return Invalid("outcome", "unknown outcome %d", r.Outcome)
	}
	// Only the holder of the current lease may report.
	q := "UPDATE deliveries SET " + set + " WHERE id = ? AND state = 'leased'"
	args = append(args, r.ID)
	if !r.Lease.IsZero() {
		q += " AND lease_until = ?"
		args = append(args, ms(r.Lease))
	}
	q += " RETURNING subscriber_id, channel"
	st, err := f.stmt(ctx, q)
	if err != nil {
		return err
	}
	var subID int64
	var ch Channel
	err = st.QueryRowContext(ctx, args...).Scan(&subID, &ch)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not ours any more
	}
	if err != nil {
		return err
	}
	if ch != ChannelWebhook {
		return nil
	}
	tx, s, now := f.tx, f.s, f.now
	switch {
	case r.Outcome == OutcomeSent:
		_, err = tx.ExecContext(ctx, "UPDATE subscribers SET failing_since = NULL, failing_warned_at = NULL WHERE id = ? AND failing_since IS NOT NULL", subID)
	case r.Failing:
		_, err = tx.ExecContext(ctx, "UPDATE subscribers SET failing_since = ? WHERE id = ? AND failing_since IS NULL", ms(now), subID)
	}
	if err != nil {
		return err
	}
	if r.Outcome == OutcomeDead && r.Disable {
		return s.disableWebhookTx(ctx, tx, subID, r.Error, now)
	}
	if r.Failing && r.Warn {
		return s.warnWebhookTx(ctx, tx, subID, r.Error, now)
	}
	return nil
}

// warnWebhookTx queues a warning to a failing webhook's owner, once per
// run of failures.
func (s *Store) warnWebhookTx(ctx context.Context, tx *sql.Tx, subID int64, reason string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE subscribers SET failing_warned_at = ? WHERE id = ? AND channel = 'webhook'
		AND failing_since IS NOT NULL AND failing_warned_at IS NULL AND disabled_at IS NULL`, ms(now), subID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO deliveries(notice, notice_detail, subscriber_id, channel, state, next_attempt_at, created_at, event_at)
		VALUES (?, ?, ?, 'email', 'pending', ?, ?, ?)`, NoticeWebhookFailing, shortError(reason), subID, ms(now), ms(now), ms(now))
	return err
}

// disableWebhookTx stops deliveries to a webhook endpoint and queues a
// notice to its owner, once.
func (s *Store) disableWebhookTx(ctx context.Context, tx *sql.Tx, subID int64, reason string, now time.Time) error {
	res, err := tx.ExecContext(ctx, "UPDATE subscribers SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL AND channel = 'webhook'",
		ms(now), ms(now), subID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'dead', last_error = 'endpoint disabled', lease_until = NULL
		WHERE subscriber_id = ? AND channel = 'webhook' AND state IN ('pending', 'retrying')`, subID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries(notice, notice_detail, subscriber_id, channel, state, next_attempt_at, created_at, event_at)
		VALUES (?, ?, ?, 'email', 'pending', ?, ?, ?)`, NoticeWebhookDisabled, shortError(reason), subID, ms(now), ms(now), ms(now)); err != nil {
		return err
	}
	return s.audit(ctx, tx, "notifier", "subscriber.disable", fmt.Sprint(subID), shortError(reason))
}

// ReleaseLeases puts every leased delivery back in the queue, due now,
// without counting an attempt. A notifier calls it when it starts: statusd
// runs one notifier per database, so leases still held belong to a process
// that died, and need not wait for their expiry. Results reported later
// under those leases are ignored (see DeliveryResult.Lease).
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, "release leases", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
			next_attempt_at = ?, lease_until = NULL WHERE state = 'leased'`, ms(s.Now()))
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		return nil
	})
	return int(n), err
}

// DeliveryStats reports the queue of each channel.
func (s *Store) DeliveryStats(ctx context.Context) ([]DeliveryStats, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	now := s.Now()
	var out []DeliveryStats
	for _, ch := range []Channel{ChannelEmail, ChannelWebhook} {
		st := DeliveryStats{Channel: ch}
		var oldest sql.NullInt64
		if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*), MIN(event_at) FROM deliveries
			WHERE channel = ? AND state IN ('pending', 'retrying', 'leased') AND next_attempt_at >= 0`, ch).Scan(&st.Queued, &oldest); err != nil {
			return nil, fmt.Errorf("count %s deliveries: %w", ch, err)
		}
		if oldest.Valid {
			st.OldestPending = max(0, now.Sub(fromMS(oldest.Int64)))
		}
		out = append(out, st)
	}
	return out, nil
}

// OpenFanouts counts events whose deliveries are not all created yet.
func (s *Store) OpenFanouts(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	var n int
	if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM fanouts WHERE done_at IS NULL").Scan(&n); err != nil {
		return 0, fmt.Errorf("count open fan-outs: %w", err)
	}
	return n, nil
}

// DeliveryFilter selects deliveries to show.
type DeliveryFilter struct {
	EventID      int64
	SubscriberID int64
	State        DeliveryState
	Limit        int   // 100 if 0
	After        int64 // only ids greater than this
	Before       int64 // only ids less than this, if set
	// Newest lists the newest first (a subscriber's recent deliveries);
	// page on with Before.
	Newest bool
}

// Deliveries lists deliveries in id order (newest first with f.Newest), for operators: per event or per
// subscriber, with state, attempts, next attempt and last error.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 100
	}
	q := "SELECT " + deliveryColumns + " FROM deliveries WHERE id > ?"
	args := []any{f.After}
	if f.EventID != 0 {
		q += " AND event_id = ?"
		args = append(args, f.EventID)
	}
	if f.SubscriberID != 0 {
		q += " AND subscriber_id = ?"
		args = append(args, f.SubscriberID)
	}
	if f.State != "" {
		q += " AND state = ?"
		args = append(args, f.State)
	}
	if f.Before > 0 {
		q += " AND id < ?"
		args = append(args, f.Before)
	}
	if f.Newest {
		q += " ORDER BY id DESC LIMIT ?"
	} else {
		q += " ORDER BY id LIMIT ?"
	}
	args = append(args, f.Limit)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveryCounts counts an event's deliveries by state.
func (s *Store) DeliveryCounts(ctx context.Context, eventID int64) (map[DeliveryState]int, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT state, COUNT(*) FROM deliveries WHERE event_id = ? GROUP BY state", eventID)
	if err != nil {
		return nil, fmt.Errorf("count deliveries of event %d: %w", eventID, err)
	}
	defer rows.Close()
	out := map[DeliveryState]int{}
	for rows.Next() {
		var st DeliveryState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count deliveries of event %d: %w", eventID, err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// EventDeliveries is one event's deliveries counted by state.
type EventDeliveries struct {
	EventID   int64
	Kind      EventKind
	CreatedAt time.Time
	Counts    map[DeliveryState]int
	// Expanding is true while the fan-out is still creating deliveries,
	// so the counts are not final.
	Expanding bool
}

// SubjectDeliveryCounts counts, by state, the deliveries of every event
// about subject (an incident's id, say) that was fanned out to
// subscribers, oldest event first. Events whose fan-out was pruned (see
// PruneDeliveries) are left out; so are events nobody was to hear about.
func (s *Store) SubjectDeliveryCounts(ctx context.Context, subject string) ([]EventDeliveries, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	// fanouts is small (pruned with sent deliveries), and events and
	// deliveries are reached through their keys: no scan of either.
	rows, err := s.reader.QueryContext(ctx, `SELECT e.id, e.kind, e.created_at, f.done_at IS NULL, d.state, COUNT(d.id)
		FROM fanouts f JOIN events e ON e.id = f.event_id LEFT JOIN deliveries d ON d.event_id = f.event_id
		WHERE e.subject = ? GROUP BY e.id, d.state ORDER BY e.id`, subject)
	if err != nil {
		return nil, fmt.Errorf("count deliveries about %s: %w", subject, err)
	}
	defer rows.Close()
	var out []EventDeliveries
	for rows.Next() {
		var id, at int64
		var kind EventKind
		var expanding bool
		var state sql.NullString
		var n int
		if err := rows.Scan(&id, &kind, &at, &expanding, &state, &n); err != nil {
			return nil, fmt.Errorf("count deliveries about %s: %w", subject, err)
		}
		if len(out) == 0 || out[len(out)-1].EventID != id {
			out = append(out, EventDeliveries{EventID: id, Kind: kind, CreatedAt: fromMS(at), Expanding: expanding, Counts: map[DeliveryState]int{}})
		}
		if state.Valid {
			out[len(out)-1].Counts[DeliveryState(state.String)] = n
		}
	}
	return out, rows.Err()
}

// PruneDeliveries deletes sent deliveries created before sentBefore and
// dead ones created before deadBefore, at most limit rows, and finished
// fan-outs older than sentBefore. It returns how many deliveries it deleted.
func (s *Store) PruneDeliveries(ctx context.Context, sentBefore, deadBefore time.Time, limit int) (int, error) {
	var n int64
	err := s.writeQuiet(ctx, "prune deliveries", func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
			WHERE (state = 'sent' AND created_at < ?) OR (state = 'dead' AND created_at < ?) LIMIT ?)`,
			ms(sentBefore), ms(deadBefore), limit)
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		_, err = tx.ExecContext(ctx, "DELETE FROM fanouts WHERE done_at IS NOT NULL AND done_at < ?", ms(sentBefore))
		return err
	})
	return int(n), err
}

// AddConfirmedSubscribers adds many confirmed subscribers in one
// transaction (an operator's import, a benchmark), skipping addresses
// already subscribed. It returns how many it added.
func (s *Store) AddConfirmedSubscribers(ctx context.Context, list []NewSubscriber, actor string) (int, error) {
	for i := range list {
		if err := list[i].Validate(); err != nil {
			return 0, fmt.Errorf("subscriber %d: %w", i+1, err)
		}
	}
	added := 0
	err := s.writeQuiet(ctx, "import subscribers", func(tx *sql.Tx) error {
		now := ms(s.Now())
		for _, n := range list {
			address, secret := strings.ToLower(n.Email), ""
			if n.Channel == ChannelWebhook {
				address, secret = n.URL, NewWebhookSecret()
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO subscribers(channel, address, email, format, manage_token, secret, created_at, updated_at, confirmed_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(channel, address) DO NOTHING`,
				n.Channel, address, n.Email, n.Format, newToken(), secret, now, now, now)
			if err != nil {
				return err
			}
			if k, _ := r.RowsAffected(); k == 0 {
				continue
			}
			added++
			if len(n.Components)+len(n.Journeys) > 0 {
				id, err := r.LastInsertId()
				if err != nil {
					return err
				}
				if err := s.setScopes(ctx, tx, id, n.Components, n.Journeys); err != nil {
					return err
				}
			}
		}
		return s.audit(ctx, tx, actor, "subscriber.import", "", fmt.Sprintf("%d added", added))
	})
	return added, err
}

// RetryDelivery gives a dead delivery one more attempt, due now, under the
// same key (so the same Message-ID or webhook-id): for after an operator
// fixed what killed it. If that attempt fails it is dead again with the new
// reason; retries of its own follow only while it is younger than the
// channel's maximum age. Returns ErrNotFound for an unknown delivery and
// ErrConflict for one that is not dead, or whose subscriber is disabled or
// no longer confirmed.
func (s *Store) RetryDelivery(ctx context.Context, id int64, actor string) error {
	return s.writeQuiet(ctx, "retry delivery", func(tx *sql.Tx) error {
		var state DeliveryState
		var subID int64
		var confirmed, disabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT d.state, d.subscriber_id, s.confirmed_at, s.disabled_at FROM deliveries d
			JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = ?`, id).Scan(&state, &subID, &confirmed, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch {
		case state != DeliveryDead:
			return fmt.Errorf("delivery %d is %s, not dead: %w", id, state, ErrConflict)
		case disabled.Valid:
			return fmt.Errorf("delivery %d: its webhook endpoint is disabled: %w", id, ErrConflict)
		case !confirmed.Valid:
			return fmt.Errorf("delivery %d: its subscriber is not confirmed: %w", id, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'retrying', next_attempt_at = ?, lease_until = NULL WHERE id = ?`,
			ms(s.Now()), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "delivery.retry", fmt.Sprint(id), fmt.Sprintf("subscriber %d", subID))
	})
}
