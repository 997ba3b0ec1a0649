package server

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// TestRebuildRendersChangesOnly changes one component, then one incident,
// and checks what each rebuild rendered: the documents that do not show
// what changed are the previous snapshot's entries themselves, and of the
// front page's components only the changed one was rendered again.
func TestRebuildRendersChangesOnly(t *testing.T) {
	ctx := context.Background()
	srv, st := newFixtureServer(t)
	before := srv.snap.Load()
	if _, err := st.SetComponentStatus(ctx, data.SetStatus{ComponentID: "rest", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after := srv.snap.Load()
	for path, e := range before.entries {
		changed := after.entries[path] != e
		// The page, the API, and the embeds that show rest: its badges and
		// frames, its journey's, and the page-wide frames and widget data;
		// not its uptime badges (the change is seconds old) nor its feeds
		// (they show incidents, not statuses).
		want := path == "/" || strings.HasPrefix(path, "/api/v2/") || path == "/embed/status.json" ||
			strings.HasPrefix(path, "/embed/frame?theme=") ||
			(strings.Contains(path, "rest") || strings.Contains(path, "public-api")) && !strings.Contains(path, "uptime.svg") &&
				!strings.HasPrefix(path, "/feeds/")
		if changed != want {
			t.Errorf("after a status change, %s changed: %v; want %v", path, changed, want)
		}
	}
	if after.notFoundHTML != before.notFoundHTML || after.notFoundJSON != before.notFoundJSON {
		t.Error("after a status change, a 404 page changed")
	}
	if n := newKeys(srv.frags.components); n != 1 {
		t.Errorf("%d front-page components rendered after one changed; want 1", n)
	}
	if n := newKeys(srv.frags.compJSON); n != 1 {
		t.Errorf("%d components marshalled after one changed; want 1", n)
	}
	if n := newKeys(srv.frags.incJSON); n != 0 {
		t.Errorf("%d incidents marshalled after a component none of them shows changed; want 0", n)
	}

	// An update on one open incident.
	before = after
	open := before.model.openIncidents[0].ID
	feeds := scopeFeeds(before.model, before.model.openIncidents[0].ComponentIDs)
	if _, err := st.AddUpdate(ctx, open, data.NewUpdate{Status: data.Monitoring, Body: "A fix is out.", Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after = srv.snap.Load()
	for path, e := range before.entries {
		changed := after.entries[path] != e
		want := path == "/" || path == "/incidents/"+open || path == "/history" || path == "/history.rss" || path == "/history.atom" ||
			path == "/api/v2/summary.json" || path == "/api/v2/incidents.json" || path == "/api/v2/incidents/unresolved.json" ||
			feeds[path]
		if strings.HasPrefix(path, "/api/v2/") && !want {
			// The fixture's clock stands still, so page.updated_at may
			// not move: the other documents change exactly when their
			// bytes do.
			want = !bytes.Equal(e.plain, after.entries[path].plain)
		}
		if changed != want {
			t.Errorf("after an incident update, %s changed: %v; want %v", path, changed, want)
		}
	}
	if n := newKeys(srv.frags.incJSON); n != 1 {
		t.Errorf("%d incidents marshalled after one changed; want 1", n)
	}

	// Nothing changed: nothing is rendered again.
	before = after
	if err := srv.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after = srv.snap.Load()
	for path, e := range before.entries {
		if after.entries[path] != e {
			t.Errorf("after a rebuild without changes, %s changed", path)
		}
	}
	for _, m := range []int{newKeys(srv.frags.components), newKeys(srv.frags.compJSON), newKeys(srv.frags.incJSON)} {
		if m != 0 {
			t.Errorf("fragments rendered after a rebuild without changes: %d", m)
		}
	}
}

// scopeFeeds is the set of the feeds of components ids, of their groups and
// of their journeys, in both formats.
func scopeFeeds(m *model, ids []string) map[string]bool {
	out := map[string]bool{}
	add := func(kind, id string) {
		out["/feeds/"+kind+"/"+id+".rss"], out["/feeds/"+kind+"/"+id+".atom"] = true, true
	}
	for _, id := range ids {
		for _, c := range m.snap.Components {
			if c.ID != id {
				continue
			}
			add("component", c.ID)
			add("journey", c.JourneyID)
			if c.GroupID != "" {
				add("component", c.GroupID)
			}
		}
	}
	return out
}

// newKeys counts the memo's values made by the last rebuild.
func newKeys[V any](m memo[V]) int {
	n := 0
	for k := range m.cur {
		if _, ok := m.prev[k]; !ok {
			n++
		}
	}
	return n
}

// TestAPIDocsAssembled checks that the Statuspage documents put together
// from kept pieces are byte for byte what json.Marshal makes of the whole
// documents, on the fixture (hostile names, every status) and on an empty
// store (empty lists), across a rebuild that reuses pieces.
func TestAPIDocsAssembled(t *testing.T) {
	check := func(t *testing.T, srv *Server) {
		t.Helper()
		snap := srv.snap.Load()
		for path, want := range apiDocsMarshal(t, snap.model) {
			e := snap.entries[path]
			if e == nil {
				t.Errorf("%s is missing", path)
				continue
			}
			if !bytes.Equal(e.plain, want) {
				t.Errorf("%s differs from json.Marshal of the document:\n got %.300s\nwant %.300s", path, e.plain, want)
			}
		}
	}
	t.Run("fixture", func(t *testing.T) {
		srv, st := newFixtureServer(t)
		check(t, srv)
		if _, err := st.SetComponentStatus(context.Background(), data.SetStatus{ComponentID: "payments", Status: data.DegradedPerformance, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Rebuild(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(t, srv)
	})
	t.Run("empty", func(t *testing.T) {
		srv, err := New(datatest.MustOpen(t), fixtureOptions())
		if err != nil {
			t.Fatal(err)
		}
		check(t, srv)
	})
}

// The types and function below are the Statuspage documents as a whole, the
// way apiDocs made them before it kept pieces: the reference it must match.
type spIncidentWhole struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       spTime        `json:"created_at"`
	UpdatedAt       spTime        `json:"updated_at"`
	MonitoringAt    spTime        `json:"monitoring_at"`
	ResolvedAt      spTime        `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       spTime        `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []spUpdate    `json:"incident_updates"`
	Components      []spComponent `json:"components"`
	ScheduledFor    *spTime       `json:"scheduled_for,omitempty"`
	ScheduledUntil  *spTime       `json:"scheduled_until,omitempty"`
}

func apiDocsMarshal(t *testing.T, m *model) map[string][]byte {
	t.Helper()
	page := spPage{ID: m.page.ID, Name: m.page.Name, URL: m.page.URL, TimeZone: m.page.TimeZoneName, UpdatedAt: spTime(m.updatedAt)}
	comps := make([]spComponent, 0, len(m.snap.Components))
	byID := map[string]spComponent{}
	for i, c := range m.snap.Components {
		sc := spComponent{
			ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: spTime(c.CreatedAt), UpdatedAt: spTime(c.UpdatedAt),
			Position: i + 1, Description: nullable(c.Description), Showcase: c.Showcase, GroupID: nullable(c.GroupID),
			PageID: m.page.ID, Group: c.IsGroup, OnlyShowIfDegraded: c.OnlyShowIfDegraded,
		}
		if c.IsGroup {
			sc.Components = append([]string{}, m.children[c.ID]...)
		}
		comps = append(comps, sc)
		byID[c.ID] = sc
	}
	conv := func(list []data.Incident) []spIncidentWhole {
		out := make([]spIncidentWhole, 0, len(list))
		for _, in := range list {
			si := spIncidentWhole{
				ID: in.ID, Name: in.Name, Status: string(in.Status), CreatedAt: spTime(in.CreatedAt), UpdatedAt: spTime(in.UpdatedAt),
				MonitoringAt: spTime(in.MonitoringAt), ResolvedAt: spTime(in.ResolvedAt), Impact: string(in.Impact),
				Shortlink: m.page.URL + "/incidents/" + in.ID, StartedAt: spTime(in.StartedAt), PageID: m.page.ID,
				IncidentUpdates: make([]spUpdate, 0, len(in.Updates)), Components: []spComponent{},
			}
			if in.Kind == data.KindMaintenance {
				sf, su := spTime(in.ScheduledFor), spTime(in.ScheduledUntil)
				si.ScheduledFor, si.ScheduledUntil = &sf, &su
			}
			for _, u := range in.Updates {
				su := spUpdate{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: in.ID, CreatedAt: spTime(u.CreatedAt),
					UpdatedAt: spTime(u.UpdatedAt), DisplayAt: spTime(u.DisplayAt), AffectedComponents: []spAffected{},
					DeliverNotifications: true}
				for _, a := range u.Affected {
					su.AffectedComponents = append(su.AffectedComponents, spAffected{Code: a.ComponentID, Name: a.Name,
						OldStatus: string(a.OldStatus), NewStatus: string(a.NewStatus)})
				}
				si.IncidentUpdates = append(si.IncidentUpdates, su)
			}
			for _, id := range in.ComponentIDs {
				if c, ok := byID[id]; ok {
					si.Components = append(si.Components, c)
				}
			}
			out = append(out, si)
		}
		return out
	}
	type incidents struct {
		Page      spPage            `json:"page"`
		Incidents []spIncidentWhole `json:"incidents"`
	}
	type maint struct {
		Page                  spPage            `json:"page"`
		ScheduledMaintenances []spIncidentWhole `json:"scheduled_maintenances"`
	}
	status := spStatus{Indicator: string(m.status.Indicator), Description: m.status.Description}
	docs := map[string]any{
		"/api/v2/summary.json": struct {
			Page                  spPage            `json:"page"`
			Components            []spComponent     `json:"components"`
			Incidents             []spIncidentWhole `json:"incidents"`
			ScheduledMaintenances []spIncidentWhole `json:"scheduled_maintenances"`
			Status                spStatus          `json:"status"`
		}{page, comps, conv(m.openIncidents), conv(append(append([]data.Incident{}, m.activeMaint...), m.upcoming...)), status},
		"/api/v2/status.json": struct {
			Page   spPage   `json:"page"`
			Status spStatus `json:"status"`
		}{page, status},
		"/api/v2/components.json": struct {
			Page       spPage        `json:"page"`
			Components []spComponent `json:"components"`
		}{page, comps},
		"/api/v2/incidents.json":                       incidents{page, conv(firstN(m.incidents, 50))},
		"/api/v2/incidents/unresolved.json":            incidents{page, conv(m.openIncidents)},
		"/api/v2/scheduled-maintenances.json":          maint{page, conv(firstN(m.maintenances, 50))},
		"/api/v2/scheduled-maintenances/upcoming.json": maint{page, conv(m.upcoming)},
		"/api/v2/scheduled-maintenances/active.json":   maint{page, conv(m.activeMaint)},
	}
	out := map[string][]byte{}
	for path, v := range docs {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[path] = b
	}
	return out
}

// TestRenderKeys changes each field of a component and of an incident (its
// updates and their affected components included) in turn: every change
// must change the render key, or a page would keep showing the old value.
func TestRenderKeys(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for name, mk := range map[string]func() any{
		"component": func() any {
			return &data.Component{ID: "a", JourneyID: "j", GroupID: "g", Name: "n", Description: "d", Position: 1, Showcase: true,
				Status: data.Operational, CreatedAt: at, UpdatedAt: at, ArchivedAt: at}
		},
		"incident": func() any {
			return &data.Incident{ID: "i", Kind: data.KindIncident, Name: "n", Status: data.Investigating, Impact: data.ImpactMinor,
				CreatedAt: at, UpdatedAt: at, StartedAt: at, MonitoringAt: at, ResolvedAt: at, ScheduledFor: at, ScheduledUntil: at,
				ComponentIDs: []string{"a"},
				Updates: []data.IncidentUpdate{{ID: "u", IncidentID: "i", Status: data.Investigating, Body: "b", CreatedAt: at, UpdatedAt: at, DisplayAt: at,
					Affected: []data.AffectedComponent{{ComponentID: "a", Name: "n", OldStatus: data.Operational, NewStatus: data.MajorOutage}}}},
			}
		},
	} {
		base := newKeyHash().any(reflect.ValueOf(mk()).Elem().Interface()).sum()
		var leaves [][]int
		var walk func(v reflect.Value, path []int)
		walk = func(v reflect.Value, path []int) {
			switch {
			case v.Type() == timeType || v.Kind() != reflect.Struct && v.Kind() != reflect.Slice:
				leaves = append(leaves, append([]int{}, path...))
			case v.Kind() == reflect.Struct:
				for i := range v.NumField() {
					walk(v.Field(i), append(path, i))
				}
			default:
				leaves = append(leaves, append(append([]int{}, path...), -1)) // the slice's length
				for i := range v.Len() {
					walk(v.Index(i), append(path, i))
				}
			}
		}
		walk(reflect.ValueOf(mk()).Elem(), nil)
		for _, leaf := range leaves {
			x := mk()
			v := reflect.ValueOf(x).Elem()
			for _, i := range leaf {
				switch {
				case i == -1:
					v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
				case v.Kind() == reflect.Slice:
					v = v.Index(i)
				default:
					v = v.Field(i)
				}
			}
			switch {
			case leaf[len(leaf)-1] == -1:
			case v.Type() == timeType:
				v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second)))
			case v.Kind() == reflect.String:
				v.SetString(v.String() + "x")
			case v.Kind() == reflect.Bool:
				v.SetBool(!v.Bool())
			case v.Kind() == reflect.Int:
				v.SetInt(v.Int() + 1)
			default:
				t.Fatalf("%s field %v: a %s; teach this test to change it", name, leaf, v.Kind())
			}
			if got := newKeyHash().any(reflect.ValueOf(x).Elem().Interface()).sum(); got == base {
				t.Errorf("%s: changing field %v leaves the render key as it was", name, leaf)
			}
		}
	}
}

// TestUptimeKey: the uptime key ignores what the bar does not show (the
// time known today, which grows with every rebuild) and follows what it
// shows.
func TestUptimeKey(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	mk := func() []data.DayUptime {
		days := make([]data.DayUptime, 3)
		for i := range days {
			days[i] = data.DayUptime{Date: day.AddDate(0, 0, i), HasData: true, Uptime: 1, Worst: data.Operational, Known: 24 * time.Hour}
		}
		days[1] = data.DayUptime{Date: day.AddDate(0, 0, 1), HasData: true, Uptime: 0.99, Worst: data.PartialOutage, Known: 24 * time.Hour,
			Partial: 48 * time.Minute}
		days[2].Known = time.Hour
		return days
	}
	key := func(days []data.DayUptime) uint64 {
		k := newKeyHash()
		uptimeKey(k, days)
		return k.sum()
	}
	base := key(mk())
	same := mk()
	same[2].Known = time.Hour + time.Millisecond // a later rebuild, nothing else
	if key(same) != base {
		t.Error("the key changed with the time known only")
	}
	for name, change := range map[string]func(d []data.DayUptime){
		"worst":       func(d []data.DayUptime) { d[2].Worst = data.DegradedPerformance },
		"degraded":    func(d []data.DayUptime) { d[2].Degraded = time.Second },
		"partial":     func(d []data.DayUptime) { d[1].Partial += time.Second },
		"uptime":      func(d []data.DayUptime) { d[1].Uptime = 0.98 },
		"no data":     func(d []data.DayUptime) { d[0].HasData = false },
		"next day":    func(d []data.DayUptime) { d[0].Date = d[0].Date.AddDate(0, 0, 1) },
		"maintenance": func(d []data.DayUptime) { d[0].Maintenance = time.Minute },
		"window":      func(d []data.DayUptime) { d[1].Known = time.Hour }, // the 90-day figure moves
	} {
		d := mk()
		change(d)
		if key(d) == base {
			t.Errorf("%s: the key did not change", name)
		}
	}
}
