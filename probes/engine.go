package probes

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// InputWriter is what the engine needs from the store; *data.Store has it.
type InputWriter interface {
	SetInputs(ctx context.Context, ins []data.Input) ([]data.StatusChange, error)
	ClearInput(ctx context.Context, componentID string, src data.InputSource, key, actor, reason string) (bool, error)
	AllInputs(ctx context.Context) (map[string][]data.Input, error)
}

var _ InputWriter = (*data.Store)(nil)

// InputKey is the key of the automatic input the engine writes.
const InputKey = "probes"

// Engine turns probe results into each component's automatic status input.
//
// Per probe and region it keeps a confirmed level (up, degraded, down) with
// hysteresis: FailureThreshold consecutive runs at a worse level confirm it,
// SuccessThreshold consecutive better runs recover, so one blip or a
// flapping target changes nothing. A probe counts as down (or degraded) for
// its component when at least Quorum of its regions with fresh results agree.
// A component whose probes are all fine is operational; one with some probes
// down is in partial outage, and in major outage once the share of its
// probes down reaches MajorShare; with none down but some degraded it has
// degraded performance.
//
// The engine writes an input only when a component's status or the set of
// probes behind it changes, with a reason naming the probe, the step, the
// regions and the rule. Runs during maintenance count like any other: the
// maintenance input outranks the automatic one while the window lasts, and
// the page shows the truth as soon as it ends. (They are left out of uptime
// and SLOs by the result writer.)
type Engine struct {
	store InputWriter
	o     EngineOptions
	in    chan data.ProbeResult

	byComponent map[string][]*Probe
	byID        map[string]*Probe

	// Owned by the loop goroutine.
	tracks  map[trackKey]*track
	written map[string]verdict // per component, what the store holds
	dirty   map[string]bool

	mu     sync.Mutex // guards status, for Status
	status map[string]data.ComponentStatus

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// EngineOptions tune an Engine.
type EngineOptions struct {
	// MajorShare is the share of a component's probes that must be down
	// for a major outage (below it: partial outage). 1 (all) if 0.
	MajorShare float64
	// StaleAfter is how many intervals a region's last result counts for;
	// older regions are left out of the quorum. 3 if 0.
	StaleAfter int
	// Reevaluate is how often every component is looked at even without
	// results, so a region that went quiet stops counting. 5s if 0.
	Reevaluate time.Duration
	Logger     *slog.Logger
	Metrics    *Metrics
}

type trackKey struct{ probe, region string }

// track is one probe's hysteresis state in one region.
type track struct {
	level     int    // confirmed: 0 up, 1 degraded, 2 down
	worseRun  [3]int // consecutive runs at or above each level
	betterRun int    // consecutive runs below the confirmed level
	betterMax int    // the worst level among them
	runs      int    // since start
	last      time.Time
	// The most recent reason at each level, and the step.
	reason [3]string
	step   [3]string
}

func (t *track) observe(r *data.ProbeResult, fail, succeed int) {
	lv := r.Outcome.Level()
	t.runs++
	t.last = r.At
	if lv > 0 {
		t.reason[lv], t.step[lv] = r.Reason, r.Step
	}
	for l := 1; l <= 2; l++ {
		if lv >= l {
			t.worseRun[l]++
		} else {
			t.worseRun[l] = 0
		}
	}
	if lv < t.level {
		t.betterRun++
		t.betterMax = max(t.betterMax, lv)
	} else {
		t.betterRun, t.betterMax = 0, 0
	}
	switch {
	case t.level < 2 && t.worseRun[2] >= fail:
		t.level = 2
	case t.level < 1 && t.worseRun[1] >= fail:
		t.level = 1
	case t.level > 0 && t.betterRun >= succeed:
		t.level = t.betterMax
		t.betterRun, t.betterMax = 0, 0
	default:
		return
	}
	// A level reached from worse runs starts its own count.
	if t.level == 1 && lv == 2 {
		t.reason[1], t.step[1] = r.Reason, r.Step
	}
}

// verdict is what the engine says about one component.
type verdict struct {
	status    data.ComponentStatus
	signature string // which probes at which level: a change is worth writing
	reason    string // set by explain

	probes, downs, degraded []probeVerdict
}

// NewEngine returns an engine for probes (all of them, in every region they
// run in), writing through store.
func NewEngine(store InputWriter, probes []*Probe, o EngineOptions) *Engine {
	if o.MajorShare <= 0 || o.MajorShare > 1 {
		o.MajorShare = 1
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 3
	}
	if o.Reevaluate <= 0 {
		o.Reevaluate = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{store: store, o: o, in: make(chan data.ProbeResult, 4096),
		byComponent: map[string][]*Probe{}, byID: map[string]*Probe{},
		tracks: map[trackKey]*track{}, written: map[string]verdict{}, dirty: map[string]bool{},
		status: map[string]data.ComponentStatus{}}
	for _, p := range probes {
		e.byID[p.ID] = p
		e.byComponent[p.ComponentID] = append(e.byComponent[p.ComponentID], p)
	}
	return e
}

// Record queues a result for the engine; it blocks while the queue is full.
func (e *Engine) Record(r data.ProbeResult) { e.in <- r }

// Start reads the inputs the engine wrote before (so a restart does not
// flip anything before the thresholds are met again), clears the input of
// components that no longer have probes, and starts the loop.
func (e *Engine) Start(ctx context.Context) error {
	all, err := e.store.AllInputs(ctx)
	if err != nil {
		return fmt.Errorf("start probe engine: %w", err)
	}
	for comp, ins := range all {
		for _, in := range ins {
			if in.Source != data.SourceAutomatic || in.Key != InputKey {
				continue
			}
			if _, ok := e.byComponent[comp]; !ok {
				if _, err := e.store.ClearInput(ctx, comp, data.SourceAutomatic, InputKey, "probes", "no probes check this component any more"); err != nil {
					e.o.Logger.Warn("clear probe input", "component_id", comp, "err", err)
				}
				continue
			}
			e.written[comp] = verdict{status: in.Status, reason: in.Reason}
			e.setStatus(comp, in.Status)
		}
	}
	ctx, e.cancel = context.WithCancel(ctx)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.loop(ctx)
	}()
	return nil
}

// Stop ends the loop (results still queued are applied first) and waits for
// it, or for ctx.
func (e *Engine) Stop(ctx context.Context) error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop probe engine: %w", ctx.Err())
	}
}

