package main

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

// SLO feed types.
const (
	FeedProbes     = "probes"
	FeedPrometheus = "prometheus"
	FeedPush       = "push"
)

// SLOConfig is a service level objective of a journey.
type SLOConfig struct {
	ID        string
	Journey   string
	Name      string        // the id when not configured
	SLI       string        // availability or latency
	Threshold time.Duration // latency: how fast a good event is
	Objective float64       // percent, 0 < Objective < 100
	// Window is the rolling compliance window (1d to 90d) or 0 with
	// CalendarMonth.
	Window        time.Duration
	CalendarMonth bool
	Components    []string // empty: every component of the journey
	StaleAfter    time.Duration
	Feed          SLOFeedConfig
	Alerts        []SLOAlertConfig // nil: the defaults of the SRE workbook
}

// SLOFeedConfig says where an SLO's events come from.
type SLOFeedConfig struct {
	Type            string // FeedProbes, FeedPrometheus or FeedPush
	URL             string // prometheus
	GoodQuery       string
	TotalQuery      string
	ErrorRatioQuery string
	Timeout         time.Duration
	Poll            time.Duration
	PushToken       string // push: a token for this SLO only
}

// SLOAlertConfig is one burn-rate alert rule.
type SLOAlertConfig struct {
	Long, Short time.Duration
	Factor      float64
	Severity    string
	Status      data.ComponentStatus
}

type rawSLO struct {
	ID         *string       `yaml:"id"`
	Journey    *string       `yaml:"journey"`
	Name       *string       `yaml:"name"`
	SLI        *string       `yaml:"sli"`
	Threshold  *string       `yaml:"threshold"`
	Objective  *float64      `yaml:"objective"`
	Window     *string       `yaml:"window"`
	Components []string      `yaml:"components"`
	StaleAfter *string       `yaml:"stale_after"`
	Feed       *rawSLOFeed   `yaml:"feed"`
	Alerts     []rawSLOAlert `yaml:"alerts"`
}

type rawSLOFeed struct {
	Type            *string `yaml:"type"`
	URL             *string `yaml:"url"`
	GoodQuery       *string `yaml:"good_query"`
	TotalQuery      *string `yaml:"total_query"`
	ErrorRatioQuery *string `yaml:"error_ratio_query"`
	Timeout         *string `yaml:"timeout"`
	Poll            *string `yaml:"poll"`
	PushToken       *string `yaml:"push_token"`
}

type rawSLOAlert struct {
	Long     *string  `yaml:"long"`
	Short    *string  `yaml:"short"`
	Factor   *float64 `yaml:"factor"`
	Severity *string  `yaml:"severity"`
	Status   *string  `yaml:"status"`
}

// envSLOPushToken overrides slos_push_token.
const envSLOPushToken = "STATUSD_SLO_PUSH_TOKEN"

func (c *checker) slos(file *rawConfig, cfg *Config) {
	journeys := map[string]map[string]bool{} // journey → its components that are not groups
	for _, j := range cfg.Journeys {
		if j.ID == "" {
			continue
		}
		comps := map[string]bool{}
		for _, cc := range j.Components {
			if !cc.IsGroup() {
				comps[cc.ID] = true
			}
			for _, ch := range cc.Components {
				comps[ch.ID] = true
			}
		}
		journeys[j.ID] = comps
	}
	cfg.SLOPushToken = c.secret("slos_push_token", file.SLOPushToken, envSLOPushToken)
	seen := map[string]int{}
	for i, rs := range file.SLOs {
		path := fmt.Sprintf("slos[%d]", i)
		s := c.slo(path, rs, journeys, seen)
		cfg.SLOs = append(cfg.SLOs, s)
	}
	c.opensloFiles(file.OpenSLOFiles, journeys, seen, cfg)
	push := false
	adminAPI := file.Admin.Enabled != nil && *file.Admin.Enabled // API tokens with the slo:write scope
	for _, s := range cfg.SLOs {
		if s.Feed.Type == FeedPush {
			push = true
			if s.Feed.PushToken == "" && cfg.SLOPushToken == "" && !adminAPI {
				c.add(c.sloPath(cfg, s.ID)+".feed", "a push feed needs a token: set push_token here or slos_push_token, or enable the admin for API tokens with the slo:write scope")
			}
		}
	}
	if !push && cfg.SLOPushToken != "" && file.SLOPushToken != nil {
		c.add("slos_push_token", "no SLO has a push feed")
	}
}

