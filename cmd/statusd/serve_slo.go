package main

import (
	"context"
	"fmt"
	"time"

	"github.com/statusd/statusd/probes/slo"
)

// startSLOs loads what the store holds for each SLO and starts the engine's
// minute tick and feeds.
func (m *Main) startSLOs(ctx context.Context) error {
	return m.SLO.Start(context.WithoutCancel(ctx))
}

func (m *Main) stopSLOs(ctx context.Context) error {
	if m.SLO == nil {
		return nil
	}
	return m.SLO.Stop(ctx)
}

// newSLOEngine makes the SLO engine from the configuration, with a feed per
// SLO, and registers its metrics. It keeps for the snapshot builder what the
// push API needs (nothing when no SLO takes pushed events).
func (m *Main) newSLOEngine() error {
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
				return fmt.Errorf("SLO %s: %w", sc.ID, err)
			}
			s.Source = p
		case FeedProbes:
			comps := sc.Components
			if len(comps) == 0 {
				comps = cfg.journeyComponents(sc.Journey)
			}
			s.Source = &slo.Probes{Results: slo.StoreResults{Store: m.Store}, Components: comps}
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
		return fmt.Errorf("SLOs: %w", err)
	}
	m.Registry.MustRegister(m.SLO)
	if pushed {
		m.sloPush, m.sloAuth = m.SLO, slo.NewTokenAuth(cfg.SLOPushToken, cfg.pushTokens())
	}
	return nil
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
