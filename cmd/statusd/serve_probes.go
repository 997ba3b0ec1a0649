package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/statusd/statusd/probes"
	"github.com/statusd/statusd/probes/demo"
)

// startDemo runs the demo shop on probing.demo_upstream. If another process
// (a second statusd, a test) has the port, it takes a free one on the same
// host and points the probes that target the configured address at it.
func (m *Main) startDemo(ctx context.Context) error {
	addr := m.Config.Probing.DemoUpstream
	log := m.Logger.With("component", "demo upstream")
	var err error
	m.Demo, err = demo.Listen(ctx, addr)
	if err != nil {
		log.Warn("address taken, using a free port", "addr", addr, "err", err)
		host, _, _ := net.SplitHostPort(addr)
		if m.Demo, err = demo.Listen(ctx, net.JoinHostPort(host, "0")); err != nil {
			return err
		}
	}
	m.Config.retarget(addr, m.Demo.Addr())
	log.Info("demo shop running", "addr", m.Demo.Addr(),
		"break_checkout", "statusd demo-upstream set --url http://"+m.Demo.Addr()+" checkout failing")
	return nil
}

func (m *Main) stopDemo(ctx context.Context) error {
	if m.Demo == nil {
		return nil
	}
	return m.Demo.Close(ctx)
}

// startProbes builds the configured probes and starts them: the scheduler,
// the engine that sets components' automatic status, and the batched
// result writer.
func (m *Main) startProbes(ctx context.Context) error {
	cfg := m.Config
	ps, err := cfg.BuildProbes()
	if err != nil {
		return err
	}
	log := m.Logger.With("component", "probes")
	svc := probes.NewService(m.Store, ps, probes.ServiceOptions{
		Region: cfg.Probing.Region, Concurrency: cfg.Probing.Concurrency, Location: cfg.Page.Location,
		ResultsFor: cfg.Probing.ResultsRetention, AggregatesFor: time.Duration(cfg.Snapshot.HistoryDays) * 24 * time.Hour,
		MajorShare: cfg.Probing.MajorOutageShare, Logger: log, Registerer: m.Registry,
	})
	if err := svc.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	m.Probes = svc
	log.Info("probes running", "probes", len(ps), "region", cfg.Probing.Region)
	return nil
}

func (m *Main) stopProbes(ctx context.Context) error {
	if m.Probes == nil {
		return nil
	}
	return m.Probes.Stop(ctx)
}