// sloPath finds the path of the SLO with id for a message.
func (c *checker) sloPath(cfg *Config, id string) string {
	for i, s := range cfg.SLOs {
		if s.ID == id {
			return fmt.Sprintf("slos[%d]", i)
		}
	}
	return "slos"
}

func (c *checker) slo(path string, rs rawSLO, journeys map[string]map[string]bool, seen map[string]int) SLOConfig {
	var s SLOConfig
	s.ID, _ = c.id(path, rs.ID, seen)
	if rs.Journey == nil || *rs.Journey == "" {
		c.missing(path, "journey")
	} else {
		s.Journey = *rs.Journey
		if _, ok := journeys[s.Journey]; !ok {
			c.add(path+".journey", "unknown journey %q", s.Journey)
		}
	}
	s.Name = c.text(path, "name", rs.Name, 200, false)
	if s.Name == "" {
		s.Name = s.ID
	}
	s.SLI = string(slo.Availability)
	if rs.SLI != nil {
		s.SLI = *rs.SLI
	}
	switch slo.Kind(s.SLI) {
	case slo.Availability:
		if rs.Threshold != nil {
			c.add(path+".threshold", "only a latency SLO has a threshold")
		}
	case slo.Latency:
		if rs.Threshold == nil {
			c.add(path, "a latency SLO needs a threshold, such as 300ms: how fast a good event is")
		}
	default:
		c.add(path+".sli", "unknown SLI %q; use availability or latency", s.SLI)
	}
	s.Threshold = c.duration(path+".threshold", rs.Threshold, durationRange{minExclusive: true, max: time.Hour, example: "300ms, 2s"})
	if rs.Objective == nil {
		c.missing(path, "objective")
	} else {
		s.Objective = *rs.Objective
		if !(s.Objective > 0 && s.Objective < 100) {
			c.add(path+".objective", "%s must be a percentage between 0 and 100, such as 99.9", strconv.FormatFloat(s.Objective, 'g', -1, 64))
		}
	}
	if rs.Window != nil && (*rs.Window == "calendar_month" || *rs.Window == "month") {
		s.CalendarMonth = true
	} else {
		s.Window = c.duration(path+".window", rs.Window, durationRange{def: 30 * day, min: day, max: 90 * day,
			example: "7d, 30d, or calendar_month"})
		if s.Window%time.Minute != 0 {
			c.add(path+".window", "%q must be whole minutes", *rs.Window)
			s.Window = 30 * day
		}
	}
	for k, comp := range rs.Components {
		if s.Journey != "" && journeys[s.Journey] != nil && !journeys[s.Journey][comp] {
			c.add(fmt.Sprintf("%s.components[%d]", path, k), "%q is not a component of journey %q (groups take their components' status)", comp, s.Journey)
		}
	}
	s.Components = rs.Components
	s.StaleAfter = c.duration(path+".stale_after", rs.StaleAfter, durationRange{def: slo.DefaultStaleAfter, min: time.Minute, max: 7 * day})
	s.Feed = c.sloFeed(path+".feed", rs.Feed)
	if rs.Alerts != nil {
		s.Alerts = []SLOAlertConfig{}
		if len(rs.Alerts) == 0 {
			c.add(path+".alerts", "must list at least one rule; leave it out for the defaults")
		}
	}
	for k, ra := range rs.Alerts {
		s.Alerts = append(s.Alerts, c.sloAlert(fmt.Sprintf("%s.alerts[%d]", path, k), ra))
	}
	return s
}

