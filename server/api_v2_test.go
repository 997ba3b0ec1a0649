package server

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"testing"
)

// The key sets below are those of the real Statuspage responses quoted in
// shared/reference/statuspage-v2.md; clients written against Statuspage read
// exactly these.
var (
	spPageKeys      = []string{"id", "name", "url", "time_zone", "updated_at"}
	spComponentKeys = []string{"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
		"start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
	spIncidentKeys = []string{"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
		"shortlink", "started_at", "page_id", "incident_updates", "components"}
	spUpdateKeys = []string{"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
		"affected_components", "deliver_notifications", "custom_tweet", "tweet_id"}
	spAffectedKeys = []string{"code", "name", "old_status", "new_status"}

	spTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantKeys(t *testing.T, what string, m map[string]json.RawMessage, want []string, optional ...string) {
	t.Helper()
	w := append([]string{}, want...)
	for _, o := range optional {
		if _, ok := m[o]; ok {
			w = append(w, o)
		}
	}
	sort.Strings(w)
	if got := keys(m); !slices.Equal(got, w) {
		t.Errorf("%s keys = %v; want %v", what, got, w)
	}
}

func object(t *testing.T, raw json.RawMessage) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	return m
}

func array(t *testing.T, raw json.RawMessage) []json.RawMessage {
	t.Helper()
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("not an array: %s", raw)
	}
	return a
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s) // a non-string stays "" and fails the caller's check
	return s
}

func checkTime(t *testing.T, what string, raw json.RawMessage, nullable bool) {
	t.Helper()
	if string(raw) == "null" {
		if !nullable {
			t.Errorf("%s is null", what)
		}
		return
	}
	if s := str(raw); !spTimeRe.MatchString(s) {
		t.Errorf("%s = %s; want ISO 8601 with milliseconds and Z", what, raw)
	}
}

func oneOf(t *testing.T, what string, raw json.RawMessage, allowed ...string) {
	t.Helper()
	if s := str(raw); !slices.Contains(allowed, s) {
		t.Errorf("%s = %s; want one of %v", what, raw, allowed)
	}
}

func checkComponent(t *testing.T, raw json.RawMessage) {
	c := object(t, raw)
	wantKeys(t, "component "+str(c["id"]), c, spComponentKeys, "components")
	oneOf(t, "component status", c["status"], "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")
	checkTime(t, "component created_at", c["created_at"], false)
	checkTime(t, "component updated_at", c["updated_at"], false)
	if string(c["group"]) == "true" && len(array(t, c["components"])) == 0 {
		t.Errorf("group %s lists no components", c["id"])
	}
}

func checkIncident(t *testing.T, raw json.RawMessage, maintenance bool) {
	in := object(t, raw)
	if maintenance {
		wantKeys(t, "maintenance", in, append(append([]string{}, spIncidentKeys...), "scheduled_for", "scheduled_until"))
		oneOf(t, "maintenance status", in["status"], "scheduled", "in_progress", "verifying", "completed")
		checkTime(t, "scheduled_for", in["scheduled_for"], false)
		checkTime(t, "scheduled_until", in["scheduled_until"], false)
	} else {
		wantKeys(t, "incident", in, spIncidentKeys)
		oneOf(t, "incident status", in["status"], "investigating", "identified", "monitoring", "resolved", "postmortem")
	}
	oneOf(t, "impact", in["impact"], "none", "minor", "major", "critical", "maintenance")
	for _, k := range []string{"created_at", "updated_at", "started_at"} {
		checkTime(t, "incident "+k, in[k], false)
	}
	checkTime(t, "monitoring_at", in["monitoring_at"], true)
	checkTime(t, "resolved_at", in["resolved_at"], true)
	for _, u := range array(t, in["incident_updates"]) {
		um := object(t, u)
		wantKeys(t, "incident update", um, spUpdateKeys)
		if str(um["incident_id"]) != str(in["id"]) {
			t.Errorf("update's incident_id %s != %s", um["incident_id"], in["id"])
		}
		checkTime(t, "display_at", um["display_at"], false)
		for _, a := range array(t, um["affected_components"]) {
			wantKeys(t, "affected component", object(t, a), spAffectedKeys)
		}
	}
	for _, c := range array(t, in["components"]) {
		checkComponent(t, c)
	}
}

// TestStatuspageShapes reads every /api/v2 document of the fixture and checks
// Statuspage's key sets, time format and enum strings.
func TestStatuspageShapes(t *testing.T) {
	srv, _ := newFixtureServer(t)
	fetch := func(path string) map[string]json.RawMessage {
		resp, err := srv.App().Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return object(t, b)
	}
	sum := fetch("/api/v2/summary.json")
	wantKeys(t, "summary", sum, []string{"page", "components", "incidents", "scheduled_maintenances", "status"})
	wantKeys(t, "page", object(t, sum["page"]), spPageKeys)
	checkTime(t, "page updated_at", object(t, sum["page"])["updated_at"], false)
	st := object(t, sum["status"])
	wantKeys(t, "status", st, []string{"indicator", "description"})
	oneOf(t, "indicator", st["indicator"], "none", "minor", "major", "critical", "maintenance")
	oneOf(t, "description", st["description"], "All Systems Operational", "Minor Service Outage", "Partially Degraded Service",
		"Partial System Outage", "Major Service Outage", "Service Under Maintenance")
	for _, c := range array(t, sum["components"]) {
		checkComponent(t, c)
	}
	for _, in := range array(t, sum["incidents"]) {
		checkIncident(t, in, false)
		if s := str(object(t, in)["status"]); s == "resolved" || s == "postmortem" {
			t.Errorf("summary lists a %s incident; it holds unresolved ones only", s)
		}
	}
	for _, in := range array(t, sum["scheduled_maintenances"]) {
		checkIncident(t, in, true)
		if s := str(object(t, in)["status"]); s == "completed" {
			t.Error("summary lists a completed maintenance")
		}
	}

	wantKeys(t, "status.json", fetch("/api/v2/status.json"), []string{"page", "status"})
	comps := fetch("/api/v2/components.json")
	wantKeys(t, "components.json", comps, []string{"page", "components"})
	for _, path := range []string{"/api/v2/incidents.json", "/api/v2/incidents/unresolved.json"} {
		doc := fetch(path)
		wantKeys(t, path, doc, []string{"page", "incidents"})
		for _, in := range array(t, doc["incidents"]) {
			checkIncident(t, in, false)
		}
	}
	want := map[string][]string{
		"/api/v2/scheduled-maintenances.json":          {"scheduled", "in_progress", "verifying", "completed"},
		"/api/v2/scheduled-maintenances/upcoming.json": {"scheduled"},
		"/api/v2/scheduled-maintenances/active.json":   {"in_progress", "verifying"},
	}
	for path, statuses := range want {
		doc := fetch(path)
		wantKeys(t, path, doc, []string{"page", "scheduled_maintenances"})
		list := array(t, doc["scheduled_maintenances"])
		if len(list) == 0 {
			t.Errorf("%s is empty for a fixture with every maintenance status", path)
		}
		for _, in := range list {
			checkIncident(t, in, true)
			oneOf(t, path+" status", object(t, in)["status"], statuses...)
		}
	}
}