// Status returns the status the engine last wrote for a component, and
// whether it wrote one.
func (e *Engine) Status(componentID string) (data.ComponentStatus, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.status[componentID]
	return s, ok
}

func (e *Engine) setStatus(comp string, s data.ComponentStatus) {
	e.mu.Lock()
	e.status[comp] = s
	e.mu.Unlock()
	e.o.Metrics.componentStatus(comp, s)
}

func (e *Engine) loop(ctx context.Context) {
	t := time.NewTicker(e.o.Reevaluate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Apply what is queued, then write with a bounded context of
			// its own: the last transitions are worth keeping.
			for drained := false; !drained; {
				select {
				case r := <-e.in:
					e.apply(&r)
				default:
					drained = true
				}
			}
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			e.flush(wctx, time.Now())
			cancel()
			return
		case r := <-e.in:
			e.apply(&r)
			// Take whatever else is waiting, so a burst costs one write.
			for i := 0; i < 1000; i++ {
				select {
				case r := <-e.in:
					e.apply(&r)
					continue
				default:
				}
				break
			}
			e.flush(ctx, time.Now())
		case now := <-t.C:
			for comp := range e.byComponent {
				e.dirty[comp] = true
			}
			e.flush(ctx, now)
		}
	}
}

func (e *Engine) apply(r *data.ProbeResult) {
	p, ok := e.byID[r.ProbeID]
	if !ok || !r.Outcome.Valid() {
		return
	}
	k := trackKey{r.ProbeID, r.Region}
	t := e.tracks[k]
	if t == nil {
		t = &track{}
		e.tracks[k] = t
	}
	t.observe(r, p.FailureThreshold, p.SuccessThreshold)
	e.dirty[p.ComponentID] = true
}

