package data

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// RecordProbeResults stores a batch of results and folds them into the
// per-minute and per-day aggregates, in one transaction. Days start at
// midnight in loc (UTC if nil), the time zone the page shows days in.
//
// It does not signal subscribers: results change no status by themselves
// (the probe engine writes status through its own calls), and the page picks
// up measured uptime on its periodic refresh.
func (s *Store) RecordProbeResults(ctx context.Context, rs []ProbeResult, loc *time.Location) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(rs) == 0 {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return err
		}
	}
	minutes := map[aggKey]*agg{}
	days := map[aggKey]*agg{}
	for i := range rs {
		r := &rs[i]
		m := r.At.UTC().Truncate(time.Minute)
		y, mo, d := r.At.In(loc).Date()
		day := time.Date(y, mo, d, 0, 0, 0, 0, loc)
		for _, g := range []struct {
			into  map[aggKey]*agg
			start time.Time
		}{{minutes, m}, {days, day}} {
			k := aggKey{r.ProbeID, r.Region, ms(g.start)}
			a := g.into[k]
			if a == nil {
				a = &agg{component: r.ComponentID}
				g.into[k] = a
			}
			a.component = r.ComponentID
			a.add(r)
		}
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record probe results: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	ins, err := tx.PrepareContext(ctx, `INSERT INTO probe_results(probe_id, component_id, region, at, duration_us, outcome, maintenance, reason, step)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("record probe results: %w", err)
	}
	defer ins.Close()
	for i := range rs {
		r := &rs[i]
		if _, err := ins.ExecContext(ctx, r.ProbeID, r.ComponentID, r.Region, ms(r.At), r.Duration.Microseconds(),
			string(r.Outcome), r.Maintenance, r.Reason, r.Step); err != nil {
			return fmt.Errorf("record probe results: %w", err)
		}
	}
	if err := upsertAggregates(ctx, tx, "probe_minutes", "minute", minutes); err != nil {
		return fmt.Errorf("record probe results: %w", err)
	}
	if err := upsertAggregates(ctx, tx, "probe_days", "day", days); err != nil {
		return fmt.Errorf("record probe results: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record probe results: commit: %w", err)
	}
	return nil
}

type aggKey struct {
	probe, region string
	start         int64
}

type agg struct {
	component                               string
	total, good, degraded, down, maintained int64
	hist                                    LatencyHistogram
}

func (a *agg) add(r *ProbeResult) {
	if r.Maintenance {
		a.maintained++
		return
	}
	a.total++
	switch r.Outcome {
	case ProbeUp:
		a.good++
	case ProbeDegraded:
		a.good++
		a.degraded++
	case ProbeDown:
		a.down++
	}
	if r.Outcome.Good() {
		a.hist.Add(r.Duration)
	}
}

// upsertAggregates merges each group into its row. The histogram is merged
// in Go (SQLite cannot add blobs), so each row is read first; the lookup is
// by primary key inside the write transaction, so nothing can change it in
// between.
func upsertAggregates(ctx context.Context, tx *sql.Tx, table, col string, groups map[aggKey]*agg) error {
	keys := make([]aggKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	// A stable order keeps B-tree writes local.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].probe != keys[j].probe {
			return keys[i].probe < keys[j].probe
		}
		if keys[i].region != keys[j].region {
			return keys[i].region < keys[j].region
		}
		return keys[i].start < keys[j].start
	})
	sel, err := tx.PrepareContext(ctx, "SELECT total, good, degraded, down, maintenance, hist FROM "+table+
		" WHERE probe_id = ? AND region = ? AND "+col+" = ?")
	if err != nil {
		return err
	}
	defer sel.Close()
	put, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO "+table+"(probe_id, region, "+col+
		", component_id, total, good, degraded, down, maintenance, p50_us, p95_us, p99_us, hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer put.Close()
	for _, k := range keys {
		a := groups[k]
		var old agg
		var blob []byte
		err := sel.QueryRowContext(ctx, k.probe, k.region, k.start).Scan(&old.total, &old.good, &old.degraded, &old.down, &old.maintained, &blob)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if err := old.hist.UnmarshalBinary(blob); err != nil {
				return fmt.Errorf("%s %s/%s: %w", table, k.probe, k.region, err)
			}
			a.total += old.total
			a.good += old.good
			a.degraded += old.degraded
			a.down += old.down
			a.maintained += old.maintained
			a.hist.Merge(&old.hist)
		}
		blob, _ = a.hist.MarshalBinary() // never fails
		if _, err := put.ExecContext(ctx, k.probe, k.region, k.start, a.component, a.total, a.good, a.degraded, a.down, a.maintained,
			a.hist.Quantile(0.50).Microseconds(), a.hist.Quantile(0.95).Microseconds(), a.hist.Quantile(0.99).Microseconds(), blob); err != nil {
			return err
		}
	}
	return nil
}

// ProbeRetention says how long probe data is kept.
type ProbeRetention struct {
	ResultsBefore    time.Time // raw results older than this go
	AggregatesBefore time.Time // minute and day aggregates starting before this go
	Batch            int       // rows per table per call; 1000 if 0
}

// PruneProbeData deletes at most Batch rows from each probe table that are
// older than the retention, in short transactions of their own, and returns
// how many it deleted. Call it again while it returns a full batch; a writer
// waits at most one short transaction.
func (s *Store) PruneProbeData(ctx context.Context, r ProbeRetention) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if r.Batch <= 0 {
		r.Batch = 1000
	}
	var total int
	stmts := []struct {
		q      string
		before time.Time
	}{
		// Rows are inserted in time order (roughly: a batch spans a
		// second), so the oldest rowids are the oldest results.
		{"DELETE FROM probe_results WHERE rowid IN (SELECT rowid FROM probe_results WHERE at < ? ORDER BY rowid LIMIT ?)", r.ResultsBefore},
		{"DELETE FROM probe_minutes WHERE (probe_id, region, minute) IN (SELECT probe_id, region, minute FROM probe_minutes WHERE minute < ? LIMIT ?)", r.AggregatesBefore},
		{"DELETE FROM probe_days WHERE (probe_id, region, day) IN (SELECT probe_id, region, day FROM probe_days WHERE day < ? LIMIT ?)", r.AggregatesBefore},
	}
	for _, st := range stmts {
		if st.before.IsZero() {
			continue
		}
		res, err := s.writer.ExecContext(ctx, st.q, ms(st.before), r.Batch)
		if err != nil {
			return total, fmt.Errorf("prune probe data: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune probe data: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// ProbeMinutes returns, per minute with runs, the good and total runs of a
// component's probes or of one probe, over all regions, oldest first. It is
// what SLOs are computed from. Returns an *InvalidError unless exactly one of
// ComponentID and ProbeID is set.
func (s *Store) ProbeMinutes(ctx context.Context, q ProbeRange) ([]ProbeMinute, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	col, id, err := q.subject()
	if err != nil {
		return nil, err
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT minute, SUM(good), SUM(total) FROM probe_minutes WHERE "+col+
		" = ? AND minute >= ? AND minute < ? GROUP BY minute HAVING SUM(total) > 0 ORDER BY minute", id, ms(q.From), ms(q.To))
	if err != nil {
		return nil, fmt.Errorf("read probe minutes of %s: %w", id, err)
	}
	defer rows.Close()
	var out []ProbeMinute
	for rows.Next() {
		var m ProbeMinute
		var at int64
		if err := rows.Scan(&at, &m.Good, &m.Total); err != nil {
			return nil, fmt.Errorf("read probe minutes of %s: %w", id, err)
		}
		m.Start = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (q ProbeRange) subject() (col, id string, err error) {
	switch {
	case q.ComponentID != "" && q.ProbeID == "":
		return "component_id", q.ComponentID, nil
	case q.ProbeID != "" && q.ComponentID == "":
		return "probe_id", q.ProbeID, nil
	}
	return "", "", Invalid("range", "give a component or a probe")
}

// ProbeStatsByMinute returns the per-minute aggregates of a probe or of a
// component's probes, one row per probe, region and minute, oldest first.
func (s *Store) ProbeStatsByMinute(ctx context.Context, q ProbeRange) ([]ProbeStats, error) {
	return s.probeStats(ctx, "probe_minutes", "minute", q)
}

// ProbeStatsByDay is ProbeStatsByMinute per day.
func (s *Store) ProbeStatsByDay(ctx context.Context, q ProbeRange) ([]ProbeStats, error) {
	return s.probeStats(ctx, "probe_days", "day", q)
}

func (s *Store) probeStats(ctx context.Context, table, col string, q ProbeRange) ([]ProbeStats, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	by, id, err := q.subject()
	if err != nil {
		return nil, err
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT probe_id, component_id, region, "+col+
		", total, good, degraded, down, maintenance, p50_us, p95_us, p99_us FROM "+table+" WHERE "+by+" = ? AND "+col+
		" >= ? AND "+col+" < ? ORDER BY "+col+", probe_id, region", id, ms(q.From), ms(q.To))
	if err != nil {
		return nil, fmt.Errorf("read probe stats of %s: %w", id, err)
	}
	defer rows.Close()
	var out []ProbeStats
	for rows.Next() {
		var p ProbeStats
		var at, p50, p95, p99 int64
		if err := rows.Scan(&p.ProbeID, &p.ComponentID, &p.Region, &at, &p.Total, &p.Good, &p.Degraded, &p.Down, &p.Maintenance,
			&p50, &p95, &p99); err != nil {
			return nil, fmt.Errorf("read probe stats of %s: %w", id, err)
		}
		p.Start = fromMS(at)
		p.P50, p.P95, p.P99 = time.Duration(p50)*time.Microsecond, time.Duration(p95)*time.Microsecond, time.Duration(p99)*time.Microsecond
		out = append(out, p)
	}
	return out, rows.Err()
}

// MeasuredUptime returns, for every component with probe runs in the window,
// one MeasuredDay per day from the day containing from, for days days, oldest
// first. Days start at midnight in loc, which must be the time zone the
// results were recorded with (RecordProbeResults). Components without runs
// are absent: their uptime comes from their status history.
func (s *Store) MeasuredUptime(ctx context.Context, from time.Time, days int, loc *time.Location) (map[string][]MeasuredDay, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return measuredUptime(ctx, s.reader, from, days, loc)
}

// measuredUptime is MeasuredUptime on q, so that Snapshot can read it in
// its own transaction.
func measuredUptime(ctx context.Context, q querier, from time.Time, days int, loc *time.Location) (map[string][]MeasuredDay, error) {
	if loc == nil {
		loc = time.UTC
	}
	if days <= 0 {
		return map[string][]MeasuredDay{}, nil
	}
	y, m, d := from.In(loc).Date()
	starts := make([]time.Time, days+1)
	index := make(map[int64]int, days)
	for i := range starts {
		starts[i] = time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if i < days {
			index[ms(starts[i])] = i
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT component_id, day, SUM(good), SUM(total) FROM probe_days
		WHERE day >= ? AND day < ? GROUP BY component_id, day`, ms(starts[0]), ms(starts[days]))
	if err != nil {
		return nil, fmt.Errorf("read measured uptime: %w", err)
	}
	defer rows.Close()
	out := map[string][]MeasuredDay{}
	for rows.Next() {
		var comp string
		var day, good, total int64
		if err := rows.Scan(&comp, &day, &good, &total); err != nil {
			return nil, fmt.Errorf("read measured uptime: %w", err)
		}
		i, ok := index[day]
		if !ok {
			continue // recorded with another time zone's midnights
		}
		ds := out[comp]
		if ds == nil {
			ds = make([]MeasuredDay, days)
			for j := range ds {
				ds[j].Date = starts[j]
			}
			out[comp] = ds
		}
		ds[i].Good += good
		ds[i].Total += total
	}
	return out, rows.Err()
}

