package main

import (
	"context"
	"fmt"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
	"github.com/statusd/statusd/server"
)

// newSLOEngine makes the SLO engine from the configuration, with a feed per
// SLO, registers its metrics, and returns what the server needs for the
// push API (both nil when no SLO takes pushed events).
func (m *Main) newSLOEngine() (server.SLOPusher, server.PushAuth, error) {
	cfg := m.Config
	defs := cfg.Definitions()
	slos := make([]slo.SLO, 0, len(defs))
	pushed := false
	for i, d := range defs {
		sc := cfg.SLOs[i]
		s := slo.SLO{Definition: d, Poll: sc.Feed.Poll}
		switch sc.Feed.Type {
		case FeedPrometheus:
			p, err := slo.NewPrometheus(sc.ID, slo.PrometheusConfig{URL: sc.Feed.URL, GoodQuery: sc.Feed.GoodQuery,
				TotalQuery: sc.Feed.TotalQuery, ErrorRatioQuery: sc.Feed.ErrorRatioQuery, Timeout: sc.Feed.Timeout})
			if err != nil {
				return nil, nil, fmt.Errorf("SLO %s: %w", sc.ID, err)
			}
			s.Source = p
		case FeedProbes:
			comps := sc.Components
			if len(comps) == 0 {
				comps = cfg.journeyComponents(sc.Journey)
			}
			s.Source = &slo.Probes{Results: noProbeResults{}, Components: comps}
		case FeedPush:
			pushed = true
		}
		slos = append(slos, s)
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	var err error
	m.SLO, err = slo.New(m.Store, slos, slo.Options{Location: cfg.Page.Location, Now: now, Logger: m.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("SLOs: %w", err)
	}
	m.Registry.MustRegister(m.SLO)
	if !pushed {
		return nil, nil, nil
	}
	return m.SLO, slo.NewTokenAuth(cfg.SLOPushToken, cfg.pushTokens()), nil
}

// journeyComponents lists a journey's components that are not groups.
func (c *Config) journeyComponents(journeyID string) []string {
	var out []string
	for _, j := range c.Journeys {
		if j.ID != journeyID {
			continue
		}
		for _, cc := range j.Components {
			if !cc.IsGroup() {
				out = append(out, cc.ID)
			}
			for _, ch := range cc.Components {
				out = append(out, ch.ID)
			}
		}
	}
	return out
}

// noProbeResults stands in for the probe result store until probes record
// their runs: an SLO fed by probes has no data yet, and says so.
type noProbeResults struct{}

func (noProbeResults) Minutes(context.Context, []string, time.Time, time.Time) ([]data.SLOMinute, error) {
	return nil, nil
}