// flush evaluates the dirty components and writes the verdicts that changed,
// in one call.
func (e *Engine) flush(ctx context.Context, now time.Time) {
	if len(e.dirty) == 0 {
		return
	}
	comps := make([]string, 0, len(e.dirty))
	for c := range e.dirty {
		comps = append(comps, c)
	}
	clear(e.dirty)
	sort.Strings(comps)
	var ins []data.Input
	var vs []verdict
	for _, comp := range comps {
		v, ready := e.evaluate(comp, now)
		if !ready {
			continue
		}
		old, had := e.written[comp]
		if had && old.status == v.status && (old.signature == v.signature || old.signature == "") {
			// Same status: keep the reason written at the transition (a
			// reason that changes every run would rewrite every run). An
			// input from before a restart has no signature; adopt ours.
			old.signature = v.signature
			e.written[comp] = old
			continue
		}
		e.explain(&v)
		ins = append(ins, data.Input{ComponentID: comp, Source: data.SourceAutomatic, Key: InputKey, Status: v.status,
			Reason: data.CleanReason(v.reason), Actor: "probes"})
		vs = append(vs, v)
	}
	if len(ins) == 0 {
		return
	}
	if _, err := e.store.SetInputs(ctx, ins); err != nil {
		// One bad component (archived since start) must not hold back the
		// others: try each alone.
		e.o.Logger.Warn("write probe status", "components", len(ins), "err", err)
		for i := range ins {
			if _, err := e.store.SetInputs(ctx, ins[i:i+1]); err != nil {
				e.o.Logger.Error("write probe status", "component_id", ins[i].ComponentID, "err", err)
				e.dirty[ins[i].ComponentID] = true // retried on the next evaluation
				continue
			}
			e.wrote(ins[i].ComponentID, vs[i])
		}
		return
	}
	for i := range ins {
		e.wrote(ins[i].ComponentID, vs[i])
	}
}

func (e *Engine) wrote(comp string, v verdict) {
	v.probes, v.downs, v.degraded = nil, nil, nil
	e.written[comp] = v
	e.setStatus(comp, v.status)
	e.o.Logger.Info("component status from probes", "component_id", comp, "status", string(v.status), "reason", v.reason)
}

// probeVerdict is one probe's standing for its component.
type probeVerdict struct {
	p       *Probe
	level   int
	regions []string // the regions at that level, sorted
	fresh   int      // regions with fresh results
	track   *track   // one of them, for the reason
}

// evaluate computes a component's verdict. It is not ready until every one
// of its probes has, in some region, run enough times for its thresholds to
// have spoken: until then nothing is written.
func (e *Engine) evaluate(comp string, now time.Time) (verdict, bool) {
	probes := e.byComponent[comp]
	pvs := make([]probeVerdict, 0, len(probes))
	for _, p := range probes {
		pv, ready := e.probeVerdict(p, now)
		if !ready {
			return verdict{}, false
		}
		pvs = append(pvs, pv)
	}
	var downs, degraded []probeVerdict
	for _, pv := range pvs {
		switch pv.level {
		case 2:
			downs = append(downs, pv)
		case 1:
			degraded = append(degraded, pv)
		}
	}
	v := verdict{status: data.Operational, probes: pvs, downs: downs, degraded: degraded}
	var sig strings.Builder
	for _, pv := range pvs {
		sig.WriteString(pv.p.ID)
		sig.WriteByte('=')
		sig.WriteByte(byte('0' + pv.level))
		sig.WriteByte(',')
	}
	v.signature = sig.String()
	switch {
	case len(downs) > 0:
		v.status = data.PartialOutage
		if float64(len(downs))/float64(len(pvs)) >= e.o.MajorShare {
			v.status = data.MajorOutage
		}
	case len(degraded) > 0:
		v.status = data.DegradedPerformance
	}
	return v, true
}

