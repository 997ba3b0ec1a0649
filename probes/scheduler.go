package probes

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// Sink receives every result, from the scheduler's goroutines. Record may
// block to push back when a consumer falls behind, and must not keep r's
// memory beyond the call.
type Sink interface {
	Record(r data.ProbeResult)
}

// SinkFunc makes a function a Sink.
type SinkFunc func(data.ProbeResult)

// Record calls f.
func (f SinkFunc) Record(r data.ProbeResult) { f(r) }

// Scheduler runs each probe at its interval, forever, until stopped.
//
// Each probe has its own goroutine and timer, so a slow or hanging target
// only ever delays its own probe (and holds one of the concurrency slots
// until its timeout). A probe's runs sit on a fixed grid: the n-th run is
// due at a per-probe offset plus n intervals, so runs never drift; a run
// that could not start before the next one is due (all slots busy) makes the
// probe skip the missed ticks rather than run them in a burst. The offset is
// a hash of the probe's id, so a thousand probes with a 30s interval spread
// over the 30s instead of all firing at :00, and the same probe runs at the
// same second after a restart.
type Scheduler struct {
	probes  []*Probe
	sink    Sink
	region  string
	sem     chan struct{}
	log     *slog.Logger
	metrics *Metrics

	mu     sync.Mutex
	lag    data.LatencyHistogram
	runs   int64
	missed int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// SchedulerOptions tune a Scheduler.
type SchedulerOptions struct {
	Region      string // data.DefaultRegion if empty
	Concurrency int    // checks running at once; 256 if 0
	Logger      *slog.Logger
	Metrics     *Metrics // nil: no metrics
}

// NewScheduler returns a scheduler for probes that hands results to sink.
func NewScheduler(probes []*Probe, sink Sink, o SchedulerOptions) *Scheduler {
	if o.Region == "" {
		o.Region = data.DefaultRegion
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 256
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{probes: probes, sink: sink, region: o.Region, sem: make(chan struct{}, o.Concurrency),
		log: o.Logger, metrics: o.Metrics}
}

// Start starts one goroutine per probe. Call Stop to end them.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for _, p := range s.probes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop(ctx, p)
		}()
	}
}

// Stop cancels the runs in progress (their results are dropped) and waits
// for every probe goroutine to end, or for ctx.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop probe scheduler: %w", ctx.Err())
	}
}

// Offset is where in each interval a probe runs: a hash of its id, so it is
// the same on every start and spread evenly over many probes.
func Offset(id string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id)) // never fails
	return time.Duration(h.Sum64() % uint64(interval))
}

// firstDue is the first grid point at or after now: a multiple of interval
// since the Unix epoch, plus the probe's offset.
func firstDue(now time.Time, interval, offset time.Duration) time.Time {
	epoch := time.Unix(0, 0)
	n := now.Sub(epoch) / interval
	due := epoch.Add(n*interval + offset)
	for due.Before(now) {
		due = due.Add(interval)
	}
	return due
}

func (s *Scheduler) loop(ctx context.Context, p *Probe) {
	due := firstDue(time.Now(), p.Interval, Offset(p.ID, p.Interval))
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		r, ok := s.runOnce(ctx, p, due)
		<-s.sem
		if !ok {
			return
		}
		s.sink.Record(r)
		due = due.Add(p.Interval)
		// A run that started late is followed by the next grid point that
		// is both in the future and at least half an interval after it,
		// so a probe never runs twice in quick succession.
		earliest := r.At.Add(p.Interval / 2)
		if now := time.Now(); now.After(earliest) {
			earliest = now
		}
		if due.Before(earliest) {
			missed := (earliest.Sub(due) + p.Interval - 1) / p.Interval
			due = due.Add(missed * p.Interval)
			s.mu.Lock()
			s.missed += int64(missed)
			s.mu.Unlock()
			s.metrics.missed(int(missed))
		}
		t.Reset(time.Until(due))
	}
}

// runOnce runs p's check within its timeout. It reports false if the
// scheduler is stopping, whose cancelled run is not a result.
func (s *Scheduler) runOnce(ctx context.Context, p *Probe, due time.Time) (data.ProbeResult, bool) {
	start := time.Now()
	lag := start.Sub(due)
	s.mu.Lock()
	s.lag.Add(lag)
	s.runs++
	s.mu.Unlock()
	s.metrics.schedulerLag(lag)
	rctx, cancel := context.WithTimeout(ctx, p.Timeout)
	c := p.Checker.Check(rctx)
	cancel()
	took := time.Since(start)
	if ctx.Err() != nil {
		return data.ProbeResult{}, false
	}
	if !c.Outcome.Valid() {
		s.log.Error("probe returned no outcome", "probe", p.ID)
		c = down("the check returned no outcome")
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) && c.Outcome != data.ProbeDown {
		c = down(fmt.Sprintf("timed out after %s", roundDuration(p.Timeout)))
	}
	return data.ProbeResult{ProbeID: p.ID, ComponentID: p.ComponentID, Region: s.region, At: start, Duration: took,
		Outcome: c.Outcome, Reason: c.Reason, Step: c.Step}, true
}

// SchedulerStats is what a scheduler has measured since it started.
type SchedulerStats struct {
	Runs   int64
	Missed int64 // ticks skipped because a run could not start in time
	// LagP50 and LagP99 estimate how late runs started after they were
	// due (waiting for a slot, timer and goroutine wake-up).
	LagP50, LagP99 time.Duration
}

// Stats returns what the scheduler has measured.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SchedulerStats{Runs: s.runs, Missed: s.missed, LagP50: s.lag.Quantile(0.5), LagP99: s.lag.Quantile(0.99)}
}
