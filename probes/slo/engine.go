package slo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// Store is what the engine reads and writes. *data.Store satisfies it.
type Store interface {
	AddSLOMinutes(ctx context.Context, sloID string, mins []data.SLOMinute) error
	PutSLOMinutes(ctx context.Context, sloID string, mins []data.SLOMinute) error
	SLOMinutes(ctx context.Context, sloID string, from, to time.Time) ([]data.SLOMinute, error)
	PruneSLOMinutes(ctx context.Context, sloID string, before time.Time, batch int) (int, error)
	PutSLOFigures(ctx context.Context, figs []data.SLOFigures, keep []string) error
	SLOFigures(ctx context.Context) ([]data.SLOFigures, error)
	SetSLOAlert(ctx context.Context, b data.SLOBurn, fig data.SLOFigures) ([]data.StatusChange, error)
	AllInputs(ctx context.Context) (map[string][]data.Input, error)
	ClearInput(ctx context.Context, componentID string, src data.InputSource, key, actor, reason string) (bool, error)
}

var _ Store = (*data.Store)(nil)

// Source reads an SLO's minutes from a system that keeps them (Prometheus,
// probe results): every minute in [from, to) it has data for, zero counts
// included, oldest first. The engine polls it and stores what it returns,
// replacing what it had for those minutes.
type Source interface {
	Minutes(ctx context.Context, from, to time.Time) ([]data.SLOMinute, error)
}

// SLO is a definition with where its events come from: a Source to poll
// every Poll (1 minute when zero), or nil for events pushed with Push.
type SLO struct {
	Definition
	Source Source
	Poll   time.Duration
}

// Options configure an Engine.
type Options struct {
	// Location is where calendar months begin: the page's time zone. UTC
	// when nil.
	Location *time.Location
	// Tick is how often windows move and figures are written; 1 minute.
	Tick   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Engine keeps each SLO's minutes in memory, persists them, computes the
// figures after every minute and every change, and sets or clears each SLO's
// automatic input on its components when its burn-rate alerts fire or stop.
type Engine struct {
	store Store
	opts  Options
	log   *slog.Logger
	slos  map[string]*state // fixed after New
	order []string          // ids in configuration order

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// state is one SLO at run time. mu guards everything below it.
type state struct {
	slo SLO

	mu       sync.Mutex
	tr       *tracker
	lastData time.Time // the end of the newest minute with data
	cursor   time.Time // a Source's next minute to read
	failing  bool      // the Source's last poll failed
	alert    string    // severity of the alert in force: data.SLOFastBurn, data.SLOSlowBurn or ""
	status   data.ComponentStatus
	reason   string
	fig      data.SLOFigures
}

// New checks the definitions and makes an engine; Start loads and runs it.
func New(store Store, slos []SLO, o Options) (*Engine, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{store: store, opts: o, log: o.Logger.With("component", "slo"), slos: map[string]*state{}}
	for _, s := range slos {
		if err := s.Definition.Validate(); err != nil {
			return nil, fmt.Errorf("SLO %s: %w", s.ID, err)
		}
		if _, dup := e.slos[s.ID]; dup {
			return nil, fmt.Errorf("SLO %s: defined twice", s.ID)
		}
		if s.Poll <= 0 {
			s.Poll = time.Minute
		}
		e.slos[s.ID] = &state{slo: s, tr: newTracker(s.Definition, o.Location)}
		e.order = append(e.order, s.ID)
	}
	return e, nil
}

// Load reads what the store holds: each SLO's minutes over its windows, the
// alert each had in force, and clears the inputs of SLOs that are no longer
// configured. Start calls it; tests may call it alone.
func (e *Engine) Load(ctx context.Context) error {
	now := e.opts.Now()
	head := unixMinute(now)
	figs, err := e.store.SLOFigures(ctx)
	if err != nil {
		return fmt.Errorf("load SLOs: %w", err)
	}
	prev := map[string]data.SLOFigures{}
	for _, f := range figs {
		prev[f.SLOID] = f
	}
	for _, id := range e.order {
		st := e.slos[id]
		st.mu.Lock()
		from := minuteTime(head - st.tr.s.n + 1)
		mins, err := e.store.SLOMinutes(ctx, id, from, minuteTime(head+1))
		if err != nil {
			st.mu.Unlock()
			return fmt.Errorf("load SLO %s: %w", id, err)
		}
		st.tr.s.advance(head)
		for _, m := range mins {
			st.tr.s.set(unixMinute(m.Start), counts{m.Good, m.Total})
			if m.Total > 0 {
				st.lastData = m.Start.Add(time.Minute)
			}
		}
		st.cursor = from
		if !st.lastData.IsZero() {
			st.cursor = st.lastData.Add(-time.Minute)
		}
		if f, ok := prev[id]; ok {
			st.alert, st.reason = f.Alert, f.AlertReason
			if f.LastDataAt.After(st.lastData) {
				st.lastData = f.LastDataAt
			}
		}
		st.mu.Unlock()
	}
	// The status each SLO's input holds, and inputs of SLOs gone from the
	// configuration, which must not hold a status nobody will ever clear.
	ins, err := e.store.AllInputs(ctx)
	if err != nil {
		return fmt.Errorf("load SLO inputs: %w", err)
	}
	for comp, l := range ins {
		for _, in := range l {
			if in.Source != data.SourceAutomatic || len(in.Key) < 5 || in.Key[:4] != "slo:" {
				continue
			}
			st, ok := e.slos[in.Key[4:]]
			if !ok {
				if _, err := e.store.ClearInput(ctx, comp, data.SourceAutomatic, in.Key, "slo", "SLO removed from the configuration"); err != nil {
					return fmt.Errorf("clear input of removed %s: %w", in.Key, err)
				}
				continue
			}
			st.mu.Lock()
			st.status = st.status.Worse(in.Status)
			st.mu.Unlock()
		}
	}
	for _, st := range e.slos {
		st.mu.Lock()
		if st.status == "" {
			st.alert, st.reason = "", ""
		} else if st.alert == "" {
			st.alert = data.SLOFastBurn // an input without figures: the status tells the rest
		}
		st.mu.Unlock()
	}
	return e.Tick(ctx)
}

// Start loads the engine's state and starts its loops: the minute tick and
// a poller per SLO with a Source. It returns once loaded; Stop ends the
// loops.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.Load(ctx); err != nil {
		return err
	}
	ctx, e.cancel = context.WithCancel(ctx)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.tickLoop(ctx)
	}()
	for _, id := range e.order {
		st := e.slos[id]
		if st.slo.Source == nil {
			continue
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.pollLoop(ctx, st)
		}()
	}
	return nil
}

