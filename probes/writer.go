package probes

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/statusd/statusd/data"
)

// ResultStore is what the Writer needs from the store; *data.Store has it.
type ResultStore interface {
	RecordProbeResults(ctx context.Context, rs []data.ProbeResult, loc *time.Location) error
	PruneProbeData(ctx context.Context, r data.ProbeRetention) (int, error)
}

var _ ResultStore = (*data.Store)(nil)

// Writer persists results in batches: one transaction for every BatchSize
// results or every FlushEvery, whichever comes first, so thousands of
// results a second cost a few commits. It also prunes old results and
// aggregates, a small batch at a time on its own ticker, so a writer never
// waits long for the database.
type Writer struct {
	store ResultStore
	o     WriterOptions
	in    chan data.ProbeResult

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// WriterOptions tune a Writer.
type WriterOptions struct {
	BatchSize  int           // 10000 if 0
	FlushEvery time.Duration // 1s if 0
	Location   *time.Location
	// Results are kept for ResultsFor, aggregates for AggregatesFor.
	ResultsFor    time.Duration // 7 days if 0
	AggregatesFor time.Duration // 90 days if 0
	PruneEvery    time.Duration // 1m if 0
	PruneBatch    int           // 1000 if 0
	Logger        *slog.Logger
	Metrics       *Metrics
}

// NewWriter returns a Writer; Start it before recording.
func NewWriter(store ResultStore, o WriterOptions) *Writer {
	// Each batch costs a transaction and one aggregate row per probe and
	// minute in it, so fewer, larger batches are cheaper; a second's delay
	// costs nothing, as the engine judges results before they are stored.
	if o.BatchSize <= 0 {
		o.BatchSize = 10000
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.ResultsFor <= 0 {
		o.ResultsFor = 7 * 24 * time.Hour
	}
	if o.AggregatesFor <= 0 {
		o.AggregatesFor = 90 * 24 * time.Hour
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Minute
	}
	if o.PruneBatch <= 0 {
		o.PruneBatch = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{store: store, o: o, in: make(chan data.ProbeResult, 4*o.BatchSize)}
}

// Record queues a result. It blocks while the queue is full, which pushes
// back on the scheduler rather than holding unbounded memory.
func (w *Writer) Record(r data.ProbeResult) { w.in <- r }

// Start starts the batching and pruning goroutines.
func (w *Writer) Start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		w.batchLoop(ctx)
	}()
	go func() {
		defer w.wg.Done()
		w.pruneLoop(ctx)
	}()
}

// Stop writes what is queued (bounded by ctx) and ends the goroutines. Call
// it after the scheduler has stopped, so nothing is recorded after.
func (w *Writer) Stop(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop probe result writer: %w", ctx.Err())
	}
	// Results queued after the loop saw the cancel.
	var rest []data.ProbeResult
	for {
		select {
		case r := <-w.in:
			rest = append(rest, r)
			continue
		default:
		}
		break
	}
	if len(rest) > 0 {
		return w.write(ctx, rest)
	}
	return nil
}

func (w *Writer) batchLoop(ctx context.Context) {
	batch := make([]data.ProbeResult, 0, w.o.BatchSize)
	t := time.NewTimer(w.o.FlushEvery)
	defer t.Stop()
	// Writes are not cancelled by Stop, which would lose the batch in
	// hand; each is bounded by its own timeout instead, and Stop bounds how
	// long it waits for them.
	wctx := context.WithoutCancel(ctx)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(wctx, 30*time.Second)
		defer cancel()
		if err := w.write(ctx, batch); err != nil {
			w.o.Logger.Error("store probe results", "results", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case <-ctx.Done():
			// Drain what is queued and write it.
			for {
				select {
				case r := <-w.in:
					batch = append(batch, r)
					if len(batch) >= w.o.BatchSize {
						flush()
					}
					continue
				default:
				}
				break
			}
			flush()
			return
		case r := <-w.in:
			batch = append(batch, r)
			if len(batch) >= w.o.BatchSize {
				flush()
				if !t.Stop() {
					select {
					case <-t.C:
					default:
					}
				}
				t.Reset(w.o.FlushEvery)
			}
		case <-t.C:
			flush()
			t.Reset(w.o.FlushEvery)
		}
	}
}

// write stores one batch, retrying a failed write a few times with
// exponential backoff and jitter; after that the batch is dropped (and
// counted) rather than held, so a broken disk cannot grow memory.
func (w *Writer) write(ctx context.Context, batch []data.ProbeResult) error {
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			d := time.Duration(50<<attempt) * time.Millisecond
			d += rand.N(d / 2)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				w.o.Metrics.drop(len(batch))
				return fmt.Errorf("store %d probe results: %w (after: %w)", len(batch), ctx.Err(), err)
			}
		}
		start := time.Now()
		if err = w.store.RecordProbeResults(ctx, batch, w.o.Location); err == nil {
			w.o.Metrics.batch(len(batch), time.Since(start))
			return nil
		}
	}
	w.o.Metrics.drop(len(batch))
	return fmt.Errorf("store %d probe results, dropped them: %w", len(batch), err)
}

func (w *Writer) pruneLoop(ctx context.Context) {
	t := time.NewTicker(w.o.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := w.Prune(ctx)
		if err != nil && ctx.Err() == nil {
			w.o.Logger.Error("prune probe results", "err", err)
		} else if n > 0 {
			w.o.Logger.Debug("pruned probe results", "rows", n)
		}
	}
}

// Prune deletes what is past retention, a batch per short transaction with
// a pause between them for writers, and returns how many rows went.
func (w *Writer) Prune(ctx context.Context) (int, error) {
	now := time.Now()
	ret := data.ProbeRetention{ResultsBefore: now.Add(-w.o.ResultsFor), AggregatesBefore: now.Add(-w.o.AggregatesFor), Batch: w.o.PruneBatch}
	total := 0
	for {
		n, err := w.store.PruneProbeData(ctx, ret)
		total += n
		if err != nil || n < w.o.PruneBatch {
			return total, err
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return total, ctx.Err()
		}
	}
}
