package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

// sloFixture is the fixture store with an SLO engine over three pushed SLOs:
// checkout (a fast burn once pushed), search (a calendar month of latency)
// and one without data.
func sloFixture(t *testing.T) (*Server, *data.Store, *slo.Engine) {
	t.Helper()
	st := fixtureStore(t)
	now := func() time.Time { return goldenNow }
	e, err := slo.New(st, []slo.SLO{
		{Definition: slo.Definition{ID: "checkout-availability", JourneyID: "checkout", Name: "Checkout availability", Objective: 99.9,
			Window: slo.Window{Days: 28}}},
		{Definition: slo.Definition{ID: "search-latency", JourneyID: "search", Name: "Search under 300 ms", Kind: slo.Latency,
			Threshold: 300 * time.Millisecond, Objective: 99, Window: slo.Window{CalendarMonth: true}}},
		{Definition: slo.Definition{ID: "signin-availability", JourneyID: "sign-in", Name: "Sign-in availability", Objective: 99.5,
			Window: slo.Window{Days: 7}}},
	}, slo.Options{Location: berlin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := fixtureOptions()
	// Above the push limit, so that the handler's own 413 answers a body
	// it has read, rather than the connection being cut mid-upload.
	o.BodyLimit = 2 << 20
	o.SLOPush = e
	o.SLOAuth = slo.NewTokenAuth("all-token", map[string]string{"search-latency": "search-token"})
	srv, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, e
}

// push posts to a server listening on base (a real listener: a body over
// the limit must meet the real server).
func push(t *testing.T, base, id, token, contentType string, body []byte) (int, apiError, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/admin/slo/"+id+"/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ae apiError
	_ = json.Unmarshal(b, &ae) // a success has no error fields
	if resp.StatusCode != 413 && resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("push answered with Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, ae, resp.Header.Get("WWW-Authenticate") + string(b)
}

func events(at time.Time, n int, good, total int64) []byte {
	var parts []string
	for i := n - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf(`{"time":%q,"good":%d,"total":%d}`, at.Add(-time.Duration(i)*time.Minute).Format(time.RFC3339), good, total))
	}
	return []byte(`{"events":[` + strings.Join(parts, ",") + `]}`)
}

func TestSLOPushAPI(t *testing.T) {
	srv, st, _ := sloFixture(t)
	base := listen(t, srv)
	ok := events(goldenNow, 3, 1000, 1000)
	for _, tc := range []struct {
		name, id, token, ct string
		body                []byte
		code                int
		field               string
	}{
		{"no token", "checkout-availability", "", "application/json", ok, 401, ""},
		{"wrong token", "checkout-availability", "guess", "application/json", ok, 401, ""},
		{"token of another SLO", "checkout-availability", "search-token", "application/json", ok, 403, ""},
		{"unknown SLO", "nope", "all-token", "application/json", ok, 404, ""},
		{"not JSON", "checkout-availability", "all-token", "text/plain", ok, 415, ""},
		{"malformed", "checkout-availability", "all-token", "application/json", []byte(`{"events":[{"time":`), 400, "body"},
		{"unknown key", "checkout-availability", "all-token", "application/json", []byte(`{"events":[{"time":1,"good":1,"total":1,"ok":1}]}`), 400, "events[0]"},
		{"negative", "checkout-availability", "all-token", "", events(goldenNow, 1, -1, 5), 422, "events[0].good"},
		{"good > total", "checkout-availability", "all-token", "", append(events(goldenNow, 1, 5, 5)[:len(events(goldenNow, 1, 5, 5))-2],
			[]byte(fmt.Sprintf(`,{"time":%q,"good":6,"total":5}]}`, goldenNow.Format(time.RFC3339)))...), 422, "events[1].good"},
		{"future", "checkout-availability", "all-token", "", events(goldenNow.Add(time.Hour), 1, 1, 1), 422, "events[0].time"},
		{"outside the window", "checkout-availability", "all-token", "", events(goldenNow.AddDate(0, 0, -40), 1, 1, 1), 422, "events[0].time"},
		{"too big", "checkout-availability", "all-token", "", append(ok, bytes.Repeat([]byte(" "), 1<<20)...), 413, "body"},
	} {
		code, ae, raw := push(t, base, tc.id, tc.token, tc.ct, tc.body)
		if code != tc.code || ae.Field != tc.field || ae.Message == "" {
			t.Errorf("%s: %d %+v; want %d with field %q and a reason (%s)", tc.name, code, ae, tc.code, tc.field, raw)
		}
		if code == 401 && !strings.Contains(raw, "Bearer") {
			t.Errorf("%s: no WWW-Authenticate: Bearer", tc.name)
		}
	}
	mins, _ := st.SLOMinutes(context.Background(), "checkout-availability", goldenNow.AddDate(0, 0, -60), goldenNow.Add(2*time.Hour))
	if len(mins) != 0 {
		t.Fatalf("refused pushes stored %+v", mins)
	}
	if code, _, raw := push(t, base, "search-latency", "search-token", "application/json", ok); code != 200 || !strings.Contains(raw, `"accepted":3`) {
		t.Fatalf("good push: %d %s", code, raw)
	}
}

// TestSLOSurfaces: after a burst of bad events the page and journeys.json
// show each SLO's objective, compliance and remaining budget, the burn
// reason, a stale SLO; the page passes axe in light and dark.
func TestSLOSurfaces(t *testing.T) {
	srv, _, _ := sloFixture(t)
	base := listen(t, srv)
	// An hour at 1% errors: 10× the 99.9% budget rate, and a 5-minute burst
	// at 50%.
	var parts []string
	for i := 59; i >= 0; i-- {
		good := 990
		if i < 5 {
			good = 500
		}
		parts = append(parts, fmt.Sprintf(`{"time":%q,"good":%d,"total":1000}`, goldenNow.Add(-time.Duration(i)*time.Minute).Format(time.RFC3339), good))
	}
	if code, _, raw := push(t, base, "checkout-availability", "all-token", "application/json", []byte(`{"events":[`+strings.Join(parts, ",")+`]}`)); code != 200 {
		t.Fatalf("push: %d %s", code, raw)
	}
	if code, _, raw := push(t, base, "search-latency", "all-token", "application/json", events(goldenNow, 10, 9995, 10000)); code != 200 {
		t.Fatalf("push: %d %s", code, raw)
	}
	if err := srv.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, "GET", base+"/api/v2/journeys.json", nil)
	var doc struct {
		Journeys []struct {
			ID                string       `json:"id"`
			Status            string       `json:"status"`
			SLOs              []testSLODoc `json:"slos"`
			ComponentStatuses []struct {
				Status string  `json:"status"`
				Reason *string `json:"reason"`
			} `json:"component_statuses"`
		} `json:"journeys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	byID := map[string]testSLODoc{}
	for _, j := range doc.Journeys {
		for _, s := range j.SLOs {
			byID[s.ID] = s
		}
		if j.ID == "checkout" {
			if j.Status != "partial_outage" || j.ComponentStatuses[0].Reason == nil ||
				!strings.HasPrefix(*j.ComponentStatuses[0].Reason, "SLO Checkout availability: burning error budget") {
				t.Errorf("checkout: %s, %+v", j.Status, j.ComponentStatuses[0])
			}
		}
	}
	co := byID["checkout-availability"]
	// 60,000 events, 550 + 2,500 bad (5.08%): SLI 0.94917, the 99.9%
	// budget overspent 49.8 times.
	if co.SLI == nil || *co.SLI != 56950.0/60000 || co.Alert == nil || *co.Alert != "fast" || co.ErrorBudget.RemainingRatio == nil ||
		*co.ErrorBudget.RemainingRatio > -39 || co.Objective != 99.9 || co.Window != "28 days" || co.Total != 60000 || len(co.BurnRates) != 5 {
		t.Errorf("checkout SLO %+v", co)
	}
	se := byID["search-latency"]
	if se.SLI == nil || *se.SLI != 0.9995 || se.Alert != nil || se.Window != "calendar month" || math.Abs(*se.ErrorBudget.RemainingRatio-0.95) > 1e-9 {
		t.Errorf("search SLO %+v", se)
	}
	si := byID["signin-availability"]
	if si.SLI != nil || !si.Stale || si.ErrorBudget.RemainingRatio != nil {
		t.Errorf("sign-in SLO without data %+v", si)
	}

	_, page := get(t, "GET", base+"/", nil)
	for _, want := range []string{
		`<h3 class="slos-h">Objectives</h3>`,
		`94.91% good over the last 28 days (objective 99.9%)`,
		`Error budget spent: overspent by`,
		`99.95% good this calendar month (objective 99%)`,
		`<meter min="0" max="100" low="25" high="50" optimum="100" value="95" aria-label="Error budget left for Search under 300 ms">95%</meter>`,
		// 1% of November (720 h in Berlin) is 7 h 12 min; 95% is 6:50:24.
		`95% of the error budget left (6 h 50 min of 7 h 12 min)`,
		`SLO Checkout availability: burning error budget`,
		`No data has arrived yet.`,
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	axeCheck(t, base, []string{"/"})
}

// testSLODoc is sloDoc as a client reads it.
type testSLODoc struct {
	ID          string    `json:"id"`
	Objective   float64   `json:"objective"`
	Window      string    `json:"window"`
	WindowStart string    `json:"window_start"`
	Good        int64     `json:"good"`
	Total       int64     `json:"total"`
	SLI         *float64  `json:"sli"`
	ErrorBudget budgetDoc `json:"error_budget"`
	BurnRates   []burnDoc `json:"burn_rates"`
	Alert       *string   `json:"alert"`
	Stale       bool      `json:"stale"`
	LastDataAt  *string   `json:"last_data_at"`
}

// TestSLOPushScopedToken: with the admin on the same listener, an API token
// with the slo:write scope pushes events; one without it gets 403, an
// unknown one 401, and a token from the configuration still works.
func TestSLOPushScopedToken(t *testing.T) {
	var e *slo.Engine
	h := newAdminHarness(t, func(o *Options) {
		var err error
		e, err = slo.New(o.Admin.Store.(*data.Store), []slo.SLO{{Definition: slo.Definition{ID: "checkout-availability",
			JourneyID: "checkout", Objective: 99.9, Window: slo.Window{Days: 28}}}}, slo.Options{Now: func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		o.SLOPush, o.SLOAuth = e, slo.NewTokenAuth("config-token", nil)
	})
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"events": []map[string]any{{"time": "2026-11-24T08:59:00Z", "good": 9, "total": 10}}}
	for _, tc := range []struct {
		name, token string
		code        int
	}{
		{"slo:write", h.token("ann@example.com", data.ScopeSLOWrite), 200},
		{"another scope", h.token("ann@example.com", data.ScopeAuditRead), 403},
		{"unknown API token", "sdt_" + strings.Repeat("A", 43), 401},
		{"configured token", "config-token", 200},
		{"none", "", 401},
	} {
		if res := h.api(tc.token, "POST", "/api/admin/slo/checkout-availability/events", body, nil); res.StatusCode != tc.code {
			t.Errorf("%s: %d; want %d", tc.name, res.StatusCode, tc.code)
		}
	}
	if f := e.Figures()[0]; f.Total != 20 {
		t.Fatalf("pushed %d events; want 20 from the two accepted pushes", f.Total)
	}
	// The push is in the API's OpenAPI document, with its body.
	var doc struct {
		Paths map[string]map[string]struct {
			Scope       string         `json:"x-statusd-scope"`
			RequestBody map[string]any `json:"requestBody"`
		} `json:"paths"`
	}
	h.api("", "GET", "/api/admin/openapi.json", nil, &doc)
	if op, ok := doc.Paths["/slo/{id}/events"]["post"]; !ok || op.Scope != "slo:write" || op.RequestBody == nil {
		t.Errorf("openapi.json documents the push as %+v (present: %v)", op, ok)
	}
}