// Stop ends the loops and waits for them, at most until ctx ends.
func (e *Engine) Stop(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the SLO engine: %w", ctx.Err())
	}
}

func (e *Engine) tickLoop(ctx context.Context) {
	t := time.NewTicker(e.opts.Tick)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := e.Tick(tctx); err != nil && ctx.Err() == nil {
			e.log.Error("update SLO figures", "err", err)
		}
		if now := e.opts.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			e.prune(tctx, now)
		}
		cancel()
	}
}

// prune deletes minutes no window needs any more.
func (e *Engine) prune(ctx context.Context, now time.Time) {
	for _, id := range e.order {
		st := e.slos[id]
		before := now.Add(-time.Duration(st.tr.s.n+24*60) * time.Minute)
		if _, err := e.store.PruneSLOMinutes(ctx, id, before, 10000); err != nil && ctx.Err() == nil {
			e.log.Warn("prune SLO minutes", "slo", id, "err", err)
		}
	}
}

// Tick moves every SLO's windows to the current minute, evaluates its
// alerts and writes every SLO's figures.
func (e *Engine) Tick(ctx context.Context) error {
	var errs []error
	figs := make([]data.SLOFigures, 0, len(e.order))
	for _, id := range e.order {
		st := e.slos[id]
		st.mu.Lock()
		if err := e.evaluate(ctx, st); err != nil {
			errs = append(errs, err)
		}
		figs = append(figs, st.fig)
		st.mu.Unlock()
	}
	keep := append([]string{}, e.order...) // never nil: nil would keep removed SLOs
	if err := e.store.PutSLOFigures(ctx, figs, keep); err != nil {
		errs = append(errs, fmt.Errorf("store SLO figures: %w", err))
	}
	return errors.Join(errs...)
}

