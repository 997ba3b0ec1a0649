package data

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// span is a status that holds from at until the next change.
type span struct {
	status ComponentStatus
	at     time.Time
}

// uptimeCache keeps the closed days of the uptime window between snapshots.
// A closed day (any day before today) only changes if a status change is
// recorded with a time before today began, which the store never does by
// itself; so a snapshot recomputes only today from today's changes, and the
// window's other days once a day. Its fields are guarded by mu.
type uptimeCache struct {
	mu     sync.Mutex
	start  time.Time // first day of the window
	today  time.Time // the open day; closed days end where it begins
	days   int
	loc    string
	seq    int64                  // the newest history row the closed days were computed with
	closed map[string][]DayUptime // days-1 closed days by component, for every component with history
	open   map[string]span        // the status in force when today began, by component
}

// readUptime fills snap.Uptime with days days from start for every non-group
// component of snap, up to now.
func (s *Store) readUptime(ctx context.Context, tx *sql.Tx, snap *Snapshot, start time.Time, days int, loc *time.Location, now time.Time) error {
	y, m, d := start.In(loc).Date()
	today := time.Date(y, m, d+days-1, 0, 0, 0, 0, loc)
	c := &s.uptime
	c.mu.Lock()
	defer c.mu.Unlock()
	valid := c.closed != nil && c.start.Equal(start) && c.today.Equal(today) && c.days == days && c.loc == loc.String()
	if valid {
		// A change recorded since, but dated before today (another
		// process's clock, a restored backup), invalidates the closed days.
		// The unary + keeps SQLite on the rowid range (rows since seq)
		// rather than the time index (all rows before today).
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM component_status_history WHERE id > ? AND +created_at < ?",
			c.seq, ms(today)).Scan(&n); err != nil {
			return err
		}
		valid = n == 0
	}
	if !valid {
		if err := c.fill(ctx, tx, start, today, days, loc); err != nil {
			c.closed = nil
			return err
		}
	}

	// Without INDEXED BY, SQLite may prefer walking the whole table in id
	// order to sorting today's few rows.
	rows, err := tx.QueryContext(ctx, `SELECT component_id, new_status, created_at FROM component_status_history
		INDEXED BY component_status_history_time WHERE created_at >= ? ORDER BY id`, ms(today))
	if err != nil {
		return err
	}
	defer rows.Close()
	changes := map[string][]span{}
	for rows.Next() {
		var id string
		var sp span
		var at int64
		if err := rows.Scan(&id, &sp.status, &at); err != nil {
			return err
		}
		sp.at = fromMS(at)
		if _, ok := changes[id]; !ok {
			if o, ok := c.open[id]; ok {
				changes[id] = append(changes[id], o)
			}
		}
		changes[id] = append(changes[id], sp)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var buf [1]span
	n := 0
	for _, comp := range snap.Components {
		if !comp.IsGroup {
			n++
		}
	}
	all := make([]DayUptime, n*days) // one allocation for every component's days
	for _, comp := range snap.Components {
		if comp.IsGroup {
			continue
		}
		out := all[:days:days]
		all = all[days:]
		if closed, ok := c.closed[comp.ID]; ok {
			copy(out, closed)
		} else {
			for i := range days - 1 {
				out[i] = DayUptime{Date: time.Date(y, m, d+i, 0, 0, 0, 0, loc), Worst: Operational}
			}
		}
		ch, ok := changes[comp.ID]
		if !ok {
			if o, ok := c.open[comp.ID]; ok {
				buf[0] = o
				ch = buf[:]
			}
		}
		out[days-1] = dailyUptime(ch, today, 1, loc, now)[0]
		snap.Uptime[comp.ID] = out
	}
	return nil
}

// fill computes the closed days of the window [start, today) for every
// component with history, and the status each had when today began.
func (c *uptimeCache) fill(ctx context.Context, tx *sql.Tx, start, today time.Time, days int, loc *time.Location) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM component_status_history").Scan(&seq); err != nil {
		return err
	}
	spans := map[string][]span{}
	// The status each component had when the window opened.
	rows, err := tx.QueryContext(ctx, `SELECT h.component_id, h.new_status, h.created_at FROM component_status_history h
		JOIN (SELECT MAX(id) AS id FROM component_status_history WHERE created_at < ? GROUP BY component_id) last ON last.id = h.id`, ms(start))
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var sp span
		var at int64
		if err := rows.Scan(&id, &sp.status, &at); err != nil {
			rows.Close()
			return err
		}
		sp.at = fromMS(at)
		spans[id] = append(spans[id], sp)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT component_id, new_status, created_at FROM component_status_history
		INDEXED BY component_status_history_time WHERE created_at >= ? AND created_at < ? ORDER BY id`, ms(start), ms(today))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sp span
		var at int64
		if err := rows.Scan(&id, &sp.status, &at); err != nil {
			return err
		}
		sp.at = fromMS(at)
		spans[id] = append(spans[id], sp)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	c.closed = make(map[string][]DayUptime, len(spans))
	c.open = make(map[string]span, len(spans))
	for id, sp := range spans {
		c.closed[id] = dailyUptime(sp, start, days-1, loc, today)
		c.open[id] = sp[len(sp)-1]
	}
	c.start, c.today, c.days, c.loc, c.seq = start, today, days, loc.String(), seq
	return nil
}

// dailyUptime turns a component's status changes (oldest first; the first may
// predate start) into one DayUptime per day from start, for days days. Time
// before the first change or after now has no data.
func dailyUptime(changes []span, start time.Time, days int, loc *time.Location, now time.Time) []DayUptime {
	out := make([]DayUptime, days)
	y, m, d := start.In(loc).Date()
	bounds := make([]time.Time, days+1) // bounds[i] is the start of day i
	for i := range bounds {
		bounds[i] = time.Date(y, m, d+i, 0, 0, 0, 0, loc)
	}
	for i := range out {
		out[i] = DayUptime{Date: bounds[i], Worst: Operational}
	}
	// One sweep over the changes: each status holds from its change to the
	// next (or now), and is split across the days it spans.
	day := 0
	for k, c := range changes {
		from, to := c.at, now
		if k+1 < len(changes) {
			to = changes[k+1].at
		}
		if from.Before(bounds[0]) {
			from = bounds[0]
		}
		if to.After(bounds[days]) {
			to = bounds[days]
		}
		for day > 0 && from.Before(bounds[day]) {
			day-- // changes are in order; this only guards equal timestamps
		}
		for day < days && !from.Before(bounds[day+1]) {
			day++
		}
		for i := day; i < days && to.After(from); i++ {
			end := to
			if end.After(bounds[i+1]) {
				end = bounds[i+1]
			}
			if end.After(from) {
				addSpan(&out[i], c.status, end.Sub(from))
			}
			from = end
		}
	}
	for i := range out {
		if out[i].Known > 0 {
			out[i].HasData = true
			down := out[i].Downtime()
			out[i].Uptime = 1 - down/float64(out[i].Known)
		}
	}
	return out
}

func addSpan(day *DayUptime, status ComponentStatus, dur time.Duration) {
	day.Known += dur
	day.Worst = day.Worst.Worse(status)
	switch status {
	case DegradedPerformance:
		day.Degraded += dur
	case PartialOutage:
		day.Partial += dur
	case MajorOutage:
		day.Major += dur
	case UnderMaintenance:
		day.Maintenance += dur
	}
}
