package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/teambition/rrule-go"

	"github.com/statusd/statusd/data"
)

// Recurring maintenance: an RFC 5545 RRULE (FREQ=WEEKLY;BYDAY=SU) from a
// first start given as a wall-clock time in a named zone, so "every Sunday
// 02:00–03:00 Europe/Berlin" stays at 02:00 local across daylight-saving
// changes. Occurrences are expanded ahead of time (ExpandAhead) into
// ordinary maintenance windows, each announced like a window made by hand.

// ExpandAhead is how far ahead recurring windows are scheduled.
const ExpandAhead = 30 * 24 * time.Hour

// SeriesStore is what expanding recurring maintenance needs. *data.Store
// satisfies it.
type SeriesStore interface {
	MaintenanceSeriesList(ctx context.Context) ([]data.MaintenanceSeries, error)
	ScheduleOccurrences(ctx context.Context, m data.MaintenanceSeries, starts []time.Time, body data.RenderedBody) (int, error)
}

var _ SeriesStore = (*data.Store)(nil)

// parseRRule reads a rule with an optional "RRULE:" prefix.
func parseRRule(rule string, first time.Time, zone string) (*rrule.RRule, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		return nil, data.Invalid("time_zone", "%q is not a time zone name such as Europe/Berlin", zone)
	}
	rule = strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:")
	if strings.Contains(strings.ToUpper(rule), "DTSTART") {
		return nil, data.Invalid("rrule", "give the first start separately, not as DTSTART in the rule")
	}
	opt, err := rrule.StrToROptionInLocation(rule, loc)
	if err != nil {
		return nil, data.Invalid("rrule", "%q is not an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=SU: %v", rule, err)
	}
	opt.Dtstart = first.In(loc)
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, data.Invalid("rrule", "%v", err)
	}
	return r, nil
}

// SeriesStarts returns the starts of a series' windows in [from, to).
func SeriesStarts(m data.MaintenanceSeries, from, to time.Time) ([]time.Time, error) {
	r, err := parseRRule(m.RRule, m.FirstStart, m.TimeZone)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, t := range r.Between(from, to, true) {
		if t.Before(to) {
			out = append(out, t.UTC())
		}
	}
	return out, nil
}