// evaluate brings st to now: windows, staleness, figures and, unless the
// data is stale, the alert. Missing data is not bad data: while an SLO is
// stale its alert, and so the status it set, stays as it was. The caller
// holds st.mu.
func (e *Engine) evaluate(ctx context.Context, st *state) error {
	now := e.opts.Now()
	head := unixMinute(now)
	st.tr.s.advance(head)
	fig := st.tr.figures(head)
	fig.UpdatedAt = now.UTC()
	fig.LastDataAt = st.lastData
	fig.Stale = st.lastData.IsZero() || now.Sub(st.lastData) > st.slo.StaleAfter
	fig.Alert, fig.AlertReason = st.alert, st.reason
	st.fig = fig
	if fig.Stale {
		return nil
	}
	f := st.tr.evaluate()
	sev, status, reason := "", data.ComponentStatus(""), ""
	if f != nil {
		sev, status, reason = f.rule.Severity, f.rule.Status, st.tr.reason(f)
	}
	if sev == st.alert && (status == st.status || sev == "") {
		return nil
	}
	fig.Alert, fig.AlertReason = sev, reason
	b := data.SLOBurn{SLOID: st.slo.ID, SLOName: st.slo.Name, JourneyID: st.slo.JourneyID, Objective: st.slo.Objective,
		Severity: sev, OldSeverity: st.alert, Status: status, Reason: reason, Components: st.slo.Components,
		BudgetRemaining: fig.BudgetRemaining}
	if f != nil {
		b.Long, b.Short, b.LongRate, b.ShortRate, b.Factor = f.rule.Long, f.rule.Short, f.long.Rate, f.short.Rate, f.rule.Factor
	}
	if _, err := e.store.SetSLOAlert(ctx, b, fig); err != nil {
		return fmt.Errorf("record alert of SLO %s: %w", st.slo.ID, err)
	}
	if sev != "" {
		e.log.Warn("SLO burning error budget", "slo", st.slo.ID, "severity", sev, "reason", reason)
	} else {
		e.log.Info("SLO stopped burning error budget", "slo", st.slo.ID)
	}
	st.alert, st.status, st.reason = sev, status, reason
	st.fig = fig
	return nil
}

// Figures returns the last computed figures of every SLO, in configuration
// order.
func (e *Engine) Figures() []data.SLOFigures {
	out := make([]data.SLOFigures, 0, len(e.order))
	for _, id := range e.order {
		st := e.slos[id]
		st.mu.Lock()
		out = append(out, st.fig)
		st.mu.Unlock()
	}
	return out
}

// Event is one pushed count: at Time, Good of Total events were good.
type Event struct {
	Time        time.Time
	Good, Total int64
}

// maxFutureSkew is how far ahead of the server's clock a pushed event may
// be, for clocks that differ a little.
const maxFutureSkew = 30 * time.Second

// Push adds pushed events to an SLO: all of them or, if one is refused,
// none. Returns an error wrapping data.ErrNotFound for an unknown SLO or one
// fed by a Source, and an *data.InvalidError naming the event
// ("events[3].time") for a time in the future or before what the SLO's
// windows cover, a negative count or good > total.
func (e *Engine) Push(ctx context.Context, sloID string, evs []Event) error {
	st, ok := e.slos[sloID]
	if !ok || st.slo.Source != nil {
		return fmt.Errorf("SLO %q: %w", sloID, data.ErrNotFound)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := e.opts.Now()
	head := unixMinute(now)
	st.tr.s.advance(head)
	oldest := e.oldestMinute(st, head)
	byMinute := map[int64]counts{}
	for i, ev := range evs {
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case ev.Good < 0:
			return data.Invalid(field+".good", "%d is negative", ev.Good)
		case ev.Total < 0:
			return data.Invalid(field+".total", "%d is negative", ev.Total)
		case ev.Good > ev.Total:
			return data.Invalid(field+".good", "%d is more than total (%d)", ev.Good, ev.Total)
		case ev.Time.IsZero():
			return data.Invalid(field+".time", "is missing")
		case ev.Time.After(now.Add(maxFutureSkew)):
			return data.Invalid(field+".time", "%s is in the future", ev.Time.UTC().Format(time.RFC3339))
		}
		m := min(unixMinute(ev.Time), head) // a clock slightly ahead counts in the current minute
		if m < oldest {
			return data.Invalid(field+".time", "%s is before the SLO's windows, which start at %s",
				ev.Time.UTC().Format(time.RFC3339), minuteTime(oldest).Format(time.RFC3339))
		}
		c := byMinute[m]
		c.good += ev.Good
		c.total += ev.Total
		byMinute[m] = c
	}
	mins := make([]data.SLOMinute, 0, len(byMinute))
	for m, c := range byMinute {
		cur := st.tr.s.get(m)
		if cur.total+c.total > maxMinuteEvents {
			return data.Invalid("events", "more than %d events in the minute of %s", int64(maxMinuteEvents), minuteTime(m).Format(time.RFC3339))
		}
		mins = append(mins, data.SLOMinute{Start: minuteTime(m), Good: c.good, Total: c.total})
	}
	sort.Slice(mins, func(i, j int) bool { return mins[i].Start.Before(mins[j].Start) })
	if err := e.store.AddSLOMinutes(ctx, sloID, mins); err != nil {
		return fmt.Errorf("store events of SLO %s: %w", sloID, err)
	}
	for _, m := range mins {
		mm := unixMinute(m.Start)
		st.tr.s.add(mm, counts{m.Good, m.Total}) // checked above: cannot be refused
		if end := m.Start.Add(time.Minute); end.After(st.lastData) {
			st.lastData = end
		}
	}
	if err := e.evaluate(ctx, st); err != nil {
		return err
	}
	if err := e.store.PutSLOFigures(ctx, []data.SLOFigures{st.fig}, nil); err != nil {
		return fmt.Errorf("store figures of SLO %s: %w", sloID, err)
	}
	return nil
}