// LatestProbeResults returns a probe's newest raw results, newest first, at
// most limit.
func (s *Store) LatestProbeResults(ctx context.Context, probeID string, limit int) ([]ProbeResult, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT probe_id, component_id, region, at, duration_us, outcome, maintenance, reason, step
		FROM probe_results WHERE probe_id = ? ORDER BY at DESC, rowid DESC LIMIT ?`, probeID, limit)
	if err != nil {
		return nil, fmt.Errorf("read results of %s: %w", probeID, err)
	}
	defer rows.Close()
	var out []ProbeResult
	for rows.Next() {
		var r ProbeResult
		var at, dur int64
		if err := rows.Scan(&r.ProbeID, &r.ComponentID, &r.Region, &at, &dur, &r.Outcome, &r.Maintenance, &r.Reason, &r.Step); err != nil {
			return nil, fmt.Errorf("read results of %s: %w", probeID, err)
		}
		r.At, r.Duration = fromMS(at), time.Duration(dur)*time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountProbeResults counts the raw results stored.
func (s *Store) CountProbeResults(ctx context.Context) (int64, error) {
	var n int64
	if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM probe_results").Scan(&n); err != nil {
		return 0, fmt.Errorf("count probe results: %w", err)
	}
	return n, nil
}

// ComponentsInMaintenance returns the ids of the components that a
// maintenance covers at t: one in progress or verifying, one scheduled whose
// window contains t, or one that holds a maintenance input.
func (s *Store) ComponentsInMaintenance(ctx context.Context, t time.Time) (map[string]bool, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT ic.component_id FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id
		WHERE i.kind = 'maintenance' AND (i.status IN ('in_progress', 'verifying')
			OR (i.status = 'scheduled' AND i.scheduled_for <= ? AND i.scheduled_until > ?))
		UNION SELECT component_id FROM component_inputs WHERE source = 'maintenance'`, ms(t), ms(t))
	if err != nil {
		return nil, fmt.Errorf("read components in maintenance: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read components in maintenance: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// ComponentIDs returns the ids of the components on the page that are not
// groups.
func (s *Store) ComponentIDs(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT id FROM components WHERE archived_at IS NULL AND is_group = 0 ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list components: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list components: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
