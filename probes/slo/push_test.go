package slo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

func TestParseEvents(t *testing.T) {
	evs, err := slo.ParseEvents([]byte(`{"events":[{"time":"2026-06-10T12:00:05Z","good":998,"total":1000},{"time":1781092800.5,"good":1e3,"total":1000}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !evs[0].Time.Equal(time.Date(2026, 6, 10, 12, 0, 5, 0, time.UTC)) || evs[0].Good != 998 ||
		evs[1].Good != 1000 || evs[1].Time.Unix() != 1781092800 {
		t.Fatalf("parsed %+v", evs)
	}
	many := `{"events":[` + strings.Repeat(`{"time":1,"good":0,"total":0},`, slo.MaxPushEvents) + `{"time":1,"good":0,"total":0}]}`
	for _, tc := range []struct {
		name, body, field string
	}{
		{"empty body", ``, "body"},
		{"not JSON", `{"events":[`, "body"},
		{"a list", `[{"time":1,"good":1,"total":1}]`, "body"},
		{"no events", `{}`, "events"},
		{"empty events", `{"events":[]}`, "events"},
		{"unknown key", `{"events":[],"x":1}`, "body"},
		{"unknown event key", `{"events":[{"time":1,"good":1,"total":1,"bad":0}]}`, "events[0]"},
		{"missing time", `{"events":[{"good":1,"total":1}]}`, "events[0].time"},
		{"missing good", `{"events":[{"time":1,"total":1}]}`, "events[0].good"},
		{"fractional count", `{"events":[{"time":1,"good":1.5,"total":2}]}`, "events[0].good"},
		{"string count", `{"events":[{"time":1,"good":"1","total":2}]}`, "events[0].good"},
		{"bad time", `{"events":[{"time":"yesterday","good":1,"total":2}]}`, "events[0].time"},
		{"negative unix time", `{"events":[{"time":-5,"good":1,"total":2}]}`, "events[0].time"},
		{"trailing data", `{"events":[{"time":1,"good":1,"total":1}]} {}`, "body"},
		{"too many", many, "events"},
		{"too big", `{"events":[{"time":1,"good":1,"total":1}]}` + strings.Repeat(" ", slo.MaxPushBytes), "body"},
	} {
		_, err := slo.ParseEvents([]byte(tc.body))
		var inv *data.InvalidError
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%s: %v; want invalid %s", tc.name, err, tc.field)
		}
	}
}

// FuzzParseEvents: any body gives events or an *InvalidError, never a panic,
// and parsed events re-encode to a body that parses the same.
func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"events":[{"time":"2026-06-10T12:00:05Z","good":998,"total":1000}]}`))
	f.Add([]byte(`{"events":[{"time":1781092800.5,"good":1e3,"total":-1}]}`))
	f.Add([]byte(`{"events":[{"time":null,"good":1,"total":1,"x":{}}]}`))
	f.Add([]byte(`{"events":[]} trailing`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := slo.ParseEvents(body)
		if err != nil {
			var inv *data.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v is not an *InvalidError", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > slo.MaxPushEvents {
			t.Fatalf("%d events accepted", len(evs))
		}
		for _, ev := range evs {
			if ev.Time.IsZero() {
				t.Fatalf("event without a time: %+v", ev)
			}
		}
	})
}

func TestTokenAuth(t *testing.T) {
	a := slo.NewTokenAuth("all-secret", map[string]string{"checkout": "co-secret", "search": ""})
	for _, tc := range []struct {
		token, slo  string
		auth, allow bool
	}{
		{"all-secret", "checkout", true, true},
		{"all-secret", "anything", true, true},
		{"co-secret", "checkout", true, true},
		{"co-secret", "search", true, false},
		{"", "search", false, false},
		{"all-secre", "checkout", false, false},
		{"all-secrett", "checkout", false, false},
	} {
		auth, allow := a.AllowPush(ctx, tc.token, tc.slo)
		if auth != tc.auth || allow != tc.allow {
			t.Errorf("AllowPush(%q, %q) = %v, %v; want %v, %v", tc.token, tc.slo, auth, allow, tc.auth, tc.allow)
		}
	}
	if slo.NewTokenAuth("", map[string]string{"x": ""}).Enabled() {
		t.Error("no tokens, yet enabled")
	}
}
