package probes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
)

// MaintenanceSource tells which components a maintenance covers now;
// *data.Store has it.
type MaintenanceSource interface {
	ComponentsInMaintenance(ctx context.Context, t time.Time) (map[string]bool, error)
}

// Store is everything the probes need from the store.
type Store interface {
	ResultStore
	InputWriter
	MaintenanceSource
}

var _ Store = (*data.Store)(nil)

// Service runs the probes as one subsystem: the scheduler runs the checks
// of this region, every result is marked if its component is under
// maintenance, counted in the metrics, handed to the engine and stored in
// batches.
type Service struct {
	Scheduler *Scheduler
	Writer    *Writer
	Engine    *Engine

	store   Store
	o       ServiceOptions
	metrics *Metrics
	maint   atomic.Pointer[map[string]bool]

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Region        string         // this process's region; data.DefaultRegion if empty
	Concurrency   int            // checks at once; 256 if 0
	Location      *time.Location // where days start, for daily aggregates
	ResultsFor    time.Duration  // raw results kept; 7 days if 0
	AggregatesFor time.Duration  // aggregates kept; 90 days if 0
	MajorShare    float64        // see EngineOptions
	BatchSize     int            // see WriterOptions
	FlushEvery    time.Duration  // see WriterOptions
	// MaintenanceEvery is how often the components under maintenance are
	// read. 5s if 0.
	MaintenanceEvery time.Duration
	Logger           *slog.Logger
	Registerer       prometheus.Registerer // nil: no metrics
}

// NewService wires the parts for probes. Probes whose regions do not include
// this one are judged by the engine from results other agents send
// (Record), but not run here.
func NewService(store Store, probes []*Probe, o ServiceOptions) *Service {
	if o.Region == "" {
		o.Region = data.DefaultRegion
	}
	if o.MaintenanceEvery <= 0 {
		o.MaintenanceEvery = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, o: o}
	if o.Registerer != nil {
		s.metrics = NewMetrics(o.Registerer)
	}
	s.Writer = NewWriter(store, WriterOptions{BatchSize: o.BatchSize, FlushEvery: o.FlushEvery, Location: o.Location,
		ResultsFor: o.ResultsFor, AggregatesFor: o.AggregatesFor, Logger: o.Logger, Metrics: s.metrics})
	s.Engine = NewEngine(store, probes, EngineOptions{MajorShare: o.MajorShare, Logger: o.Logger, Metrics: s.metrics})
	var local []*Probe
	for _, p := range probes {
		if len(p.Regions) == 0 || slices.Contains(p.Regions, o.Region) {
			local = append(local, p)
		}
	}
	s.Scheduler = NewScheduler(local, SinkFunc(s.Record), SchedulerOptions{Region: o.Region, Concurrency: o.Concurrency,
		Logger: o.Logger, Metrics: s.metrics})
	empty := map[string]bool{}
	s.maint.Store(&empty)
	return s
}

// Record takes one result, from the scheduler or a remote agent.
func (s *Service) Record(r data.ProbeResult) {
	r.Maintenance = (*s.maint.Load())[r.ComponentID]
	s.metrics.result(&r)
	s.Engine.Record(r)
	s.Writer.Record(r)
}

// Start reads the maintenance state and the engine's earlier inputs, then
// starts the writer, the engine and the scheduler.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	if err := s.refreshMaintenance(ctx); err != nil {
		return fmt.Errorf("start probes: %w", err)
	}
	s.Writer.Start(ctx)
	if err := s.Engine.Start(ctx); err != nil {
		return errors.Join(err, s.Writer.Stop(ctx))
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.o.MaintenanceEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.refreshMaintenance(ctx); err != nil && ctx.Err() == nil {
					s.o.Logger.Warn("read maintenance windows", "err", err)
				}
			}
		}
	}()
	s.Scheduler.Start(ctx)
	return nil
}

func (s *Service) refreshMaintenance(ctx context.Context) error {
	m, err := s.store.ComponentsInMaintenance(ctx, time.Now())
	if err != nil {
		return err
	}
	s.maint.Store(&m)
	return nil
}

// Stop undoes Start in reverse: the scheduler stops (runs in flight are
// cancelled), then the engine applies and writes what it has, then the
// writer stores what is queued. Each step is bounded by ctx; a failed step
// does not keep the others from running.
func (s *Service) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	errs := []error{s.Scheduler.Stop(ctx)}
	errs = append(errs, s.Engine.Stop(ctx), s.Writer.Stop(ctx))
	s.cancel()
	s.wg.Wait()
	return errors.Join(errs...)
}