// explain writes the verdict's reason: which probes, which step, which
// regions and which rule. It runs only for a verdict about to be written.
func (e *Engine) explain(v *verdict) {
	n := len(v.probes)
	switch {
	case len(v.downs) > 0:
		parts := make([]string, 0, len(v.downs))
		for _, pv := range v.downs {
			parts = append(parts, e.describe(pv, "failed"))
		}
		v.reason = strings.Join(parts, "; ")
		if n > 1 {
			rule := "partial outage"
			if v.status == data.MajorOutage {
				rule = "major outage"
			}
			v.reason += fmt.Sprintf("; %d of %d probes down: %s", len(v.downs), n, rule)
		}
	case len(v.degraded) > 0:
		parts := make([]string, 0, len(v.degraded))
		for _, pv := range v.degraded {
			parts = append(parts, e.describe(pv, "degraded"))
		}
		v.reason = strings.Join(parts, "; ")
	case n == 1:
		v.reason = v.probes[0].p.name() + ": passing"
	default:
		v.reason = fmt.Sprintf("all %d probes passing", n)
	}
}

func (e *Engine) describe(pv probeVerdict, what string) string {
	t := pv.track
	var b strings.Builder
	b.WriteString(pv.p.name())
	b.WriteString(": ")
	b.WriteString(t.reason[pv.level])
	fmt.Fprintf(&b, " — %s %d runs in a row (threshold %d)", what, pv.p.FailureThreshold, pv.p.FailureThreshold)
	regions := strings.Join(pv.regions, ", ")
	if len(pv.p.Regions) > 1 {
		fmt.Fprintf(&b, " in %d of %d regions (%s; quorum %d)", len(pv.regions), pv.fresh, regions, pv.p.quorum())
	} else if regions != data.DefaultRegion {
		fmt.Fprintf(&b, " from %s", regions)
	}
	return b.String()
}

func (p *Probe) quorum() int { return max(p.Quorum, 1) }

// probeVerdict finds the worst level that a quorum of the probe's fresh
// regions agrees on.
func (e *Engine) probeVerdict(p *Probe, now time.Time) (probeVerdict, bool) {
	regions := p.Regions
	if len(regions) == 0 {
		regions = []string{data.DefaultRegion}
	}
	need := max(p.FailureThreshold, p.SuccessThreshold)
	staleBefore := now.Add(-time.Duration(e.o.StaleAfter) * p.Interval)
	type reg struct {
		name string
		t    *track
	}
	var fresh []reg
	ready := false
	for _, name := range regions {
		t := e.tracks[trackKey{p.ID, name}]
		if t == nil {
			continue
		}
		if t.runs >= need {
			ready = true
		}
		if t.last.Before(staleBefore) {
			continue
		}
		fresh = append(fresh, reg{name, t})
	}
	if !ready {
		return probeVerdict{}, false
	}
	pv := probeVerdict{p: p, fresh: len(fresh)}
	for level := 2; level >= 1; level-- {
		var at []reg
		for _, r := range fresh {
			if r.t.level >= level {
				at = append(at, r)
			}
		}
		if len(at) >= p.quorum() {
			pv.level = level
			for _, r := range at {
				pv.regions = append(pv.regions, r.name)
			}
			slices.Sort(pv.regions)
			// The reason comes from the region whose track is at this
			// level with the most recent result.
			sort.Slice(at, func(i, j int) bool { return at[i].t.last.After(at[j].t.last) })
			pv.track = at[0].t
			if pv.track.reason[level] == "" {
				pv.track.reason[level] = "failing"
			}
			return pv, true
		}
	}
	return pv, true
}
