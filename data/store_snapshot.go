package data

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Snapshot is everything the public page and API show, read in one
// consistent transaction.
type Snapshot struct {
	TakenAt      time.Time
	Journeys     []Journey   // in page order, archived ones left out
	Components   []Component // in page order (journey, then position), archived ones left out
	Incidents    []Incident  // open ones and recent ones, newest first
	Maintenances []Incident  // not completed and recent ones, newest first
	// Uptime holds, for each non-group component, one entry per day of the
	// window, oldest first.
	Uptime map[string][]DayUptime
}

// SnapshotOptions bounds what Snapshot reads.
type SnapshotOptions struct {
	Days     int            // length of the uptime window and of "recent"; 90 if 0
	Location *time.Location // where days begin; UTC if nil
	Recent   int            // keep at least this many newest incidents and maintenances; 50 if 0
	Limit    int            // never more than this many of either; 1000 if 0
}

// Snapshot reads the state the public page is rendered from.
func (s *Store) Snapshot(ctx context.Context, o SnapshotOptions) (*Snapshot, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if o.Days <= 0 {
		o.Days = 90
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Recent <= 0 {
		o.Recent = 50
	}
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	tx, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep
	now := s.Now()
	snap := &Snapshot{TakenAt: now.UTC(), Uptime: map[string][]DayUptime{}}
	y, m, d := now.In(o.Location).Date()
	windowStart := time.Date(y, m, d-(o.Days-1), 0, 0, 0, 0, o.Location)

	if err := s.readCatalog(ctx, tx, snap); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	cutoff := ms(windowStart)
	snap.Incidents, err = loadIncidents(ctx, tx, `kind = 'incident' AND (status NOT IN ('resolved', 'postmortem') OR created_at >= ?
		OR id IN (SELECT id FROM incidents WHERE kind = 'incident' ORDER BY created_at DESC LIMIT ?))
		AND id IN (SELECT id FROM incidents WHERE kind = 'incident' ORDER BY status IN ('resolved', 'postmortem'), created_at DESC LIMIT ?)`,
		cutoff, o.Recent, o.Limit)
	if err != nil {
		return nil, fmt.Errorf("read snapshot incidents: %w", err)
	}
	snap.Maintenances, err = loadIncidents(ctx, tx, `kind = 'maintenance' AND (status != 'completed' OR scheduled_until >= ?
		OR id IN (SELECT id FROM incidents WHERE kind = 'maintenance' ORDER BY created_at DESC LIMIT ?))
		AND id IN (SELECT id FROM incidents WHERE kind = 'maintenance' ORDER BY status = 'completed', created_at DESC LIMIT ?)`,
		cutoff, o.Recent, o.Limit)
	if err != nil {
		return nil, fmt.Errorf("read snapshot maintenance: %w", err)
	}
	if err := s.readUptime(ctx, tx, snap, windowStart, o.Days, o.Location, now); err != nil {
		return nil, fmt.Errorf("read snapshot uptime: %w", err)
	}
	return snap, nil
}

func (s *Store) readCatalog(ctx context.Context, tx *sql.Tx, snap *Snapshot) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, name, description, position, created_at, updated_at FROM journeys WHERE archived_at IS NULL ORDER BY position, id")
	if err != nil {
		return err
	}
	for rows.Next() {
		var j Journey
		var c, u int64
		if err := rows.Scan(&j.ID, &j.Name, &j.Description, &j.Position, &c, &u); err != nil {
			rows.Close()
			return err
		}
		j.CreatedAt, j.UpdatedAt = fromMS(c), fromMS(u)
		snap.Journeys = append(snap.Journeys, j)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT c.id, c.journey_id, COALESCE(c.group_id, ''), c.is_group, c.name, c.description, c.position,
		c.showcase, c.only_show_if_degraded, c.status, c.status_source, c.status_reason, COALESCE(c.status_changed_at, c.created_at),
		c.created_at, c.updated_at
		FROM components c JOIN journeys j ON j.id = c.journey_id
		WHERE c.archived_at IS NULL AND j.archived_at IS NULL ORDER BY j.position, c.position, c.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Component
		var cr, up, sc int64
		if err := rows.Scan(&c.ID, &c.JourneyID, &c.GroupID, &c.IsGroup, &c.Name, &c.Description, &c.Position,
			&c.Showcase, &c.OnlyShowIfDegraded, &c.Status, &c.StatusSource, &c.StatusReason, &sc, &cr, &up); err != nil {
			return err
		}
		c.CreatedAt, c.UpdatedAt, c.StatusChangedAt = fromMS(cr), fromMS(up), fromMS(sc)
		snap.Components = append(snap.Components, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// A group shows the worst status of its children.
	idx := map[string]int{}
	for i, c := range snap.Components {
		if c.IsGroup {
			idx[c.ID] = i
			snap.Components[i].Status = Operational
			snap.Components[i].StatusSource, snap.Components[i].StatusReason = "", ""
		}
	}
	for _, c := range snap.Components {
		if i, ok := idx[c.GroupID]; ok && !c.IsGroup {
			g := &snap.Components[i]
			if c.Status.Severity() > g.Status.Severity() {
				g.StatusSource, g.StatusReason, g.StatusChangedAt = c.StatusSource, c.Name+": "+c.StatusReason, c.StatusChangedAt
			}
			g.Status = g.Status.Worse(c.Status)
			if c.UpdatedAt.After(g.UpdatedAt) {
				g.UpdatedAt = c.UpdatedAt
			}
		}
	}
	return nil
}

type span struct {
	status ComponentStatus
	at     time.Time
}

func (s *Store) readUptime(ctx context.Context, tx *sql.Tx, snap *Snapshot, start time.Time, days int, loc *time.Location, now time.Time) error {
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
		WHERE created_at >= ? ORDER BY id`, ms(start))
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
	for _, c := range snap.Components {
		if c.IsGroup {
			continue
		}
		snap.Uptime[c.ID] = dailyUptime(spans[c.ID], start, days, loc, now)
	}
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
			out[i].Uptime = 1 - out[i].Downtime()/float64(out[i].Known)
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