// maxMinuteEvents is the most events one minute can hold (a uint32 bucket).
const maxMinuteEvents = 1<<32 - 1

// oldestMinute is the oldest minute that still counts in one of the SLO's
// windows at head.
func (e *Engine) oldestMinute(st *state, head int64) int64 {
	longest := int64(0)
	for _, w := range st.tr.s.wins {
		longest = max(longest, w)
	}
	oldest := head - longest + 1
	if st.tr.main < 0 {
		oldest = min(oldest, st.tr.s.monthFrom)
	}
	return max(oldest, head-st.tr.s.n+1)
}

// maxPollMinutes bounds one read from a Source, under Prometheus' limit of
// 11,000 points per series; a backfill of a longer window takes several.
const maxPollMinutes = 10000

// pollLoop reads st's Source now and then every Poll until ctx ends.
func (e *Engine) pollLoop(ctx context.Context, st *state) {
	t := time.NewTicker(st.slo.Poll)
	defer t.Stop()
	for {
		e.poll(ctx, st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads st's Source from its cursor up to the current minute (only
// complete minutes), in chunks: at start this backfills the windows, after
// an outage it fills the gap. What it read is stored, replacing those
// minutes, and counted. A failure leaves the cursor where it was, so the
// next poll reads the gap; the SLO turns stale if it lasts.
func (e *Engine) poll(ctx context.Context, st *state) {
	st.mu.Lock()
	from := st.cursor
	st.mu.Unlock()
	for ctx.Err() == nil {
		head := unixMinute(e.opts.Now())
		st.mu.Lock()
		if oldest := minuteTime(e.oldestMinute(st, head)); from.Before(oldest) {
			from = oldest
		}
		st.mu.Unlock()
		to := minuteTime(head) // exclusive: the current minute is not over
		if !from.Before(to) {
			return
		}
		if to.Sub(from) > maxPollMinutes*time.Minute {
			to = from.Add(maxPollMinutes * time.Minute)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // bounds the Source's own retries too
		mins, err := st.slo.Source.Minutes(pctx, from, to)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			st.mu.Lock()
			if !st.failing {
				e.log.Warn("read SLO feed; the SLO turns stale if this lasts", "slo", st.slo.ID, "err", err)
			}
			st.failing = true
			st.mu.Unlock()
			return
		}
		if err := e.apply(ctx, st, mins, to); err != nil {
			if ctx.Err() == nil {
				e.log.Error("store SLO minutes", "slo", st.slo.ID, "err", err)
			}
			return
		}
		from = to
	}
}

// apply stores and counts minutes read from a Source up to to, and moves
// the cursor.
func (e *Engine) apply(ctx context.Context, st *state, mins []data.SLOMinute, to time.Time) error {
	store := make([]data.SLOMinute, 0, len(mins))
	for _, m := range mins {
		if m.Validate() != nil || m.Total > maxMinuteEvents || !m.Start.Before(to) {
			continue // a Source's odd point is dropped, not trusted
		}
		store = append(store, m)
	}
	if err := e.store.PutSLOMinutes(ctx, st.slo.ID, store); err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failing {
		e.log.Info("SLO feed answers again", "slo", st.slo.ID)
		st.failing = false
	}
	newest := time.Time{}
	for _, m := range store {
		st.tr.s.set(unixMinute(m.Start), counts{m.Good, m.Total})
		newest = m.Start
	}
	if !newest.IsZero() {
		if end := newest.Add(time.Minute); end.After(st.lastData) {
			st.lastData = end
		}
		// The newest minute is read again next time: a scrape may have
		// come in late.
		st.cursor = newest
	} else if st.cursor.Before(to.Add(-time.Hour)) {
		// Nothing in this range: do not read it again, but keep the last
		// hour, where late data may still appear.
		st.cursor = to.Add(-time.Hour)
	}
	if err := e.evaluate(ctx, st); err != nil {
		return err
	}
	return e.store.PutSLOFigures(ctx, []data.SLOFigures{st.fig}, nil)
}