func (c *checker) sloFeed(path string, rf *rawSLOFeed) SLOFeedConfig {
	f := SLOFeedConfig{Type: FeedProbes}
	if rf == nil {
		return f
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if rf.Type == nil || *rf.Type == "" {
		c.missing(path, "type")
	} else {
		f.Type = *rf.Type
	}
	f.URL, f.GoodQuery, f.TotalQuery, f.ErrorRatioQuery = str(rf.URL), str(rf.GoodQuery), str(rf.TotalQuery), str(rf.ErrorRatioQuery)
	f.Timeout = c.duration(path+".timeout", rf.Timeout, durationRange{def: 10 * time.Second, minExclusive: true, max: 2 * time.Minute})
	f.Poll = c.duration(path+".poll", rf.Poll, durationRange{def: time.Minute, min: 5 * time.Second, max: time.Hour})
	only := func(kind string, keys ...string) {
		for _, k := range keys {
			if c.has(path + "." + k) {
				c.add(path+"."+k, "only a %s feed has %s", kind, k)
			}
		}
	}
	switch f.Type {
	case FeedPrometheus:
		only("push", "push_token")
		if f.URL == "" {
			c.missing(path, "url")
		} else if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add(path+".url", "%q is not an http(s) URL of a Prometheus server, such as http://prometheus:9090", f.URL)
		}
		switch {
		case f.GoodQuery != "" && f.ErrorRatioQuery != "":
			c.add(path+".error_ratio_query", "give good_query or error_ratio_query, not both")
		case f.ErrorRatioQuery != "":
		case f.GoodQuery == "" && f.TotalQuery == "":
			c.add(path, "a prometheus feed needs good_query and total_query (or error_ratio_query)")
		case f.GoodQuery == "":
			c.missing(path, "good_query")
		case f.TotalQuery == "":
			c.missing(path, "total_query")
		}
	case FeedPush:
		only("prometheus", "url", "good_query", "total_query", "error_ratio_query", "timeout", "poll")
		f.PushToken = c.secret(path+".push_token", rf.PushToken, "")
	case FeedProbes:
		only("prometheus", "url", "good_query", "total_query", "error_ratio_query", "timeout")
		only("push", "push_token")
	case "":
	default:
		c.add(path+".type", "unknown feed %q; use probes, prometheus or push", f.Type)
	}
	return f
}

func (c *checker) sloAlert(path string, ra rawSLOAlert) SLOAlertConfig {
	var a SLOAlertConfig
	r := durationRange{min: time.Minute, max: slo.MaxAlertWindow, example: "5m, 1h, 3d"}
	for _, k := range []struct {
		key string
		raw *string
		dst *time.Duration
	}{{"long", ra.Long, &a.Long}, {"short", ra.Short, &a.Short}} {
		if k.raw == nil {
			c.missing(path, k.key)
			continue
		}
		*k.dst = c.duration(path+"."+k.key, k.raw, r)
	}
	if a.Long > 0 && a.Short > 0 && a.Short >= a.Long {
		c.add(path+".short", "%s must be shorter than long (%s)", formatDuration(a.Short), formatDuration(a.Long))
	}
	if ra.Factor == nil {
		c.missing(path, "factor")
	} else if a.Factor = *ra.Factor; !(a.Factor > 0 && a.Factor <= 1e6) {
		c.add(path+".factor", "%s must be a positive burn rate such as 14.4", strconv.FormatFloat(a.Factor, 'g', -1, 64))
	}
	a.Severity = data.SLOFastBurn
	if ra.Severity != nil {
		a.Severity = *ra.Severity
		if a.Severity != data.SLOFastBurn && a.Severity != data.SLOSlowBurn {
			c.add(path+".severity", "unknown severity %q; use fast or slow", a.Severity)
		}
	}
	a.Status = data.PartialOutage
	if a.Severity == data.SLOSlowBurn {
		a.Status = data.DegradedPerformance
	}
	if ra.Status != nil {
		a.Status = data.ComponentStatus(*ra.Status)
		switch a.Status {
		case data.DegradedPerformance, data.PartialOutage, data.MajorOutage:
		default:
			c.add(path+".status", "%q is not degraded_performance, partial_outage or major_outage", *ra.Status)
		}
	}
	return a
}

// Definitions returns the SLOs as the engine takes them.
func (c *Config) Definitions() []slo.Definition {
	out := make([]slo.Definition, 0, len(c.SLOs))
	pos := map[string]int{}
	for _, s := range c.SLOs {
		d := slo.Definition{ID: s.ID, JourneyID: s.Journey, Name: s.Name, Position: pos[s.Journey], Kind: slo.Kind(s.SLI),
			Threshold: s.Threshold, Objective: s.Objective, Components: s.Components, StaleAfter: s.StaleAfter}
		pos[s.Journey]++
		if s.CalendarMonth {
			d.Window.CalendarMonth = true
		} else if s.Window%day == 0 {
			d.Window.Days = int(s.Window / day)
		} else {
			d.Window.Length = s.Window
		}
		if s.Alerts != nil {
			d.Alerts = []slo.AlertRule{}
			for _, a := range s.Alerts {
				d.Alerts = append(d.Alerts, slo.AlertRule{Long: a.Long, Short: a.Short, Factor: a.Factor, Severity: a.Severity, Status: a.Status})
			}
		}
		out = append(out, d)
	}
	return out
}

// pushTokens returns the per-SLO push tokens.
func (c *Config) pushTokens() map[string]string {
	out := map[string]string{}
	for _, s := range c.SLOs {
		if s.Feed.Type == FeedPush && s.Feed.PushToken != "" {
			out[s.ID] = s.Feed.PushToken
		}
	}
	return out
}