// ExpandMaintenanceSeries schedules the windows of every recurring series
// that start from now to ExpandAhead, once each. It returns how many it
// made.
func ExpandMaintenanceSeries(ctx context.Context, st SeriesStore, now time.Time) (int, error) {
	list, err := st.MaintenanceSeriesList(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, m := range list {
		if !m.EndedAt.IsZero() {
			continue
		}
		starts, err := SeriesStarts(m, now, now.Add(ExpandAhead))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, err := renderMarkdown(m.Body)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n, err := st.ScheduleOccurrences(ctx, m, starts, body)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// --- API ---

type apiSeriesCreate struct {
	Name string `json:"name"`
	// RRule is an RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;BYDAY=SU.
	RRule    string `json:"rrule"`
	TimeZone string `json:"time_zone"`
	// FirstStart is the first window's start as a wall-clock time in
	// time_zone, e.g. 2026-11-29T02:00.
	FirstStart     string   `json:"first_start"`
	Duration       string   `json:"duration"` // e.g. 1h, 90m
	Components     []string `json:"components"`
	Body           string   `json:"body"`
	AutoTransition *bool    `json:"auto_transition,omitempty"`
	Notify         *bool    `json:"notify,omitempty"`
}

type apiSeriesJSON struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	RRule          string      `json:"rrule"`
	TimeZone       string      `json:"time_zone"`
	FirstStart     time.Time   `json:"first_start"`
	Duration       string      `json:"duration"`
	Components     []string    `json:"components"`
	AutoTransition bool        `json:"auto_transition"`
	Notify         bool        `json:"notify"`
	EndedAt        *time.Time  `json:"ended_at"`
	Next           []time.Time `json:"next"` // the next starts, up to 10
}

type apiSeriesList struct {
	Series []apiSeriesJSON `json:"series"`
}

func (a *admin) seriesAPIRoutes() []apiRoute {
	return []apiRoute{
		{Method: "GET", Path: "/maintenance-series", Scope: data.ScopeMaintenanceWrite, Summary: "Recurring maintenance windows and their next starts",
			Response: apiSeriesList{}, Status: 200, Handler: a.apiListSeries},
		{Method: "POST", Path: "/maintenance-series", Scope: data.ScopeMaintenanceWrite,
			Summary: "Create a recurring window (RRULE in a named time zone); windows are scheduled 30 days ahead",
			Request: apiSeriesCreate{}, Response: apiSeriesJSON{}, Status: 201, Handler: a.apiCreateSeries},
		{Method: "DELETE", Path: "/maintenance-series/{id}", Scope: data.ScopeMaintenanceWrite,
			Summary: "End a recurring window: no further windows are made; those scheduled stay",
			Params:  []apiParam{{Name: "id", In: "path", Type: "string", Description: "series id"}}, Response: apiSeriesList{}, Status: 200, Handler: a.apiEndSeries},
	}
}

// seriesStore is the store's recurring maintenance, when it has it.
type seriesStore interface {
	SeriesStore
	CreateMaintenanceSeries(ctx context.Context, m data.MaintenanceSeries) (data.MaintenanceSeries, error)
	EndMaintenanceSeries(ctx context.Context, id, actor string) error
}

func (a *admin) series() (seriesStore, error) {
	st, ok := a.store.(seriesStore)
	if !ok {
		return nil, errNoWorkflow
	}
	return st, nil
}

func (a *admin) seriesJSON(m data.MaintenanceSeries) apiSeriesJSON {
	j := apiSeriesJSON{ID: m.ID, Name: m.Name, RRule: m.RRule, TimeZone: m.TimeZone, FirstStart: m.FirstStart.UTC(), Duration: m.Duration.String(),
		Components: append([]string{}, m.ComponentIDs...), AutoTransition: m.AutoTransition, Notify: m.Notify, EndedAt: timePtr(m.EndedAt), Next: []time.Time{}}
	if m.EndedAt.IsZero() {
		if starts, err := SeriesStarts(m, a.now(), a.now().Add(ExpandAhead*12)); err == nil {
			if len(starts) > 10 {
				starts = starts[:10]
			}
			j.Next = append(j.Next, starts...)
		}
	}
	return j
}

func (a *admin) apiListSeries(c *fiber.Ctx) error {
	st, err := a.series()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	list, err := st.MaintenanceSeriesList(ctx)
	if err != nil {
		return err
	}
	out := apiSeriesList{Series: []apiSeriesJSON{}}
	for _, m := range list {
		out.Series = append(out.Series, a.seriesJSON(m))
	}
	return c.JSON(out)
}

func (a *admin) apiCreateSeries(c *fiber.Ctx) error {
	st, err := a.series()
	if err != nil {
		return err
	}
	var req apiSeriesCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	loc, err := time.LoadLocation(req.TimeZone)
	if err != nil || req.TimeZone == "" {
		return data.Invalid("time_zone", "%q is not a time zone name such as Europe/Berlin", req.TimeZone)
	}
	first, err := time.ParseInLocation("2006-01-02T15:04", req.FirstStart, loc)
	if err != nil {
		return data.Invalid("first_start", "%q is not a wall-clock time like 2026-11-29T02:00", req.FirstStart)
	}
	dur, err := time.ParseDuration(req.Duration)
	if err != nil {
		return data.Invalid("duration", "%q is not a duration like 1h or 90m", req.Duration)
	}
	m := data.MaintenanceSeries{Name: strings.TrimSpace(req.Name), RRule: strings.TrimPrefix(strings.TrimSpace(req.RRule), "RRULE:"), TimeZone: req.TimeZone,
		FirstStart: first, Duration: dur, ComponentIDs: req.Components, Body: req.Body, AutoTransition: true, Notify: true, CreatedBy: apiActor(c)}
	if req.AutoTransition != nil {
		m.AutoTransition = *req.AutoTransition
	}
	if req.Notify != nil {
		m.Notify = *req.Notify
	}
	if _, err := parseRRule(m.RRule, m.FirstStart, m.TimeZone); err != nil {
		return err
	}
	if _, err := renderMarkdown(m.Body); err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	m, err = st.CreateMaintenanceSeries(ctx, m)
	if err != nil {
		return err
	}
	if _, err := ExpandMaintenanceSeries(ctx, st, a.now()); err != nil {
		a.log.Error("expand maintenance series", "err", err)
	}
	return c.Status(http201).JSON(a.seriesJSON(m))
}

func (a *admin) apiEndSeries(c *fiber.Ctx) error {
	st, err := a.series()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := st.EndMaintenanceSeries(ctx, c.Params("id"), apiActor(c)); err != nil {
		return notFound(err, "recurring window")
	}
	return a.apiListSeries(c)
}
