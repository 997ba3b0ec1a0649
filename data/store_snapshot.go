package data

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Snapshot is everything the public page and API show, read in one
// consistent transaction.
type Snapshot struct {
	TakenAt    time.Time
	Journeys   []Journey   // in page order, archived ones left out
	Components []Component // in page order (journey, then position), archived ones left out
	// Incidents and Maintenances are the recent ones, newest first: open
	// ones, those created or updated in the uptime window (a maintenance
	// also when scheduled to end in it), and at least the newest
	// SnapshotOptions.Recent. Older ones are read one at a time with
	// Store.Incident.
	Incidents    []Incident
	Maintenances []Incident
	// Uptime holds, for each non-group component, one entry per day of the
	// window, oldest first.
	Uptime map[string][]DayUptime
	// IDs are the ids of the incidents and maintenances added after
	// SnapshotOptions.IDsAfter, in the order they were added; IDsSeq is
	// what to pass as IDsAfter next time to learn only of newer ones.
	IDs    []string
	IDsSeq int64
}

// SnapshotOptions bounds what Snapshot reads.
type SnapshotOptions struct {
	Days     int            // length of the uptime window and of "recent"; 90 if 0
	Location *time.Location // where days begin; UTC if nil
	Recent   int            // keep at least this many newest incidents and maintenances; 50 if 0
	Limit    int            // never more than this many of either; 1000 if 0
	IDsAfter int64          // list in Snapshot.IDs the incidents added after this position; 0 lists all
}

// Snapshot reads the state the public page is rendered from. Its cost grows
// with the number of components and of recent incidents, not with the
// length of the history: the uptime window's closed days are kept between
// calls, and incidents are found through indexes.
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
	// SQLite keeps the temporary B-trees of UNION and ORDER BY in files by
	// default; creating and removing them costs ten times the query itself.
	// The setting is the connection's and stays with it.
	if _, err := tx.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	now := s.Now()
	snap := &Snapshot{TakenAt: now.UTC(), Uptime: map[string][]DayUptime{}}
	y, m, d := now.In(o.Location).Date()
	windowStart := time.Date(y, m, d-(o.Days-1), 0, 0, 0, 0, o.Location)

	if err := s.readCatalog(ctx, tx, snap); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	cutoff := ms(windowStart)
	if snap.Incidents, err = recentIncidents(ctx, tx, KindIncident, cutoff, o.Recent, o.Limit); err != nil {
		return nil, fmt.Errorf("read snapshot incidents: %w", err)
	}
	if snap.Maintenances, err = recentIncidents(ctx, tx, KindMaintenance, cutoff, o.Recent, o.Limit); err != nil {
		return nil, fmt.Errorf("read snapshot maintenance: %w", err)
	}
	if snap.IDs, snap.IDsSeq, err = incidentIDs(ctx, tx, o.IDsAfter); err != nil {
		return nil, fmt.Errorf("read snapshot incident ids: %w", err)
	}
	if err := s.readUptime(ctx, tx, snap, windowStart, o.Days, o.Location, now); err != nil {
		return nil, fmt.Errorf("read snapshot uptime: %w", err)
	}
	// Where probes measured a day, the bar shows what they measured.
	measured, err := measuredUptime(ctx, tx, windowStart, o.Days, o.Location)
	if err != nil {
		return nil, fmt.Errorf("read snapshot measured uptime: %w", err)
	}
	for id, days := range snap.Uptime {
		if md := measured[id]; md != nil {
			ApplyMeasuredUptime(days, md)
		}
	}
	return snap, nil
}

// recentIncidents loads the recent incidents or maintenances (see
// Snapshot.Incidents), open ones first if there are more than limit. Each
// branch of the union is a range of an index from migration 0007, so the
// cost follows the number of recent rows.
func recentIncidents(ctx context.Context, tx *sql.Tx, kind Kind, cutoff int64, recent, limit int) ([]Incident, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM incidents WHERE id IN (
			SELECT id FROM incidents WHERE kind = ?1 AND status NOT IN ('resolved', 'postmortem', 'completed')
			UNION SELECT id FROM incidents WHERE kind = ?1 AND created_at >= ?2
			UNION SELECT id FROM incidents WHERE kind = ?1 AND updated_at >= ?2
			UNION SELECT id FROM incidents WHERE kind = ?1 AND scheduled_until >= ?2
			UNION SELECT id FROM (SELECT id FROM incidents WHERE kind = ?1 ORDER BY created_at DESC LIMIT ?3))
		ORDER BY status IN ('resolved', 'postmortem', 'completed'), created_at DESC LIMIT ?4`, kind, cutoff, recent, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	return loadIncidents(ctx, tx, "id IN (SELECT value FROM json_each(?))", string(list))
}

// incidentIDs lists the incidents and maintenances added after position
// after (their rowid: rows are never deleted, so it only grows) and returns
// the newest position.
func incidentIDs(ctx context.Context, tx *sql.Tx, after int64) ([]string, int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT rowid, id FROM incidents WHERE rowid > ? ORDER BY rowid", after)
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	var ids []string
	seq := after
	for rows.Next() {
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, after, err
		}
		ids = append(ids, id)
	}
	return ids, seq, rows.Err()
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
