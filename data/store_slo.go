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

// maxSLOBatch bounds the rows of one multi-row INSERT, under SQLite's limit
// of 32,766 bound parameters (4 per row).
const maxSLOBatch = 500

// AddSLOMinutes adds events to an SLO's minutes, all in one transaction:
// pushed events for a minute add to what the minute had. Minutes are
// truncated to the minute. Returns an *InvalidError, and stores nothing, if
// one of them is invalid.
func (s *Store) AddSLOMinutes(ctx context.Context, sloID string, mins []SLOMinute) error {
	return s.upsertSLOMinutes(ctx, sloID, mins, "good = good + excluded.good, total = total + excluded.total")
}

// PutSLOMinutes replaces an SLO's minutes, all in one transaction: a feed
// that reads a minute again (Prometheus, probe results) states all of it.
// Returns an *InvalidError, and stores nothing, if one of them is invalid.
func (s *Store) PutSLOMinutes(ctx context.Context, sloID string, mins []SLOMinute) error {
	return s.upsertSLOMinutes(ctx, sloID, mins, "good = excluded.good, total = excluded.total")
}

func (s *Store) upsertSLOMinutes(ctx context.Context, sloID string, mins []SLOMinute, onConflict string) error {
	if err := ValidateID("slo", sloID); err != nil {
		return err
	}
	for _, m := range mins {
		if err := m.Validate(); err != nil {
			return err
		}
	}
	if len(mins) == 0 {
		return nil
	}
	return s.write(ctx, "store minutes of SLO "+sloID, func(tx *sql.Tx) error {
		for start := 0; start < len(mins); start += maxSLOBatch {
			batch := mins[start:min(start+maxSLOBatch, len(mins))]
			var q strings.Builder
			q.WriteString("INSERT INTO slo_minutes(slo_id, minute, good, total) VALUES ")
			args := make([]any, 0, 4*len(batch))
			for i, m := range batch {
				if i > 0 {
					q.WriteByte(',')
				}
				q.WriteString("(?, ?, ?, ?)")
				args = append(args, sloID, ms(m.Start.Truncate(time.Minute)), m.Good, m.Total)
			}
			q.WriteString(" ON CONFLICT (slo_id, minute) DO UPDATE SET " + onConflict)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// SLOMinutes returns an SLO's minutes from from (inclusive) to to
// (exclusive), oldest first.
func (s *Store) SLOMinutes(ctx context.Context, sloID string, from, to time.Time) ([]SLOMinute, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT minute, good, total FROM slo_minutes WHERE slo_id = ? AND minute >= ? AND minute < ? ORDER BY minute",
		sloID, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("read minutes of SLO %s: %w", sloID, err)
	}
	defer rows.Close()
	var out []SLOMinute
	for rows.Next() {
		var m SLOMinute
		var at int64
		if err := rows.Scan(&at, &m.Good, &m.Total); err != nil {
			return nil, fmt.Errorf("read minutes of SLO %s: %w", sloID, err)
		}
		m.Start = fromMS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PruneSLOMinutes deletes an SLO's minutes older than before, at most batch
// rows per transaction so that the writer is never held long, and returns
// how many it deleted.
func (s *Store) PruneSLOMinutes(ctx context.Context, sloID string, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = 10000
	}
	total := 0
	for {
		var n int64
		err := s.write(ctx, "prune SLO minutes", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM slo_minutes WHERE slo_id = ? AND minute IN
				(SELECT minute FROM slo_minutes WHERE slo_id = ? AND minute < ? ORDER BY minute LIMIT ?)`, sloID, sloID, ms(before), batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}

// PutSLOFigures stores the current figures of SLOs, all in one transaction,
// and removes the figures of every SLO not in keep (nil keeps all others):
// an SLO dropped from the configuration leaves the page.
func (s *Store) PutSLOFigures(ctx context.Context, figs []SLOFigures, keep []string) error {
	for _, f := range figs {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	return s.write(ctx, "store SLO figures", func(tx *sql.Tx) error {
		if keep != nil {
			ids, _ := json.Marshal(keep) // a []string always encodes
			if _, err := tx.ExecContext(ctx, "DELETE FROM slo_figures WHERE slo_id NOT IN (SELECT value FROM json_each(?))", string(ids)); err != nil {
				return err
			}
		}
		for _, f := range figs {
			if err := putSLOFiguresTx(ctx, tx, f); err != nil {
				return err
			}
		}
		return nil
	})
}

func putSLOFiguresTx(ctx context.Context, tx *sql.Tx, f SLOFigures) error {
	burn, err := json.Marshal(burnJSON(f.Burn))
	if err != nil {
		return err
	}
	var sli, remaining sql.NullFloat64
	if f.HasData {
		sli = sql.NullFloat64{Float64: f.SLI, Valid: true}
		remaining = sql.NullFloat64{Float64: f.BudgetRemaining, Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO slo_figures(slo_id, journey_id, name, position, objective, window_text, window_start,
		window_end, good, total, sli, budget_seconds, budget_remaining, burn, alert, alert_reason, stale, last_data_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (slo_id) DO UPDATE SET journey_id = excluded.journey_id, name = excluded.name, position = excluded.position,
		objective = excluded.objective, window_text = excluded.window_text, window_start = excluded.window_start,
		window_end = excluded.window_end, good = excluded.good, total = excluded.total, sli = excluded.sli,
		budget_seconds = excluded.budget_seconds, budget_remaining = excluded.budget_remaining, burn = excluded.burn,
		alert = excluded.alert, alert_reason = excluded.alert_reason, stale = excluded.stale,
		last_data_at = excluded.last_data_at, updated_at = excluded.updated_at`,
		f.SLOID, f.JourneyID, f.Name, f.Position, f.Objective, f.Window, ms(f.WindowStart), ms(f.WindowEnd), f.Good, f.Total,
		sli, f.BudgetTime.Seconds(), remaining, string(burn), f.Alert, f.AlertReason, f.Stale, nullMS(f.LastDataAt), ms(f.UpdatedAt))
	return err
}

// burnRateJSON is a BurnRate as stored: the window in whole seconds.
type burnRateJSON struct {
	Window int64   `json:"window_seconds"`
	Rate   float64 `json:"rate"`
	Events int64   `json:"events"`
}

func burnJSON(l []BurnRate) []burnRateJSON {
	out := make([]burnRateJSON, 0, len(l))
	for _, b := range l {
		out = append(out, burnRateJSON{Window: int64(b.Window / time.Second), Rate: b.Rate, Events: b.Events})
	}
	return out
}

// SLOFigures returns the stored figures of every SLO, by journey and
// position.
func (s *Store) SLOFigures(ctx context.Context) ([]SLOFigures, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out, err := loadSLOFigures(ctx, s.reader)
	if err != nil {
		return nil, fmt.Errorf("read SLO figures: %w", err)
	}
	return out, nil
}

func loadSLOFigures(ctx context.Context, q querier) ([]SLOFigures, error) {
	rows, err := q.QueryContext(ctx, `SELECT slo_id, journey_id, name, position, objective, window_text, window_start, window_end,
		good, total, sli, budget_seconds, budget_remaining, burn, alert, alert_reason, stale, last_data_at, updated_at
		FROM slo_figures ORDER BY journey_id, position, slo_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SLOFigures
	for rows.Next() {
		var f SLOFigures
		var ws, we, up int64
		var sli, remaining sql.NullFloat64
		var budget float64
		var burn string
		var last sql.NullInt64
		if err := rows.Scan(&f.SLOID, &f.JourneyID, &f.Name, &f.Position, &f.Objective, &f.Window, &ws, &we, &f.Good, &f.Total,
			&sli, &budget, &remaining, &burn, &f.Alert, &f.AlertReason, &f.Stale, &last, &up); err != nil {
			return nil, err
		}
		f.WindowStart, f.WindowEnd, f.UpdatedAt, f.LastDataAt = fromMS(ws), fromMS(we), fromMS(up), fromNullMS(last)
		f.HasData = sli.Valid
		f.SLI, f.BudgetRemaining = sli.Float64, remaining.Float64
		f.BudgetTime = time.Duration(budget * float64(time.Second))
		var bj []burnRateJSON
		if err := json.Unmarshal([]byte(burn), &bj); err != nil {
			return nil, fmt.Errorf("SLO %s burn rates: %w", f.SLOID, err)
		}
		for _, b := range bj {
			f.Burn = append(f.Burn, BurnRate{Window: time.Duration(b.Window) * time.Second, Rate: b.Rate, Events: b.Events})
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SetSLOAlert records that an SLO started, changed or stopped burning, in
// one transaction: the SLO's automatic input on each of its components (set
// to b.Status while burning, cleared on recovery), with history rows and
// status events where a component's status changes, the SLO's figures, and
// an slo.burn or slo.recovered event carrying b. b.Components empty means
// every component of the journey that is not a group. It returns the status
// changes made. Returns ErrNotFound for an unknown journey or component.
func (s *Store) SetSLOAlert(ctx context.Context, b SLOBurn, fig SLOFigures) ([]StatusChange, error) {
	if err := ValidateID("slo", b.SLOID); err != nil {
		return nil, err
	}
	if err := fig.Validate(); err != nil {
		return nil, err
	}
	kind := EventSLOBurn
	switch b.Severity {
	case SLOFastBurn, SLOSlowBurn:
		if !b.Status.Valid() || b.Status == Operational {
			return nil, Invalid("status", "a burn must set a status other than operational, not %q", b.Status)
		}
	case "":
		kind, b.Status = EventSLORecovered, Operational
	default:
		return nil, Invalid("severity", "%q is not fast, slow or empty", b.Severity)
	}
	b.Reason = CleanReason(b.Reason)
	var out []StatusChange
	err := s.write(ctx, "record burn of SLO "+b.SLOID, func(tx *sql.Tx) error {
		out = out[:0]
		if err := tx.QueryRowContext(ctx, "SELECT name FROM journeys WHERE id = ?", b.JourneyID).Scan(&b.JourneyName); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("journey %q: %w", b.JourneyID, ErrNotFound)
			}
			return err
		}
		comps := b.Components
		if len(comps) == 0 {
			var err error
			if comps, err = journeyComponentsTx(ctx, tx, b.JourneyID); err != nil {
				return err
			}
		}
		key := SLOInputKey(b.SLOID)
		for _, id := range comps {
			var ch *StatusChange
			var err error
			if b.Severity == "" {
				ch, err = s.clearInputTx(ctx, tx, id, SourceAutomatic, key, "slo", "SLO "+b.SLOName+" recovered")
			} else {
				ch, err = s.putInputTx(ctx, tx, Input{ComponentID: id, Source: SourceAutomatic, Key: key, Status: b.Status,
					Reason: b.Reason, Actor: "slo"})
			}
			if err != nil {
				return err
			}
			if ch != nil {
				out = append(out, *ch)
			}
		}
		if err := putSLOFiguresTx(ctx, tx, fig); err != nil {
			return err
		}
		b.At = s.Now().UTC()
		return s.event(ctx, tx, kind, b.SLOID, &b)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func journeyComponentsTx(ctx context.Context, tx *sql.Tx, journeyID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM components WHERE journey_id = ? AND is_group = 0 AND archived_at IS NULL ORDER BY position, id", journeyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SLOAlertInputs returns, per SLO id, the status its automatic input holds
// on any component (the worst if they differ): what the SLO said before a
// restart. SLOs without inputs are absent.
func (s *Store) SLOAlertInputs(ctx context.Context) (map[string]ComponentStatus, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	ins, err := loadInputs(ctx, s.reader, "source = 'automatic' AND key LIKE 'slo:%'")
	if err != nil {
		return nil, fmt.Errorf("read SLO inputs: %w", err)
	}
	out := map[string]ComponentStatus{}
	for _, in := range ins {
		id := strings.TrimPrefix(in.Key, "slo:")
		out[id] = out[id].Worse(in.Status)
	}
	return out, nil
}
